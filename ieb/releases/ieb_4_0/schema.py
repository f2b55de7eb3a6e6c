"""What an iEb 4.0 message XSD declares, element by element (stand-in or official folder).

:func:`index_schema` walks a message XSD (and the schemas it imports) from its root element and
records, per element path (local names from the root, ``("Bericht", "Header", "BerichtCode")``),
the namespace the element is in, the built-in XSD type its simple type derives from, its
cardinality, the order of its children and its fixed patterns. The codec writes and reads XML with
this index (namespaces and sibling order come from the XSD, never from code) and
``ieb release check`` compares the binding with it.

The XSD files are trusted input (the project's own stand-in, or a folder the user gives); they are
parsed with :func:`ieb.xmlsafe.schema_parser` (no network, no entities) and the walk is bounded in
depth and size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from ieb.errors import ConfigurationError
from ieb.xmlsafe import schema_parser

__all__ = ["ElementInfo", "SchemaIndex", "index_schema"]

XS = "http://www.w3.org/2001/XMLSchema"
_MAX_DEPTH = 24
_MAX_ELEMENTS = 5000
_MAX_FILES = 50


@dataclass(frozen=True)
class ElementInfo:
    """One declared element: ``namespace`` (``""`` when unqualified), ``builtin`` (the built-in XSD
    type a simple type derives from, ``"date"``, ``"integer"``, ``"string"``, ...; None for a complex
    type), ``min_occurs``/``max_occurs`` (None = unbounded), ``children`` (local names in declared
    order) and ``patterns`` (the ``xs:pattern`` values of its simple type, innermost first)."""

    path: tuple[str, ...]
    namespace: str
    builtin: str | None
    min_occurs: int
    max_occurs: int | None
    children: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()


@dataclass
class SchemaIndex:
    """The elements of one message XSD by path, plus its ``appinfo`` values and target namespace."""

    schema_path: Path
    root: str
    namespace: str
    elements: dict[tuple[str, ...], ElementInfo] = field(default_factory=dict)
    appinfo: dict[str, str] = field(default_factory=dict)

    def get(self, path: tuple[str, ...]) -> ElementInfo | None:
        """The element at ``path`` (local names from the root), or None."""
        return self.elements.get(path)

    def fixed_value(self, path: tuple[str, ...]) -> str | None:
        """The single literal pattern of the element (``BerichtCode`` ``"474"``), or None."""
        info = self.elements.get(path)
        if info is None or not info.patterns:
            return None
        value = info.patterns[0]
        return value if value and all(c.isalnum() or c in "._-" for c in value) else None


def _local(qname: str | None) -> str:
    return (qname or "").split(":")[-1]


def _resolve(node: etree._Element, qname: str | None) -> tuple[str, str]:
    """(namespace, local name) of a QName attribute value, resolved with the node's prefixes."""
    if not qname:
        return "", ""
    prefix, _, local = qname.rpartition(":")
    namespace = node.nsmap.get(prefix or None) or ""
    return namespace, local


class _Schemas:
    """The global components of a schema file and every file it imports or includes."""

    def __init__(self, path: Path) -> None:
        self.complex_types: dict[tuple[str, str], etree._Element] = {}
        self.simple_types: dict[tuple[str, str], etree._Element] = {}
        self.elements: dict[tuple[str, str], etree._Element] = {}
        self.qualified: dict[etree._Element, bool] = {}
        self.target: dict[etree._Element, str] = {}
        self.root_doc: etree._Element | None = None
        self._seen: set[Path] = set()
        self._load(path)

    def _load(self, path: Path) -> None:
        path = path.resolve()
        if path in self._seen:
            return
        if len(self._seen) >= _MAX_FILES:
            raise ConfigurationError(f"{path.name}: meer dan {_MAX_FILES} XSD-bestanden geïmporteerd")
        self._seen.add(path)
        try:
            doc = etree.parse(str(path), schema_parser()).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise ConfigurationError(f"XSD {path} is niet te lezen: {exc}") from exc
        if self.root_doc is None:
            self.root_doc = doc
        tns = doc.get("targetNamespace") or ""
        qualified = doc.get("elementFormDefault") == "qualified"
        for node in doc:
            if not isinstance(node.tag, str):
                continue
            self.qualified[node] = qualified
            self.target[node] = tns
            name = node.get("name")
            if node.tag == f"{{{XS}}}complexType" and name:
                self.complex_types[(tns, name)] = node
            elif node.tag == f"{{{XS}}}simpleType" and name:
                self.simple_types[(tns, name)] = node
            elif node.tag == f"{{{XS}}}element" and name:
                self.elements[(tns, name)] = node
        for imp in doc.iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            location = imp.get("schemaLocation")
            if location and "://" not in location:
                self._load(path.parent / location)

    def top(self, node: etree._Element) -> etree._Element:
        """The top-level component that holds ``node``."""
        while node.getparent() is not None and node.getparent().tag != f"{{{XS}}}schema":  # type: ignore[union-attr]
            node = node.getparent()  # type: ignore[assignment]
        return node


