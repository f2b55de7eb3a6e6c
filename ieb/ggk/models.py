"""Typed, frozen models of the StUF-GGk 0210 envelopes and the StUF answers.

============  ======================================  ==========================================
model         XML root                                 use
============  ======================================  ==========================================
``Di01``      ``GGK:envelopHeenbericht-ggk_Di01``      an iStandaard file to the GGk (heenbericht)
``Du01``      ``GGK:envelopRetourbericht-ggk_Du01``    a retour from the GGk (retourbericht)
``Fo01``      ``StUF:Fo01Bericht``                     an asynchronous error about a Di01/Du01
``Bv03``      ``StUF:Bv03Bericht``                     the synchronous acknowledgement
``Fo03``      ``StUF:Fo03Bericht``                     the synchronous fault (SOAP Fault detail)
============  ======================================  ==========================================

Every facet of the schema is enforced on construction, so a model always builds into a
schema-valid document. A bad value raises :class:`ieb.ggk.errors.EnvelopeFieldError` naming the
field. Field names are the standard's names in snake case (``tijdstip_bericht``,
``cross_refnummer``); the payload is kept as the raw bytes (base64 only exists on the wire).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ieb.ggk.errors import EnvelopeFieldError

__all__ = [
    "UUID4_PATTERN",
    "Bericht",
    "Bv03",
    "Di01",
    "Du01",
    "Envelope",
    "Fo01",
    "Fo03",
    "Foutbericht",
    "Parameters",
    "Stuurgegevens",
    "Systeem",
    "TekstBestand",
    "XmlBestand",
    "format_tijdstip",
    "is_uuid4",
    "parse_tijdstip",
]

#: Lower-case UUID version 4, as the GGk schema requires for referentienummer and crossRefnummer.
UUID4_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
_UUID4 = re.compile(UUID4_PATTERN)
# Characters XML 1.0 cannot carry at all (a document with them is not well-formed).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def is_uuid4(value: object) -> bool:
    """True when ``value`` is a lower-case UUID version 4 string (StUF-GGk referentienummer)."""
    return isinstance(value, str) and _UUID4.fullmatch(value) is not None


def format_tijdstip(moment: _dt.datetime) -> str:
    """``yyyyMMddHHmmss``. An aware datetime is first converted to Dutch local time. The year is
    always four digits (the C library's ``%Y`` drops leading zeros before the year 1000, a text
    that reads back as another moment)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(_amsterdam())
    if moment.year < 1000:
        return f"{moment.year:04d}{moment.strftime('%m%d%H%M%S')}"
    return moment.strftime("%Y%m%d%H%M%S")


def parse_tijdstip(value: str) -> _dt.datetime:
    """Read a StUF ``Tijdstip`` (8 to 17 digits: date, time, milliseconds) as a naive local datetime."""
    if not re.fullmatch(r"[0-9]{8,17}", value):
        raise ValueError(f"tijdstip {value!r} moet uit 8 tot 17 cijfers bestaan")
    padded = value.ljust(17, "0")
    return _dt.datetime(
        int(padded[0:4]),
        int(padded[4:6]),
        int(padded[6:8]),
        int(padded[8:10]),
        int(padded[10:12]),
        int(padded[12:14]),
        int(padded[14:17]) * 1000,
    )


