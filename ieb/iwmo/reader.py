"""Reading iWmo 3.2 WMO301, WMO305 and WMO307 files: hardened parsing, XSD validation, values.

Public API::

    read_bytes(data, bron) -> ParsedFile      one file (a bare Bericht or a StUF-GGk envelope carrying one)
    collect_files(paths) -> list[Path]        files and folders (recursively, sorted) to read

A :class:`ParsedFile` holds the :class:`Product` rows of the message (one per ToegewezenProduct,
StartProduct or StopProduct) and the :class:`Finding` list of the file. Nothing here touches the
database, the network or any file but the one given: parsing is :func:`ieb.xmlsafe.parse_bytes`
(25 MB, UTF-8, no DTD, no entities, bounded elements and depth), validation uses our own schemas in
``schemas/iwmo/3.2`` (written from the published facts).

Findings (Dutch, for a clerk) name a rule code: ``OP179``/``OP192``/``XML`` (unsafe or not XML),
``XSD`` (schema, with the line), ``CS002`` (Bsn 11-proef), ``IW001`` (another standard or release),
``IW002`` (an iWmo 3.2 message that ``ieb`` does not need, severity ``info``), ``IW003`` (a product
without ToewijzingNummer), ``IW004`` (an envelope that carries no XML message).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from ieb.iwmo.codes import GEBRUIKTE_BERICHTEN
from ieb.resources import schemas_dir
from ieb.types import bsn_is_valid, mask_bsn, mask_bsns
from ieb.validation.xsdtext import dutch_xsd_message
from ieb.values import collapse, element_text, read_date, read_integer
from ieb.xmlsafe import MAX_BYTES, XmlProblem, parse_bytes, thread_schema

__all__ = [
    "MAX_FILES",
    "Finding",
    "ParsedFile",
    "Product",
    "by_reading_order",
    "collect_files",
    "read_bytes",
    "read_file",
]

#: At most this many files in one read (a folder with more is refused, not half read).
MAX_FILES = 100_000

Ernst = Literal["fout", "waarschuwing", "info"]

_NS = re.compile(r"^\{http://www\.istandaarden\.nl/([a-z]+)/(\d+)_(\d+)/([a-z]+\d+)/schema\}Bericht$")
_BASIS = "http://www.istandaarden.nl/iwmo/3_2/basisschema/schema"
_GGK_NS = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
_PRODUCT = {"WMO301": "ToegewezenProduct", "WMO305": "StartProduct", "WMO307": "StopProduct"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or note about a file: ``bron`` (file name), ``regel`` (line, or None), ``code``
    (rule code), ``tekst`` (Dutch, no full BSN), ``ernst`` (``fout``: refused, ``waarschuwing``:
    stored with a remark, ``info``: nothing to do)."""

    bron: str
    regel: int | None
    code: str
    tekst: str
    ernst: Ernst = "fout"

    def __str__(self) -> str:
        bron = mask_bsns(self.bron)  # a file may be named after a client
        where = f"{bron}:{self.regel}" if self.regel else bron
        return f"{where}: [{self.code}] {self.tekst}"


@dataclass(frozen=True, slots=True)
class Product:
    """One product of a WMO301/305/307 as read (all dates ``datetime.date``).

    ``sleutel``: sha256 (hex) of the canonical message plus the product's position, the same for
    a bare file and the same message in an envelope (idempotent storage). ``gemeente``: the 4-digit
    gemeentecode (301 Afzender, 305/307 Ontvanger); ``aanbieder``: the AGB code of the other side.
    ``begindatum``: 301 Ingangsdatum, 305/307 Begindatum; ``einddatum``: 301/307 Einddatum;
    ``reden``: 301 RedenWijziging, 307 RedenBeeindiging; ``status``: 305/307 StatusAanlevering
    (``"1"``, ``"2"``, ``"3"``, ``"9"``), None for a 301; ``bron``: the file it came from."""

    bericht: str
    positie: int
    regel: int
    sleutel: str
    identificatie: str
    dagtekening: dt.date
    gemeente: str
    aanbieder: str
    bsn: str
    geboortedatum: dt.date | None
    geslacht: str | None
    toewijzing_nummer: int
    categorie: str | None
    productcode: str | None
    status: str | None
    begindatum: dt.date
    einddatum: dt.date | None
    reden: str | None
    volume: int | None = None
    eenheid: str | None = None
    frequentie: str | None = None
    bron: str = ""

    @property
    def wie(self) -> str:
        """``Bsn ******123, toewijzing 101`` for a finding."""
        return f"Bsn {mask_bsn(self.bsn)}, toewijzing {self.toewijzing_nummer}"


