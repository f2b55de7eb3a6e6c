"""Helpers that make the envelopes of an exchange with the right routing and cross references.

* :func:`new_di01`: gemeente -> CAK, a fresh referentienummer (UUID v4) and tijdstipBericht.
* :func:`du01_for`: the retour (the iStandaard retour file) to a Di01: zender and ontvanger swapped,
  crossRefnummer = the Di01's referentienummer, functie = the retour's message name.
* :func:`fo01_for`: an asynchronous error about an envelope (codes in :mod:`ieb.ggk.codes`).
* :func:`bv03_for` / :func:`fo03_for`: the synchronous acknowledgement or fault of a SOAP call.

Every helper takes ``referentienummer`` and ``tijdstip`` so that tests can build byte-identical
envelopes; by default they are a new ``uuid4()`` and the current Dutch local time.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import os
import re
from typing import Any, Literal, TypeVar

from lxml import etree
from pydantic import BaseModel

from ieb.ggk.codec import _TRUSTED, _template, build, schema_errors
from ieb.ggk.codes import FoutCode
from ieb.ggk.errors import EnvelopeInvalidError
from ieb.ggk.models import _NOT_XML as _NOT_XML
from ieb.ggk.models import (
    Bv03,
    Di01,
    Du01,
    Envelope,
    Fo01,
    Fo03,
    Foutbericht,
    Parameters,
    Stuurgegevens,
    Systeem,
    TekstBestand,
    XmlBestand,
    format_tijdstip,
    is_uuid4,
    parse_tijdstip,
)
from ieb.types import mask_bsns

__all__ = [
    "GGK_APPLICATIE",
    "bv03_for",
    "du01_for",
    "fo01_for",
    "fo03_for",
    "new_di01",
    "new_di01_bytes",
    "new_referentienummer",
    "retour_functie",
]

Plek = Literal["client", "server"]

#: The ontvanger/applicatie of every GGk envelope.
GGK_APPLICATIE = "GGk"


def new_referentienummer() -> str:
    """A fresh referentienummer: a lower-case UUID version 4 (RFC 4122 section 4.4: 122 random
    bits, what ``str(uuid.uuid4())`` gives, written without the ``UUID`` object: issue 22)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # variant RFC 4122
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


M = TypeVar("M", bound=BaseModel)
_setattr = object.__setattr__
_NO_CROSS_REF = frozenset({"cross_refnummer"})
_KIND = frozenset({"kind"})

#: (whole UTC second, its tijdstipBericht): the current time is formatted once per second
_last_second: tuple[int, str] = (-1, "")


def _now(tijdstip: _dt.datetime | None) -> str:
    """``tijdstip`` (default: now) as a tijdstipBericht (``yyyyMMddHHmmss``, Dutch local time)."""
    global _last_second
    if tijdstip is not None:
        return format_tijdstip(tijdstip)
    now = _dt.datetime.now(_dt.UTC)
    second = int(now.timestamp())  # whole seconds: the format has no fraction
    last = _last_second
    if last[0] == second:
        return last[1]
    text = format_tijdstip(now)
    _last_second = (second, text)
    return text


def _construct(cls: type[M], values: dict[str, Any], defaults: frozenset[str] = frozenset()) -> M:
    """``cls.model_construct(**values)`` minus the keys in ``defaults`` (fields left at their
    default), for ``values`` holding every field of ``cls`` in field order (what
    ``model_construct`` stores), without its per-call bookkeeping (issue 22). The models have
    no extra fields, private attributes or post-init; :data:`_CONSTRUCT_OK` checks at import that
    the result equals ``model_construct``'s, otherwise ``model_construct`` itself is used."""
    if not _CONSTRUCT_OK:
        return cls.model_construct(**{k: v for k, v in values.items() if k not in defaults})
    m = cls.__new__(cls)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", values.keys() - defaults)
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


