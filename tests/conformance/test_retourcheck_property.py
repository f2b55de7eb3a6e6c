"""No false findings: every retour the simulated CAK writes for a (mutated) heenbericht passes the
retour checks (issue 25 item 6). The mutations (:mod:`ieb.testing.mutations`) break values, the
structure and the encoding; the CAK answers with the retour its rules give (level 1 with replaced
header values, level 2, level 3) and ``check_retour`` must accept every one of them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import to_xml
from ieb.conformance.retourcheck import check_retour
from ieb.releases import get_pack
from ieb.releases.models import Message
from ieb.simulator.cak import CakSimulator
from ieb.testing.mutations import mutate_bytes
from ieb.testing.strategies import heen_messages
from tests.migrated import migrated_memory_engine

#: every heenbericht of every release whose CAK writes retours (iEb 4.0 answers level 1 with a Fo01)
HEEN = st.one_of(*(heen_messages(row) for name in ("ieb-1.0", "ieb-4.0") for row in get_pack(name).heen()))


def _findings(cak: CakSimulator, message: Message, seed: int) -> list[str]:
    heen = mutate_bytes(to_xml(message), random.Random(seed))
    result = cak.process(heen, today=message.header.bericht_identificatie.dagtekening)
    if result.retour is None:
        return []
    return [f"{i.code} {i.location}: {i.message}" for i in check_retour(heen, result.retour).issues]


@pytest.fixture(scope="module")
def cak() -> CakSimulator:
    return CakSimulator(migrated_memory_engine())


@settings(max_examples=150)
@given(message=HEEN, seed=st.integers(0, 2**32 - 1))
def test_every_retour_of_the_simulator_passes_the_retour_check(
    cak: CakSimulator, message: Message, seed: int
) -> None:
    assert _findings(cak, message, seed) == []


@pytest.mark.slow
@settings(max_examples=1000)
@given(message=HEEN, seed=st.integers(0, 2**32 - 1))
def test_1000_mutated_heenberichten_give_no_false_findings(
    cak: CakSimulator, message: Message, seed: int
) -> None:
    assert _findings(cak, message, seed) == []


def test_validate_heen_accepts_the_simulators_retours_on_a_folder_of_pairs(tmp_path: Path) -> None:
    """``ieb validate --heen DIR DIR`` on 60 mutated heenberichten and their retours (among them
    a BOM, another encoding and header values the CAK had to replace) exits 0."""
    import datetime as dt

    from ieb.messages import Wmo401

    day = dt.date(2026, 6, 1)
    cak = CakSimulator(migrated_memory_engine(), today=day)
    rng = random.Random(25)
    written = 0
    for n in range(200):
        base = to_xml(
            Wmo401.build(
                afzender="0363",
                identificatie=f"P{n}",
                dagtekening=day,
                bsn="999900006",
                eb_start_nummer=n + 1,
                eb_startdatum=dt.date(2026, 5, 1),
            )
        )
        heen = b"\xef\xbb\xbf" + base if n == 0 else mutate_bytes(base, rng)
        result = cak.process(heen)
        if result.retour is None:
            continue
        (tmp_path / f"heen-{n}.xml").write_bytes(heen)
        (tmp_path / f"retour-{n}.xml").write_bytes(result.retour)
        written += 1
        if written == 60:
            break
    out = CliRunner().invoke(app, ["validate", "--heen", str(tmp_path), str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "60 bestand(en): 60 geldig" in out.output