@dataclass(slots=True)
class ParsedFile:
    """What one file held: ``bericht`` (``WMO301``/``WMO305``/``WMO307``, or None when nothing is
    used), its ``products``, its ``findings`` and the header's ``identificatie`` and ``dagtekening``."""

    bron: str
    bericht: str | None = None
    identificatie: str = ""
    dagtekening: dt.date | None = None
    products: list[Product] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when the file yields no product because of an error."""
        return not self.products and any(f.ernst == "fout" for f in self.findings)


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read: each file as given, and in each folder (recursively, in name order) the
    files ending in ``.xml`` in any case, as ``ieb validate`` does (names starting with ``.`` skipped). Raises ``FileNotFoundError`` for a path that does not exist and
    ``ValueError`` for more than :data:`MAX_FILES` files."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() == ".xml"
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            out.extend(found)
        elif path.is_file():
            out.append(path)
        elif path.exists():
            raise ValueError(f"{mask_bsns(str(path))} is geen gewoon bestand of map")
        else:
            raise FileNotFoundError(f"{mask_bsns(str(path))} bestaat niet")
        if len(out) > MAX_FILES:
            raise ValueError(f"meer dan {MAX_FILES} bestanden; lees ze in delen")
    return out


def _line(el: etree._Element) -> int | None:
    """The source line of ``el`` (None when lxml does not know it)."""
    line = el.sourceline
    return line if isinstance(line, int) else None


def _child(parent: etree._Element, ns: str, name: str) -> etree._Element | None:
    return parent.find(f"{{{ns}}}{name}")


def _text(parent: etree._Element | None, ns: str, *path: str) -> str | None:
    el = parent
    for name in path:
        if el is None:
            return None
        el = el.find(f"{{{ns}}}{name}")
    if el is None:
        return None
    return collapse(element_text(el)) or None


def _date(el: etree._Element | None) -> dt.date | None:
    if el is None:
        return None
    value = read_date(el)
    return None if value is None else value.to_date()


def _schema_path(bericht: str) -> Path:
    return schemas_dir() / "iwmo" / "3.2" / f"{bericht}.xsd"


def _unwrap(root: etree._Element, bron: str) -> tuple[etree._Element | None, str, Finding | None]:
    """A GGk envelope's payload parsed (hardened), or the root itself."""
    from ieb.errors import IebError
    from ieb.ggk.codec import envelope_from_element

    try:
        envelope = envelope_from_element(root)
    except IebError as exc:
        return None, bron, Finding(bron, None, exc.code or "RIN001", f"De StUF-GGk-envelop klopt niet: {exc}")
    payload = getattr(envelope, "payload", None)
    inner = f"{bron} (bericht in envelop)"
    if not isinstance(payload, bytes):
        return None, inner, Finding(bron, None, "IW004", "De envelop bevat geen bericht.")
    try:
        return parse_bytes(payload), inner, None
    except XmlProblem as exc:
        return None, inner, Finding(inner, exc.line, exc.code or "XML", exc.issues[0].message)


