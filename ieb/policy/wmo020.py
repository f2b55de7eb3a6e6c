"""The iWmo code list WMO020 Productcategorie (a fact of the published iWmo 3.2 code lists).

One table for every part of ``ieb`` that names a category: ``ieb.iwmo`` (bijdrageplicht per category,
beleidsinformatie) and ``ieb.wlz`` (what may continue next to the Wlz).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["CATEGORIEEN"]

#: WMO020 Productcategorie: code (two digits) -> omschrijving. Read-only.
CATEGORIEEN: Final = MappingProxyType(
    {
        "01": "Hulp bij het huishouden",
        "02": "Begeleiding",
        "03": "Persoonlijke verzorging",
        "04": "Kortdurend verblijf",
        "05": "Woondiensten",
        "06": "Overige ondersteuning gericht op het individu of huishouden/gezin",
        "07": "Dagbesteding",
        "08": "Vervoerdiensten",
        "09": "Overige groepsgerichte ondersteuning",
        "10": "Overige maatwerk arrangementen",
        "11": "Rolstoelen",
        "12": "Vervoervoorzieningen",
        "13": "Woonvoorzieningen",
        "14": "Overige hulpmiddelen",
        "15": "Beschermd wonen",
        "16": "Opvang",
        "17": "Spoedopvang",
        "18": "Overige beschermd wonen en opvang",
    }
)
