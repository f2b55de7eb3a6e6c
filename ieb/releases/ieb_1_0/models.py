"""Typed, frozen models of the iEb 1.0 berichten: WMO401, WMO402, WMO403 and WMO404.

The ClassVars (name, BerichtCode, namespaces) come from the table (:mod:`.table`); the release-neutral
base is :mod:`ieb.releases.models`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from pydantic import Field

from ieb.releases.ieb_1_0.table import BASIS_NS, NAME, START, START_RETOUR, STOP, STOP_RETOUR, XSD_VERSIE
from ieb.releases.models import BerichtIdentificatie, HeaderBase, IebModel, Message, RetourMessage, validated
from ieb.releases.models import XsdVersie as XsdVersieBase
from ieb.types import (
    Bedrag,
    Bsn,
    Datum,
    IdentificatieBericht,
    IebStatus,
    Nummer,
    RetourCode,
    StatusAanlevering,
    Versie,
)

__all__ = [
    "BASIS_NS",
    "XSD_VERSIE",
    "BerichtIdentificatie",
    "Header",
    "Kostprijs",
    "RetourHeader",
    "StartEigenBijdrage",
    "StartEigenBijdrageRetour",
    "StopEigenBijdrage",
    "StopEigenBijdrageRetour",
    "Wmo401",
    "Wmo401Client",
    "Wmo402",
    "Wmo402Client",
    "Wmo403",
    "Wmo403Client",
    "Wmo404",
    "Wmo404Client",
    "XsdVersie",
    "message_class",
]


class XsdVersie(XsdVersieBase):
    """CDT_XsdVersie: the XSD versions used to write the message (default: 1.2.0, the newest of 1.0)."""

    basisschema_xsd_versie: Versie = Field(default=Versie(XSD_VERSIE), alias="BasisschemaXsdVersie")
    bericht_xsd_versie: Versie = Field(default=Versie(XSD_VERSIE), alias="BerichtXsdVersie")


class Kostprijs(IebModel):
    """CDT_Kostprijs: the kostprijs to watch (eurocent) and the date from which it is watched."""

    _basis_ns: ClassVar[bool] = True
    kostprijs_bedrag: Bedrag = Field(alias="KostprijsBedrag")
    kostprijs_startdatum: Datum = Field(alias="KostprijsStartdatum")


class Header(HeaderBase):
    """Header of a heenbericht (WMO401, WMO403). BerichtCode follows from the message class."""

    bericht_versie: Literal[1] = Field(default=1, alias="BerichtVersie")
    bericht_subversie: Literal[0] = Field(default=0, alias="BerichtSubversie")
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


class Wmo401Client(IebModel):
    """Client of a WMO401: Bsn and StartEigenBijdrage."""

    bsn: Bsn = Field(alias="Bsn")
    start_eigen_bijdrage: StartEigenBijdrage = Field(alias="StartEigenBijdrage")


class Wmo403Client(IebModel):
    """Client of a WMO403: Bsn and StopEigenBijdrage."""

    bsn: Bsn = Field(alias="Bsn")
    stop_eigen_bijdrage: StopEigenBijdrage = Field(alias="StopEigenBijdrage")


class Wmo402Client(IebModel):
    """Client of a WMO402: Bsn, StartEigenBijdrage with its RetourCodes, and the client's RetourCodes."""

    bsn: Bsn = Field(alias="Bsn")
    start_eigen_bijdrage: StartEigenBijdrageRetour = Field(alias="StartEigenBijdrage")
    retour_codes: tuple[RetourCode, ...] = Field(alias="RetourCodes", min_length=1)


class Wmo404Client(IebModel):
    """Client of a WMO404: Bsn, StopEigenBijdrage with its RetourCodes, and the client's RetourCodes."""

    bsn: Bsn = Field(alias="Bsn")
    stop_eigen_bijdrage: StopEigenBijdrageRetour = Field(alias="StopEigenBijdrage")
    retour_codes: tuple[RetourCode, ...] = Field(alias="RetourCodes", min_length=1)


class _Ieb10(Message):
    """Base of the iEb 1.0 heenberichten: the release's Header."""

    release: ClassVar[str] = NAME
    basis_namespace: ClassVar[str] = BASIS_NS
    header: Header = Field(alias="Header")


class _Ieb10Retour(RetourMessage):
    """Base of the iEb 1.0 retours: a RetourHeader."""

    release: ClassVar[str] = NAME
    basis_namespace: ClassVar[str] = BASIS_NS
    header: RetourHeader = Field(alias="Header")


