"""Attack: a DVS answer that looks like a rapport but whose findings cannot be read (a Fout in no
or another namespace, something else in Fouten) must not read as "no findings" (a silent pass);
a hostile DVS's Code or Retourcode must not carry a BSN into ieb's output."""

from __future__ import annotations

import pytest

from ieb.conformance.dvs import DvsError, parse_rapport
from ieb.conformance.rapport import RAPPORT_NS

BSN = "999990020"  # a test BSN (11-proef)


def _rapport(fouten: str) -> bytes:
    return (
        f'<r:Rapport xmlns:r="{RAPPORT_NS}"><r:Header><r:BerichtCode>470</r:BerichtCode></r:Header>'
        f"<r:Fouten>{fouten}</r:Fouten></r:Rapport>"
    ).encode()


@pytest.mark.parametrize(
    "fouten",
    [
        "<Fout><Code>CS002</Code><Locatie>/Bericht</Locatie></Fout>",  # no namespace
        '<x:Fout xmlns:x="urn:other"><x:Code>CS002</x:Code><x:Locatie>/</x:Locatie></x:Fout>',
        "<r:Fault><r:Code>CS002</r:Code><r:Locatie>/</r:Locatie></r:Fault>",
    ],
)
def test_an_unreadable_finding_is_an_error_not_a_pass(fouten: str) -> None:
    with pytest.raises(DvsError, match="Fouten"):
        parse_rapport(_rapport(fouten))


def test_an_empty_fouten_is_still_a_pass() -> None:
    assert parse_rapport(_rapport("")).fouten == ()


def test_a_bsn_in_a_dvs_code_or_retourcode_is_masked() -> None:
    (fout,) = parse_rapport(
        _rapport(
            f"<r:Fout><r:Code>X{BSN}</r:Code><r:Retourcode>{BSN}</r:Retourcode>"
            "<r:Locatie>/Bericht</r:Locatie></r:Fout>"
        )
    ).fouten
    assert BSN not in fout.code + (fout.retourcode or "")
