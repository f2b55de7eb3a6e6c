"""The scenario catalogue of ``ieb conformance run``: what the vendor's sender is asked to do, and
how what arrived at the simulator is judged.

A :class:`Scenario` has one or more :class:`Step`. A step either gives a **desired state** (the
periods of eigen bijdrage per Bsn, written for the target as CSV ``bsn,start,stop,kostprijs_cent,
kostprijs_start``; the target sends whatever brings the CAK there) or a **file to send as is**
(scenarios where the CAK must reject). Some scenarios first put history in the CAK directly
(``history``: heenberichten the gemeente sent before), some switch faults on during a step.

Dates are relative to the run's day ``D`` (``--today``): ``M(k)`` is the first day of the month
``k`` months from D's month, ``E(k)`` the last day of that month. Step ``n`` uses Dagtekening
``D + (n - 1)`` days.

The judge of a step gets what arrived (:class:`Sent`, in order of arrival) and what the simulator
answered; the final check compares the CAK's periods with the last desired state. Each returns a
reason in Dutch when the scenario fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ieb.validation.rules import add_months

__all__ = ["CATALOGUE", "Period", "Scenario", "Sent", "Step", "catalogue", "month", "month_end"]

#: Test BSNs (9999xxxxx, 11-proef).
BSN_A = "999900006"
BSN_B = "999900018"
KOSTPRIJS = 250_000  # eurocent: above every national monthly maximum
#: the most lost acknowledgements in a row in scenario ``herlevering``: a sender that tries each
#: message HERLEVERING_IN_ROW + 1 times passes (docs/conformance.md, "Retry budget")
HERLEVERING_IN_ROW = 3


def month(day: dt.date, k: int) -> dt.date:
    """First day of the month ``k`` months from ``day``'s month."""
    return add_months(day.replace(day=1), k)


