"""iEb 1.0's retour writer: a WMO402/WMO404 for the simulator, in the layout of :func:`ieb.codec.to_xml`.

The Header copies the heenbericht's Afzender, BerichtIdentificatie and XsdVersie (as given in the
request), the Client copies the heenbericht's Bsn and klasse values (XSD values: integers and dates
collapsed, strings as written) in the retour's schema order, each RetourCodes list as given.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ieb.releases.ieb_1_0.table import BASIS_NS, VERSIONS
from ieb.releases.pack import RetourRequest
from ieb.values import collapse, element_text

__all__ = ["write_retour"]


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name), None)


def _value(el: etree._Element | None) -> str:
    return "" if el is None else element_text(el)


def _collapsed(el: etree._Element | None) -> str:
    return collapse(_value(el))


def write_retour(request: RetourRequest) -> bytes:
    """The retour of ``request`` as UTF-8 bytes (XML declaration, two-space indentation, final newline).

    Raises KeyError when ``request.heen_header`` lacks one of Afzender, Identificatie, Dagtekening,
    BasisschemaXsdVersie, BerichtXsdVersie."""
    row = request.retour
    ns = row.namespace
    kop = request.heen_header

    def m(name: str) -> str:
        return f"{{{ns}}}{name}"

    def b(name: str) -> str:
        return f"{{{BASIS_NS}}}{name}"

    def add(parent: etree._Element, tag: str, text: str) -> None:
        etree.SubElement(parent, tag).text = text

    def codes(parent: etree._Element, values: Sequence[str]) -> None:
        wrapper = etree.SubElement(parent, m("RetourCodes"))
        for code in values:
            add(wrapper, m("RetourCode"), code)

    root = etree.Element(m("Bericht"), nsmap={"ieb": BASIS_NS, row.prefix: ns})
    header = etree.SubElement(root, m("Header"))
    add(header, m("BerichtCode"), row.bericht_code or "")
    add(header, m("BerichtVersie"), str(VERSIONS.bericht_versie))
    add(header, m("BerichtSubversie"), str(VERSIONS.bericht_subversie))
    add(header, m("Afzender"), kop["Afzender"])
    ident = etree.SubElement(header, m("BerichtIdentificatie"))
    add(ident, b("Identificatie"), kop["Identificatie"])
    add(ident, b("Dagtekening"), kop["Dagtekening"])
    xsd = etree.SubElement(header, m("XsdVersie"))
    add(xsd, b("BasisschemaXsdVersie"), kop["BasisschemaXsdVersie"])
    add(xsd, b("BerichtXsdVersie"), kop["BerichtXsdVersie"])
    add(header, m("IdentificatieRetour"), request.identificatie_retour)
    add(header, m("DagtekeningRetour"), request.dagtekening_retour.isoformat())
    if request.xslt_versie is not None:
        add(header, m("XsltVersie"), request.xslt_versie)
    xsd_retour = etree.SubElement(header, m("XsdVersieRetour"))
    add(xsd_retour, b("BasisschemaXsdVersie"), VERSIONS.basisschema_xsd)
    add(xsd_retour, b("BerichtXsdVersie"), VERSIONS.bericht_xsd)
    if request.header_codes:
        codes(header, request.header_codes)
    if request.client is not None and row.klasse is not None:
        out = etree.SubElement(root, m("Client"))
        add(out, m("Bsn"), _value(_child(request.client, "Bsn")))
        heen_klasse = _child(request.client, row.klasse)
        klasse = etree.SubElement(out, m(row.klasse))
        for top in dict.fromkeys(path[0] for path in row.klasse_fields):
            el = _child(heen_klasse, top)
            if el is None:
                continue
            nested = [path[1] for path in row.klasse_fields if path[0] == top and len(path) > 1]
            if nested:
                group = etree.SubElement(klasse, m(top))
                for name in nested:
                    add(group, b(name), _collapsed(_child(el, name)))
            elif top == "StatusAanlevering":
                add(klasse, m(top), _value(el))
            else:
                add(klasse, m(top), _collapsed(el))
        codes(klasse, request.klasse_codes)
        codes(out, request.client_codes)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"
