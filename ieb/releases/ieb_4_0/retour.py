"""iEb 4.0's retour writer: a WMO406/WMO408 for the simulator, laid out by the active XSD.

The Header copies the heenbericht's Afzender, BerichtIdentificatie and XsdVersie (as given in the
request); the Client copies the heenbericht's values of every bound element below ``Client`` (as
written, whitespace collapsed for dates and integers) and adds the RetourCodes per record and per
client. Element names, namespaces and order come from the binding and the XSD, as for every 4.0
message (:func:`.codec.values_to_element`).
"""

from __future__ import annotations

from lxml import etree

from ieb.releases.ieb_4_0.binding import load_binding
from ieb.releases.ieb_4_0.codec import values_to_element
from ieb.releases.pack import RetourRequest
from ieb.values import collapse, element_text

__all__ = ["write_retour"]

_HEADER = {
    "afzender": "Afzender",
    "identificatie": "Identificatie",
    "dagtekening": "Dagtekening",
    "basisschema_xsd_versie": "BasisschemaXsdVersie",
    "bericht_xsd_versie": "BerichtXsdVersie",
}


def _at(client: etree._Element, path: tuple[str, ...]) -> etree._Element | None:
    node: etree._Element | None = client
    for part in path:
        if node is None:
            return None
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == part), None)
    return node


def write_retour(request: RetourRequest) -> bytes:
    """The retour of ``request`` as UTF-8 bytes (XML declaration, two-space indentation, final
    newline), valid under the retour's XSD when the heenbericht was. Raises KeyError when
    ``request.heen_header`` lacks one of Afzender, Identificatie, Dagtekening."""
    row = request.retour
    folder = row.schema_path.parent
    binding = load_binding()[row.name]
    heen = load_binding()[row.answers] if row.answers else None
    values: dict[str, str | list[str]] = {
        field: request.heen_header[name]
        for field, name in _HEADER.items()
        if name in request.heen_header or field in ("afzender", "identificatie", "dagtekening")
    }
    values["identificatie_retour"] = request.identificatie_retour
    values["dagtekening_retour"] = request.dagtekening_retour.isoformat()
    if request.xslt_versie is not None:
        values["xslt_versie"] = request.xslt_versie
    if request.header_codes:
        values["retour_codes_header"] = list(request.header_codes)
    if request.client is not None and heen is not None:
        for field, bound in heen.fields.items():
            if bound.path[0] != "Client" or field not in binding.fields:
                continue
            el = _at(request.client, bound.path[1:])
            if el is None:
                continue
            raw = element_text(el)
            values[field] = raw if field == "status_aanlevering" or bound.type == "string" else collapse(raw)
        values["retour_codes_periode"] = list(request.klasse_codes)
        values["retour_codes_client"] = list(request.client_codes)
    root = values_to_element(row.name, values, folder)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"
