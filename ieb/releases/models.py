"""The typed message model base, release-neutral: :class:`IebModel`, :class:`Message`, the header
parts every iStandaard release shares, and the error a model raises.

Field names follow the standard in snake_case (``eb_start_nummer``); each field's *alias* is the XML
element name (``EbStartNummer``), which the codec uses. Models are frozen: build a new one with
``model_copy(update=...)`` to change a value. A pack's models set the ClassVars of :class:`Message`
from its message table (name, BerichtCode, namespaces, release).
"""

from __future__ import annotations

import re
import typing
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ieb.errors import MessageInvalidError
from ieb.issues import Issue
from ieb.types import Datum, Gemeentecode, IdentificatieBericht, Versie, mask_bsns

__all__ = [
    "BerichtIdentificatie",
    "HeaderBase",
    "IebModel",
    "InvalidModelError",
    "Message",
    "RetourMessage",
    "XsdVersie",
    "dump_fields",
    "model_error",
    "validated",
]


class IebModel(BaseModel):
    """Base of every model: frozen, strict about unknown fields, populated by name or by XML alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, validate_by_name=True)

    #: True for the basisschema's composite types (CDT_*), whose children are in the basisschema
    #: namespace; False for classes declared in a message XSD (children in the message namespace).
    _basis_ns: ClassVar[bool] = False


class BerichtIdentificatie(IebModel):
    """CDT_BerichtIdentificatie: name/number and date of sending of the whole delivery."""

    _basis_ns: ClassVar[bool] = True
    identificatie: IdentificatieBericht = Field(alias="Identificatie")
    dagtekening: Datum = Field(alias="Dagtekening")


class XsdVersie(IebModel):
    """CDT_XsdVersie: the XSD versions used to write the message (a pack's subclass gives defaults)."""

    _basis_ns: ClassVar[bool] = True
    basisschema_xsd_versie: Versie = Field(alias="BasisschemaXsdVersie")
    bericht_xsd_versie: Versie = Field(alias="BerichtXsdVersie")


class HeaderBase(IebModel):
    """What every iStandaard Header has: BerichtCode, BerichtVersie, BerichtSubversie, Afzender and
    BerichtIdentificatie (a pack's Header adds the release's fixed values and the XsdVersie)."""

    bericht_code: str = Field(alias="BerichtCode")
    bericht_versie: int = Field(alias="BerichtVersie")
    bericht_subversie: int = Field(alias="BerichtSubversie")
    afzender: Gemeentecode = Field(alias="Afzender")
    bericht_identificatie: BerichtIdentificatie = Field(alias="BerichtIdentificatie")


class Message(IebModel):
    """Base of every typed message. The ClassVars come from the pack's table: ``bericht`` the
    message name, ``bericht_code`` its BerichtCode, ``release`` the pack name, ``namespace_uri``
    the message namespace, ``basis_namespace`` the release's basisschema namespace."""

    bericht: ClassVar[str]
    bericht_code: ClassVar[str]
    release: ClassVar[str]
    namespace_uri: ClassVar[str]
    basis_namespace: ClassVar[str]
    header: HeaderBase = Field(alias="Header")

    @classmethod
    def namespace(cls) -> str:
        """The message namespace (from the pack's table)."""
        return cls.namespace_uri

    @model_validator(mode="after")
    def _code_matches(self) -> Message:
        if self.header.bericht_code != self.bericht_code:
            raise ValueError(
                f"BerichtCode {self.header.bericht_code!r} hoort niet bij {self.bericht}; "
                f"verwacht {self.bericht_code} (CS126)"
            )
        return self


class RetourMessage(Message):
    """Base of a retour: ``heen`` names the heenbericht it answers (from the pack's table)."""

    #: the heenbericht this message answers
    heen: ClassVar[str]


_M = TypeVar("_M", bound=BaseModel)


def validated(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_validate(values)``, raising :class:`InvalidModelError` (naming field and rule)
    instead of pydantic's error."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise model_error(cls, exc) from None


def dump_fields(model: IebModel) -> dict[str, Any]:
    """The model's fields by Python name (nested models stay models)."""
    return {name: getattr(model, name) for name in type(model).model_fields}


class InvalidModelError(MessageInvalidError, ValueError):
    """A value does not fit the message model; ``issues`` names each field (as an XML path of the
    standard's element names) and the rule (``CS002``, ``CS125``, ... or ``XSD`` for a type or
    facet). Also a ``ValueError``, so code that caught pydantic's error keeps working; ``errors()``
    gives pydantic's error list (``loc`` by Python field name, ``msg``; no input values)."""

    _errors: list[dict[str, Any]]

    def errors(self) -> list[dict[str, Any]]:
        """pydantic's error list: ``loc`` by Python field name, ``msg`` (BSNs masked), ``type``."""
        return list(getattr(self, "_errors", []))


_RULE_IN_TEXT = re.compile(r"\((CS\d{3}|TR\d{3}|OP\d{3})\)")


def _alias_path(cls: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    current: Any = cls
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1]}[{step + 1}]"] if parts else []
            continue
        fields = getattr(current, "model_fields", None)
        if not isinstance(fields, dict) or step not in fields:
            parts.append(str(step))
            current = None
            continue
        info = fields[step]
        parts.append(info.alias or step)
        annotation = info.annotation
        current = next(
            (
                a
                for a in (annotation, *typing.get_args(annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ),
            None,
        )
    return "/".join(parts)


def model_error(cls: type[BaseModel], exc: ValidationError) -> InvalidModelError:
    """Turn pydantic's ``ValidationError`` into an :class:`InvalidModelError` naming the field (as
    element path) and the rule; BSNs in the texts are masked."""
    issues: list[Issue] = []
    for err in exc.errors(include_url=False, include_input=False):
        path = _alias_path(cls, tuple(err["loc"]))
        text = mask_bsns(str(err["msg"]).removeprefix("Value error, "))
        rule = _RULE_IN_TEXT.search(text)
        issues.append(
            Issue(rule.group(1) if rule else "XSD", "0001", 2 if rule else 1, path or None, f"{path}: {text}")
        )
    first = issues[0].message if issues else "ongeldige waarde"
    error = InvalidModelError(f"{getattr(cls, '__name__', 'model')} is ongeldig: {first}", issues)
    error._errors = [
        {"loc": tuple(e["loc"]), "msg": mask_bsns(str(e["msg"])), "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return error
