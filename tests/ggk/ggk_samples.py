"""Shared constants of the StUF-GGk tests (a unique module name: ``conftest`` is ambiguous in this tree)."""

from __future__ import annotations

from lxml import etree

from tests.reference import GGK_REFERENCE

__all__ = ["GGK_REFERENCE"]
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


def envelope_element(data: bytes) -> etree._Element:
    """The envelope element of a bare envelope or of a SOAP message (its single Body child)."""
    root = etree.fromstring(data)
    if root.tag == f"{{{SOAP_NS}}}Envelope":
        body = root.find(f"{{{SOAP_NS}}}Body")
        assert body is not None
        return next(c for c in body if isinstance(c.tag, str))
    return root
