"""Compare the ieb-4.0 binding with a folder of iEb 4.0 XSDs (``ieb release check DIR``).

For every line of ``binding.toml``: does the element exist at that path in the folder's XSD of that
message, with a compatible type, the same repetition and (for ``fill`` lines) a fixed value? And the
other way round: does the XSD require an element that no binding line writes (a file built without
it would be XSD-invalid)? A mismatch names the binding line to change and, where the XSD offers one,
the path to put there (the same element found elsewhere, or a sibling with a similar name).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ieb.errors import ConfigurationError
from ieb.releases.ieb_4_0.binding import Bound, MessageBinding, load_binding
from ieb.releases.ieb_4_0.schema import SchemaIndex, index_schema
from ieb.values import INTEGER_TYPES
from ieb.xmlsafe import schema_parser

__all__ = ["CheckItem", "CheckReport", "MessageCheck", "check_folder", "find_message_schemas"]

#: Built-in XSD types each binding type can write and read.
COMPATIBLE: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "normalizedString", "token", "NMTOKEN", "Name", "NCName", "language"}),
    "integer": INTEGER_TYPES,
    "date": frozenset({"date"}),
}
_XS = {"xs": "http://www.w3.org/2001/XMLSchema"}


@dataclass(frozen=True)
class CheckItem:
    """The verdict on one binding line (or on one required element without a line).

    ``status``: ``"ok"``, ``"ontbreekt"`` (no element at the path), ``"type"`` (incompatible type),
    ``"herhaling"`` (repetition differs), ``"vast"`` (no fixed value to fill from), ``"niet-gebonden"``
    (the XSD requires an element no line writes). ``where`` is ``binding.toml:LINE`` (None for
    ``niet-gebonden``); ``fix`` says what to change (Dutch)."""

    bericht: str
    field: str | None
    path: str
    status: str
    message: str
    where: str | None = None
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """True when the line fits the XSD."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, str | bool | None]:
        """JSON shape: bericht, veld, pad, status, ok, melding, regel, oplossing."""
        return {
            "bericht": self.bericht,
            "veld": self.field,
            "pad": self.path,
            "status": self.status,
            "ok": self.ok,
            "melding": self.message,
            "regel": self.where,
            "oplossing": self.fix,
        }


@dataclass
class MessageCheck:
    """The check of one message: its XSD in the folder (None when absent), what the XSD itself says
    (namespace, BerichtCode, versions) and the items."""

    bericht: str
    schema: Path | None
    namespace: str | None = None
    bericht_code: str | None = None
    bericht_xsd_versie: str | None = None
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the message's XSD exists and every item is ok."""
        return self.schema is not None and all(i.ok for i in self.items)


@dataclass
class CheckReport:
    """The whole check: the folder, the release named in its appinfo, and one check per message."""

    folder: Path
    release: str | None
    messages: list[MessageCheck]

    @property
    def ok(self) -> bool:
        """True when every bound message and every line fits."""
        return bool(self.messages) and all(m.ok for m in self.messages)

    @property
    def problems(self) -> list[CheckItem]:
        """Every item that is not ok, in binding order."""
        return [i for m in self.messages for i in m.items if not i.ok]

    def to_dict(self) -> dict[str, object]:
        """JSON shape of ``ieb release check --format json``."""
        return {
            "map": str(self.folder),
            "release": self.release,
            "ok": self.ok,
            "berichten": [
                {
                    "bericht": m.bericht,
                    "xsd": str(m.schema) if m.schema else None,
                    "namespace": m.namespace,
                    "bericht_code": m.bericht_code,
                    "bericht_xsd_versie": m.bericht_xsd_versie,
                    "ok": m.ok,
                    "elementen": [i.to_dict() for i in m.items],
                }
                for m in self.messages
            ],
        }


def find_message_schemas(folder: Path) -> tuple[str | None, dict[str, Path]]:
    """(release from the appinfo, ``{"WMO405": path}``) of the message XSDs in ``folder``: a file
    whose appinfo names a ``bericht`` other than ``basisschema`` (as the iStandaarden publish them),
    else a file named after the message (``WMO405.xsd``, any case)."""
    if not folder.is_dir():
        raise ConfigurationError(f"map {folder} bestaat niet of is geen map")
    found: dict[str, Path] = {}
    release: str | None = None
    for path in sorted(folder.glob("*.xsd")) + sorted(folder.glob("*.XSD")):
        try:
            doc = etree.parse(str(path), schema_parser()).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise ConfigurationError(f"{path.name} is geen leesbare XSD: {exc}") from exc
        info = {
            etree.QName(n).localname: (n.text or "").strip()
            for n in doc.iterfind("xs:annotation/xs:appinfo/*", _XS)
            if isinstance(n.tag, str)
        }
        bericht = info.get("bericht", "") or path.stem
        if bericht.lower() == "basisschema":
            continue
        if info.get("standaard") and info.get("release") and release is None:
            release = f"{info['standaard'].lower()}-{info['release']}"
        found.setdefault(bericht.upper(), path)
    return release, found