def read_bytes(data: bytes, bron: str) -> ParsedFile:
    """Read one file's bytes (see the module docstring for the findings).

    Never raises for bad input: every problem is a :class:`Finding` of the returned
    :class:`ParsedFile`. An XSD error refuses the whole message (the iStandaard rejects a message
    that does not validate); a product whose Bsn fails the 11-proef is refused alone."""
    result = ParsedFile(bron)
    try:
        root = parse_bytes(data)
    except XmlProblem as exc:
        result.findings.append(Finding(bron, exc.line, exc.code or "XML", exc.issues[0].message))
        return result
    if isinstance(root.tag, str) and root.tag.startswith(f"{{{_GGK_NS}}}"):
        inner, name, problem = _unwrap(root, bron)
        if problem is not None or inner is None:
            result.findings.append(problem or Finding(bron, None, "IW004", "De envelop bevat geen bericht."))
            return result
        root, result.bron = inner, name
    _read_root(root, result)
    return result


def _read_root(root: etree._Element, result: ParsedFile) -> None:
    bron = result.bron
    match = _NS.match(root.tag) if isinstance(root.tag, str) else None
    if match is None:
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        result.findings.append(
            Finding(
                bron,
                _line(root),
                "IW001",
                f"Dit is geen iWmo-bericht (hoofdelement {name}); alleen iWmo 3.2 WMO301, WMO305 en "
                "WMO307 worden gelezen.",
            )
        )
        return
    standaard, major, minor, code = match.groups()
    bericht = code.upper()
    if standaard != "iwmo" or (major, minor) != ("3", "2"):
        result.findings.append(
            Finding(
                bron,
                _line(root),
                "IW001",
                f"Dit is een {bericht} van {standaard} {major}.{minor}; alleen iWmo 3.2 wordt gelezen. "
                "Vraag de leverancier om berichten van iWmo release 3.2.",
            )
        )
        return
    if bericht not in GEBRUIKTE_BERICHTEN:
        result.findings.append(
            Finding(
                bron,
                None,
                "IW002",
                f"{bericht} is niet nodig voor de eigen bijdrage of de beleidsinformatie; niet opgeslagen.",
                "info",
            )
        )
        return
    schema = thread_schema(_schema_path(bericht))
    if not schema.validate(root):
        prefixes = {_BASIS: "iwmo", root.tag[1:].split("}")[0]: bericht.lower()}
        entries: Iterable[Any] = schema.error_log  # type: ignore[assignment]
        for entry in entries:
            result.findings.append(
                Finding(
                    bron, entry.line or None, "XSD", dutch_xsd_message(entry.message, prefixes, entry.line)
                )
            )
        result.findings.append(
            Finding(bron, None, "XSD", f"Het {bericht}-bericht voldoet niet aan het XSD; niets opgeslagen.")
        )
        return
    result.bericht = bericht
    _read_products(root, bericht, result)


