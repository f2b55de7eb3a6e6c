"""Small builders for the policy tests (imported by the test modules)."""

from __future__ import annotations

import datetime as dt

from ieb.policy import Household, Member, Role, Voorziening, VoorzieningKind

#: Test BSNs (9999xxxxx, 11-proef valid).
CLIENT = "999900006"
PARTNER = "999900018"
ANDER = "999900031"
KIND1 = "999900043"
KIND2 = "999900055"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def lid(
    bsn: str = CLIENT,
    geboren: str = "1950-06-15",
    wlz: bool = False,
    bw: bool = False,
    rol: str | None = None,
) -> Member:
    return Member(
        bsn=bsn,
        geboortedatum=d(geboren),
        wlz_eigen_bijdrage=wlz,
        beschermd_wonen=bw,
        rol=Role(rol) if rol else None,
    )


def vz(
    soort: str,
    start: str,
    stop: str | None = None,
    kostprijs: int | None = None,
    bsn: str = CLIENT,
    id: str = "",
) -> Voorziening:
    return Voorziening(
        id=id,
        bsn=bsn,
        soort=VoorzieningKind(soort),
        start=d(start),
        stop=d(stop) if stop else None,
        kostprijs_cent=kostprijs,
    )


def huishouden(*leden: Member, inkomen: int | None = None) -> Household:
    return Household(leden=leden or (lid(),), inkomen_cent_per_jaar=inkomen)
