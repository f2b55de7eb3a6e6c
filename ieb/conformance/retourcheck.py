"""Is a retour itself right? Consistency checks of a retour against its heenbericht, for any
registered release (the pack's message table says which retour answers which heenbericht).

A vendor that receives retours (or writes a CAK-side simulator of its own) checks here that the
retour follows the iEb 1.0 conventions (spec sections 4, 5 and 7). Each finding is an
:class:`~ieb.validation.report.Issue` with one of the codes below (level 3, no retourcode: these
are findings about the retour, not codes the CAK reports); the retour's own XSD and in-message
problems are reported too, with their usual codes.

====== ==========================================================================================
code   finding
====== ==========================================================================================
RC001  RetourCode 0001 where it does not belong: 0001 is only allowed in the Header of a retour
       without Client (a technical rejection, level 1 or 2)
RC002  a RetourCode that is not in the release's codelist (iEb 1.0: EB001; else its retourcode table)
RC003  a retour with a Client in which the Client or its class (StartEigenBijdrage /
       StopEigenBijdrage) carries no RetourCode
RC004  a specific code where the heenbericht could not break the rule: 9nnn where no rule TRnnn
       applies to this message and StatusAanlevering, S333 without EbKostprijs, 8848 / S300 below
       the Header
RC005  a Header field differs from the heenbericht's (BerichtCode must be the retour's code for
       the heenbericht: 470 -> 471, 472 -> 473; BerichtVersie, BerichtSubversie, Afzender,
       BerichtIdentificatie and XsdVersie are copied)
RC006  the retour does not answer this kind of heenbericht (the pack's table: in iEb 1.0 the retour
       of the start answers the start, that of the stop the stop), or it is no heenbericht
RC007  a Client field differs from the heenbericht's (Bsn, EbStartNummer, dates, kostprijs,
       StatusAanlevering are copied)
RC008  no heenbericht found for the retour (folder mode: matched on Afzender + BerichtIdentificatie)
RC009  contradictory codes: 0200 or 0233 together with another code in one RetourCodes
RC010  the level does not fit the heenbericht: a heenbericht that fails XSD or an in-message rule
       gets a Header-only retour with 0001; one that passes gets no 0001
====== ==========================================================================================

Usage::

    from ieb.conformance.retourcheck import check_retour
    report = check_retour(heen_bytes, retour_bytes)
    [(i.code, i.location, i.message) for i in report.issues]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ieb.ledger.history import ALL_HISTORY_RULES, roles, rules_for
from ieb.releases import default_registry
from ieb.releases.pack import MessageDef
from ieb.simulator.cak import readable_root, retour_kop
from ieb.types import RetourCode, mask_bsn, mask_bsns
from ieb.validation import validate_bytes
from ieb.validation.report import Issue, Report

__all__ = ["RETOURCHECK_CODES", "RetourPair", "check_pair", "check_retour", "pair_files"]

EB001 = frozenset(c.value for c in RetourCode)
HEADER_COPIED = ("BerichtVersie", "BerichtSubversie", "Afzender")


def _heen_row(bericht: str | None) -> MessageDef | None:
    """The table row of heenbericht ``bericht`` in any registered release pack, or None (no
    heenbericht, or unknown). The pack's table says which retour answers it, its klasse and the
    klasse's fields the retour copies."""
    if bericht is None:
        return None
    for pack in default_registry:
        row = pack.messages.get(bericht.upper())
        if row is not None:
            return row if row.is_heen else None
    return None


def _heen_names() -> str:
    """Every heenbericht of the registered packs, for a clerk's message (``A/B``)."""
    return "/".join(m.name for p in default_registry for m in p.heen())


#: Our own codes and their one-line meaning (docs/conformance.md has the table).
RETOURCHECK_CODES = {
    "RC001": "RetourCode 0001 alleen in een Header zonder Client",
    "RC002": "RetourCode niet in de codelijst van de release",
    "RC003": "Client of klasse zonder RetourCode",
    "RC004": "specifieke code die het heenbericht niet kan veroorzaken",
    "RC005": "Header wijkt af van het heenbericht",
    "RC006": "retour past niet bij het soort heenbericht",
    "RC007": "Client wijkt af van het heenbericht",
    "RC008": "geen heenbericht gevonden",
    "RC009": "tegenstrijdige codes",
    "RC010": "niveau past niet bij het heenbericht",
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if isinstance(c.tag, str) and _local(c) == name), None)


