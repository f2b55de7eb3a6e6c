"""StUF-GGk 0210: the envelopes in which iEb files travel between a gemeente and the CAK.

Models (:mod:`ieb.ggk.models`), deterministic build and hardened parse (:mod:`ieb.ggk.codec`),
helpers for the messages of an exchange (:mod:`ieb.ggk.builders`), SOAP 1.1 wrapping
(:mod:`ieb.ggk.soap`) and the Fo01 codes with the checks that produce them (:mod:`ieb.ggk.codes`).
Our own XSD/WSDL live in ``schemas/ggk/0210`` (:func:`schema_path`, :func:`wsdl_path`).
"""

from __future__ import annotations

from ieb.ggk._schemas import ggk_schema_dir, schema_path, wsdl_path
from ieb.ggk._xml import MAX_ENVELOPE_BYTES, parse_xml
from ieb.ggk.builders import (
    GGK_APPLICATIE,
    bv03_for,
    du01_for,
    fo01_for,
    fo03_for,
    new_di01,
    new_referentienummer,
    retour_functie,
)
from ieb.ggk.codec import GGK_NS, STUF_NS, build, parse, parse_as
from ieb.ggk.codes import CheckResult, EnvelopeChecks, Finding, FoutCode, check_envelope
from ieb.ggk.errors import (
    EnvelopeError,
    EnvelopeFieldError,
    EnvelopeInvalidError,
    EnvelopeTooLargeError,
    HostileXmlError,
    SoapError,
)
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
from ieb.ggk.soap import (
    SOAP_ACTIONS,
    SoapFaultError,
    operation_for,
    soap_action_for,
    soap_envelope,
    soap_fault,
    unwrap_soap,
    wrap_soap,
)

__all__ = [
    "GGK_APPLICATIE",
    "GGK_NS",
    "MAX_ENVELOPE_BYTES",
    "SOAP_ACTIONS",
    "STUF_NS",
    "Bv03",
    "CheckResult",
    "Di01",
    "Du01",
    "Envelope",
    "EnvelopeChecks",
    "EnvelopeError",
    "EnvelopeFieldError",
    "EnvelopeInvalidError",
    "EnvelopeTooLargeError",
    "Finding",
    "Fo01",
    "Fo03",
    "FoutCode",
    "Foutbericht",
    "HostileXmlError",
    "Parameters",
    "SoapError",
    "SoapFaultError",
    "Stuurgegevens",
    "Systeem",
    "TekstBestand",
    "XmlBestand",
    "build",
    "bv03_for",
    "check_envelope",
    "du01_for",
    "fo01_for",
    "fo03_for",
    "format_tijdstip",
    "ggk_schema_dir",
    "is_uuid4",
    "new_di01",
    "new_referentienummer",
    "operation_for",
    "parse",
    "parse_as",
    "parse_tijdstip",
    "parse_xml",
    "retour_functie",
    "schema_path",
    "soap_action_for",
    "soap_envelope",
    "soap_fault",
    "unwrap_soap",
    "wrap_soap",
    "wsdl_path",
]
