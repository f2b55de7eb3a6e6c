"""Regenerate the sample corpus and its manifest: ``python tests/core/samples/_generate.py``.

Each sample is a small variation on a valid message; ``manifest.json`` lists, per file, the
``today`` to validate with and the rule codes expected (in report order). Vendors can run
``ieb validate --format json --today <today>`` on these files and compare.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
TODAY = "2026-06-01"

BASIS = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"


def heen(
    bericht: str,
    *,
    code: str | None = None,
    versie: str = "1",
    subversie: str = "0",
    afzender: str = "0363",
    ident: str = "AMS-0001",
    dagtekening: str = "2026-05-20",
    bsn: str = "999900006",
    nummer: str = "1001",
    datum: str = "2026-05-01",
    status: str = "1",
    kostprijs: tuple[str, str] | None = None,
    prefix: str | None = None,
    extra_client: str = "",
) -> str:
    b = bericht.lower()
    p = prefix if prefix is not None else b
    code = code or {"wmo401": "470", "wmo403": "472"}[b]
    klasse, datum_el = (
        ("StartEigenBijdrage", "EbStartdatum") if b == "wmo401" else ("StopEigenBijdrage", "EbStopdatum")
    )
    t = (lambda name: f"{p}:{name}") if p else (lambda name: name)
    ns_decl = (
        f'xmlns:{p}="http://www.istandaarden.nl/ieb/1_0/{b}/schema"'
        if p
        else f'xmlns="http://www.istandaarden.nl/ieb/1_0/{b}/schema"'
    )
    kp = ""
    if kostprijs:
        kp = (
            f"\n      <{t('EbKostprijs')}>\n        <ieb:KostprijsBedrag>{kostprijs[0]}</ieb:KostprijsBedrag>\n"
            f"        <ieb:KostprijsStartdatum>{kostprijs[1]}</ieb:KostprijsStartdatum>\n      </{t('EbKostprijs')}>"
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{t("Bericht")} xmlns:ieb="{BASIS}" {ns_decl}>
  <{t("Header")}>
    <{t("BerichtCode")}>{code}</{t("BerichtCode")}>
    <{t("BerichtVersie")}>{versie}</{t("BerichtVersie")}>
    <{t("BerichtSubversie")}>{subversie}</{t("BerichtSubversie")}>
    <{t("Afzender")}>{afzender}</{t("Afzender")}>
    <{t("BerichtIdentificatie")}>
      <ieb:Identificatie>{ident}</ieb:Identificatie>
      <ieb:Dagtekening>{dagtekening}</ieb:Dagtekening>
    </{t("BerichtIdentificatie")}>
    <{t("XsdVersie")}>
      <ieb:BasisschemaXsdVersie>1.2.0</ieb:BasisschemaXsdVersie>
      <ieb:BerichtXsdVersie>1.2.0</ieb:BerichtXsdVersie>
    </{t("XsdVersie")}>
  </{t("Header")}>
  <{t("Client")}>
    <{t("Bsn")}>{bsn}</{t("Bsn")}>
    <{t(klasse)}>
      <{t("EbStartNummer")}>{nummer}</{t("EbStartNummer")}>
      <{t(datum_el)}>{datum}</{t(datum_el)}>{kp}
      <{t("StatusAanlevering")}>{status}</{t("StatusAanlevering")}>
    </{t(klasse)}>{extra_client}
  </{t("Client")}>
</{t("Bericht")}>
"""


