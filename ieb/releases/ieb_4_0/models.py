"""Typed, frozen models of the iEb 4.0 berichten WMO405, WMO406, WMO407 and WMO408.

The models are flat: one field per bound element. Which element a field is, and where it sits in
the XML, is data (``binding.toml``), so the official XSDs can move or rename an element without a
code change. Field names follow the standard's element names in snake_case. Money is eurocent
(``kostprijs_bedrag``, the standard's ``KostprijsBedrag``); dates are :class:`datetime.date`.

Fields whose binding line has ``fill`` (``bericht_code``, the XSD versions, ...) may be left None:
the codec writes the value the active XSD fixes. Reading a file fills them in.

Which fields exist for WMO407/WMO408 beyond BwStartdatum/BwStopdatum is an assumption of the
stand-in (see docs/ieb-4.0.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ieb.errors import MessageInvalidError
from ieb.releases.ieb_4_0.binding import RELEASE, load_binding
from ieb.releases.ieb_4_0.codec import element_values, validate_xsd
from ieb.releases.ieb_4_0.codec import to_xml as _to_xml
from ieb.releases.models import InvalidModelError, model_error
from ieb.types import Bedrag, Bsn, Datum, Gemeentecode, IdentificatieBericht, Nummer, Versie

__all__ = [
    "RELEASE",
    "Heenbericht40",
    "Message40",
    "Retour40",
    "Status40",
    "Wmo405",
    "Wmo406",
    "Wmo407",
    "Wmo408",
    "build",
    "element_to_model",
    "from_xml",
    "model_class",
]


#: StatusAanlevering in iEb 4.0: 1 new, 2 change, 3 delete (ASSUMED: 9 is not allowed, as in 1.0).
Status40 = Literal["1", "2", "3"]

#: A retourcode of codelist EB001 (four characters; the full 4.0 list is not public).
RetourCode40 = str


class Code(str):
    """A retourcode in a model's nested view: a ``str`` with ``.value`` (as the 1.0 enum has)."""

    __slots__ = ()

    @property
    def value(self) -> str:
        """The code itself (``"0200"``)."""
        return str(self)


class View(SimpleNamespace):
    """A read-only nested view of a flat model along its element paths (see :meth:`Message40.view`)."""


