"""Shared building blocks of the iEb 1.0 message models.

Field names follow the standard in snake_case (``eb_start_nummer``); each field's *alias* is the XML
element name (``EbStartNummer``), which the codec uses. Models are frozen: build a new one with
``model_copy(update=...)`` to change a value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ieb.types import Bedrag, Datum, Gemeentecode, IdentificatieBericht, IebStatus, Nummer, RetourCode, Versie

__all__ = [
    "BASIS_NS",
    "BerichtIdentificatie",
    "IebModel",
    "Kostprijs",
    "XsdVersie",
]

BASIS_NS = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"

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