def retour_functie(functie: str) -> str:
    """The message name of the retour to ``functie`` by the iStandaard numbering (a retour is the next
    number: ``WMO301`` -> ``WMO302``). A caller that knows the release asks its table instead
    (``pack.retour_of(functie).name``) and passes it to :func:`du01_for`."""
    match = re.fullmatch(r"([A-Za-z]+)([0-9]+)", functie)
    if not match:
        raise ValueError(
            f"functie {functie!r} is geen iStandaard berichtnaam (letters en cijfers, zoals WMO301)"
        )
    prefix, number = match.groups()
    return f"{prefix}{int(number) + 1:0{len(number)}d}"


_VERSIENR = re.compile(r"[0-9]{4}")
_TIJDSTIP = re.compile(r"[0-9]{8,17}")


def _short_text(value: object, limit: int) -> bool:
    """A plain ``str`` of at most ``limit`` characters that XML can carry (the models' check)."""
    return type(value) is str and len(value) <= limit and _NOT_XML.search(value) is None


def _systeem_of(organisatie: str, applicatie: str) -> Systeem:
    if type(organisatie) is str and type(applicatie) is str:
        return _systeem(organisatie, applicatie)
    return Systeem(organisatie=organisatie, applicatie=applicatie)  # names the bad value


@functools.lru_cache(maxsize=1024)
def _systeem(organisatie: str, applicatie: str) -> Systeem:
    """A (frozen, so shareable) Systeem: the few zenders and ontvangers of a run are validated once."""
    return Systeem(organisatie=organisatie, applicatie=applicatie)


def new_di01(
    payload: bytes,
    functie: str,
    zender_gemeente: str,
    ontvanger: str = "CAK",
    *,
    zender_applicatie: str = "ieb",
    ontvanger_applicatie: str = GGK_APPLICATIE,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
    applicatie_versie: str = "0001",
    applicatie_subversie: str = "0000",
    functie_versie: str = "0001",
    functie_subversie: str = "0000",
    bestandsnaam: str | None = None,
) -> Di01:
    """A Di01 carrying ``payload`` (the iStandaard file bytes) from a gemeente to the CAK.

    With ``bestandsnaam`` the file travels as ``tekstBestand``, otherwise as ``xmlBestand``.
    """
    tijdstip_bericht = _now(tijdstip)
    if (
        bestandsnaam is None
        and type(payload) is bytes
        and (referentienummer is None or is_uuid4(referentienummer))
        and _short_text(functie, 30)
        and _short_text(zender_gemeente, 200)
        and _short_text(ontvanger, 200)
        and _TIJDSTIP.fullmatch(tijdstip_bericht)
        and all(
            type(v) is str and _VERSIENR.fullmatch(v)
            for v in (applicatie_versie, applicatie_subversie, functie_versie, functie_subversie)
        )
    ):
        # every value checked above as the models would (issue 22: validating six models per
        # envelope was a tenth of an initial delivery); the same model, built without a second check
        return _construct(
            Di01,
            {
                "stuurgegevens": _construct(
                    Stuurgegevens,
                    {
                        "berichtcode": "Di01",
                        "zender": _systeem_of(zender_gemeente, zender_applicatie),
                        "ontvanger": _systeem_of(ontvanger, ontvanger_applicatie),
                        "referentienummer": referentienummer or new_referentienummer(),
                        "tijdstip_bericht": tijdstip_bericht,
                        "cross_refnummer": None,
                        "functie": functie,
                    },
                    _NO_CROSS_REF,
                ),
                "parameters": _construct(
                    Parameters,
                    {
                        "applicatie_versie": applicatie_versie,
                        "applicatie_subversie": applicatie_subversie,
                        "functie_versie": functie_versie,
                        "functie_subversie": functie_subversie,
                        "bericht": _construct(XmlBestand, {"kind": "xml", "inhoud": payload}, _KIND),
                    },
                ),
            },
        )
    bericht: XmlBestand | TekstBestand
    if bestandsnaam is None:
        bericht = XmlBestand(inhoud=payload)
    else:
        bericht = TekstBestand(inhoud=payload, bestandsnaam=bestandsnaam)
    return Di01(
        stuurgegevens=Stuurgegevens(
            berichtcode="Di01",
            zender=_systeem_of(zender_gemeente, zender_applicatie),
            ontvanger=_systeem_of(ontvanger, ontvanger_applicatie),
            referentienummer=referentienummer or new_referentienummer(),
            tijdstip_bericht=tijdstip_bericht,
            functie=functie,
        ),
        parameters=Parameters(
            applicatie_versie=applicatie_versie,
            applicatie_subversie=applicatie_subversie,
            functie_versie=functie_versie,
            functie_subversie=functie_subversie,
            bericht=bericht,
        ),
    )


