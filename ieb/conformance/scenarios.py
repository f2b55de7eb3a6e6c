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
        return f"{self.bericht} {wat} nr {self.eb_start_nummer} status {self.status}"

    @classmethod
    def read(cls, referentienummer: str, payload: bytes) -> Sent:
        """Read a heenbericht payload (XML of a registered release) as far as it goes; never raises: unreadable XML or missing fields give ``None`` fields and keep ``payload``. Dates as :class:`datetime.date`, kostprijs in eurocent."""
        from ieb.errors import IebError
        from ieb.xmlsafe import XmlProblem, parse_bytes

        try:
            root = parse_bytes(payload)
        except (XmlProblem, IebError):
            return cls(referentienummer, None, None, None, None, None, None, payload)
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

        return cls(
            referentienummer,
            bericht,
            text("Client", klasse, "StatusAanlevering"),
            as_int(text("Client", klasse, "EbStartNummer")),
            text("Client", "Bsn"),
            as_date(text("Client", klasse, datum_veld)),
            as_int(text("Client", klasse, "EbKostprijs", "KostprijsBedrag")),
            payload,
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
    #: arrival answered with Fo01; a retourcode: the (single) arrival's retour carries it
    expect: str = "accepted"
    judge: Judge | None = None


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
    come from the pack. Raises ConfigurationError for a release without a separate stop record.
    """
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
                Step(desired=(Period(A, m(-2)),), faults="fo01=1.0", expect="fo01"),
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
                    faults="seed=7,lost_ack=0.6",
                ),
            ),
            no_repeats=True,
            min_redeliveries=1,
        ),
        Scenario(
            "retour-0001",
            "Technisch afgekeurd: retour met alleen de Header en 0001",
            (Step(send=f(S, "X-1", 1, "1", m(-14)), expect="0001"),),  # TR112
            final_state=False,
        ),
    ]
    return tuple(scenarios)


#: The names in catalogue order (the dates do not change the names).
CATALOGUE: tuple[str, ...] = tuple(s.name for s in catalogue(dt.date(2026, 6, 15)))
