"""Reading XSDs for the release registry: the type index of a message schema and its appinfo.

Internal to :mod:`ieb.releases`; schemas are parsed with the hardened parser of :mod:`ieb.xmlsafe`.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ieb.xmlsafe import schema_parser

XS = "http://www.w3.org/2001/XMLSchema"
_XS = {"xs": XS}
#: Simple types of the basisschema that the generic checks look for.
GENERIC_TYPES = frozenset({"LDT_BurgerServicenummer", "LDT_Datum", "LDT_StatusAanlevering"})


def secure_parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), schema_parser())


def type_index(
    schema_path: Path, root_name: str
) -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str]]:
    """Walk the XSD (message schema plus the schemas it imports) from the root element and record,
    for every element path, the LDT_* type it is declared with or restricts, and the built-in XSD
    type at the root of its derivation."""
    complex_types: dict[str, etree._Element] = {}
    simple_types: dict[str, etree._Element] = {}
    roots: dict[str, etree._Element] = {}
    seen: set[Path] = set()

    def load(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        doc = secure_parse(path).getroot()
        for node in doc.findall("xs:complexType", _XS):
            complex_types[node.get("name", "")] = node
        for node in doc.findall("xs:simpleType", _XS):
            simple_types[node.get("name", "")] = node
        if path == schema_path.resolve():
            for node in doc.findall("xs:element", _XS):
                roots[node.get("name", "")] = node
        for imp in doc.findall("xs:import", _XS) + doc.findall("xs:include", _XS):
            loc = imp.get("schemaLocation")
            if loc:
                load(path.parent / loc)

    def local(qname: str | None) -> str:
        return (qname or "").split(":")[-1]

    def simple_base(name: str, depth: int = 0) -> str | None:
        if name in GENERIC_TYPES:
            return name
        node = simple_types.get(name)
        if node is None or depth > 20:
            return None
        restriction = node.find("xs:restriction", _XS)
        return simple_base(local(restriction.get("base")), depth + 1) if restriction is not None else None

    def builtin_base(name: str, depth: int = 0) -> str | None:
        node = simple_types.get(name)
        if node is None:
            return name or None  # not declared in these schemas: a built-in type (xs:date, ...)
        restriction = node.find("xs:restriction", _XS)
        if restriction is None or depth > 20:
            return None
        return builtin_base(local(restriction.get("base")), depth + 1)

    index: dict[tuple[str, ...], str] = {}
    builtins: dict[tuple[str, ...], str] = {}

    def walk(element: etree._Element, path: tuple[str, ...], depth: int) -> None:
        if depth > 30:
            return
        type_name = local(element.get("type"))
        base = simple_base(type_name) if type_name else None
        if not type_name:
            anonymous = element.find("xs:simpleType/xs:restriction", _XS)
            if anonymous is not None:
                base = simple_base(local(anonymous.get("base")))
        if base:
            index[path] = base
        if type_name and type_name not in complex_types:
            builtin = builtin_base(type_name)
        else:
            anonymous = element.find("xs:simpleType/xs:restriction", _XS)
            builtin = builtin_base(local(anonymous.get("base"))) if anonymous is not None else None
        if builtin:
            builtins[path] = builtin
        ctype = complex_types.get(type_name) if type_name else element.find("xs:complexType", _XS)
        if ctype is None:
            return
        for child in ctype.iter(f"{{{XS}}}element"):
            if child.get("name"):
                walk(child, (*path, child.get("name", "")), depth + 1)

    load(schema_path)
    if root_name in roots:
        walk(roots[root_name], (root_name,), 0)
    return index, builtins


def appinfo(doc: etree._Element, name: str) -> str | None:
    for node in doc.iterfind("xs:annotation/xs:appinfo/*", _XS):
        if etree.QName(node).localname == name and node.text:
            return node.text.strip()
    return None
