"""ieb-4.0 model <-> XML through the binding (``binding.toml``) and the active XSD folder.

Writing: every bound field with a value (or a ``fill`` from the XSD) is placed at its element path;
the element's namespace and the order among its siblings come from the XSD (:mod:`.schema`), so the
same model writes a valid file for the stand-in and for the official XSDs once the binding fits.
Output is UTF-8 without BOM, deterministic, two-space indented, with a final newline.

Reading: values are found by local names along the bound paths and read as the XSD reads them
(:mod:`ieb.values`); the caller validates against the XSD first (:func:`.validate_xsd`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from lxml import etree

from ieb.errors import IebError, UnknownMessageError
from ieb.issues import Issue
from ieb.releases.ieb_4_0.binding import RELEASE, Bound, MessageBinding, load_binding
from ieb.releases.ieb_4_0.schema import SchemaIndex, index_schema
from ieb.values import read_date, read_integer, read_string
from ieb.xmlsafe import XmlProblem, parse_bytes, thread_schema

__all__ = [
    "STAND_IN_DIR",
    "active_folder",
    "element_values",
    "message_schemas",
    "model_to_element",
    "schema_index",
    "to_xml",
    "validate_xsd",
    "values_to_element",
]

#: The stand-in XSD folder shipped with the pack (used until an official folder is registered).
STAND_IN_DIR = Path(__file__).with_name("schemas")

_Tree = dict[str, Any]


def active_folder() -> Path:
    """The XSD folder of the ieb-4.0 pack registered in the default registry: an official folder
    (``release_xsd``, see :func:`ieb.releases.use_official_folder`) or the stand-in."""
    from ieb.errors import ConfigurationError
    from ieb.releases import default_registry

    try:
        return default_registry.get(RELEASE).folder or STAND_IN_DIR
    except ConfigurationError:
        return STAND_IN_DIR


def message_schemas(folder: Path | None = None) -> dict[str, Path]:
    """``{"WMO405": path}`` of the message XSDs in ``folder`` (default: :func:`active_folder`)."""
    from ieb.releases.ieb_4_0.check import find_message_schemas

    _, found = find_message_schemas(folder or active_folder())
    return found


def schema_index(bericht: str, folder: Path | None = None) -> tuple[MessageBinding, SchemaIndex]:
    """The binding and the XSD index of ``bericht`` in ``folder`` (default: the stand-in).
    Raises :class:`UnknownMessageError` when the folder has no XSD for it."""
    binding = load_binding().get(bericht.upper())
    path = message_schemas(folder).get(bericht.upper())
    if binding is None or path is None:
        raise UnknownMessageError(f"ieb-4.0 kent bericht {bericht!r} niet (of de XSD ontbreekt in {folder})")
    return binding, index_schema(path, binding.root)


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _fill(bound: Bound, index: SchemaIndex, full: tuple[str, ...]) -> str | None:
    if bound.fill == "pattern":
        return index.fixed_value(full)
    if bound.fill and bound.fill.startswith("appinfo:"):
        return index.appinfo.get(bound.fill[8:])
    return None


def model_to_element(model: Any, folder: Path | None = None) -> etree._Element:
    """The message as an lxml tree, laid out by the XSD in ``folder`` (default: the stand-in)."""
    binding = load_binding()[model.bericht]
    values: dict[str, Any] = {}
    for bound in binding.fields.values():
        value = getattr(model, bound.field)
        if value is None or value == ():
            continue
        values[bound.field] = [_text(v) for v in value] if bound.repeat else _text(value)
    return values_to_element(model.bericht, values, folder)


def values_to_element(
    bericht: str, values: Mapping[str, str | Sequence[str]], folder: Path | None = None
) -> etree._Element:
    """Lay out ``values`` (model field -> text, or a list of texts for a ``repeat`` line) as the
    XSD of ``bericht`` in ``folder`` orders and qualifies them; ``fill`` lines missing from
    ``values`` get the XSD's value. No model validation: the retour writer copies a heenbericht's
    values as written. Raises :class:`UnknownMessageError` for a field the binding lacks."""
    binding, index = schema_index(bericht, folder)
    unknown = set(values) - set(binding.fields)
    if unknown:
        raise UnknownMessageError(f"{bericht}: geen bindingsregel voor {', '.join(sorted(unknown))}")
    tree: _Tree = {}
    for bound in binding.fields.values():
        full = binding.full_path(bound)
        value: Any = values.get(bound.field)
        if value is None or (bound.repeat and not value):
            value = _fill(bound, index, full)
        if value is None:
            continue
        node = tree
        for part in full[1:-1]:
            node = node.setdefault(part, {})
        node[full[-1]] = list(value) if bound.repeat and not isinstance(value, str) else [value]
    prefixes: dict[str, str] = {index.namespace: bericht.lower()}
    for info in index.elements.values():
        if info.namespace and info.namespace not in prefixes:
            prefixes[info.namespace] = "ieb" if "ieb" not in prefixes.values() else f"ns{len(prefixes)}"
    root_info = index.elements[(binding.root,)]
    root = etree.Element(
        f"{{{root_info.namespace}}}{binding.root}" if root_info.namespace else binding.root,
        nsmap={p: ns for ns, p in prefixes.items()},
    )

    def emit(parent: etree._Element, path: tuple[str, ...], node: _Tree) -> None:
        info = index.elements[path]
        for child in info.children:
            if child not in node:
                continue
            child_path = (*path, child)
            child_info = index.elements[child_path]
            tag = f"{{{child_info.namespace}}}{child}" if child_info.namespace else child
            content = node[child]
            if isinstance(content, dict):
                emit(etree.SubElement(parent, tag), child_path, content)
            else:
                for text in content:
                    etree.SubElement(parent, tag).text = text

    emit(root, (binding.root,), tree)
    return root


def to_xml(model: Any, folder: Path | None = None) -> bytes:
    """Serialise a 4.0 message model (:mod:`.models`): UTF-8 without BOM, XML declaration, two-space
    indentation, final newline. Raises :class:`IebError` when ``model`` is not a 4.0 model."""
    if (
        getattr(type(model), "release", None) != RELEASE
        or getattr(model, "bericht", None) not in load_binding()
    ):
        raise IebError(f"to_xml van ieb-4.0 verwacht Wmo405 ... Wmo408, niet {type(model).__name__}")
    root = model_to_element(model, folder)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"


def _find(root: etree._Element, path: tuple[str, ...]) -> list[etree._Element]:
    nodes = [root]
    for part in path:
        nodes = [c for n in nodes for c in n if isinstance(c.tag, str) and etree.QName(c).localname == part]
    return nodes


def _read(element: etree._Element, kind: str) -> Any:
    if kind == "integer":
        number = read_integer(element)
        return read_string(element) if number is None else number
    if kind == "date":
        day = read_date(element)
        if day is None or not day.in_python_range:
            return read_string(element)
        return day.to_date()
    return read_string(element)


def element_values(root: etree._Element, bericht: str) -> dict[str, Any]:
    """The bound values of a parsed (and XSD-valid) ``bericht`` by model field, read as the XSD
    reads them (a repeating element as a tuple); absent elements are left out."""
    binding = load_binding()[bericht.upper()]
    values: dict[str, Any] = {}
    for bound in binding.fields.values():
        found = _find(root, bound.path)
        if not found:
            continue
        if bound.repeat:
            values[bound.field] = tuple(read_string(e) for e in found)
        else:
            values[bound.field] = _read(found[0], bound.type)
    return values


def validate_xsd(
    data: bytes, folder: Path | None = None
) -> tuple[str | None, etree._Element | None, list[Issue]]:
    """Parse hardened and validate against the 4.0 XSD of the message the root names.

    Returns (bericht or None, root or None, level-1 issues: ``XSD`` with retourcode 0001, or the
    parser's code). Never raises for bad input."""
    try:
        root = parse_bytes(data)
    except XmlProblem as exc:  # the clerk's finding (ieb.xmltext), as validate_bytes reports it
        return None, None, list(exc.issues)
    namespace = etree.QName(root).namespace or ""
    for name, path in message_schemas(folder).items():
        index = index_schema(path, load_binding()[name].root) if name in load_binding() else None
        if index is not None and index.namespace == namespace and etree.QName(root).localname == index.root:
            schema = thread_schema(path)
            if schema.validate(root):
                return name, root, []
            issues = [
                Issue("XSD", "0001", 1, err.path or None, f"regel {err.line}: {err.message}")
                for err in list(schema.error_log)  # type: ignore[call-overload]
            ]
            return name, root, issues
    return (
        None,
        root,
        [
            Issue(
                "XSD",
                "0001",
                1,
                None,
                f"geen iEb 4.0-bericht: root {etree.QName(root).localname} in {namespace or '(geen namespace)'}",
            )
        ],
    )