def retour(
    bericht: str,
    *,
    header_codes: list[str] | None = None,
    client: bool = False,
    klasse_codes: list[str] | None = None,
    client_codes: list[str] | None = None,
) -> str:
    b = bericht.lower()
    code = {"wmo402": "471", "wmo404": "473"}[b]
    klasse, datum_el = (
        ("StartEigenBijdrage", "EbStartdatum") if b == "wmo402" else ("StopEigenBijdrage", "EbStopdatum")
    )
    rc = ""
    if header_codes:
        rc = (
            f"\n    <{b}:RetourCodes>"
            + "".join(f"<{b}:RetourCode>{c}</{b}:RetourCode>" for c in header_codes)
            + f"</{b}:RetourCodes>"
        )
    cl = ""
    if client:
        kc = "".join(f"<{b}:RetourCode>{c}</{b}:RetourCode>" for c in klasse_codes or [])
        cc = "".join(f"<{b}:RetourCode>{c}</{b}:RetourCode>" for c in client_codes or [])
        cl = f"""
  <{b}:Client>
    <{b}:Bsn>999900006</{b}:Bsn>
    <{b}:{klasse}>
      <{b}:EbStartNummer>1001</{b}:EbStartNummer>
      <{b}:{datum_el}>2026-05-01</{b}:{datum_el}>
      <{b}:StatusAanlevering>1</{b}:StatusAanlevering>
      <{b}:RetourCodes>{kc}</{b}:RetourCodes>
    </{b}:{klasse}>
    <{b}:RetourCodes>{cc}</{b}:RetourCodes>
  </{b}:Client>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{b}:Bericht xmlns:ieb="{BASIS}" xmlns:{b}="http://www.istandaarden.nl/ieb/1_0/{b}/schema">
  <{b}:Header>
    <{b}:BerichtCode>{code}</{b}:BerichtCode>
    <{b}:BerichtVersie>1</{b}:BerichtVersie>
    <{b}:BerichtSubversie>0</{b}:BerichtSubversie>
    <{b}:Afzender>0363</{b}:Afzender>
    <{b}:BerichtIdentificatie>
      <ieb:Identificatie>AMS-0001</ieb:Identificatie>
      <ieb:Dagtekening>2026-05-20</ieb:Dagtekening>
    </{b}:BerichtIdentificatie>
    <{b}:XsdVersie>
      <ieb:BasisschemaXsdVersie>1.2.0</ieb:BasisschemaXsdVersie>
      <ieb:BerichtXsdVersie>1.2.0</ieb:BerichtXsdVersie>
    </{b}:XsdVersie>
    <{b}:IdentificatieRetour>CAK-77</{b}:IdentificatieRetour>
    <{b}:DagtekeningRetour>2026-05-21</{b}:DagtekeningRetour>
    <{b}:XsltVersie>1.0.0</{b}:XsltVersie>
    <{b}:XsdVersieRetour>
      <ieb:BasisschemaXsdVersie>1.2.0</ieb:BasisschemaXsdVersie>
      <ieb:BerichtXsdVersie>1.2.0</ieb:BerichtXsdVersie>
    </{b}:XsdVersieRetour>{rc}
  </{b}:Header>{cl}
</{b}:Bericht>
"""