def _read_products(root: etree._Element, bericht: str, result: ParsedFile) -> None:
    ns = root.tag[1:].split("}")[0]
    header = _child(root, ns, "Header")
    client = _child(root, ns, "Client")
    assert header is not None and client is not None  # the XSD requires both
    ident = _child(header, ns, "BerichtIdentificatie")
    identificatie = _text(ident, _BASIS, "Identificatie") or ""
    dagtekening = _date(None if ident is None else _child(ident, _BASIS, "Dagtekening"))
    assert dagtekening is not None
    result.identificatie, result.dagtekening = identificatie, dagtekening
    afzender = _text(header, ns, "Afzender") or ""
    ontvanger = _text(header, ns, "Ontvanger") or ""
    gemeente, aanbieder = (afzender, ontvanger) if bericht == "WMO301" else (ontvanger, afzender)
    bsn = _text(client, ns, "Bsn") or ""
    geboorte = _child(client, ns, "Geboortedatum")
    geboortedatum = _date(None if geboorte is None else _child(geboorte, _BASIS, "Datum"))
    geslacht = _text(client, ns, "Geslacht")
    if not bsn_is_valid(bsn):
        result.findings.append(
            Finding(
                result.bron,
                None,
                "CS002",
                f"Bsn {mask_bsn(bsn)} voldoet niet aan de 11-proef; het bericht is niet opgeslagen.",
            )
        )
        return
    canonical = etree.tostring(root, method="c14n")
    digest = hashlib.sha256(canonical).hexdigest()
    products = root.iter(f"{{{ns}}}{_PRODUCT[bericht]}")
    for positie, el in enumerate(products, start=1):
        regel = _line(el) or 0
        nummer_el = _child(el, ns, "ToewijzingNummer")
        nummer = None if nummer_el is None else read_integer(nummer_el)
        if nummer is None:
            result.findings.append(
                Finding(
                    result.bron,
                    regel,
                    "IW003",
                    f"{_PRODUCT[bericht]} zonder ToewijzingNummer (Bsn {mask_bsn(bsn)}); zonder nummer is "
                    "het product niet aan een toewijzing te koppelen. Vraag de aanbieder het bericht "
                    "opnieuw te sturen met ToewijzingNummer.",
                )
            )
            continue
        product = _child(el, ns, "Product")
        omvang = _child(el, ns, "Omvang")
        volume_el = None if omvang is None else _child(omvang, _BASIS, "Volume")
        if bericht == "WMO301":
            begin = _date(_child(el, ns, "Ingangsdatum"))
            reden = _text(el, ns, "RedenWijziging")
            status = None
        else:
            begin = _date(_child(el, ns, "Begindatum"))
            reden = _text(el, ns, "RedenBeeindiging")
            status = _text(el, ns, "StatusAanlevering")
        assert begin is not None  # required by the XSD
        result.products.append(
            Product(
                bericht=bericht,
                positie=positie,
                regel=regel,
                sleutel=f"{digest}:{positie}",
                identificatie=identificatie,
                dagtekening=dagtekening,
                gemeente=gemeente,
                aanbieder=aanbieder,
                bsn=bsn,
                geboortedatum=geboortedatum,
                geslacht=geslacht,
                toewijzing_nummer=nummer,
                categorie=_text(product, _BASIS, "Categorie"),
                productcode=_text(product, _BASIS, "Code"),
                status=status,
                begindatum=begin,
                einddatum=_date(_child(el, ns, "Einddatum")),
                reden=reden,
                volume=None if volume_el is None else read_integer(volume_el),
                eenheid=_text(omvang, _BASIS, "Eenheid"),
                frequentie=_text(omvang, _BASIS, "Frequentie"),
                bron=result.bron,
            )
        )


def read_file(path: Path, bron: str | None = None) -> ParsedFile:
    """Read one file from disk: refused without reading when larger than 25 MB (OP179) or not a
    regular file."""
    name = bron or str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            return ParsedFile(name, findings=[Finding(name, None, "IW005", "Dit is geen gewoon bestand.")])
        if size > MAX_BYTES:
            return ParsedFile(
                name,
                findings=[
                    Finding(
                        name,
                        None,
                        "OP179",
                        f"Het bestand is {size / 1_048_576:.1f} MB; hoogstens {MAX_BYTES // 1_048_576} MB.",
                    )
                ],
            )
        data = path.read_bytes()
    except OSError as exc:
        return ParsedFile(name, findings=[Finding(name, None, "IW005", f"Niet te lezen: {exc.strerror}")])
    return read_bytes(data, name)


def sort_key(parsed: ParsedFile) -> tuple[dt.date, int, str, str]:
    """Reading order: Dagtekening, then 301 before 305 before 307, then identificatie and name."""
    order = {"WMO301": 0, "WMO305": 1, "WMO307": 2}.get(parsed.bericht or "", 3)
    return (parsed.dagtekening or dt.date.min, order, parsed.identificatie, parsed.bron)


def by_reading_order(files: Sequence[ParsedFile]) -> list[ParsedFile]:
    """``files`` in :func:`sort_key` order (a status 2 or 3 after the message it corrects)."""
    return sorted(files, key=sort_key)
