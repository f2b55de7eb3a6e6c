"""Model <-> XML bytes for the typed messages of every registered release pack.

``to_xml`` writes UTF-8 without BOM, deterministic (same model, same bytes), with the standard's
namespace use: elements of a message in the message namespace (prefix: the message name in lower
case), the children of the basisschema's composite types in the release's basisschema namespace
(prefix ``ieb``). Namespaces come from the model's ClassVars, which its pack sets from its table.

``from_xml`` parses hardened (see :mod:`ieb.xmlsafe`), validates (:func:`ieb.validation.validate_bytes`:
XSD and the in-message rules, ``validation="strict"``, the default), finds the message in the
registry's tables and returns the typed model; any prefix or a default namespace in the input is
fine. Values are read as the XSD reads them (:mod:`ieb.values`): comments and processing
instructions do not split a value, dates and integers have their whitespace collapsed, ``+0363`` is
363. ``parse_generic`` does the same for a release without typed models (a generic tree).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import Enum
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, ValidationError

from ieb.errors import IebError, MessageInvalidError, UnknownMessageError
from ieb.issues import Issue
from ieb.releases import Registry, default_registry
from ieb.releases.generic import GenericMessage, element_to_tree
from ieb.releases.models import IebModel, Message, model_error
from ieb.validation import validate_bytes
from ieb.values import read_date, read_integer, read_string
from ieb.xmlsafe import parse_bytes

__all__ = [
    "GenericMessage",
    "Validation",
    "element_to_model",
    "from_xml",
    "model_to_element",
    "parse_generic",
    "to_xml",
]

#: How :func:`from_xml` validates, in the style of xmlschema: ``"strict"`` (levels 1 and 2 must pass),
#: ``"lax"`` (only the XSD must pass; rule findings are not checked), ``"skip"`` (hardened parse only).
Validation = Literal["strict", "lax", "skip"]


def _text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _append(parent: etree._Element, model: IebModel, msg_ns: str, basis_ns: str) -> None:
    ns = basis_ns if type(model)._basis_ns else msg_ns
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
            _append(etree.SubElement(parent, tag), value, msg_ns, basis_ns)
        else:
            etree.SubElement(parent, tag).text = _text(value)


def model_to_element(message: Message) -> etree._Element:
    """The message as an lxml element tree (root ``Bericht``)."""
    ns = message.namespace()
    basis = message.basis_namespace
    root = etree.Element(f"{{{ns}}}Bericht", nsmap={"ieb": basis, message.bericht.lower(): ns})
    _append(root, message, ns, basis)
    return root


def to_xml(message: Message) -> bytes:
    """Serialise a message: UTF-8 without BOM, XML declaration, two-space indentation, final newline.

    Raises :class:`~ieb.errors.IebError` when ``message`` is not an iEb message model."""
    if not isinstance(message, Message):
        raise IebError(f"to_xml verwacht een getypt iEb-bericht (ieb.Message), niet {type(message).__name__}")
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


def _collect(element: etree._Element, cls: type[IebModel], msg_ns: str, basis_ns: str) -> dict[str, Any]:
    ns = basis_ns if cls._basis_ns else msg_ns
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
            values[name] = _collect(child, nested, msg_ns, basis_ns)
        elif typing.get_origin(field.annotation) is tuple:
            values[name] = tuple(read_string(c) for c in child if c.tag == f"{{{ns}}}RetourCode")
        elif _is_field_of(cls, name, int) or name in _INT_FIELDS:
            number = read_integer(child)
            values[name] = read_string(child) if number is None else number
        elif _is_field_of(cls, name, dt.date):
            day = read_date(child)
            if day is not None and not day.in_python_range:
                raise MessageInvalidError(
                    f"{field.alias or name} {day.isoformat()} valt buiten de jaren 0001-9999 (IEB-DATUM)",
                    [
                        _issue(
                            "IEB-DATUM",
                            child,
                            f"{field.alias or name} {day.isoformat()} valt buiten 0001-9999.",
                        )
                    ],
                )
            values[name] = read_string(child) if day is None else day.to_date()
        else:
            values[name] = read_string(child)
    return values


def _issue(code: str, element: etree._Element, message: str) -> Issue:
    return Issue(code, "0001", 2, etree.QName(element).localname, message)


def _is_field_of(cls: type[BaseModel], name: str, kind: type) -> bool:
    annotation = cls.model_fields[name].annotation
    if annotation is kind:
        return True
    return any(arg is kind for arg in typing.get_args(annotation))


# Literal[1] / Literal[0] header fields are integers in the XSD.
_INT_FIELDS = frozenset({"bericht_versie", "bericht_subversie"})


def element_to_model(root: etree._Element, *, registry: Registry | None = None) -> Message:
    """Map a parsed (and already validated) message root to its typed model, found in the tables of
    ``registry`` (the default one unless given). Raises UnknownMessageError when no pack has the
    message or its pack has no typed model for it; InvalidModelError when a value does not fit."""
    pack, row = (registry or default_registry).detect(root)
    cls = row.model
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Message)):
        raise UnknownMessageError(
            f"{pack.name} heeft geen getypt model voor {row.name}; gebruik parse_generic"
        )
    try:
        return cls.model_validate(_collect(root, cls, cls.namespace(), cls.basis_namespace))
    except ValidationError as exc:
        raise model_error(cls, exc) from None


def _validated_root(
    data: bytes, *, today: dt.date | None, worst: int, registry: Registry | None
) -> etree._Element:
    report = validate_bytes(data, today=today, registry=registry)
    blocking = [i for i in report.issues if i.level <= worst]
    if blocking or report.root is None:
        raise MessageInvalidError(
            f"bericht is ongeldig: {len(blocking)} probleem/problemen, eerste: {blocking[0].message}"
            if blocking
            else "bericht is ongeldig",
            blocking or report.issues,
        )
    return report.root


def from_xml(
    data: bytes,
    *,
    today: dt.date | None = None,
    validation: Validation = "strict",
    registry: Registry | None = None,
) -> Message:
    """Parse a message file into its typed model; raise :class:`MessageInvalidError` listing every issue.

    ``validation="strict"``: levels 1 and 2 (XSD and in-message rules) must pass; level-3 findings
    that need the receiver's context (CS300, CS333, 8848 in iEb 1.0) do not stop parsing (use
    :func:`ieb.validation.validate_bytes` for those). ``"lax"``: only level 1 must pass.
    ``"skip"``: hardened parse only. In every mode the model's own types still apply, and every
    problem is raised as an :class:`~ieb.errors.IebError` (never a pydantic or lxml exception):
    :class:`MessageInvalidError` (with ``.issues``), :class:`UnknownMessageError` or
    :class:`~ieb.xmlsafe.XmlProblem`. ``registry``: where the message is looked up (default: the
    built-in and entry point packs).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageInvalidError(f"verwacht bytes, niet {type(data).__name__}", [])
    data = bytes(data)
    if validation == "skip":
        return element_to_model(parse_bytes(data), registry=registry)
    if validation not in ("strict", "lax"):
        raise IebError(f"validation moet 'strict', 'lax' of 'skip' zijn, niet {validation!r}")
    root = _validated_root(data, today=today, worst=2 if validation == "strict" else 1, registry=registry)
    return element_to_model(root, registry=registry)


def parse_generic(
    data: bytes, *, registry: Registry | None = None, today: dt.date | None = None
) -> GenericMessage:
    """Validate (XSD + generic checks, and the release's own rules if it has them) and return the
    message as a generic tree (for a release without typed models).

    Raises :class:`MessageInvalidError` with every level-1/2 issue when the file is not valid.
    """
    registry = registry or default_registry
    report = validate_bytes(data, registry=registry, today=today)
    blocking = [i for i in report.issues if i.level < 3]
    if blocking or report.root is None or report.release is None or report.bericht is None:
        raise MessageInvalidError("bericht is ongeldig", blocking or report.issues)
    spec = registry.get(report.release).message(report.bericht)
    tree = element_to_tree(report.root, spec)
    return GenericMessage(
        release=report.release,
        bericht=report.bericht,
        bericht_code=spec.bericht_code,
        namespace=spec.namespace,
        tree=tree if isinstance(tree, dict) else {},
    )