def _find(el: etree._Element | None, *names: str) -> etree._Element | None:
    for name in names:
        el = _child(el, name)
    return el


def _text(el: etree._Element | None, *names: str) -> str | None:
    node = _find(el, *names)
    if node is None:
        return None
    return "".join(t for t in node.itertext() if isinstance(t, str)).strip()


def _path(el: etree._Element, prefix: str, basis_ns: str | None = None) -> str:
    """``/wmo402:Bericht/wmo402:Client/...`` (basisschema children as ``ieb:``), with ``[n]`` when
    an element has same-named siblings."""
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        name = _local(node)
        ns = etree.QName(node).namespace
        p = "ieb" if ns is not None and ns == basis_ns else prefix
        parent = node.getparent()
        step = f"{p}:{name}"
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        parts.append(step)
        node = parent
    return "/" + "/".join(reversed(parts))


def _codes(holder: etree._Element | None) -> list[etree._Element]:
    codes = _child(holder, "RetourCodes")
    if codes is None:
        return []
    return [c for c in codes if isinstance(c.tag, str) and _local(c) == "RetourCode"]


def _code_text(el: etree._Element) -> str:
    return "".join(t for t in el.itertext() if isinstance(t, str)).strip()


@dataclass(frozen=True)
class _Heen:
    bericht: str | None
    root: etree._Element | None
    technical: bool  # fails level 1 or 2
    row: MessageDef | None = None  # its table row, when it is a heenbericht of a registered pack

    @property
    def klasse(self) -> str:
        """The berichtklasse element of the heenbericht (from its pack's table)."""
        return (self.row.klasse if self.row is not None else None) or ""


def _could_break(heen: _Heen, code: str) -> bool:
    """May ``code`` (9nnn / S333) appear on a class of this heenbericht? A history rule's code when
    a rule the heenbericht's pack defines for its record (start or stop) and status reports it;
    S333 only on a klasse with an EbKostprijs."""
    status = _text(heen.root, "Client", heen.klasse, "StatusAanlevering")
    if code.startswith("9"):
        if heen.row is None:
            return False
        role = "start" if roles(heen.row.name).start == heen.row.name else "stop"
        return any(
            getattr(r.retourcode, "value", r.retourcode) == code
            and role in r.records
            and status in r.statuses
            for r in ALL_HISTORY_RULES
        )
    if code == "S333":
        return _find(heen.root, "Client", heen.klasse, "EbKostprijs") is not None
    return True


def _generic_history_code(heen: _Heen) -> bool:
    """True when a history rule that applies to this heenbericht's record and StatusAanlevering has
    no retourcode of its own in the heenbericht's release (its retourcode table names none): the CAK
    then reports it on the class with the generic 0001 (:meth:`ieb.ledger.history.HistoryRule.check`).
    Never so in iEb 1.0, whose table gives every history rule its 9nnn; possible in iEb 4.0, whose
    rule-to-code table is not published in full."""
    if heen.row is None:
        return False
    pack = next(p for p in default_registry if p.name == heen.row.release)
    status = _text(heen.root, "Client", heen.klasse, "StatusAanlevering")
    role = "start" if roles(heen.row.name).start == heen.row.name else "stop"
    return any(
        role in r.records and status in r.statuses and pack.retourcodes.retourcode(r.code) is None
        for r in rules_for(heen.row.name)
    )


