"""Fixtures of the StUF-GGk tests: the published reference (read from outside the project) and payloads."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

_ROOT = Path(__file__).resolve().parents[2]
GGK_REFERENCE = Path(os.environ.get("IEB_REFERENCE_DIR", _ROOT.parent / "shared" / "reference")) / "ggk-0210"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"

#: A small hand-written WMO401 with a test BSN (9999xxxxx, 11-proef) and Afzender 0363.
WMO401 = b"""<?xml version="1.0" encoding="UTF-8"?>
<wmo401:Bericht xmlns:ieb="http://www.istandaarden.nl/ieb/1_0/basisschema/schema" \
xmlns:wmo401="http://www.istandaarden.nl/ieb/1_0/wmo401/schema">
  <wmo401:Header>
    <wmo401:BerichtCode>470</wmo401:BerichtCode>
    <wmo401:BerichtVersie>1</wmo401:BerichtVersie>
    <wmo401:BerichtSubversie>0</wmo401:BerichtSubversie>
    <wmo401:Afzender>0363</wmo401:Afzender>
    <wmo401:BerichtIdentificatie>
      <ieb:Identificatie>TEST0001</ieb:Identificatie>
      <ieb:Dagtekening>2025-01-15</ieb:Dagtekening>
    </wmo401:BerichtIdentificatie>
  </wmo401:Header>
  <wmo401:Client>
    <wmo401:Bsn>999900006</wmo401:Bsn>
  </wmo401:Client>
</wmo401:Bericht>
"""

WMO403 = WMO401.replace(b"wmo401", b"wmo403").replace(b">470<", b">472<")


def _reference() -> Path:
    if not (GGK_REFERENCE / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd").is_file():
        pytest.skip(f"published StUF-GGk 0210 reference not found at {GGK_REFERENCE} (set IEB_REFERENCE_DIR)")
    return GGK_REFERENCE


@pytest.fixture(scope="session")
def ggk_reference() -> Path:
    return _reference()


@pytest.fixture(scope="session")
def published_schema(ggk_reference: Path) -> etree.XMLSchema:
    xsd = ggk_reference / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.fixture(scope="session")
def our_schema() -> etree.XMLSchema:
    from ieb.ggk import schema_path

    return etree.XMLSchema(etree.parse(str(schema_path())))


@pytest.fixture(scope="session")
def published_examples(ggk_reference: Path) -> dict[str, bytes]:
    files = sorted((ggk_reference / "examples").glob("*.xml"))
    assert files, "no published examples"
    return {f.name: f.read_bytes() for f in files}


def envelope_element(data: bytes) -> etree._Element:
    """The envelope element of a bare envelope or of a SOAP message (its single Body child)."""
    root = etree.fromstring(data)
    if root.tag == f"{{{SOAP_NS}}}Envelope":
        body = root.find(f"{{{SOAP_NS}}}Body")
        assert body is not None
        return next(c for c in body if isinstance(c.tag, str))
    return root


@pytest.fixture(scope="session")
def verdicts(
    published_schema: etree.XMLSchema, our_schema: etree.XMLSchema
) -> Callable[[bytes], tuple[bool, bool]]:
    """(valid under ours, valid under the published schema) of a document."""

    def both(data: bytes) -> tuple[bool, bool]:
        el = envelope_element(data)
        return bool(our_schema.validate(el)), bool(published_schema.validate(el))

    return both