def _header(code: str, afzender: str, identificatie: str, dagtekening: dt.date) -> dict[str, Any]:
    return {
        "bericht_code": code,
        "afzender": afzender,
        "bericht_identificatie": {"identificatie": identificatie, "dagtekening": dagtekening},
    }


class Wmo401(_Ieb10):
    """WMO401 Start eigen bijdrage (BerichtCode 470): gemeente -> CAK."""

    bericht: ClassVar[str] = START.name
    bericht_code: ClassVar[str] = START.bericht_code or ""
    namespace_uri: ClassVar[str] = START.namespace
    client: Wmo401Client = Field(alias="Client")

    @classmethod
    def build(
        cls,
        *,
        afzender: str,
        identificatie: str,
        dagtekening: dt.date,
        bsn: str,
        eb_start_nummer: int,
        eb_startdatum: dt.date,
        status: StatusAanlevering | str = StatusAanlevering.EERSTE,
        kostprijs_bedrag: int | None = None,
        kostprijs_startdatum: dt.date | None = None,
    ) -> Wmo401:
        """Build a WMO401 from plain values (validated as the model would)."""
        kostprijs = None
        if kostprijs_bedrag is not None or kostprijs_startdatum is not None:
            kostprijs = {"kostprijs_bedrag": kostprijs_bedrag, "kostprijs_startdatum": kostprijs_startdatum}
        return validated(
            cls,
            {
                "header": _header(cls.bericht_code, afzender, identificatie, dagtekening),
                "client": {
                    "bsn": bsn,
                    "start_eigen_bijdrage": {
                        "eb_start_nummer": eb_start_nummer,
                        "eb_startdatum": eb_startdatum,
                        "eb_kostprijs": kostprijs,
                        "status_aanlevering": status,
                    },
                },
            },
        )


class Wmo403(_Ieb10):
    """WMO403 Stop eigen bijdrage (BerichtCode 472): gemeente -> CAK."""

    bericht: ClassVar[str] = STOP.name
    bericht_code: ClassVar[str] = STOP.bericht_code or ""
    namespace_uri: ClassVar[str] = STOP.namespace
    client: Wmo403Client = Field(alias="Client")

    @classmethod
    def build(
        cls,
        *,
        afzender: str,
        identificatie: str,
        dagtekening: dt.date,
        bsn: str,
        eb_start_nummer: int,
        eb_stopdatum: dt.date,
        status: StatusAanlevering | str = StatusAanlevering.EERSTE,
    ) -> Wmo403:
        """Build a WMO403 from plain values (validated as the model would)."""
        return validated(
            cls,
            {
                "header": _header(cls.bericht_code, afzender, identificatie, dagtekening),
                "client": {
                    "bsn": bsn,
                    "stop_eigen_bijdrage": {
                        "eb_start_nummer": eb_start_nummer,
                        "eb_stopdatum": eb_stopdatum,
                        "status_aanlevering": status,
                    },
                },
            },
        )


class Wmo402(_Ieb10Retour):
    """WMO402 retour on a WMO401 (BerichtCode 471): CAK -> gemeente."""

    bericht: ClassVar[str] = START_RETOUR.name
    bericht_code: ClassVar[str] = START_RETOUR.bericht_code or ""
    namespace_uri: ClassVar[str] = START_RETOUR.namespace
    heen: ClassVar[str] = START.name
    client: Wmo402Client | None = Field(default=None, alias="Client")


class Wmo404(_Ieb10Retour):
    """WMO404 retour on a WMO403 (BerichtCode 473): CAK -> gemeente."""

    bericht: ClassVar[str] = STOP_RETOUR.name
    bericht_code: ClassVar[str] = STOP_RETOUR.bericht_code or ""
    namespace_uri: ClassVar[str] = STOP_RETOUR.namespace
    heen: ClassVar[str] = STOP.name
    client: Wmo404Client | None = Field(default=None, alias="Client")


_BY_NAME: dict[str, type[Message]] = {m.bericht: m for m in (Wmo401, Wmo402, Wmo403, Wmo404)}


def message_class(bericht: str) -> type[Message]:
    """The model class of an iEb 1.0 message name (``"WMO401"``); raises KeyError for another name."""
    try:
        return _BY_NAME[bericht.upper()]
    except KeyError:
        raise KeyError(f"onbekend iEb 1.0-bericht {bericht!r}; bekend: {', '.join(_BY_NAME)}") from None