def _amsterdam() -> _dt.tzinfo:
    """Dutch civil time for StUF tijdstempels; the ``tzdata`` dependency guarantees the database
    (no silent fallback to UTC, which would shift every tijdstempel by one or two hours)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Amsterdam")


def _xml_text(value: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise ValueError(f"teken U+{ord(bad.group()):04X} kan niet in XML staan")
    return value


class _Model(BaseModel):
    """Frozen, strict, no extra fields; construction errors become :class:`EnvelopeFieldError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _field_error(type(self).__name__, exc) from None

    @field_validator("*", mode="after")
    @classmethod
    def _only_xml_characters(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _xml_text(value)
        return value


class _FieldProblem(ValueError):
    """A cross-field problem raised by a model validator, naming the field and its Fo01 code."""

    def __init__(self, field: str, message: str, code: str = "RIN001") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def _field_error(model: str, exc: ValidationError) -> EnvelopeFieldError:
    problems: list[tuple[str, str]] = []
    code = "RIN001"
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, _FieldProblem):
            loc.append(original.field)
            if not problems:
                code = original.code
        problems.append((".".join(loc) or model, msg))
    first_field, first_msg = problems[0] if problems else (model, str(exc))
    more = f" (en {len(problems) - 1} andere)" if len(problems) > 1 else ""
    return EnvelopeFieldError(
        f"{model}.{first_field}: {first_msg}{more}", field=first_field, problems=problems, code=code
    )


_Versienr = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
_Refnummer = Annotated[str, Field(max_length=40)]
_Tijdstip = Annotated[str, Field(pattern=r"^[0-9]{8,17}$")]


class Systeem(_Model):
    """zender / ontvanger: organisatie (gemeente code, ``CAK``, ...), applicatie, administratie, gebruiker.

    In a GGk envelope ``organisatie`` is mandatory; in a StUF Fo01/Fo03/Bv03 it may be absent.
    """

    organisatie: Annotated[str, Field(max_length=200)] | None = None
    applicatie: Annotated[str, Field(min_length=3, max_length=50)]
    administratie: Annotated[str, Field(max_length=50)] | None = None
    gebruiker: Annotated[str, Field(max_length=100)] | None = None


class Stuurgegevens(_Model):
    """The routing block. Which fields a message has depends on ``berichtcode``:

    Di01: no ``cross_refnummer``, ``functie`` required. Du01: both required. Fo01/Fo03/Bv03:
    ``cross_refnummer`` required, no ``functie``.
    """

    berichtcode: Literal["Di01", "Du01", "Fo01", "Fo03", "Bv03"]
    zender: Systeem
    ontvanger: Systeem
    referentienummer: _Refnummer
    tijdstip_bericht: _Tijdstip
    cross_refnummer: _Refnummer | None = None
    functie: Annotated[str, Field(max_length=30)] | None = None

    @property
    def tijdstip(self) -> _dt.datetime:
        """``tijdstip_bericht`` as a naive (Dutch local) datetime."""
        return parse_tijdstip(self.tijdstip_bericht)

    @model_validator(mode="after")
    def _shape(self) -> Stuurgegevens:
        code = self.berichtcode
        has_functie = code in ("Di01", "Du01")
        has_cross = code != "Di01"
        if has_functie and self.functie is None:
            raise _FieldProblem("functie", f"functie is verplicht in een {code}")
        if not has_functie and self.functie is not None:
            raise _FieldProblem("functie", f"een {code} heeft geen functie")
        if has_cross and self.cross_refnummer is None:
            raise _FieldProblem("cross_refnummer", f"crossRefnummer is verplicht in een {code}")
        if not has_cross and self.cross_refnummer is not None:
            raise _FieldProblem("cross_refnummer", "een Di01 heeft geen crossRefnummer")
        if has_functie:
            for role, systeem in (("zender", self.zender), ("ontvanger", self.ontvanger)):
                if systeem.organisatie is None:
                    raise _FieldProblem(
                        f"{role}.organisatie", f"{role}.organisatie is verplicht in een {code}"
                    )
            if not is_uuid4(self.referentienummer):
                raise _FieldProblem(
                    "referentienummer",
                    f"referentienummer {self.referentienummer!r} is geen UUID versie 4 in kleine letters",
                    "IB009",
                )
            if self.cross_refnummer is not None and not is_uuid4(self.cross_refnummer):
                raise _FieldProblem(
                    "cross_refnummer",
                    f"crossRefnummer {self.cross_refnummer!r} is geen UUID versie 4 in kleine letters",
                    "IB009",
                )
        return self


class _Bestand(_Model):
    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The payload holds BSNs: never show it in a repr, a log line or an error message.
        for name, value in super().__repr_args__():
            yield (name, _Hidden(len(value))) if name == "inhoud" else (name, value)


class _Hidden:
    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"<{self.size} bytes>"


class XmlBestand(_Bestand):
    """An XML file (the iStandaard message), base64 in ``GGK:xmlBestand`` on the wire."""

    kind: Literal["xml"] = "xml"
    inhoud: bytes


class TekstBestand(_Bestand):
    """Any other file, base64 in ``GGK:tekstBestand`` with its ``bestandsnaam`` (4..255 of [A-Za-z0-9._-])."""

    kind: Literal["tekst"] = "tekst"
    inhoud: bytes
    bestandsnaam: Annotated[str, Field(min_length=4, max_length=255, pattern=r"^[A-Za-z0-9\-._]+$")]


Bericht = Annotated[XmlBestand | TekstBestand, Field(discriminator="kind")]


class Parameters(_Model):
    """Versions (four digits each, e.g. ``0001``) and the file itself."""

    applicatie_versie: _Versienr = "0001"
    applicatie_subversie: _Versienr = "0000"
    functie_versie: _Versienr = "0001"
    functie_subversie: _Versienr = "0000"
    bericht: Bericht


class Foutbericht(_Model):
    """The body of a Fo01/Fo03: code, plek (client|server), omschrijving, details, detailsXML.

    ``details_xml`` is ``None`` when the element is absent, otherwise the serialised child elements
    (possibly ``""``); it is normalised on parse (empty elements as ``<x/>``, no unused namespaces).
    """

    code: Annotated[str, Field(max_length=7)]
    plek: Literal["client", "server"] = "client"
    omschrijving: Annotated[str, Field(max_length=200)]
    details: Annotated[str, Field(max_length=1000)] | None = None
    details_xml: str | None = None


class _Envelope(_Model):
    berichtcode: ClassVar[str]
    stuurgegevens: Stuurgegevens

    @model_validator(mode="after")
    def _berichtcode(self) -> _Envelope:
        if self.stuurgegevens.berichtcode != self.berichtcode:
            raise _FieldProblem(
                "stuurgegevens.berichtcode",
                f"berichtcode is {self.stuurgegevens.berichtcode}, verwacht {self.berichtcode}",
            )
        return self

    @property
    def referentienummer(self) -> str:
        return self.stuurgegevens.referentienummer

    @property
    def cross_refnummer(self) -> str | None:
        return self.stuurgegevens.cross_refnummer


class _GgkEnvelope(_Envelope):
    parameters: Parameters

    @property
    def functie(self) -> str:
        functie = self.stuurgegevens.functie
        assert functie is not None  # enforced by Stuurgegevens
        return functie

    @property
    def payload(self) -> bytes:
        """The iStandaard file (decoded bytes of xmlBestand or tekstBestand)."""
        return self.parameters.bericht.inhoud


class Di01(_GgkEnvelope):
    """``GGK:envelopHeenbericht-ggk_Di01``: gemeente -> GGk -> CAK."""

    berichtcode: ClassVar[str] = "Di01"
    root_tag: ClassVar[str] = "envelopHeenbericht-ggk_Di01"


class Du01(_GgkEnvelope):
    """``GGK:envelopRetourbericht-ggk_Du01``, the retour; ``cross_refnummer``: the Di01's referentienummer."""

    berichtcode: ClassVar[str] = "Du01"
    root_tag: ClassVar[str] = "envelopRetourbericht-ggk_Du01"


class Fo01(_Envelope):
    """``StUF:Fo01Bericht``: error about the message whose referentienummer is ``cross_refnummer``."""

    berichtcode: ClassVar[str] = "Fo01"
    root_tag: ClassVar[str] = "Fo01Bericht"
    body: Foutbericht


class Fo03(_Envelope):
    """``StUF:Fo03Bericht``: the synchronous fault, carried in a SOAP Fault's detail."""

    berichtcode: ClassVar[str] = "Fo03"
    root_tag: ClassVar[str] = "Fo03Bericht"
    body: Foutbericht


class Bv03(_Envelope):
    """``StUF:Bv03Bericht``: the synchronous acknowledgement (message received and checked)."""

    berichtcode: ClassVar[str] = "Bv03"
    root_tag: ClassVar[str] = "Bv03Bericht"


Envelope = Di01 | Du01 | Fo01 | Fo03 | Bv03