def check_retour(
    heen: bytes,
    retour: bytes,
    *,
    heen_name: str = "heenbericht",
) -> Report:
    """Check ``retour`` (a retour file of any registered release) against ``heen`` (the heenbericht
    it answers; the pack's table says which retour answers which heenbericht).

    Returns a :class:`~ieb.validation.report.Report` of the retour: its own level-1/2 problems
    (XSD, in-message rules) plus the RCnnn findings above. Never raises for bad input: an unreadable
    file is a finding.
    """
    report = validate_bytes(retour)
    # IEB-DATUM is this library's limit (years 0001-9999), not a rule of the standard: a retour that
    # copies a Dagtekening the XSD allows (year 10000, a negative year) is right
    own = [i for i in report.issues if i.level <= 2 and i.code != "IEB-DATUM"]
    report.issues[:] = own
    root = report.root
    if root is None:
        return report
    hrep = validate_bytes(heen)
    hroot, hbericht = _heen_root(heen, hrep)
    heen_row = _heen_row(hbericht)
    h = _Heen(hbericht, hroot, any(i.level <= 2 for i in hrep.issues), heen_row)
    prefix = (report.bericht or "m").lower()
    own_row = _heen_row(None)
    for pack in default_registry:
        if report.bericht is not None and report.bericht in pack.messages:
            own_row = pack.messages[report.bericht]
    basis_ns = own_row.basis_namespace if own_row is not None else None
    add = report.issues.append

    def finding(code: str, el: etree._Element | None, message: str) -> None:
        add(Issue(code, None, 3, _path(el, prefix, basis_ns) if el is not None else "/", mask_bsns(message)))

    if h.root is None or heen_row is None or heen_row.answers is None:
        finding(
            "RC006",
            root,
            f"{heen_name} is geen leesbaar heenbericht {_heen_names()} ({h.bericht or 'onleesbaar'}).",
        )
        return report
    want = next(p for p in default_registry if p.name == heen_row.release).message(heen_row.answers)
    want_bericht, want_code = want.name, want.bericht_code or ""
    ctx_want = want
    if report.bericht != want_bericht:
        finding(
            "RC006",
            root,
            f"Een {h.bericht} krijgt een {want_bericht} als retour, geen {report.bericht or 'onbekend bericht'}.",
        )
        return report
    header = _child(root, "Header")
    client = _child(root, "Client")
    klasse = _child(client, h.klasse) if client is not None else None
    ctx = _Retour(h, root, header, client, klasse, finding, _codelist(want.release), want.release)
    _check_header_copied(ctx, want_code, ctx_want)
    _check_codes(ctx)
    _check_placement(ctx)
    _check_client_copied(ctx)
    _check_level(ctx, hrep)
    return report


def _codelist(release: str) -> frozenset[str]:
    """The retourcodes a retour of ``release`` may carry: the generic ones (0001, 0200, 0233) and
    every code of the release's retourcode table; iEb 1.0 adds codelist EB001."""
    pack = next(p for p in default_registry if p.name == release)
    codes = frozenset({"0001", "0200", "0233", *pack.retourcodes.rules_of})
    return codes | EB001 if release == "ieb-1.0" else codes


@dataclass(frozen=True)
class _Retour:
    """The retour under check, its parts, the heenbericht it answers and where findings go."""

    h: _Heen
    root: etree._Element
    header: etree._Element | None
    client: etree._Element | None
    klasse: etree._Element | None
    finding: Callable[[str, etree._Element | None, str], None]
    #: the retourcodes the retour's release knows (iEb 1.0: codelist EB001) and that release's name
    codelist: frozenset[str] = EB001
    release: str = "ieb-1.0"


def _heen_root(heen: bytes, hrep: Report) -> tuple[etree._Element | None, str | None]:
    """(root, message name) of the heenbericht as the CAK reads it: the validator's parse, or after
    an OP192 fault only (a BOM, another encoding) the header read by
    :func:`ieb.simulator.cak.readable_root`; the name from the root's namespace when the validator
    could not say."""
    root, bericht = hrep.root, hrep.bericht
    if root is None and any(i.code == "OP192" for i in hrep.issues):
        root = readable_root(heen)
    if bericht is None and root is not None:
        found = default_registry.by_namespace(etree.QName(root).namespace or "")
        bericht = found[1].name if found is not None else None
    return root, bericht


