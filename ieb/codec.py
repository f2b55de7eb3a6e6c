"""Model <-> XML bytes for the iEb 1.0 berichten.

``to_xml`` writes UTF-8 without BOM, deterministic (same model, same bytes), with the standard's
namespace use: elements of a message in the message namespace (prefix ``wmo401`` ...), the children of
the basisschema's composite types in the basisschema namespace (prefix ``ieb``).

``from_xml`` parses hardened (see :mod:`ieb.xmlsafe`), validates (XSD and the in-message rules) and
returns the typed model; any prefix or a default namespace in the input is fine.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import Enum
from typing import Any

from lxml import etree
from pydantic import BaseModel

from ieb.errors import MessageInvalidError, UnknownMessageError
from ieb.messages import BASIS_NS, Message, message_class
from ieb.messages.base import IebModel

__all__ = ["element_to_model", "from_xml", "model_to_element", "to_xml"]


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _append(parent: etree._Element, model: IebModel, msg_ns: str) -> None:
    ns = BASIS_NS if type(model)._basis_ns else msg_ns
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        tag = f"{{{ns}}}{field.alias or name}"
        if isinstance(value, tuple):  # RetourCodes: wrapper with one RetourCode per code
            if not value:
                continue
            wrapper = etree.SubElement(parent, tag)
            for item in value:
                etree.SubElement(wrapper, f"{{{ns}}}RetourCode").text = _text(item)
        elif isinstance(value, IebModel):
            _append(etree.SubElement(parent, tag), value, msg_ns)
        else:
            etree.SubElement(parent, tag).text = _text(value)


def model_to_element(message: Message) -> etree._Element:
    """The message as an lxml element tree (root ``Bericht``)."""
    ns = message.namespace()
    root = etree.Element(f"{{{ns}}}Bericht", nsmap={"ieb": BASIS_NS, message.bericht.lower(): ns})
    _append(root, message, ns)
    return root


def to_xml(message: Message) -> bytes:
    """Serialise a message: UTF-8 without BOM, XML declaration, two-space indentation, final newline."""
    root = model_to_element(message)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"


def _model_type(annotation: Any) -> type[IebModel] | None:
    """The IebModel class inside ``X`` or ``X | None``, if any."""
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if typing.get_origin(annotation) is typing.Union:
        candidates = typing.get_args(annotation)
    for c in candidates:
        if isinstance(c, type) and issubclass(c, IebModel):
            return c
    return None


def _collect(element: etree._Element, cls: type[IebModel], msg_ns: str) -> dict[str, Any]:
    ns = BASIS_NS if cls._basis_ns else msg_ns
    values: dict[str, Any] = {}
    children: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            children.setdefault(child.tag, child)
    for name, field in cls.model_fields.items():
        found = children.get(f"{{{ns}}}{field.alias or name}")
        if found is None:
            continue
        child = found
        nested = _model_type(field.annotation)
        if nested is not None:
            values[name] = _collect(child, nested, msg_ns)
        elif typing.get_origin(field.annotation) is tuple:
            values[name] = tuple((c.text or "") for c in child if c.tag == f"{{{ns}}}RetourCode")
        else:
            text = child.text or ""
            values[name] = int(text) if _is_int_field(cls, name) else text
    return values


def _is_int_field(cls: type[BaseModel], name: str) -> bool:
    annotation = cls.model_fields[name].annotation
    if annotation is int:
        return True
    return any(arg is int for arg in typing.get_args(annotation)) or name in _INT_FIELDS


_INT_FIELDS = frozenset({"eb_start_nummer", "kostprijs_bedrag", "bericht_versie", "bericht_subversie"})


def element_to_model(root: etree._Element) -> Message:
    """Map a parsed (and already validated) ``Bericht`` element to its model."""
    qname = etree.QName(root)
    bericht = qname.namespace.rsplit("/", 2)[-2].upper() if qname.namespace else ""
    try:
        cls = message_class(bericht)
    except KeyError as exc:
        raise UnknownMessageError(f"geen iEb 1.0-bericht: root {root.tag}") from exc
    if qname.localname != "Bericht" or qname.namespace != cls.namespace():
        raise UnknownMessageError(f"geen iEb 1.0-bericht: root {root.tag}")
    return cls.model_validate(_collect(root, cls, cls.namespace()))


def from_xml(data: bytes, *, today: dt.date | None = None) -> Message:
    """Parse and validate an iEb 1.0 file; raise :class:`MessageInvalidError` listing every issue.

    Levels 1 and 2 (XSD and in-message rules) must pass. Level-3 findings that need the receiver's
    context (CS300, CS333, 8848) do not stop parsing; use :func:`ieb.validation.validate` for those.
    """
    from ieb.validation import validate_bytes

    report = validate_bytes(data, today=today)
    blocking = [i for i in report.issues if i.level < 3]
    if blocking or report.root is None:
        raise MessageInvalidError(
            f"bericht is ongeldig: {len(blocking)} probleem/problemen, eerste: {blocking[0].message}"
            if blocking
            else "bericht is ongeldig",
            blocking or report.issues,
        )
    return element_to_model(report.root)