def du01_for(
    di01: Di01,
    payload: bytes,
    *,
    functie: str | None = None,
    zender_applicatie: str | None = None,
    ontvanger_applicatie: str = GGK_APPLICATIE,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
    bestandsnaam: str | None = None,
) -> Du01:
    """The Du01 retour to ``di01``: from its ontvanger (the CAK) back to its zender (the gemeente).

    ``functie``: the retour's message name from the release's table; by default it follows the
    iStandaard numbering (:func:`retour_functie`). The versions are copied.
    """
    sg = di01.stuurgegevens
    bericht: XmlBestand | TekstBestand
    if bestandsnaam is None:
        bericht = XmlBestand(inhoud=payload)
    else:
        bericht = TekstBestand(inhoud=payload, bestandsnaam=bestandsnaam)
    zender_org = sg.ontvanger.organisatie
    return Du01(
        stuurgegevens=Stuurgegevens(
            berichtcode="Du01",
            zender=Systeem(
                organisatie=zender_org,
                applicatie=zender_applicatie or _applicatie_of(zender_org),
            ),
            ontvanger=Systeem(organisatie=sg.zender.organisatie, applicatie=ontvanger_applicatie),
            referentienummer=referentienummer or new_referentienummer(),
            tijdstip_bericht=_now(tijdstip),
            cross_refnummer=sg.referentienummer,
            functie=functie or retour_functie(di01.functie),
        ),
        parameters=di01.parameters.model_copy(update={"bericht": bericht}),
    )


def _applicatie_of(organisatie: str | None) -> str:
    return organisatie if organisatie and 3 <= len(organisatie) <= 50 else GGK_APPLICATIE


def _answer_stuurgegevens(
    berichtcode: Literal["Fo01", "Fo03", "Bv03"],
    envelope: Envelope | None,
    zender: Systeem | None,
    ontvanger: Systeem | None,
    referentienummer: str | None,
    tijdstip: _dt.datetime | None,
    cross_refnummer: str | None,
) -> Stuurgegevens:
    if envelope is not None:
        sg = envelope.stuurgegevens
        zender = zender or sg.ontvanger
        ontvanger = ontvanger or sg.zender
        cross_refnummer = cross_refnummer if cross_refnummer is not None else sg.referentienummer
    return Stuurgegevens(
        berichtcode=berichtcode,
        zender=zender or Systeem(applicatie=GGK_APPLICATIE),
        ontvanger=ontvanger or Systeem(applicatie="onbekend"),
        referentienummer=referentienummer or new_referentienummer(),
        tijdstip_bericht=_now(tijdstip),
        cross_refnummer=cross_refnummer if cross_refnummer is not None else "",
    )


def _details(envelope: Envelope | None) -> str | None:
    if isinstance(envelope, Di01 | Du01):
        p = envelope.parameters
        return f"{envelope.functie}-{p.applicatie_versie}{p.applicatie_subversie}"
    return None


#: ``functie-applicatieVersie+applicatieSubversie`` (``WMO301-00010000``), the details the contract asks for.
_VERSION_DETAILS = re.compile(r"[A-Za-z0-9]{1,16}-[0-9]{8}")