SAMPLES: dict[str, tuple[str | bytes, list[str]]] = {
    # ---- valid
    "valid/wmo401-start.xml": (heen("WMO401"), []),
    "valid/wmo401-kostprijs.xml": (heen("WMO401", kostprijs=("57000", "2026-05-01")), []),
    "valid/wmo401-change.xml": (heen("WMO401", status="2"), []),
    "valid/wmo401-delete.xml": (heen("WMO401", status="3"), []),
    "valid/wmo401-default-namespace.xml": (heen("WMO401", prefix=""), []),
    "valid/wmo401-other-prefix.xml": (heen("WMO401", prefix="x"), []),
    "valid/wmo401-window-edges.xml": (heen("WMO401", dagtekening="2026-05-31", datum="2025-05-31"), []),
    "valid/wmo401-future-month.xml": (heen("WMO401", dagtekening="2026-05-31", datum="2026-06-30"), []),
    "valid/wmo403-stop.xml": (heen("WMO403"), []),
    "valid/wmo403-change.xml": (heen("WMO403", status="2"), []),
    "valid/wmo403-delete-old.xml": (heen("WMO403", status="3", datum="2024-01-31"), []),
    "valid/wmo402-accepted.xml": (retour("WMO402"), []),
    "valid/wmo402-level2.xml": (retour("WMO402", header_codes=["0001"]), []),
    "valid/wmo402-level3.xml": (
        retour("WMO402", client=True, klasse_codes=["9102"], client_codes=["0200"]),
        [],
    ),
    "valid/wmo404-accepted.xml": (retour("WMO404"), []),
    "valid/wmo404-level3.xml": (
        retour("WMO404", client=True, klasse_codes=["9328"], client_codes=["0200"]),
        [],
    ),
    # ---- level 1: parse and XSD
    "invalid/op192-bom.xml": (b"\xef\xbb\xbf" + heen("WMO401").encode(), ["OP192"]),
    "invalid/op192-latin1.xml": (
        heen("WMO401").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode(),
        ["OP192"],
    ),
    "invalid/op192-not-utf8.xml": (heen("WMO401", ident="M\xfcnster").encode("latin-1"), ["OP192"]),
    "invalid/xml-not-well-formed.xml": (heen("WMO401").replace("</wmo401:Client>", ""), ["XML"]),
    "invalid/xml-dtd.xml": (heen("WMO401").replace("?>\n", "?>\n<!DOCTYPE wmo401:Bericht>\n", 1), ["XML"]),
    "invalid/xml-xxe.xml": (
        heen("WMO401", bsn="&x;").replace(
            "?>\n", '?>\n<!DOCTYPE b [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n', 1
        ),
        ["XML"],
    ),
    "invalid/xml-billion-laughs.xml": (
        heen("WMO401", ident="&l9;").replace(
            "?>\n",
            '?>\n<!DOCTYPE b [<!ENTITY l0 "ha">'
            + "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
            + "]>\n",
            1,
        ),
        ["XML"],
    ),
    "invalid/xsd-unknown-namespace.xml": (
        heen("WMO401").replace("ieb/1_0/wmo401", "ieb/9_9/wmo401"),
        ["XSD"],
    ),
    "invalid/xsd-missing-bsn.xml": (
        heen("WMO401").replace("<wmo401:Bsn>999900006</wmo401:Bsn>", ""),
        ["XSD"],
    ),
    "invalid/xsd-extra-element.xml": (
        heen("WMO401", extra_client="\n    <wmo401:Extra>1</wmo401:Extra>"),
        ["XSD"],
    ),
    "invalid/xsd-date-timezone.xml": (heen("WMO401", datum="2026-05-01Z"), ["XSD"]),
    "invalid/xsd-date-offset.xml": (heen("WMO403", datum="2026-05-01+01:00"), ["XSD"]),
    "invalid/xsd-bsn-short.xml": (heen("WMO401", bsn="99990000"), ["XSD"]),
    "invalid/xsd-bedrag-negative.xml": (heen("WMO401", kostprijs=("-1", "2026-05-01")), ["XSD"]),
    "invalid/xsd-identificatie-spaces.xml": (heen("WMO401", ident="   "), ["XSD"]),
    "invalid/xsd-identificatie-long.xml": (heen("WMO401", ident="ABCDEFGHIJKLM"), ["XSD"]),
    "invalid/xsd-afzender-letters.xml": (heen("WMO401", afzender="AMST"), ["XSD"]),
    # ---- level 2: in-message rules (retourcode 0001)
    "invalid/cs002-bsn-11proef.xml": (heen("WMO401", bsn="999900007"), ["CS002"]),
    "invalid/cs002-wmo403.xml": (heen("WMO403", bsn="999900019"), ["CS002"]),
    "invalid/cs015-subversie.xml": (heen("WMO401", subversie="1"), ["XSD", "CS015"]),
    "invalid/cs025-versie.xml": (heen("WMO403", versie="2"), ["XSD", "CS025"]),
    "invalid/cs125-status-9.xml": (heen("WMO401", status="9"), ["CS125"]),
    "invalid/cs126-berichtcode.xml": (heen("WMO401", code="472"), ["XSD", "CS126"]),
    "invalid/cs332-before-2020.xml": (
        heen("WMO401", dagtekening="2020-06-01", datum="2019-12-31"),
        ["CS332"],
    ),
    "invalid/cs334-kostprijs-before-start.xml": (
        heen("WMO401", kostprijs=("57000", "2026-04-30")),
        ["CS334"],
    ),
    "invalid/tr112-start-too-old.xml": (
        heen("WMO401", dagtekening="2026-05-20", datum="2025-05-19"),
        ["TR112"],
    ),
    "invalid/tr112-stop-too-old.xml": (  # revision 1.0.2: TR112 covers stops until 2021-07-19
        heen("WMO403", dagtekening="2021-05-20", datum="2020-05-19"),
        ["TR112"],
    ),
    "invalid/tr113-start-too-far.xml": (
        heen("WMO401", dagtekening="2026-05-20", datum="2026-06-21"),
        ["TR113"],
    ),
    "invalid/tr113-stop-too-far.xml": (
        heen("WMO403", dagtekening="2026-05-20", datum="2026-06-21"),
        ["TR113"],
    ),
    "invalid/tr116-stop-change-too-old.xml": (  # revision 1.0.3: 36 months back
        heen("WMO403", status="2", dagtekening="2026-05-20", datum="2023-05-19"),
        ["TR116"],
    ),
    "invalid/tr117-stop-change-too-far.xml": (
        heen("WMO403", status="2", dagtekening="2026-05-20", datum="2026-06-21"),
        ["TR117"],
    ),
    # ---- level 3: the receiver's context
    "invalid/cs300-unknown-gemeente.xml": (heen("WMO401", afzender="0001"), ["CS300"]),
    "invalid/cs300-ended-gemeente.xml": (heen("WMO401", afzender="0501"), ["CS300"]),
    "invalid/cs333-kostprijs-below-tariff.xml": (heen("WMO401", kostprijs=("2179", "2026-05-01")), ["CS333"]),
    "invalid/8848-dagtekening-future.xml": (
        heen("WMO401", dagtekening="2026-06-02", datum="2026-06-01"),
        ["8848"],
    ),
    # ---- several at once: every problem is reported
    "invalid/many-problems.xml": (
        heen(
            "WMO401",
            afzender="0001",
            bsn="999900007",
            status="9",
            dagtekening="2026-06-02",
            kostprijs=("100", "2026-05-01"),
        ),
        ["CS002", "CS125", "CS300", "CS333", "8848"],
    ),
}


def main() -> None:
    manifest = []
    for name, (content, codes) in sorted(SAMPLES.items()):
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        manifest.append({"file": name, "today": TODAY, "codes": codes})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
