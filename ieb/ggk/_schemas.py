"""Where the StUF-GGk 0210 schemas are: ``ieb/_schemas`` in a wheel, ``schemas/`` in a checkout."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from lxml import etree

import ieb
from ieb.errors import ConfigurationError
from ieb.xmlsafe import thread_schema

__all__ = ["envelope_schema", "ggk_schema_dir", "schema_path", "wsdl_path"]

_PKG = Path(ieb.__file__).resolve().parent
_GGK = Path("ggk") / "0210"


@cache
def ggk_schema_dir() -> Path:
    """The folder holding our StUF-GGk 0210 XSDs and the OntvangAsynchroon WSDL."""
    for root in (_PKG / "_schemas", _PKG.parent / "schemas"):
        candidate = root / _GGK
        if (candidate / "ggk0210.xsd").is_file():
            return candidate
    raise ConfigurationError(
        "de StUF-GGk 0210 schema's (schemas/ggk/0210) zijn niet gevonden; installatie is onvolledig"
    )


@cache
def schema_path() -> Path:
    """The entry XSD: both GGk envelopes plus StUF Fo01Bericht, Fo03Bericht and Bv03Bericht."""
    return ggk_schema_dir() / "ggk0210.xsd"


def wsdl_path() -> Path:
    """The OntvangAsynchroon WSDL (operations ggk_Di01, ggk_Du01, Fo01), for zeep."""
    return ggk_schema_dir() / "ggk0210_OntvangAsynchroon.wsdl"


_LOCAL = threading.local()


def envelope_schema() -> etree.XMLSchema:
    """Our compiled envelope schema (libxml2), one per thread, never compiled concurrently."""
    schema: etree.XMLSchema | None = getattr(_LOCAL, "schema", None)
    if schema is None:  # looked up once per thread (every envelope built or parsed asks for it)
        schema = _LOCAL.schema = thread_schema(schema_path())
    return schema