def _snake(element: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", element).lower()


class Message40(BaseModel):
    """Base of the four berichten: the header fields. ``bericht`` is the message name.

    Besides its flat fields, a model offers the nested shape the release-neutral engines read
    (``message.header.bericht_identificatie.identificatie``, ``message.client.bsn``,
    ``message.client.periode_eigen_bijdrage_abo.eb_stopdatum``, ``message.header.retour_codes``),
    built from the binding's element paths (:meth:`view`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bericht: ClassVar[str]
    release: ClassVar[str] = RELEASE

    bericht_code: str | None = None
    bericht_versie: int | None = None
    bericht_subversie: int | None = None
    afzender: Gemeentecode
    identificatie: IdentificatieBericht
    dagtekening: Datum
    basisschema_xsd_versie: Versie | None = None
    bericht_xsd_versie: Versie | None = None

    def view(self) -> View:
        """The model as nested views along the binding's paths: one attribute per element in
        snake_case; a repeating element (RetourCode) becomes a tuple of :class:`Code` named after
        its wrapper (``retour_codes``). ``client`` is None when the message has no Bsn."""
        root = View()
        for bound in load_binding()[self.bericht].fields.values():
            value = getattr(self, bound.field)
            steps = [_snake(p) for p in bound.path]
            if bound.repeat:
                steps = steps[:-1]  # RetourCodes/RetourCode -> retour_codes
                value = tuple(Code(v) for v in value)
            node = root
            for step in steps[:-1]:
                child = getattr(node, step, None)
                if child is None:
                    child = View()
                    setattr(node, step, child)
                node = child
            setattr(node, steps[-1], value)
        if getattr(root, "client", None) is not None and getattr(root.client, "bsn", None) is None:
            root.client = None
        return root

    @property
    def header(self) -> Any:
        """The Header as a nested view (see :meth:`view`)."""
        return self.view().header

    @property
    def client(self) -> Any:
        """The Client as a nested view, or None (see :meth:`view`)."""
        return getattr(self.view(), "client", None)

    def to_xml(self, folder: Path | None = None) -> bytes:
        """This message as XML bytes (:func:`ieb.releases.ieb_4_0.codec.to_xml`)."""
        return _to_xml(self, folder)

    @classmethod
    def from_element(cls, root: etree._Element) -> Message40:
        """Read a parsed, XSD-valid message of this class (the codec's model hook)."""
        return element_to_model(root, cls.bericht)

    @classmethod
    def build(cls, **values: Any) -> Message40:
        """Build from plain values, validated (raises :class:`InvalidModelError`); ``status`` is
        accepted for ``status_aanlevering`` (the engines' name)."""
        if "status" in values:
            status = values.pop("status")
            values.setdefault("status_aanlevering", str(getattr(status, "value", status)))
        values = {k: v for k, v in values.items() if v is not None}
        return build(cls, **values)


class Heenbericht40(Message40):
    """A heenbericht (gemeente -> CAK): one client and one period record."""

    bsn: Bsn
    eb_start_nummer: Nummer
    status_aanlevering: Status40


class Wmo405(Heenbericht40):
    """WMO405 Start en stop eigen bijdrage, berichtklasse PeriodeEigenBijdrageAbo (gemeente -> CAK).

    One record carries a period: ``eb_startdatum``, an optional ``eb_stopdatum``, the optional
    kostprijs (``kostprijs_bedrag`` eurocent from ``kostprijs_startdatum``) and StatusAanlevering
    (1 new period, 2 change incl. adding a stop, 3 delete). Raises :class:`InvalidModelError` (via
    :func:`build`) when the kostprijs is half given."""

    bericht: ClassVar[str] = "WMO405"
    eb_startdatum: Datum
    eb_stopdatum: Datum | None = None
    kostprijs_bedrag: Bedrag | None = None
    kostprijs_startdatum: Datum | None = None

    @model_validator(mode="after")
    def _kostprijs_whole(self) -> Wmo405:
        if (self.kostprijs_bedrag is None) != (self.kostprijs_startdatum is None):
            raise ValueError(
                "KostprijsBedrag en KostprijsStartdatum horen samen: geef beide of geen van beide"
            )
        return self


class Wmo407(Heenbericht40):
    """WMO407 Start en stop beschermd wonen (centrumgemeente -> CAK): BwStartdatum and an optional
    BwStopdatum. The record's name and key (EbStartNummer) are ASSUMED (the WMO407 record is not
    public)."""

    bericht: ClassVar[str] = "WMO407"
    bw_startdatum: Datum
    bw_stopdatum: Datum | None = None


class Retour40(Message40):
    """A retour (CAK -> gemeente): the heen header plus the retour's own identification and codes,
    and (optionally) the client with its record and the codes per record and per client."""

    heen: ClassVar[str]

    identificatie_retour: IdentificatieBericht
    dagtekening_retour: Datum
    xslt_versie: Versie | None = None
    basisschema_xsd_versie_retour: Versie | None = None
    bericht_xsd_versie_retour: Versie | None = None
    retour_codes_header: tuple[RetourCode40, ...] = ()
    bsn: Bsn | None = None
    eb_start_nummer: Nummer | None = None
    status_aanlevering: Status40 | None = None
    retour_codes_periode: tuple[RetourCode40, ...] = ()
    retour_codes_client: tuple[RetourCode40, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """Every retourcode in the retour (header, record, client), in that order, without repeats."""
        return tuple(
            dict.fromkeys((*self.retour_codes_header, *self.retour_codes_periode, *self.retour_codes_client))
        )


class Wmo406(Retour40):
    """WMO406: the CAK's retour on a WMO405."""

    bericht: ClassVar[str] = "WMO406"
    heen: ClassVar[str] = "WMO405"
    eb_startdatum: Datum | None = None
    eb_stopdatum: Datum | None = None
    kostprijs_bedrag: Bedrag | None = None
    kostprijs_startdatum: Datum | None = None


class Wmo408(Retour40):
    """WMO408: the CAK's retour on a WMO407."""

    bericht: ClassVar[str] = "WMO408"
    heen: ClassVar[str] = "WMO407"
    bw_startdatum: Datum | None = None
    bw_stopdatum: Datum | None = None


_BY_NAME: dict[str, type[Message40]] = {m.bericht: m for m in (Wmo405, Wmo406, Wmo407, Wmo408)}


def model_class(bericht: str) -> type[Message40]:
    """The model class of a 4.0 message name (``"WMO405"``); raises KeyError naming the known ones."""
    try:
        return _BY_NAME[bericht.upper()]
    except KeyError:
        raise KeyError(f"onbekend iEb 4.0-bericht {bericht!r}; bekend: {', '.join(_BY_NAME)}") from None


def build(cls: type[Message40], **values: Any) -> Message40:
    """Validate ``values`` into ``cls``; raises :class:`InvalidModelError` naming each field (BSNs
    masked), never pydantic's own error."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise model_error(cls, exc) from None


__all__ += ["InvalidModelError"]


def element_to_model(root: etree._Element, bericht: str) -> Message40:
    """Read a parsed (and XSD-valid) ``bericht`` into its model. Raises
    :class:`~ieb.releases.models.InvalidModelError` when a value does not fit the model."""
    return build(model_class(bericht), **element_values(root, bericht))


def from_xml(data: bytes, folder: Path | None = None) -> Message40:
    """Parse and XSD-validate a 4.0 file and return its model; raises :class:`MessageInvalidError`
    with every level-1 issue (``XSD``/parser codes, retourcode 0001)."""
    bericht, root, issues = validate_xsd(data, folder)
    if issues or bericht is None or root is None:
        raise MessageInvalidError("bericht is ongeldig", issues)
    return element_to_model(root, bericht)