def _check_header_copied(ctx: _Retour, want_code: str, want: MessageDef) -> None:
    """RC005: the Header's BerichtCode, BerichtVersie and BerichtSubversie are the retour's own (its
    XSD fixes them: 471, 1, 0 in iEb 1.0), and the fields copied from the heenbericht (Afzender,
    Identificatie, Dagtekening, XsdVersie) match it.

    A heenbericht value that is not valid under its XSD type (only possible when the heenbericht
    fails level 1) cannot be copied into a valid retour; the standard publishes no replacement rule,
    so such a field is not compared (the retour's own XSD check still applies). Values are compared
    as the XSD reads them (comments and processing instructions left out), surrounding whitespace
    ignored.
    """
    header, finding = ctx.header, ctx.finding
    assert ctx.h.root is not None
    if header is None:
        return
    hheader = _child(ctx.h.root, "Header")
    versions = want.versions
    kop = retour_kop(hheader, dt.date(2000, 1, 1), want)
    checks: list[tuple[tuple[str, ...], str | None, str]] = [
        (("BerichtCode",), want_code, "de code van de retour"),
    ]
    if versions is not None:
        checks += [
            (("BerichtVersie",), str(versions.bericht_versie), "de versie van de retour"),
            (("BerichtSubversie",), str(versions.bericht_subversie), "de subversie van de retour"),
        ]
    else:  # pragma: no cover - every registered retour has its versions
        checks += [
            ((name,), _text(hheader, name), "overgenomen van het heenbericht") for name in HEADER_COPIED[:2]
        ]
    copied = {
        ("Afzender",): ("Afzender", kop.afzender),
        ("BerichtIdentificatie", "Identificatie"): ("Identificatie", kop.identificatie),
        ("BerichtIdentificatie", "Dagtekening"): ("Dagtekening", kop.dagtekening),
        ("XsdVersie", "BasisschemaXsdVersie"): ("BasisschemaXsdVersie", kop.basisschema_xsd_versie),
        ("XsdVersie", "BerichtXsdVersie"): ("BerichtXsdVersie", kop.bericht_xsd_versie),
    }
    for names, (kop_name, value) in copied.items():
        if kop_name not in kop.vervangen:
            checks.append((names, value.strip(), "overgenomen van het heenbericht"))
    for names, expected, why in checks:
        got = _text(header, *names)
        if got != expected:
            node = _find(header, *names)
            finding(
                "RC005",
                node if node is not None else header,
                f"Header/{'/'.join(names)} is {got!r} maar moet {expected!r} zijn ({why}).",
            )


def _check_codes(ctx: _Retour) -> None:
    """RC002 (every RetourCode in codelijst EB001), RC009 (0200/0233 alone), RC001 (0001 only in a
    Header without Client) and RC003 (the Client and its class carry a code)."""
    h, header, client, klasse, finding = ctx.h, ctx.header, ctx.client, ctx.klasse, ctx.finding
    assert h.bericht is not None
    holders = _holders(ctx)
    for holder in holders:
        els = _codes(holder)
        values = [_code_text(c) for c in els]
        for el, value in zip(els, values, strict=True):
            if value not in ctx.codelist:
                finding("RC002", el, f"RetourCode {value!r} staat niet in de codelijst van {ctx.release}.")
        for neutral in ("0200", "0233"):
            if neutral in values and len(values) > 1:
                finding(
                    "RC009",
                    _child(holder, "RetourCodes"),
                    f"{neutral} ({'geen opmerking' if neutral == '0200' else 'niet beoordeeld'}) staat samen met "
                    f"{', '.join(v for v in values if v != neutral)} in één RetourCodes.",
                )
    # RC001: 0001 only in a header without Client
    for holder in holders:
        for el in _codes(holder):
            if _code_text(el) == "0001" and (client is not None or holder is not header):
                if holder is klasse and _generic_history_code(h):
                    continue  # a history rule the release lists without a code of its own (see there)
                finding(
                    "RC001",
                    el,
                    "RetourCode 0001 (technisch afgekeurd) hoort alleen in de Header van een retour zonder Client.",
                )
    # RC003: every class (and the Client) carries a code
    if client is not None:
        if not _codes(client):
            finding("RC003", client, "De Client heeft geen RetourCodes (verplicht in een retour met Client).")
        if klasse is None:
            finding("RC003", client, f"De Client mist de klasse {h.klasse} met haar RetourCodes.")
        elif not _codes(klasse):
            finding("RC003", klasse, f"{h.klasse} heeft geen RetourCode.")