def _foutbericht(
    code: FoutCode | str, omschrijving: str | None, plek: Plek, details: str | None
) -> Foutbericht:
    # Free text leaves the process here (Fo01/Fo03): cut to what the schema allows, then BSNs are
    # masked (in that order, so that a cut cannot turn a longer number into a nine-digit one).
    text = _cut(omschrijving if omschrijving is not None else FoutCode(code).omschrijving, 200)
    if details is not None:
        details = _cut(details, 1000)
        if not _VERSION_DETAILS.fullmatch(details):
            details = mask_bsns(details)
    return Foutbericht(
        code=str(code.value if isinstance(code, FoutCode) else code),
        plek=plek,
        omschrijving=mask_bsns(text),
        details=details,
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return cut.rstrip("0123456789") + "…"  # never end on part of a longer number


def fo01_for(
    envelope: Envelope,
    code: FoutCode | str,
    omschrijving: str | None = None,
    *,
    plek: Plek = "client",
    details: str | None = None,
    zender: Systeem | None = None,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
) -> Fo01:
    """A Fo01 about ``envelope``: back to its zender, crossRefnummer = its referentienummer.

    ``omschrijving`` defaults to the code's meaning (cut to the 200 characters the schema allows);
    ``details`` to ``functie-applicatieVersie+applicatieSubversie`` of a GGk envelope.
    """
    return Fo01(
        stuurgegevens=_answer_stuurgegevens("Fo01", envelope, zender, None, referentienummer, tijdstip, None),
        body=_foutbericht(code, omschrijving, plek, details if details is not None else _details(envelope)),
    )


def bv03_for(
    envelope: Envelope,
    *,
    zender: Systeem | None = None,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
) -> Bv03:
    """The Bv03 acknowledgement of ``envelope`` (received, stored and checked)."""
    return Bv03(
        stuurgegevens=_answer_stuurgegevens("Bv03", envelope, zender, None, referentienummer, tijdstip, None)
    )


def fo03_for(
    envelope: Envelope | None,
    code: FoutCode | str,
    omschrijving: str | None = None,
    *,
    plek: Plek = "client",
    details: str | None = None,
    zender: Systeem | None = None,
    ontvanger: Systeem | None = None,
    cross_refnummer: str | None = None,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
) -> Fo03:
    """The Fo03 fault answering a SOAP call. ``envelope`` may be ``None`` when it could not be read;
    then pass what is known (``cross_refnummer``, ``ontvanger``) or accept the placeholders."""
    return Fo03(
        stuurgegevens=_answer_stuurgegevens(
            "Fo03", envelope, zender, ontvanger, referentienummer, tijdstip, cross_refnummer
        ),
        body=_foutbericht(code, omschrijving, plek, details if details is not None else _details(envelope)),
    )


def _construct_ok() -> bool:
    """True when :func:`_construct` builds what ``model_construct`` builds (same fields, fields
    set, extra and private state): checked once, on a sample Di01."""
    global _CONSTRUCT_OK
    _CONSTRUCT_OK = True
    try:
        systeem = Systeem(organisatie="0363", applicatie="ieb")
        sg: dict[str, Any] = {
            "berichtcode": "Di01",
            "zender": systeem,
            "ontvanger": systeem,
            "referentienummer": "00000000-0000-4000-8000-000000000000",
            "tijdstip_bericht": "20260101000000",
            "cross_refnummer": None,
            "functie": "TST001",  # any functie: only the construction is compared
        }
        bericht = {"kind": "xml", "inhoud": b"<x/>"}
        params: dict[str, Any] = {
            "applicatie_versie": "0001",
            "applicatie_subversie": "0000",
            "functie_versie": "0001",
            "functie_subversie": "0000",
        }
        ours = _construct(
            Di01,
            {
                "stuurgegevens": _construct(Stuurgegevens, sg, _NO_CROSS_REF),
                "parameters": _construct(
                    Parameters, {**params, "bericht": _construct(XmlBestand, bericht, _KIND)}
                ),
            },
        )
        sg_given = {k: v for k, v in sg.items() if k != "cross_refnummer"}
        theirs = Di01.model_construct(
            stuurgegevens=Stuurgegevens.model_construct(**sg_given),
            parameters=Parameters.model_construct(
                **params, bericht=XmlBestand.model_construct(inhoud=b"<x/>")
            ),
        )
        pairs = [
            (ours, theirs),
            (ours.stuurgegevens, theirs.stuurgegevens),
            (ours.parameters, theirs.parameters),
            (ours.parameters.bericht, theirs.parameters.bericht),
        ]
        ok = all(
            a == b
            and list(a.__dict__) == list(b.__dict__)
            and vars(a).keys() == vars(b).keys()
            and a.__pydantic_fields_set__ == b.__pydantic_fields_set__
            and a.__pydantic_extra__ == b.__pydantic_extra__
            and a.__pydantic_private__ == b.__pydantic_private__
            for a, b in pairs
        )
    except (AttributeError, TypeError):  # pragma: no cover - another pydantic: keep model_construct
        ok = False
    _CONSTRUCT_OK = ok
    return ok


_CONSTRUCT_OK = False
_construct_ok()


#: a referentienummer that marks where a frame's referentienummer goes (a valid UUID v4)
_MARK = "00000000-0000-4000-8000-000000000000"
_EMPTY_FILE = "<GGK:xmlBestand></GGK:xmlBestand>"


@functools.lru_cache(maxsize=256)
def _di01_frame(
    functie: str, zender_gemeente: str, tijdstip_bericht: str
) -> tuple[bytes, bytes, bytes] | None:
    """The bytes of ``build(new_di01(payload, functie, zender_gemeente))`` written at
    ``tijdstip_bericht`` around its referentienummer and its file's base64 text: ``(head, middle,
    tail)``, cut from what the template (:func:`ieb.ggk.codec.build`) writes for an empty file.
    None when the template does not write these values itself (then the caller goes the usual
    way). Raises what :func:`new_di01` raises for a value its models refuse (``ValueError``).
    Cached: a run has a few functies and gemeenten, and the time changes once a second."""
    di01 = new_di01(
        b"", functie, zender_gemeente, referentienummer=_MARK, tijdstip=parse_tijdstip(tijdstip_bericht)
    )
    data = _template(di01)
    if data is None or di01.stuurgegevens.tijdstip_bericht != tijdstip_bericht:
        return None
    text = data.decode("ascii")
    if text.count(_MARK) != 1 or text.count(_EMPTY_FILE) != 1:
        return None
    head, rest = text.split(_MARK)
    middle, tail = rest.split(_EMPTY_FILE)
    cut = len("<GGK:xmlBestand>")
    return (
        head.encode("ascii"),
        (middle + _EMPTY_FILE[:cut]).encode("ascii"),
        (_EMPTY_FILE[cut:] + tail).encode("ascii"),
    )


def new_di01_bytes(
    payload: bytes,
    functie: str,
    zender_gemeente: str,
    *,
    referentienummer: str | None = None,
    tijdstip: _dt.datetime | None = None,
) -> tuple[str, bytes]:
    """``(referentienummer, build(new_di01(payload, functie, zender_gemeente, ...)))`` without
    the models: the envelope is the template's frame for these values (:func:`_di01_frame`) with
    the referentienummer and the file's base64 text put in, then parsed back and validated against
    the envelope XSD as :func:`~ieb.ggk.codec.build` does. Byte-identical to the model path
    (tests/ggk/test_di01_bytes.py); for values the frame cannot carry it is that path. Raises what
    :func:`new_di01` and :func:`~ieb.ggk.codec.build` raise (``ValueError``,
    :class:`~ieb.ggk.errors.EnvelopeInvalidError`). Issue 22: the four models per message were a
    third of the envelope's cost in ``ieb plan --queue``."""
    text = _now(tijdstip)
    frame = None
    if (
        type(payload) is bytes
        and type(functie) is str
        and type(zender_gemeente) is str
        and (referentienummer is None or is_uuid4(referentienummer))
        and _TIJDSTIP.fullmatch(text)
    ):
        frame = _di01_frame(functie, zender_gemeente, text)
    if frame is None:
        di01 = new_di01(
            payload,
            functie,
            zender_gemeente,
            referentienummer=referentienummer,
            tijdstip=tijdstip if tijdstip is not None else parse_tijdstip(text),
        )
        return di01.referentienummer, build(di01)
    ref = referentienummer or new_referentienummer()
    head, middle, tail = frame
    data = head + ref.encode("ascii") + middle + base64.b64encode(payload) + tail
    errors = schema_errors(etree.fromstring(data, _TRUSTED))
    if errors:  # pragma: no cover - the frame is the template's; a payload is base64 text
        raise EnvelopeInvalidError(
            f"opgebouwd Di01-envelop is niet schema-geldig: {errors[0]}", errors=errors
        )
    return ref, data