def month_end(day: dt.date, k: int) -> dt.date:
    """Last day of the month ``k`` months from ``day``'s month."""
    return month(day, k + 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """One desired period: start, stop (None: open), kostprijs in eurocent from ``kostprijs_start``."""

    bsn: str
    start: dt.date
    stop: dt.date | None = None
    kostprijs_cent: int | None = None
    kostprijs_start: dt.date | None = None


@dataclass(frozen=True)
class Sent:
    """One heenbericht that arrived, as far as it could be read."""

    referentienummer: str
    bericht: str | None  # the heenbericht's name in its release's table
    status: str | None
    eb_start_nummer: int | None
    bsn: str | None
    datum: dt.date | None
    kostprijs: int | None
    payload: bytes = field(repr=False)
    answer_kind: str | None = None  # Du01 / Fo01 / None
    codes: tuple[str, ...] = ()
    #: the retour (Du01 payload) when there is one
    retour: bytes = field(default=b"", repr=False)
    #: the stop date of a record that carries start and stop (iEb 4.0), else None
    stopdatum: dt.date | None = None
    #: the Fo01 code when the answer was a Fo01 (``IB103``, ``StUF055``, ``IB001``, ...)
    fo01_code: str | None = None
    #: why the simulator answered so (the Fo01's cause, the XSD or rule findings; BSNs masked)
    cause: str | None = None
    #: where the heenbericht was kept (relative to the run's folder), e.g. ``stop/stap-2/ontvangen/01-<ref>.xml``
    bestand: str | None = None
    #: the Identificatie and Dagtekening of its Header (None when unreadable)
    identificatie: str | None = None
    dagtekening: dt.date | None = None

    def explain(self) -> str:
        """The cause and the file, for a failure reason: `` - <cause> (bestand: <path>)``."""
        parts = []
        if self.cause:
            parts.append(f" - {self.cause}")
        if self.bestand:
            parts.append(f" (bestand: {self.bestand})")
        return "".join(parts)

    @property
    def rejected(self) -> bool:
        """True when the CAK answered with a Du01 whose retourcodes contain one other than 0200 (accepted) or 0233 (accepted with remark)."""
        return self.answer_kind == "Du01" and any(c not in ("0200", "0233") for c in self.codes)

    def describe(self) -> str:
        """One line for the scenario log: bericht (its start or stop role), EbStartNummer and status; no BSN."""
        wat = "?"
        if self.bericht is not None:
            from ieb.errors import IebError
            from ieb.ledger.history import roles

            try:
                wat = "start" if roles(self.bericht).start == self.bericht else "stop"
            except IebError:
                wat = "?"
        nr = "?" if self.eb_start_nummer is None else self.eb_start_nummer
        return f"{self.bericht} {wat} nr {nr} status {self.status or '?'}"

    @classmethod
    def read(cls, referentienummer: str, payload: bytes) -> Sent:
        """Read a heenbericht payload (XML of a registered release) as far as it goes; never raises: unreadable XML or missing fields give ``None`` fields and keep ``payload``. Dates as :class:`datetime.date`, kostprijs in eurocent."""
        from ieb.errors import IebError
        from ieb.simulator.cak import readable_root
        from ieb.xmlsafe import XmlProblem, parse_bytes

        try:
            root = parse_bytes(payload)
        except (XmlProblem, IebError):
            found_root = readable_root(payload)  # a BOM or another encoding: read as the CAK reads it
            if found_root is None:
                return cls(referentienummer, None, None, None, None, None, None, payload)
            root = found_root
        from ieb.releases import default_registry

        found = default_registry.by_namespace(etree.QName(root).namespace or "")
        row = found[1] if found is not None else None
        bericht = row.name if row is not None else None

        def text(*names: str) -> str | None:
            node: etree._Element | None = root
            for name in names:
                if node is None:
                    return None
                node = next(
                    (c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None
                )
            return None if node is None or node.text is None else node.text.strip()

        klasse = (row.klasse if row is not None else None) or ""
        datum_veld = (row.date_element if row is not None else None) or ""

        def as_int(value: str | None) -> int | None:
            try:
                return int(value) if value is not None else None
            except ValueError:
                return None

        def as_date(value: str | None) -> dt.date | None:
            try:
                return dt.date.fromisoformat(value) if value else None
            except ValueError:
                return None

        stop_veld = next(
            (
                p[-1]
                for p in (row.klasse_fields if row is not None else ())
                if p[-1].endswith("Stopdatum") and p[-1] != datum_veld
            ),
            None,
        )
        return cls(
            referentienummer,
            bericht,
            text("Client", klasse, "StatusAanlevering"),
            as_int(text("Client", klasse, "EbStartNummer")),
            text("Client", "Bsn"),
            as_date(text("Client", klasse, datum_veld)),
            as_int(text("Client", klasse, "EbKostprijs", "KostprijsBedrag")),
            payload,
            stopdatum=as_date(text("Client", klasse, stop_veld)) if stop_veld else None,
            identificatie=text("Header", "BerichtIdentificatie", "Identificatie"),
            dagtekening=as_date(text("Header", "BerichtIdentificatie", "Dagtekening")),
        )


#: A step judge: (what arrived in this step, all arrivals so far) -> reason or None.
Judge = Callable[[Sequence[Sent], Sequence[Sent]], str | None]


@dataclass(frozen=True)
class Step:
    """One invocation of the target."""

    desired: tuple[Period, ...] | None = None
    #: BSNs that must end up without any period (written as a row with an empty start)
    remove: tuple[str, ...] = ()
    #: an iEb file the target must send as is (instead of a desired state)
    send: bytes | None = None
    #: fault profile of the simulator during this step (``FaultConfig.parse`` text)
    faults: str | None = None
    #: what the simulator must have answered: "accepted" every arrival accepted; "fo01" every
    #: arrival answered with Fo01; "Fo01 IB001" the file answered with that Fo01 code; "retour" the
    #: file answered with a retour (any codes; the step's judge checks it); a retourcode: the
    #: (single) arrival's retour carries it
    expect: str = "accepted"
    judge: Judge | None = None
    #: the Dagtekening of this step as days after the run's day (None: step n uses n - 1); two
    #: steps on one day make an Identificatie counter that restarts every run visible
    day_offset: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    steps: tuple[Step, ...]
    #: heenberichten the CAK processed before (sent earlier by the gemeente)
    history: tuple[bytes, ...] = ()
    #: compare the CAK's periods with the last desired state at the end
    final_state: bool = True
    #: the CAK must process each heenbericht once (no repeated BerichtIdentificatie)
    no_repeats: bool = False
    #: at least this many redeliveries (same referentienummer) must have been absorbed
    min_redeliveries: int = 0
    #: a check over every arrival of the scenario (in order), after the last step
    final_judge: Callable[[Sequence[Sent]], str | None] | None = None
    #: what the target must survive, for docs/conformance.md: the most request faults (HTTP 503,
    #: lost acknowledgement, dropped connection) in a row on one message
    retry_budget: int = 0


# ---------------------------------------------------------------------------------- judges


def _need(
    predicate: Callable[[Sent], bool], what: str, *, count: int = 1
) -> Judge:  # pragma: no branch - small
    def judge(step: Sequence[Sent], _all: Sequence[Sent]) -> str | None:
        found = [s for s in step if predicate(s)]
        if len(found) < count:
            got = "; ".join(s.describe() for s in step) or "niets"
            return f"verwacht: {what}; ontvangen: {got}"
        return None

    return judge


def _before(first: Callable[[Sent], bool], then: Callable[[Sent], bool], what: str) -> Judge:
    def judge(step: Sequence[Sent], _all: Sequence[Sent]) -> str | None:
        i = next((n for n, s in enumerate(step) if first(s)), None)
        j = next((n for n, s in enumerate(step) if then(s)), None)
        if i is None or j is None or i > j:
            got = "; ".join(s.describe() for s in step) or "niets"
            return f"verwacht: {what}; ontvangen (in volgorde): {got}"
        return None

    return judge


def _all_of(*judges: Judge) -> Judge:
    def judge(step: Sequence[Sent], everything: Sequence[Sent]) -> str | None:
        for j in judges:
            reason = j(step, everything)
            if reason:
                return reason
        return None

    return judge


def _retour_carries_own_header(step: Sequence[Sent], _all: Sequence[Sent]) -> str | None:
    """The retour of each arrival copies its Afzender and Identificatie (a BOM heenbericht too)."""
    from ieb.simulator.cak import readable_root

    for s in step:
        if not s.retour:
            return f"{s.describe()} kreeg geen retour ({s.answer_kind or 'geen antwoord'}){s.explain()}"
        root = readable_root(s.retour)
        header = (
            None if root is None else next((c for c in root if etree.QName(c).localname == "Header"), None)
        )

        def value(*names: str, _h: etree._Element | None = header) -> str | None:
            node = _h
            for name in names:
                node = (
                    None
                    if node is None
                    else next((c for c in node if etree.QName(c).localname == name), None)
                )
            return None if node is None else (node.text or "").strip()

        got = (value("BerichtIdentificatie", "Identificatie"), value("Afzender"))
        sent = readable_root(s.payload)
        hh = None if sent is None else next((c for c in sent if etree.QName(c).localname == "Header"), None)
        want = (value("BerichtIdentificatie", "Identificatie", _h=hh), value("Afzender", _h=hh))
        if got != want:
            return (
                f"de retour draagt Identificatie/Afzender {got[0]}/{got[1]}, het heenbericht {want[0]}/{want[1]}: "
                f"een retour hoort de kop van zijn heenbericht over te nemen{s.explain()}"
            )
    return None


def _is(bericht: str, status: str) -> Callable[[Sent], bool]:
    return lambda s: s.bericht == bericht and s.status == status


def _new_number(start: str) -> Judge:
    """A new start (``start`` status 1) with an EbStartNummer not used before in the run (OP290)."""

    def judge(step: Sequence[Sent], everything: Sequence[Sent]) -> str | None:
        earlier = {s.eb_start_nummer for s in everything if s not in step and s.bericht == start}
        news = [s for s in step if s.bericht == start and s.status == "1"]
        if not news:
            return f"verwacht: een nieuwe start ({start} status 1)"
        if any(s.eb_start_nummer in earlier for s in news):
            return "de nieuwe start moet een nieuw EbStartNummer hebben (OP290)"
        return None

    return judge


def _start_stop(release: str) -> tuple[str, str]:
    """The start and stop message names of ``release`` (its pack's roles)."""
    from ieb.errors import ConfigurationError
    from ieb.ledger.history import roles
    from ieb.releases import get_pack

    pack = get_pack(release)
    heen = pack.heen()
    if not heen:
        raise ConfigurationError(f"release {release} heeft geen heenberichten")
    role = roles(heen[0].name)
    if role.stop is None:
        raise ConfigurationError(
            f"de scenario's van ieb conformance zijn voor een release met aparte start- en stopberichten; "
            f"{release} heeft er één record per periode"
        )
    return role.start, role.stop


def _one_record(release: str) -> str | None:
    """The period record of ``release`` when its one record carries start and stop, else None."""
    from ieb.ledger.history import roles
    from ieb.releases import get_pack

    heen = get_pack(release).heen()
    role = roles(heen[0].name) if heen else None
    return role.start if role is not None and role.stop is None else None


def _unique_identificatie(per_day: bool) -> Callable[[Sequence[Sent]], str | None]:
    """Every heenbericht of the scenario has its own Identificatie (``per_day``: with its
    Dagtekening, iEb 1.0's BerichtIdentificatie; else for good, iEb 4.0's TR056); the same file
    sent again counts once."""

    def judge(everything: Sequence[Sent]) -> str | None:
        seen: dict[tuple[str | None, str | None, dt.date | None], bytes] = {}
        for s in everything:
            if s.identificatie is None:
                continue
            key = (s.bericht, s.identificatie, s.dagtekening if per_day else None)
            if key in seen and seen[key] != s.payload:
                return (
                    f"Identificatie {s.identificatie} werd opnieuw gebruikt voor een ander {s.bericht}"
                    + (f" op {s.dagtekening}" if per_day else "")
                    + " (een teller die bij elke run opnieuw begint?); een Identificatie is uniek"
                    + (" met zijn Dagtekening" if per_day else " per berichtsoort, voor altijd (TR056)")
                    + s.explain()
                )
            seen.setdefault(key, s.payload)
        return None

    return judge


def _common_scenarios(day: dt.date, afzender: str, release: str, start: str, per_day: bool) -> list[Scenario]:
    """The scenarios of issue 25 item 4 that every release has: an Identificatie counter that
    restarts every run (two steps on ONE Dagtekening), a heenbericht with a BOM, and an XSD-invalid
    payload (answered as the release's CAK does: Fo01 IB001 in iEb 4.0, a retour with 0001 in 1.0)."""
    import re

    from ieb.releases import get_pack

    A, B = BSN_A, BSN_B
    fo01 = get_pack(release).level1_fo01
    good = _file(start, day, "BOM-1", 1, "1", month(day, -2), afzender=afzender)
    invalid = re.sub(
        rb"EbStartNummer>1<",
        b"EbStartNummer>een<",
        _file(start, day, "X-1", 1, "1", month(day, -2), afzender=afzender),
    )
    return [
        Scenario(
            "identificatie-teller",
            "Identificatie uniek, ook als twee runs op één dag vallen (teller die opnieuw begint)",
            (
                Step(desired=(Period(A, month(day, -2)),), day_offset=0),
                Step(
                    desired=(Period(A, month(day, -2)), Period(B, month(day, -1))),
                    day_offset=0,
                    judge=_need(
                        lambda s: s.bericht == start and s.status == "1" and s.bsn == B,
                        f"een start voor de tweede persoon ({start} status 1)",
                    ),
                ),
            ),
            final_judge=_unique_identificatie(per_day),
        ),
        Scenario(
            "bom",
            "Heenbericht met een BOM: de retour draagt zijn eigen Afzender en Identificatie",
            (Step(send=b"\xef\xbb\xbf" + good, expect="retour", judge=_retour_carries_own_header),),
            final_state=False,
        ),
        Scenario(
            "xsd-ongeldig",
            "XSD-ongeldig bestand: "
            + (f"Fo01 {fo01} van het CAK" if fo01 else "retour met alleen de Header en 0001"),
            (Step(send=invalid, expect=f"Fo01 {fo01}" if fo01 else "0001"),),
            final_state=False,
        ),
    ]


def _catalogue_one_record(day: dt.date, afzender: str, release: str, P: str) -> tuple[Scenario, ...]:
    """The scenarios of a release whose ONE record carries a period (iEb 4.0): a new period,
    one with its stop, adding and changing a stop, a deletion, and the rejections 9056 (a reused
    Identificatie), 9063 (a deletion without an earlier delivery) and 9393 (a start moved more than
    36 months back). The retourcodes are the release's (its pack's retourcode table)."""
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery
    from ieb.releases import get_pack

    table = get_pack(release).retourcodes
    A = BSN_A

    def m(k: int) -> dt.date:
        return month(day, k)

    def e(k: int) -> dt.date:
        return month_end(day, k)

    def f(ident: str, nummer: int, status: str, start: dt.date, stop: dt.date | None = None) -> bytes:
        d = Delivery(P, afzender, ident, day, A, nummer, status, start, stopdatum=stop)
        return to_xml(d.to_message())

    def one(status: str, what: str, stop: Callable[[dt.date | None], bool] = lambda _s: True) -> Judge:
        return _need(lambda s: _is(P, status)(s) and stop(s.stopdatum), what)

    scenarios = [
        Scenario(
            "nieuwe-periode",
            "Een nieuwe periode (start zonder stop)",
            (Step(desired=(Period(A, m(-2)),), judge=one("1", f"een nieuwe periode ({P} status 1)")),),
        ),
        Scenario(
            "periode-met-stop",
            "Een periode met start en stop in één record",
            (
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=one("1", f"één {P} status 1 met EbStopdatum {e(-1)}", lambda s: s == e(-1)),
                ),
            ),
        ),
        Scenario(
            "stop-toevoegen",
            "Een stop toevoegen aan een lopende periode",
            (
                Step(desired=(Period(A, m(-3)),)),
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=one("2", f"een wijziging ({P} status 2) met de stop", lambda s: s == e(-1)),
                ),
            ),
        ),
        Scenario(
            "stop-wijzigen",
            "De stopdatum wijzigen",
            (
                Step(desired=(Period(A, m(-3), e(-2)),)),
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=one("2", f"een wijziging ({P} status 2) met de nieuwe stop", lambda s: s == e(-1)),
                ),
            ),
        ),
        Scenario(
            "verwijderen",
            "Een periode verwijderen",
            (
                Step(desired=(Period(A, m(-3), e(-1)),)),
                Step(desired=(), remove=(A,), judge=one("3", f"een verwijdering ({P} status 3)")),
            ),
        ),
    ]
    first = f("H-1", 1, "1", m(-2))
    rejections = [
        ("TR056", "een Identificatie opnieuw gebruiken", (first,), f("H-1", 2, "1", m(-1))),
        ("TR063", "een verwijdering zonder eerdere aanlevering", (), f("X-1", 7, "3", m(-2))),
        ("TR393", "een startdatum meer dan 36 maanden terug zetten", (first,), f("X-1", 1, "2", m(-40))),
    ]
    for rule, what, history, payload in rejections:
        code = table.retourcode(rule) or "0001"
        scenarios.append(
            Scenario(
                f"afwijzing-{rule.lower()}",
                f"Afwijzing {code} ({rule}): {what}",
                (Step(send=payload, expect=code),),
                history=history,
                final_state=False,
            )
        )
    scenarios += _common_scenarios(day, afzender, release, P, per_day=False)
    return tuple(scenarios)