def _holders(ctx: _Retour) -> list[etree._Element]:
    """The elements that carry RetourCodes: Header, Client and the class, as far as present."""
    return [x for x in (ctx.header, ctx.client, ctx.klasse) if x is not None]


def _check_placement(ctx: _Retour) -> None:
    """RC004: a specific code only where the heenbericht could break its rule, and in the right place."""
    h, client, klasse, finding = ctx.h, ctx.client, ctx.klasse, ctx.finding
    assert h.bericht is not None and h.root is not None
    header_codes = _codes(ctx.header)
    for holder in [x for x in (client, klasse) if x is not None]:
        for el in _codes(holder):
            value = _code_text(el)
            if value in ("8848", "S300"):
                finding(
                    "RC004", el, f"{value} gaat over de Header en hoort in Header/RetourCodes, niet hier."
                )
            elif (value.startswith("9") or value == "S333") and value in EB001 and not _could_break(h, value):
                status = _text(h.root, "Client", h.klasse, "StatusAanlevering")
                rule = RetourCode(value).rule
                finding(
                    "RC004",
                    el,
                    f"RetourCode {value} ({rule}) kan een {h.bericht} met StatusAanlevering {status} niet krijgen"
                    + (" (geen EbKostprijs)." if value == "S333" else "."),
                )
    for el in header_codes:
        value = _code_text(el)
        if value.startswith("9") or value == "S333" or value in ("0200", "0233"):
            finding("RC004", el, f"RetourCode {value} hoort bij de Client of de klasse, niet in de Header.")


def _check_client_copied(ctx: _Retour) -> None:
    """RC007: the Client's Bsn and the class fields copied from the heenbericht match (BSNs masked)."""
    h, client, klasse, finding = ctx.h, ctx.client, ctx.klasse, ctx.finding
    assert h.bericht is not None and h.root is not None
    if client is not None:
        hclient = _child(h.root, "Client")
        bsn, hbsn = _text(client, "Bsn"), _text(hclient, "Bsn")
        if bsn != hbsn:
            finding(
                "RC007",
                _child(client, "Bsn"),
                f"Client/Bsn is {mask_bsn(bsn or '')} maar het heenbericht heeft {mask_bsn(hbsn or '')}.",
            )
        if klasse is not None:
            hklasse = _child(hclient, h.klasse)
            assert h.row is not None
            for names in h.row.klasse_fields:
                got, expected = _text(klasse, *names), _text(hklasse, *names)
                if got != expected:
                    node = _find(klasse, *names)
                    finding(
                        "RC007",
                        node if node is not None else klasse,
                        f"{h.klasse}/{'/'.join(names)} is {got!r} maar het heenbericht heeft {expected!r}.",
                    )


def _check_level(ctx: _Retour, hrep: Report) -> None:
    """RC010: a technically rejected heenbericht gets only Header/RetourCode 0001, and only it does."""
    h, header, client, finding = ctx.h, ctx.header, ctx.client, ctx.finding
    header_codes = _codes(header)
    has_0001 = any(_code_text(el) == "0001" for el in header_codes)
    if h.technical and (not has_0001 or client is not None):
        finding(
            "RC010",
            header if header is not None else ctx.root,
            "Het heenbericht is technisch afgekeurd (XSD of regel in het bericht, "
            + ", ".join(sorted({i.code for i in hrep.issues if i.level <= 2}))
            + "); de retour moet alleen de Header met RetourCode 0001 bevatten.",
        )
    elif not h.technical and has_0001:
        finding(
            "RC010",
            header_codes[0],
            "Het heenbericht is technisch in orde (XSD en regels in het bericht); RetourCode 0001 past niet.",
        )


@dataclass(frozen=True)
class RetourPair:
    """A retour file and the heenbericht it answers (``heen`` None when none was found)."""

    retour: Path
    heen: Path | None


