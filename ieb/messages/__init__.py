"""Typed, frozen models of the iEb 1.0 berichten: WMO401, WMO402, WMO403 and WMO404."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, TypeVar

from pydantic import Field, ValidationError, model_validator

from ieb.messages.base import (
    BASIS_NS,
    BerichtIdentificatie,
    Header,
    IebModel,
    Kostprijs,
    RetourHeader,
    StartEigenBijdrage,
    StartEigenBijdrageRetour,
    StopEigenBijdrage,
    StopEigenBijdrageRetour,
    XsdVersie,
    model_error,
)
from ieb.types import Bsn, RetourCode, StatusAanlevering

__all__ = [
    "BASIS_NS",
    "BerichtIdentificatie",
    "Header",
    "Kostprijs",
    "Message",
    "RetourHeader",
    "RetourMessage",
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
    "model_error",
]

NS_TEMPLATE = "http://www.istandaarden.nl/ieb/1_0/{}/schema"


class Message(IebModel):
    """Base of the four berichten. ``bericht`` is the message name, ``bericht_code`` its BerichtCode."""

    bericht: ClassVar[str]
    bericht_code: ClassVar[str]
    release: ClassVar[str] = "ieb-1.0"
    header: Header = Field(alias="Header")

    @classmethod
    def namespace(cls) -> str:
        """The message namespace (``http://www.istandaarden.nl/ieb/1_0/wmo401/schema``)."""
        return NS_TEMPLATE.format(cls.bericht.lower())

    @model_validator(mode="after")
    def _code_matches(self) -> Message:
        if self.header.bericht_code != self.bericht_code:
            raise ValueError(
                f"BerichtCode {self.header.bericht_code!r} hoort niet bij {self.bericht}; "
                f"verwacht {self.bericht_code} (CS126)"
            )
        return self


class RetourMessage(Message):
    """Base of the retours WMO402 and WMO404: a RetourHeader and the heenbericht it answers."""

    header: RetourHeader = Field(alias="Header")
    #: the heenbericht this message answers
    heen: ClassVar[str]


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


def _header(code: str, afzender: str, identificatie: str, dagtekening: dt.date) -> dict[str, Any]:
    return {
        "bericht_code": code,
        "afzender": afzender,
        "bericht_identificatie": {"identificatie": identificatie, "dagtekening": dagtekening},
    }


_M = TypeVar("_M", bound="Message")


def _validated(cls: type[_M], values: dict[str, Any]) -> _M:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise model_error(cls, exc) from None


class Wmo401(Message):
    """WMO401 Start eigen bijdrage (BerichtCode 470): gemeente -> CAK."""

    bericht: ClassVar[str] = "WMO401"
    bericht_code: ClassVar[str] = "470"
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
        return _validated(
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


class Wmo403(Message):
    """WMO403 Stop eigen bijdrage (BerichtCode 472): gemeente -> CAK."""

    bericht: ClassVar[str] = "WMO403"
    bericht_code: ClassVar[str] = "472"
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
        return _validated(
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


class Wmo402(RetourMessage):
    """WMO402 retour on a WMO401 (BerichtCode 471): CAK -> gemeente."""

    bericht: ClassVar[str] = "WMO402"
    bericht_code: ClassVar[str] = "471"
    heen: ClassVar[str] = "WMO401"
    client: Wmo402Client | None = Field(default=None, alias="Client")


class Wmo404(RetourMessage):
    """WMO404 retour on a WMO403 (BerichtCode 473): CAK -> gemeente."""

    bericht: ClassVar[str] = "WMO404"
    bericht_code: ClassVar[str] = "473"
    heen: ClassVar[str] = "WMO403"
    client: Wmo404Client | None = Field(default=None, alias="Client")


_BY_NAME: dict[str, type[Message]] = {m.bericht: m for m in (Wmo401, Wmo402, Wmo403, Wmo404)}


def message_class(bericht: str) -> type[Message]:
    """The model class of a message name (``"WMO401"``)."""
    try:
        return _BY_NAME[bericht.upper()]
    except KeyError:
        raise KeyError(f"onbekend iEb 1.0-bericht {bericht!r}; bekend: {', '.join(_BY_NAME)}") from None