# ----------------------------------------------------------------------------- catalogue


def _file(
    bericht: str,
    day: dt.date,
    ident: str,
    nummer: int,
    status: str,
    datum: dt.date,
    *,
    bsn: str = BSN_A,
    afzender: str = "0363",
) -> bytes:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    d = Delivery(bericht, afzender, ident, day, bsn, nummer, status, datum)
    return to_xml(d.to_message())


def catalogue(day: dt.date, afzender: str = "0363", release: str = "ieb-1.0") -> tuple[Scenario, ...]:
    """Every scenario for a run on ``day`` (see the module docstring for the dates) in ``release``.

    The catalogue is written for a release with a start record and a separate stop record (the
    roles its pack's delivery mapping gives, :func:`ieb.ledger.history.roles`); the message names
    come from the pack. A release whose one record carries a period (iEb 4.0) gets its own
    scenarios (:func:`_catalogue_one_record`).
    """
    record = _one_record(release)
    if record is not None:
        return _catalogue_one_record(day, afzender, release, record)
    S, T = _start_stop(release)

    def f(bericht: str, ident: str, nummer: int, status: str, datum: dt.date, **kw: str) -> bytes:
        return _file(bericht, day, ident, nummer, status, datum, afzender=afzender, **kw)

    A, B = BSN_A, BSN_B

    def m(k: int) -> dt.date:
        return month(day, k)

    def e(k: int) -> dt.date:
        return month_end(day, k)

    start_a = f(S, "H-1", 1, "1", m(-2))
    stop_a = f(T, "H-2", 1, "1", e(-1))
    scenarios = [
        Scenario(
            "eerste-start",
            "Eerste start van een eigen bijdrage",
            (
                Step(
                    desired=(Period(A, m(-2)),),
                    judge=_need(_is(S, "1"), f"een start ({S} status 1)"),
                ),
            ),
        ),
        Scenario(
            "start-met-kostprijs",
            "Start met kostprijs (maatwerk boven het maximum)",
            (
                Step(
                    desired=(Period(A, m(-2), None, KOSTPRIJS, m(-2)),),
                    judge=_need(
                        lambda s: _is(S, "1")(s) and s.kostprijs == KOSTPRIJS,
                        f"een start met EbKostprijs {KOSTPRIJS}",
                    ),
                ),
            ),
        ),
        Scenario(
            "wijziging-startdatum",
            "Wijziging van de startdatum",
            (
                Step(desired=(Period(A, m(-2)),)),
                Step(
                    desired=(Period(A, m(-3)),),
                    judge=_need(_is(S, "2"), f"een gewijzigde start ({S} status 2)"),
                ),
            ),
        ),
        Scenario(
            "stop",
            "Stop van een lopende eigen bijdrage",
            (
                Step(desired=(Period(A, m(-3)),)),
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=_need(_is(T, "1"), f"een stop ({T} status 1)"),
                ),
            ),
        ),
        Scenario(
            "wijziging-stop",
            "Wijziging van de stopdatum",
            (
                Step(desired=(Period(A, m(-3), e(-2)),)),
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=_all_of(
                        _need(
                            lambda s: s.bericht == T and s.status in ("2", "1"),
                            f"een gewijzigde stop ({T} status 2, of 3 gevolgd door 1)",
                        ),
                        lambda step, _a: (
                            "de start hoort niet verwijderd te worden"
                            if any(_is(S, "3")(s) for s in step)
                            else None
                        ),
                    ),
                ),
            ),
        ),
        Scenario(
            "start-en-stop-samen",
            "Start en stop van één persoon in één keer gepland",
            (
                Step(
                    desired=(Period(A, m(-3), e(-1)),),
                    judge=_before(
                        _is(S, "1"),
                        _is(T, "1"),
                        f"eerst de start ({S} status 1), dan de stop ({T} status 1; een stop zonder start is TR330)",
                    ),
                ),
            ),
        ),
        Scenario(
            "stop-en-start-verwijderen",
            "Verwijderen van een stop en daarna zijn start",
            (
                Step(desired=(Period(A, m(-3), e(-1)),)),
                Step(
                    desired=(),
                    remove=(A,),
                    judge=_before(
                        _is(T, "3"),
                        _is(S, "3"),
                        f"eerst de stop verwijderen ({T} status 3), dan de start ({S} status 3; TR071)",
                    ),
                ),
            ),
        ),
        Scenario(
            "pauze",
            "Pauze: stop en een nieuwe start",
            (
                Step(desired=(Period(A, m(-4)),)),
                Step(
                    desired=(Period(A, m(-4), e(-3)), Period(A, m(-1))),
                    judge=_all_of(
                        _before(_is(T, "1"), _is(S, "1"), "een stop en daarna een nieuwe start"),
                        _new_number(S),
                    ),
                ),
            ),
        ),
        Scenario(
            "bsn-correctie",
            "Correctie van een verkeerd Bsn",
            (
                Step(desired=(Period(A, m(-2)),)),
                Step(
                    desired=(Period(B, m(-2)),),
                    remove=(A,),
                    judge=_all_of(
                        _need(
                            lambda s: _is(S, "3")(s) and s.bsn == A,
                            "verwijdering van de start met het verkeerde Bsn",
                        ),
                        _need(lambda s: _is(S, "1")(s) and s.bsn == B, "een start met het juiste Bsn"),
                    ),
                ),
            ),
        ),
    ]
    # one rejection per history rule: the CAK has the history, the target sends the file as is
    rejections: list[tuple[str, str, tuple[bytes, ...], bytes]] = [
        (
            "TR071",
            "een start verwijderen die nog een stop heeft",
            (start_a, stop_a),
            f(S, "X-1", 1, "3", m(-2)),
        ),
        (
            "TR102",
            "een eerste aanlevering met een bestaand EbStartNummer",
            (start_a,),
            f(S, "X-1", 1, "1", m(-1), bsn=B),
        ),
        ("TR103", "een wijziging zonder eerste aanlevering", (), f(S, "X-1", 7, "2", m(-2))),
        (
            "TR104",
            "een verwijderde start wijzigen",
            (start_a, f(S, "H-3", 1, "3", m(-2))),
            f(S, "X-1", 1, "2", m(-3)),
        ),
        (
            "TR114",
            "een startdatum wijzigen naar meer dan 36 maanden terug",
            (start_a,),
            f(S, "X-1", 1, "2", m(-40)),
        ),
        (
            "TR115",
            "een startdatum wijzigen naar meer dan 1 maand vooruit",
            (start_a,),
            f(S, "X-1", 1, "2", m(3)),
        ),
        ("TR328", "een stop voor de startdatum", (start_a,), f(T, "X-1", 1, "1", e(-3))),
        ("TR329", "een verwijdering met andere waarden", (start_a,), f(S, "X-1", 1, "3", m(-3))),
        ("TR330", "een stop zonder start", (), f(T, "X-1", 9, "1", e(-1))),
    ]
    from ieb.releases import get_pack

    table = get_pack(release).retourcodes
    for rule, what, history, payload in rejections:
        code = table.retourcode(rule)
        if code is None:
            continue  # the release does not list this rule with a retourcode of its own
        scenarios.append(
            Scenario(
                f"afwijzing-{rule.lower()}",
                f"Afwijzing {code} ({rule}): {what}",
                (Step(send=payload, expect=code),),
                history=history,
                final_state=False,
            )
        )
    scenarios += [
        Scenario(
            "fo01-opnieuw",
            "Fo01 van de GGk: het bericht opnieuw versturen",
            (
                Step(desired=(Period(A, m(-2)),), faults="fo01=1.0,fo01_code=IB103", expect="fo01"),
                Step(
                    desired=(Period(A, m(-2)),),
                    judge=_need(_is(S, "1"), f"het bericht met de Fo01 opnieuw ({S} status 1)"),
                ),
            ),
            no_repeats=True,
        ),
        Scenario(
            "herlevering",
            "Verloren bevestigingen: opnieuw afleveren met hetzelfde referentienummer",
            (
                Step(
                    desired=(Period(A, m(-3), e(-2)), Period(B, m(-1))),
                    faults=f"seed=7,lost_ack=0.6,max_in_row={HERLEVERING_IN_ROW}",
                ),
            ),
            no_repeats=True,
            min_redeliveries=1,
            retry_budget=HERLEVERING_IN_ROW,
        ),
        Scenario(
            "retour-0001",
            "Technisch afgekeurd: retour met alleen de Header en 0001",
            (Step(send=f(S, "X-1", 1, "1", m(-14)), expect="0001"),),  # TR112
            final_state=False,
        ),
        Scenario(
            "identificatie-hergebruikt",
            f"Afwijzing {_repeat_code(release)}: een Identificatie opnieuw gebruikt met een andere inhoud",
            (Step(send=f(S, "H-1", 2, "1", m(-1), bsn=B), expect=_repeat_code(release)),),
            history=(start_a,),
            final_state=False,
        ),
    ]
    scenarios += _common_scenarios(day, afzender, release, S, per_day=True)
    return tuple(scenarios)


def _repeat_code(release: str) -> str:
    """The retourcode with which the CAK of ``release`` refuses a BerichtIdentificatie it received
    before with other content (iEb 1.0: 9102, TR102; iEb 4.0: 9056, TR056)."""
    from ieb.releases import get_pack
    from ieb.simulator.cak import repeat_rule

    return repeat_rule(get_pack(release))[1]


#: The names in catalogue order (the dates do not change the names).
CATALOGUE: tuple[str, ...] = tuple(s.name for s in catalogue(dt.date(2026, 6, 15)))
