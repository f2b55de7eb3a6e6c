"""``ieb certs --status``: the configured CRLs with their nextUpdate, and per certificate of our own
chain and per known CA whether it is revoked or has no CRL (test PKI, real CRLs, no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ieb.cli import app
from ieb.testing.pki import load_test_pki

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363"])
    assert result.exit_code == 0, result.output
    return tmp_path


def _use_crls(folder: Path, revoke: list[str]) -> Path:
    load_test_pki(folder / "pki").write_crls(revoke)
    toml = folder / "ieb.toml"
    toml.write_text(re.sub(r"^crl = \[\]", 'crl = ["pki/crl"]', toml.read_text(), count=1, flags=re.M))
    assert 'crl = ["pki/crl"]' in toml.read_text()
    return folder / "pki" / "crl"


def _status(*extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["certs", "--status", *extra], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_without_crls_it_says_revocation_is_not_checked(folder: Path) -> None:
    code, out = _status()
    assert code == 0, out
    assert "geen CRL's ingesteld ([tls] crl): intrekking wordt niet gecontroleerd" in out
    report = json.loads(_status("--json")[1])
    assert report["crl_ingesteld"] is False and report["crls"] == []
    assert [c["ingetrokken"] for c in report["eigen_keten"]] == [None, None, None]
    # nothing was checked, so the verdict does not say "niets ingetrokken"
    assert "niets ingetrokken" not in out
    assert out.rstrip().endswith(
        "Uitkomst: intrekking niet gecontroleerd; stel de CRL's in met [tls] crl (docs/security.md)."
    )
    assert re.search(r"0363\.ieb\.test \(serienummer [0-9a-f]+\): niet gecontroleerd\n", out), out


def test_each_crl_is_listed_with_its_next_update_and_nothing_is_revoked(folder: Path) -> None:
    _use_crls(folder, [])
    code, out = _status()
    assert code == 0, out
    report = json.loads(_status("--json")[1])
    assert sorted(Path(c["bestand"]).name for c in report["crls"]) == [
        "domain.crl.pem",
        "root.crl.pem",
        "tsp.crl.pem",
    ]
    for c in report["crls"]:
        shown = c["next_update"][:16].replace("T", " ")
        assert f"{c['bestand']}\n    uitgever {c['uitgever']}; nextUpdate {shown} UTC; 0 ingetrokken" in out
    leaf, tsp, domain = report["eigen_keten"]
    assert (leaf["ingetrokken"], Path(leaf["crl"]).name) == (False, "tsp.crl.pem")
    assert (tsp["ingetrokken"], Path(tsp["crl"]).name) == (False, "domain.crl.pem")
    assert (domain["ingetrokken"], Path(domain["crl"]).name) == (False, "root.crl.pem")
    assert all(ca["eigen_crl"] for ca in report["cas"]) and len(report["cas"]) == 3
    assert out.rstrip().endswith("Uitkomst: niets ingetrokken.")


def test_our_own_revoked_certificate_is_shown_and_exits_1(folder: Path) -> None:
    _use_crls(folder, ["0363"])
    code, out = _status()
    assert code == 1
    assert re.search(r"0363\.ieb\.test \(serienummer [0-9a-f]+\): INGETROKKEN volgens tsp\.crl\.pem", out), (
        out
    )
    assert "Uitkomst: het eigen certificaat (of een CA erboven) is INGETROKKEN" in out
    report = json.loads(_status("--json")[1])
    assert [c["ingetrokken"] for c in report["eigen_keten"]] == [True, False, False]


def test_a_ca_without_crl_is_named_as_refused_in_the_handshake(folder: Path) -> None:
    crl_dir = _use_crls(folder, [])
    (crl_dir / "tsp.crl.pem").unlink()
    code, out = _status()
    assert code == 0, out
    assert (
        "ieb TEST TSP Private Services CA: GEEN CRL: certificaten van deze CA worden in de handshake geweigerd"
        in out
    )
    assert "0363.ieb.test" in out and "niet te beoordelen: geen CRL van de uitgever" in out
    assert "Uitkomst: niets ingetrokken, maar niet elke CA heeft een CRL" in out


def test_an_unusable_crl_stops_with_the_file_named(folder: Path) -> None:
    crl_dir = _use_crls(folder, [])
    (crl_dir / "tsp.crl.pem").write_bytes(b"kapot")
    code, out = _status()
    assert code == 1
    assert f"fout: [CONFIG] CRL {crl_dir / 'tsp.crl.pem'}: geen leesbare CRL" in out


def test_every_unusable_crl_is_named_and_the_usable_ones_still_shown(folder: Path) -> None:
    """Two bad CRLs: both are named (it used to stop at the first), the good one is still listed
    with what it says about our chain, and the exit code is 1."""
    crl_dir = _use_crls(folder, [])
    (crl_dir / "tsp.crl.pem").write_bytes(b"kapot")
    (crl_dir / "domain.crl.pem").write_bytes(b"ook kapot")
    code, out = _status()
    assert code == 1
    assert f"CRL {crl_dir / 'tsp.crl.pem'}: geen leesbare CRL" in out
    assert f"CRL {crl_dir / 'domain.crl.pem'}: geen leesbare CRL" in out
    assert "root.crl.pem" in out.split("geen leesbare CRL")[-1]  # the report follows, with the good CRL


def test_out_is_still_needed_to_make_a_pki_and_refused_with_status(folder: Path) -> None:
    result = runner.invoke(app, ["certs"])
    assert result.exit_code == 2 and "fout: --out: ontbreekt (of geef --status)" in result.output
    result = runner.invoke(app, ["certs", "--status", "--out", "x"])
    assert result.exit_code == 2 and "--status maakt niets" in result.output
    assert not (folder / "x").exists()


def test_a_configuration_without_certificates_or_with_a_bad_one_is_named(folder: Path) -> None:
    toml = folder / "ieb.toml"
    toml.write_text(re.sub(r"^ca = .*$", 'ca = "pki/weg.pem"', toml.read_text(), count=1, flags=re.M))
    code, out = _status()
    assert code == 1 and f"fout: organisatie.ca: {folder / 'pki' / 'weg.pem'} is niet te lezen" in out
    (folder / "pki" / "weg.pem").write_text("geen certificaat")
    code, out = _status()
    assert code == 1 and "bevat geen leesbaar certificaat (PEM of DER)" in out
    (folder / "leeg.toml").write_text('gemeenten = ["0363"]\n')
    code, out = _status("--config", "leeg.toml")
    assert code == 2 and "ontbreekt in ieb.toml: organisatie.cert en organisatie.ca" in out
    (folder / "half.toml").write_text('[organisatie]\ncert = "pki/0363/chain.pem"\n')
    code, out = _status("--config", "half.toml")
    assert code == 2 and "fout: ontbreekt in ieb.toml: organisatie.ca\n" in out


def test_without_any_ieb_toml_it_says_none_was_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(key)
    for extra in ((), ("--json",)):
        code, out = _status(*extra)
        assert code == 2
        assert f"fout: geen ieb.toml gevonden (niet in {tmp_path}, geen --config of IEB_CONFIG)" in out, out
        assert "ieb init" in out and "ontbreekt in ieb.toml" not in out


def test_a_configured_crl_folder_that_is_missing_is_not_called_not_configured(folder: Path) -> None:
    """The trial: ``[tls] crl = ["pki/crl"]`` without that folder said "geen CRL's ingesteld" and
    advised to configure what was configured; now it counts the unusable source and says why."""
    crl_dir = _use_crls(folder, [])
    for f in crl_dir.iterdir():
        f.unlink()
    crl_dir.rmdir()
    code, out = _status()
    assert code == 1, out
    assert f"CRL {crl_dir}: bestand of map bestaat niet" in out
    assert "geen CRL's ingesteld" not in out and "stel de CRL's in" not in out, out
    assert "CRL's ([tls] crl): 0 bruikbaar, 1 onbruikbaar (zie de fout(en) hierboven)" in out
    assert out.rstrip().splitlines()[-1].startswith("Uitkomst: niet elke CRL van [tls] crl is bruikbaar"), out
    report = json.loads(runner.invoke(app, ["certs", "--status", "--json"]).stdout)
    assert report["crl_ingesteld"] is True and report["crls"] == []


def test_one_unusable_crl_beside_good_ones_is_the_verdict(folder: Path) -> None:
    crl_dir = _use_crls(folder, [])
    (crl_dir / "tsp.crl.pem").write_bytes(b"kapot")
    code, out = _status()
    assert code == 1
    assert "CRL's ([tls] crl): 2 bruikbaar, 1 onbruikbaar" in out
    assert "Uitkomst: niet elke CRL van [tls] crl is bruikbaar" in out and "niets ingetrokken" not in out