def _simple(
    schemas: _Schemas, node: etree._Element | None, type_ref: tuple[str, str] | None
) -> tuple[str | None, tuple[str, ...]]:
    """(built-in base, patterns innermost first) of a simple type given as a node or a reference."""
    patterns: list[str] = []
    for _ in range(_MAX_DEPTH):
        if node is None:
            if type_ref is None:
                return None, tuple(patterns)
            if type_ref[0] == XS:
                return type_ref[1], tuple(patterns)
            node = schemas.simple_types.get(type_ref)
            if node is None:
                return None, tuple(patterns)
        restriction = node.find(f"{{{XS}}}restriction")
        if restriction is None:  # xs:list / xs:union: read as text
            return "string", tuple(patterns)
        patterns.extend(p.get("value", "") for p in restriction.findall(f"{{{XS}}}pattern"))
        inner = restriction.find(f"{{{XS}}}simpleType")
        if inner is not None:
            node, type_ref = inner, None
        else:
            node, type_ref = None, _resolve(restriction, restriction.get("base"))
    return None, tuple(patterns)


def _particles(schemas: _Schemas, ctype: etree._Element, depth: int = 0) -> list[etree._Element]:
    """The element declarations of a complex type in document order (sequence/choice/all, nested
    groups, extension of a base type)."""
    if depth > _MAX_DEPTH:
        return []
    found: list[etree._Element] = []
    for child in ctype:
        if not isinstance(child.tag, str):
            continue
        tag = etree.QName(child).localname
        if tag == "element":
            found.append(child)
        elif tag in ("sequence", "choice", "all"):
            found.extend(_particles(schemas, child, depth + 1))
        elif tag in ("complexContent", "simpleContent"):
            for ext in child:
                if isinstance(ext.tag, str) and etree.QName(ext).localname in ("extension", "restriction"):
                    base = schemas.complex_types.get(_resolve(ext, ext.get("base")))
                    if base is not None and etree.QName(ext).localname == "extension":
                        found.extend(_particles(schemas, base, depth + 1))
                    found.extend(_particles(schemas, ext, depth + 1))
    return found


def _occurs(node: etree._Element) -> tuple[int, int | None]:
    low = node.get("minOccurs", "1")
    high = node.get("maxOccurs", "1")
    return (
        int(low) if low.isdigit() else 1,
        None if high == "unbounded" else int(high) if high.isdigit() else 1,
    )


@cache
def _index_cached(schema_path: Path, mtime_ns: int, root: str) -> SchemaIndex:
    del mtime_ns  # part of the cache key only: an edited file is read again
    schemas = _Schemas(schema_path)
    doc = schemas.root_doc
    assert doc is not None
    tns = doc.get("targetNamespace") or ""
    appinfo: dict[str, str] = {}
    for node in doc.iterfind(f"{{{XS}}}annotation/{{{XS}}}appinfo/*"):
        if isinstance(node.tag, str) and node.text:
            appinfo[etree.QName(node).localname] = node.text.strip()
    index = SchemaIndex(schema_path=schema_path, root=root, namespace=tns, appinfo=appinfo)
    top = schemas.elements.get((tns, root))
    if top is None:
        raise ConfigurationError(f"{schema_path.name} declareert geen root-element {root!r}")

    def walk(decl: etree._Element, path: tuple[str, ...], namespace: str, depth: int) -> None:
        if depth > _MAX_DEPTH or len(index.elements) >= _MAX_ELEMENTS:
            return
        low, high = _occurs(decl)
        if decl.get("ref"):
            ref = schemas.elements.get(_resolve(decl, decl.get("ref")))
            if ref is None:
                return
            decl, namespace = ref, schemas.target[schemas.top(ref)]
        type_ref = _resolve(decl, decl.get("type")) if decl.get("type") else None
        ctype = schemas.complex_types.get(type_ref) if type_ref else decl.find(f"{{{XS}}}complexType")
        if ctype is None:
            builtin, patterns = _simple(schemas, decl.find(f"{{{XS}}}simpleType"), type_ref)
            index.elements[path] = ElementInfo(path, namespace, builtin or "string", low, high, (), patterns)
            return
        simple = ctype.find(f"{{{XS}}}simpleContent/*")
        children: list[str] = []
        for child in _particles(schemas, ctype):
            owner = schemas.top(child)
            if child.get("ref"):
                ref_ns, name = _resolve(child, child.get("ref"))
                child_ns = ref_ns
            else:
                name = child.get("name", "")
                child_ns = schemas.target[owner] if schemas.qualified[owner] else ""
            if not name:
                continue
            children.append(name)
            walk(child, (*path, name), child_ns, depth + 1)
        builtin = None
        if simple is not None:
            builtin, _ = _simple(schemas, None, _resolve(simple, simple.get("base")))
        index.elements[path] = ElementInfo(path, namespace, builtin, low, high, tuple(children))

    walk(top, (root,), tns, 0)
    return index


def index_schema(schema_path: str | Path, root: str = "Bericht") -> SchemaIndex:
    """Index the message XSD at ``schema_path`` from its global element ``root``.

    Raises :class:`~ieb.errors.ConfigurationError` when a file cannot be read or ``root`` is not
    declared. Cached per file and modification time."""
    path = Path(schema_path).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigurationError(f"XSD {path} bestaat niet") from exc
    return _index_cached(path, mtime, root)
