"""Outputs never overwrite each other or existing files silently; options naming an organisation are
checked (issue 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ieb.cli import app
from ieb.cli._common import check_oin, check_organisatie, claim_outputs

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
runner = CliRunner()


def _process(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()) -> object:
    return runner.invoke(
        app,
        [
            "simulate",
            "process",
            "--state",
            str(tmp_path / "cak.sqlite"),
            "--out",
            str(tmp_path / "ret"),
            "--today",
            "2026-06-01",
            *extra,
            *map(str, files),
        ],
    )


def test_simulate_process_two_inputs_with_the_same_name_get_two_retours(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", tmp_path / "a/bericht.xml")
    shutil.copy(SAMPLES / "invalid/cs002-bsn-11proef.xml", tmp_path / "b/bericht.xml")
    result = _process(tmp_path, tmp_path / "a/bericht.xml", tmp_path / "b/bericht.xml")
    assert result.exit_code == 0, result.output
    first, second = tmp_path / "ret/bericht.retour.xml", tmp_path / "ret/bericht-2.retour.xml"
    assert first.is_file() and second.is_file()
    assert b"RetourCode>0001<" not in first.read_bytes() and b"RetourCode>0001<" in second.read_bytes()
    assert f"-> {first}" in result.stdout and f"-> {second}" in result.stdout
    assert "geaccepteerd" in result.stdout and "technisch afgekeurd" in result.stdout
    assert "accepted" not in result.stdout


def test_simulate_process_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    src = tmp_path / "bericht.xml"
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", src)
    (tmp_path / "ret").mkdir()
    existing = tmp_path / "ret/bericht.retour.xml"
    existing.write_bytes(b"mine")
    result = _process(tmp_path, src)
    assert result.exit_code == 1 and "bestaat al" in result.stderr and "--force" in result.stderr
    assert existing.read_bytes() == b"mine"
    assert not (tmp_path / "cak.sqlite").exists()  # nothing processed either
    result = _process(tmp_path, src, extra=("--force",))
    assert result.exit_code == 0, result.output
    assert existing.read_bytes().startswith(b"<?xml")


def test_certs_refuses_an_existing_pki(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    assert runner.invoke(app, ["certs", "--out", str(pki)]).exit_code == 0
    root_key = next(p for p in pki.rglob("*") if p.is_file() and "root" in p.name and "key" in p.name)
    before = root_key.read_bytes()
    result = runner.invoke(app, ["certs", "--out", str(pki)])
    assert result.exit_code == 1 and "--force" in result.stderr
    assert root_key.read_bytes() == before
    assert runner.invoke(app, ["certs", "--out", str(pki), "--force"]).exit_code == 0
    assert root_key.read_bytes() != before


def test_claim_outputs_finds_collisions_and_existing(tmp_path: Path) -> None:
    claim_outputs([tmp_path / "a", tmp_path / "b"], force=False)
    with pytest.raises(typer.Exit):
        claim_outputs([tmp_path / "a", tmp_path / "a"], force=True)
    (tmp_path / "b").write_text("x")
    with pytest.raises(typer.Exit):
        claim_outputs([tmp_path / "b"], force=False)
    claim_outputs([tmp_path / "b"], force=True)


@pytest.mark.parametrize(
    "bad", ["GGK", "0363", "0000009900000036300", "000000990000003630001", "0000009900000036300x"]
)
def test_oin_must_be_20_digits(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as info:
        check_oin(bad)
    assert info.value.exit_code == 2 and "20 cijfers" in capsys.readouterr().err


def test_oin_accepted() -> None:
    assert check_oin(" 00000099000000363000 ") == "00000099000000363000"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ieb.testing.pki import create_test_pki

    out = tmp_path_factory.mktemp("pki")
    create_test_pki(out, ["0363", "0599", "CAK"], dns_names=["localhost"], service_key="ec")
    return out


def _cert(pki: Path, code: str) -> Path:
    return pki / code / "cert.pem"


def test_organisatie_is_checked_against_the_certificate(
    pki: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = _cert(pki, "0363")
    assert check_organisatie("0363", cert) == "0363"
    assert check_organisatie(None, cert) == "0363"  # a test OIN carries the gemeentecode
    with pytest.raises(typer.Exit):
        check_organisatie("0599", cert)
    assert "past niet bij het certificaat" in capsys.readouterr().err
    with pytest.raises(typer.Exit):
        check_organisatie("363", cert)
    assert "4 cijfers" in capsys.readouterr().err


def test_simulate_process_masks_a_bsn_in_a_file_name(tmp_path: Path) -> None:
    src = tmp_path / "client-999999990.xml"
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", src)
    result = _process(tmp_path, src)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ret/client-999999990.retour.xml").is_file()  # the file keeps its name
    assert "999999990" not in result.stdout and "client-******990.retour.xml" in result.stdout