def _suggest(index: SchemaIndex, binding: MessageBinding, bound: Bound) -> str | None:
    """Where the bound element may be now: the same local name elsewhere, or a similar sibling."""
    leaf = bound.path[-1]
    full = binding.full_path(bound)
    elsewhere = [p for p, info in index.elements.items() if p[-1] == leaf and info.builtin is not None]
    if elsewhere:
        where = "/".join(elsewhere[0][1:])
        return f'zet in {bound.where} path = "{where}"'
    for depth in range(len(full) - 1, 0, -1):
        parent = index.get(full[:depth])
        if parent is None:
            continue
        wanted = full[depth]
        bound_here = {
            binding.full_path(b)[depth]
            for b in binding.fields.values()
            if binding.full_path(b)[:depth] == full[:depth]
            and len(binding.full_path(b)) > depth
            and index.get(binding.full_path(b)[: depth + 1]) is not None
        }
        free = [c for c in parent.children if c not in bound_here]
        close = difflib.get_close_matches(wanted, free, n=1, cutoff=0.4)
        if not close and len(free) == 1:
            close = free
        if close:
            renamed = (*full[1:depth], close[0], *full[depth + 1 :])
            return (
                f"{wanted} heet in de XSD misschien {close[0]}; zet in {bound.where} "
                f'path = "{"/".join(renamed)}"'
            )
        return f"onder {'/'.join(full[:depth])} staan: {', '.join(parent.children) or '(niets)'}"
    return None


def _check_line(index: SchemaIndex, binding: MessageBinding, bound: Bound) -> CheckItem:
    full = binding.full_path(bound)
    info = index.get(full)

    def item(status: str, message: str, fix: str | None = None) -> CheckItem:
        return CheckItem(bound.bericht, bound.field, bound.path_text, status, message, bound.where, fix)

    if info is None:
        return item(
            "ontbreekt",
            f"{bound.bericht}: element {bound.path_text} bestaat niet in {index.schema_path.name}",
            _suggest(index, binding, bound) or f"pas path aan in {bound.where}",
        )
    if info.builtin is None:
        return item(
            "type",
            f"{bound.bericht}: {bound.path_text} is een samengesteld element, geen waarde",
            f"wijs in {bound.where} een element met een waarde aan",
        )
    if info.builtin not in COMPATIBLE[bound.type]:
        kind = next((k for k, v in COMPATIBLE.items() if info.builtin in v), None)
        return item(
            "type",
            f"{bound.bericht}: {bound.path_text} is in de XSD xs:{info.builtin}, de binding zegt {bound.type}",
            f'zet in {bound.where} type = "{kind}"' if kind else f"xs:{info.builtin} wordt niet ondersteund",
        )
    repeats = info.max_occurs is None or info.max_occurs > 1
    if repeats != bound.repeat:
        return item(
            "herhaling",
            f"{bound.bericht}: {bound.path_text} komt in de XSD "
            f"{'meermaals' if repeats else 'hoogstens één keer'} voor",
            f"zet in {bound.where} repeat = {'true' if repeats else 'false'}",
        )
    if bound.fill == "pattern" and index.fixed_value(full) is None:
        return item(
            "vast",
            f"{bound.bericht}: {bound.path_text} heeft in de XSD geen vaste waarde (xs:pattern)",
            f"haal fill weg in {bound.where} en geef de waarde mee",
        )
    if bound.fill and bound.fill.startswith("appinfo:") and bound.fill[8:] not in index.appinfo:
        return item(
            "vast",
            f"{bound.bericht}: de XSD noemt {bound.fill[8:]} niet in zijn appinfo",
            f"haal fill weg in {bound.where} en geef de waarde mee",
        )
    return item("ok", f"{bound.bericht}: {bound.path_text} xs:{info.builtin}")


def _unbound_required(index: SchemaIndex, binding: MessageBinding) -> list[CheckItem]:
    """Leaf elements the XSD requires (with every ancestor required, or holding a bound element)
    that no binding line writes."""
    bound_paths = {binding.full_path(b) for b in binding.fields.values()}
    used = {p[:i] for p in bound_paths for i in range(1, len(p) + 1)}
    items: list[CheckItem] = []
    for path, info in index.elements.items():
        if info.builtin is None or info.min_occurs == 0 or path in bound_paths:
            continue
        ancestors = [index.get(path[:i]) for i in range(2, len(path))]
        if all(a is not None and (a.min_occurs > 0 or a.path in used) for a in ancestors):
            text = "/".join(path[1:])
            items.append(
                CheckItem(
                    binding.bericht,
                    None,
                    text,
                    "niet-gebonden",
                    f"{binding.bericht}: de XSD eist {text}, maar geen bindingsregel schrijft het",
                    None,
                    f"voeg het element toe aan het model en aan [{binding.bericht}] in binding.toml",
                )
            )
    return items


def check_folder(folder: str | Path, *, binding_file: str | Path | None = None) -> CheckReport:
    """Check every bound message of ``binding_file`` (default: the pack's) against the XSDs in
    ``folder``. Raises :class:`~ieb.errors.ConfigurationError` when the folder or a file is unreadable;
    mismatches are items in the report, not exceptions."""
    folder = Path(folder)
    release, schemas = find_message_schemas(folder)
    report = CheckReport(folder=folder, release=release, messages=[])
    for name, binding in load_binding(binding_file).items():
        schema = schemas.get(name)
        check = MessageCheck(bericht=name, schema=schema)
        report.messages.append(check)
        if schema is None:
            check.items.append(
                CheckItem(name, None, "", "ontbreekt", f"geen XSD van {name} in {folder}", None, None)
            )
            continue
        try:
            index = index_schema(schema, binding.root)
        except ConfigurationError as exc:
            check.items.append(CheckItem(name, None, binding.root, "ontbreekt", str(exc), None, None))
            continue
        check.namespace = index.namespace
        check.bericht_xsd_versie = index.appinfo.get("BerichtXsdVersie")
        code_line = binding.fields.get("bericht_code")
        if code_line is not None:
            check.bericht_code = index.fixed_value(binding.full_path(code_line))
        check.items.extend(_check_line(index, binding, b) for b in binding.fields.values())
        check.items.extend(_unbound_required(index, binding))
    return report
