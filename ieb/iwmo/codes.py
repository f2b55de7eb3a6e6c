"""iWmo 3.2 code lists that ``ieb.iwmo`` reads (facts from the published code lists).

* WMO020 Productcategorie (``CATEGORIEEN``), WMO588 RedenBeeindiging (``REDENEN_BEEINDIGING``),
  COD467 StatusAanlevering, COD002 BerichtCode (``BERICHTCODES``).
* ``IW...`` codes are ``ieb``'s own finding codes for problems the iWmo standard has no code for
  (another release or standard, a message that is not needed); rule findings use the standard's
  TR code (``TR063``, ``TR069`` ...).
"""

from __future__ import annotations

from ieb.policy.wmo020 import CATEGORIEEN

__all__ = [
    "BERICHTCODES",
    "CATEGORIEEN",
    "GEBRUIKTE_BERICHTEN",
    "KOSTPRIJS_CATEGORIEEN",
    "NOOIT_BIJDRAGEPLICHTIG",
    "REDENEN_BEEINDIGING",
    "REDEN_WIJZIGING_VERWIJDERD",
    "STANDAARD_BIJDRAGEPLICHT",
    "namespace_of",
]


#: Rolstoelen never carry an eigen bijdrage (Wmo 2015 art. 2.1.4 lid 1); a setting naming 11 is refused.
NOOIT_BIJDRAGEPLICHTIG = frozenset({"11"})

#: Categories whose toewijzing may carry a kostprijs (hulpmiddelen and woningaanpassingen,
#: kostprijsbewaking): 12 Vervoervoorzieningen, 13 Woonvoorzieningen, 14 Overige hulpmiddelen.
KOSTPRIJS_CATEGORIEEN = frozenset({"12", "13", "14"})

#: Default "bijdrageplicht" (checklist item): every maatwerkvoorziening of the abonnementstarief;
#: not 11 (never), not 09 (groepsgerichte, usually an algemene voorziening) and not 15-18 (beschermd
#: wonen and opvang have their own eigen bijdrage, not the abonnementstarief).
STANDAARD_BIJDRAGEPLICHT = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "10", "12", "13", "14"})

#: WMO588 RedenBeeindiging: code -> omschrijving.
REDENEN_BEEINDIGING: dict[str, str] = {
    "02": "Overlijden",
    "19": "Levering volgens plan beeindigd",
    "20": "Levering is tijdelijk beeindigd",
    "21": "Levering is eenzijdig door client beeindigd",
    "22": "Levering is eenzijdig door aanbieder beeindigd",
    "23": "Levering is in overeenstemming voortijdig beeindigd",
    "31": "Verhuizing naar een andere gemeente",
    "36": "Geinitieerd door de gemeente",
    "37": "In verband met wijzigingsverzoek",
    "38": "Overstap naar andere aanbieder",
    "39": "Uitstroom naar ander domein",
}

#: RedenWijziging 13 "Verwijderd": a WMO301 with this reason withdraws the toewijzing.
REDEN_WIJZIGING_VERWIJDERD = "13"

#: COD002 BerichtCode of the iWmo 3.2 heenberichten and retourberichten.
BERICHTCODES: dict[str, str] = {
    "WMO301": "414",
    "WMO302": "415",
    "WMO305": "418",
    "WMO306": "419",
    "WMO307": "420",
    "WMO308": "421",
    "WMO315": "444",
    "WMO316": "445",
    "WMO317": "480",
    "WMO318": "481",
    "WMO319": "482",
    "WMO320": "483",
    "WMO323": "484",
    "WMO325": "485",
}

#: The messages ``ieb.iwmo`` stores; the others are reported as not needed.
GEBRUIKTE_BERICHTEN = ("WMO301", "WMO305", "WMO307")

_PREFIX = "http://www.istandaarden.nl/"


def namespace_of(standaard: str, release: str, bericht: str) -> str:
    """The target namespace of a message: ``namespace_of("iwmo", "3.2", "WMO305")`` ->
    ``http://www.istandaarden.nl/iwmo/3_2/wmo305/schema``."""
    return f"{_PREFIX}{standaard}/{release.replace('.', '_')}/{bericht.lower()}/schema"
