"""Shared building blocks of the iEb 1.0 message models.

Field names follow the standard in snake_case (``eb_start_nummer``); each field's *alias* is the XML
element name (``EbStartNummer``), which the codec uses. Models are frozen: build a new one with
``model_copy(update=...)`` to change a value.
"""

from __future__ import annotations

import re
import typing
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ieb.errors import MessageInvalidError
from ieb.issues import Issue
from ieb.types import (
    BASIS_NS,
    Bedrag,
    Datum,
    Gemeentecode,
    IdentificatieBericht,
    IebStatus,
    Nummer,
    RetourCode,
    Versie,
    mask_bsns,
)

__all__ = [
    "BASIS_NS",
    "BerichtIdentificatie",
    "IebModel",
    "InvalidModelError",
    "Kostprijs",
    "XsdVersie",
    "model_error",
]

#: XSD versions this library writes (the newest of release 1.0).
XSD_VERSIE = "1.2.0"


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
    """CDT_XsdVersie: the XSD versions used to write the message."""

    _basis_ns: ClassVar[bool] = True
    basisschema_xsd_versie: Versie = Field(default=Versie(XSD_VERSIE), alias="BasisschemaXsdVersie")
    bericht_xsd_versie: Versie = Field(default=Versie(XSD_VERSIE), alias="BerichtXsdVersie")


class Kostprijs(IebModel):
    """CDT_Kostprijs: the kostprijs to watch (eurocent) and the date from which it is watched."""

    _basis_ns: ClassVar[bool] = True
    kostprijs_bedrag: Bedrag = Field(alias="KostprijsBedrag")
    kostprijs_startdatum: Datum = Field(alias="KostprijsStartdatum")


class Header(IebModel):
    """Header of a heenbericht (WMO401, WMO403). BerichtCode follows from the message class."""

    bericht_code: str = Field(alias="BerichtCode")
    bericht_versie: Literal[1] = Field(default=1, alias="BerichtVersie")
    bericht_subversie: Literal[0] = Field(default=0, alias="BerichtSubversie")
    afzender: Gemeentecode = Field(alias="Afzender")
    bericht_identificatie: BerichtIdentificatie = Field(alias="BerichtIdentificatie")
    xsd_versie: XsdVersie = Field(default_factory=XsdVersie, alias="XsdVersie")


class RetourHeader(Header):
    """Header of a retour (WMO402, WMO404): the heen header plus the retour's own identification."""

    identificatie_retour: IdentificatieBericht = Field(alias="IdentificatieRetour")
    dagtekening_retour: Datum = Field(alias="DagtekeningRetour")
    xslt_versie: Versie | None = Field(default=None, alias="XsltVersie")
    xsd_versie_retour: XsdVersie = Field(default_factory=XsdVersie, alias="XsdVersieRetour")
    retour_codes: tuple[RetourCode, ...] = Field(default=(), alias="RetourCodes")


class StartEigenBijdrage(IebModel):
    """Berichtklasse StartEigenBijdrage (WMO401)."""

    eb_start_nummer: Nummer = Field(alias="EbStartNummer")
    eb_startdatum: Datum = Field(alias="EbStartdatum")
    eb_kostprijs: Kostprijs | None = Field(default=None, alias="EbKostprijs")
    status_aanlevering: IebStatus = Field(alias="StatusAanlevering")


class StopEigenBijdrage(IebModel):
    """Berichtklasse StopEigenBijdrage (WMO403)."""

    eb_start_nummer: Nummer = Field(alias="EbStartNummer")
    eb_stopdatum: Datum = Field(alias="EbStopdatum")
    status_aanlevering: IebStatus = Field(alias="StatusAanlevering")


class StartEigenBijdrageRetour(StartEigenBijdrage):
    """StartEigenBijdrage as copied into the WMO402 retour, with the codes for this class."""

    retour_codes: tuple[RetourCode, ...] = Field(alias="RetourCodes", min_length=1)


class StopEigenBijdrageRetour(StopEigenBijdrage):
    """StopEigenBijdrage as copied into the WMO404 retour, with the codes for this class."""

    retour_codes: tuple[RetourCode, ...] = Field(alias="RetourCodes", min_length=1)


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
