"""Attack: the rapport copies a hostile file's Identificatie (cut to 12 characters); the cut must
not leave a full BSN that the masking (done before the cut) did not see."""

from __future__ import annotations

from lxml import etree

from ieb.conformance.rapport import rapport_bytes
from ieb.issues import Report

BSN = "999990020"  # a test BSN (11-proef)


def _root(identificatie: str) -> etree._Element:
    return etree.fromstring(
        "<Bericht><Header><BerichtCode>470</BerichtCode><BerichtIdentificatie>"
        f"<Identificatie>{identificatie}</Identificatie><Dagtekening>2026-06-01</Dagtekening>"
        "</BerichtIdentificatie></Header></Bericht>"
    )


def test_cutting_the_identificatie_does_not_uncover_a_bsn() -> None:
    # 15 characters: the 12-digit run is no BSN, but its first 12 characters end in one
    data = rapport_bytes(Report(), root=_root(f"ABC{BSN}123"))
    assert BSN not in data.decode()
    assert b"<r:Identificatie>ABC******020</r:Identificatie>" in data


def test_a_bsn_in_a_short_identificatie_is_still_masked_and_a_counter_is_not() -> None:
    assert b">ZW******020<" in rapport_bytes(Report(), root=_root(f"ZW{BSN}"))
    assert b">ZW0000000001<" in rapport_bytes(Report(), root=_root("ZW0000000001"))