def _key(root: etree._Element | None) -> tuple[str, str, str] | None:
    header = _child(root, "Header")
    if header is None:
        return None
    values = (
        _text(header, "Afzender"),
        _text(header, "BerichtIdentificatie", "Identificatie"),
        _text(header, "BerichtIdentificatie", "Dagtekening"),
    )
    if any(v is None for v in values):
        return None
    return (values[0] or "", values[1] or "", values[2] or "")


def _peek(path: Path) -> tuple[str | None, etree._Element | None]:
    """(message name, root) of a file; a heenbericht with a BOM or another encoding is read as the
    CAK reads it (:func:`ieb.simulator.cak.readable_root`); (None, None) when unreadable."""
    from ieb.errors import IebError
    from ieb.xmlsafe import XmlProblem, parse_bytes

    root: etree._Element | None
    try:
        data = path.read_bytes()
        root = parse_bytes(data)
    except XmlProblem:
        root = readable_root(data)
    except (IebError, OSError):
        return None, None
    if root is None:
        return None, None
    found = default_registry.by_namespace(etree.QName(root).namespace or "")
    return (found[1].name if found is not None else None), root


def _heen_keys(root: etree._Element, bericht: str) -> tuple[tuple[str, str, str] | None, tuple[str, str]]:
    """The keys under which a retour finds this heenbericht: (Afzender, Identificatie, Dagtekening)
    as the retour carries them (:func:`ieb.simulator.cak.retour_kop`: copied, or the CAK's
    replacement of a value its type does not allow), and (Afzender, Identificatie) for a heenbericht
    whose Dagtekening the retour cannot copy (then the first key is None)."""
    row = _heen_row(bericht)
    retour = None
    if row is not None and row.answers is not None:
        retour = next(p for p in default_registry if p.name == row.release).message(row.answers)
    kop = retour_kop(_child(root, "Header"), dt.date(2000, 1, 1), retour)
    pair = (kop.afzender.strip(), kop.identificatie.strip())
    if "Dagtekening" in kop.vervangen:
        return None, pair
    return (*pair, kop.dagtekening.strip()), pair


def pair_files(heen: Path, retours: Iterable[Path]) -> Iterator[RetourPair]:
    """Pair retours with heenberichten. ``heen`` a file: every retour is checked against it.
    ``heen`` a folder: each retour is matched on (Afzender, Identificatie, Dagtekening) with the
    heenberichten in it (recursively; the header values as the retour carries them, also when the
    CAK had to replace one), else on (Afzender, Identificatie) with a heenbericht whose Dagtekening
    could not be copied; heenberichten among ``retours`` are skipped, so ``--heen DIR DIR`` checks
    a folder of pairs."""
    if heen.is_file():
        for r in retours:
            if r.resolve() != heen.resolve():
                yield RetourPair(r, heen)
        return
    index: dict[tuple[str, str, str], Path] = {}
    undated: dict[tuple[str, str], Path] = {}
    for p in sorted(heen.rglob("*.xml")):
        bericht, root = _peek(p)
        if _heen_row(bericht) is None or root is None or bericht is None:
            continue
        full, pair = _heen_keys(root, bericht)
        if full is not None:
            index.setdefault(full, p)
        else:
            undated.setdefault(pair, p)
    for r in retours:
        bericht, root = _peek(r)
        if _heen_row(bericht) is not None:
            continue
        key = _key(root)
        found = None
        if key is not None:
            found = index.get(key) or undated.get(key[:2])
        yield RetourPair(r, found)


def check_pair(pair: RetourPair) -> Report:
    """:func:`check_retour` on files; a missing heenbericht is finding RC008."""
    data = pair.retour.read_bytes()
    if pair.heen is None:
        report = validate_bytes(data)
        report.issues[:] = [i for i in report.issues if i.level <= 2]
        report.issues.append(
            Issue(
                "RC008",
                None,
                3,
                "/",
                "Geen heenbericht gevonden met dezelfde Afzender, BerichtIdentificatie en Dagtekening.",
            )
        )
        return report
    return check_retour(pair.heen.read_bytes(), data, heen_name=pair.heen.name)
