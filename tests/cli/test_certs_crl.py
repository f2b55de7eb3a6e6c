"""``ieb certs --crl MAP [--revoke CODE] [--geldig DAGEN]``: CRLs for the test PKI without a
``python -c`` one-liner (the last session's leftover). A refresh keeps what was revoked (a
revocation stays); the files are the CRLs the transport reads (``ieb certs --status`` judges our
chain by them); only a test PKI (its pki.json) is accepted."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from ieb.cli import app

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    result = runner.invoke(app, ["init", "--simulator", "-g", "0363"])
    assert result.exit_code == 0, result.output
    toml = tmp_path / "ieb.toml"
    toml.write_text(re.sub(r"^crl = \[\]", 'crl = ["pki/crl"]', toml.read_text(), count=1, flags=re.M))
    return tmp_path


def _crl(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, ["certs", "--crl", "pki", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def _status() -> tuple[int, str]:
    result = runner.invoke(app, ["certs", "--status"], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_make_revoke_and_refresh_the_test_pki_crls(folder: Path) -> None:
    before = dt.datetime.now(dt.UTC)  # (the reference time of the CRLs made below, not a timing)
    report = _crl([])
    assert report["directory"] == str(Path("pki") / "crl")
    assert [(c["ca"], c["revoked"]) for c in report["crls"]] == [("root", []), ("domain", []), ("tsp", [])]  # type: ignore[index,union-attr]
    tsp = x509.load_pem_x509_crl((folder / "pki" / "crl" / "tsp.crl.pem").read_bytes())
    assert tsp.next_update_utc is not None and tsp.next_update_utc - before > dt.timedelta(days=6)
    code, out = _status()
    assert code == 0 and "niets ingetrokken" in out, out

    report = _crl(["--revoke", "0363"])  # our own certificate revoked
    assert [c["revoked"] for c in report["crls"]] == [[], [], ["0363"]]  # type: ignore[index,union-attr]
    code, out = _status()
    assert code == 1 and "ingetrokken" in out, out

    report = _crl(["--geldig", "30"])  # a refresh: the revocation stays
    assert [c["revoked"] for c in report["crls"]] == [[], [], ["0363"]]  # type: ignore[index,union-attr]
    assert dt.datetime.fromisoformat(str(report["next_update"])) - before > dt.timedelta(days=29)
    assert _status()[0] == 1
    assert not list((folder / "pki" / "crl").glob("*.nieuw"))  # written next to the old one, renamed

    text = runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "GGK"]).output
    assert "tsp     2 ingetrokken: " in text and "0363" in text and "GGK" in text, text
    # ieb.toml names pki/crl (the fixture), simulator.toml not yet: advice for simulator.toml only
    assert 'simulator.toml noemt deze map nog niet: zet daar crl = ["pki/crl"]' in text, text
    assert "[tls] crl" not in text and "ververs vóór " in text, text


def test_the_crl_advice_only_for_files_that_do_not_name_the_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trial's leftover: the "put this in ieb.toml" advice came even when ieb.toml named the
    folder. It is given per file that does not name it yet; none when both do."""
    sim = folder / "simulator.toml"
    sim.write_text(re.sub(r"^# crl = .*$", 'crl = ["pki/crl"]', sim.read_text(), count=1, flags=re.M))
    text = runner.invoke(app, ["certs", "--crl", "pki"]).output
    assert "noemt deze map nog niet" not in text and "staat dit nog niet" not in text, text
    assert "ververs vóór " in text and "`ieb certs --crl pki`" in text, text

    # a file in the folder counts too, and an absolute path
    toml = folder / "ieb.toml"
    toml.write_text(
        toml.read_text().replace('crl = ["pki/crl"]', f'crl = ["{folder / "pki" / "crl" / "tsp.crl.pem"}"]')
    )
    assert "noemt deze map nog niet" not in runner.invoke(app, ["certs", "--crl", "pki"]).output

    # ieb.toml without it: advice for ieb.toml only
    toml.write_text(re.sub(r"^crl = \[.*\]", "crl = []", toml.read_text(), count=1, flags=re.M))
    text = runner.invoke(app, ["certs", "--crl", "pki"]).output
    assert 'ieb.toml noemt deze map nog niet: zet daar [tls] crl = ["pki/crl"]' in text, text
    assert "simulator.toml" not in text, text

    # the setting from the environment counts as ieb does
    monkeypatch.setenv("IEB_TLS__CRL", '["pki/crl"]')
    assert "noemt deze map nog niet" not in runner.invoke(app, ["certs", "--crl", "pki"]).output
    monkeypatch.delenv("IEB_TLS__CRL")

    # no ieb.toml at all (another folder, no simulator.toml): the full advice as before
    other = folder / "elders"
    other.mkdir()
    monkeypatch.chdir(other)
    text = runner.invoke(app, ["certs", "--crl", str(folder / "pki")]).output
    assert "ieb.toml noemt deze map nog niet" in text, text


def test_wrong_use_and_a_folder_that_is_no_test_pki(folder: Path) -> None:
    result = runner.invoke(app, ["certs", "--crl", "pki", "--revoke", "XYZ"])
    assert (
        result.exit_code == 2 and "fout: --revoke: onbekende code XYZ; deze test-PKI kent " in result.output
    )
    assert not (folder / "pki" / "crl").exists()  # nothing written
    result = runner.invoke(app, ["certs", "--revoke", "GGK"])
    assert result.exit_code == 2 and "fout: --revoke: hoort bij --crl MAP" in result.output
    result = runner.invoke(app, ["certs", "--crl", "pki", "--status"])
    assert result.exit_code == 2 and "fout: --crl:" in result.output
    result = runner.invoke(app, ["certs", "--crl", str(folder)])
    assert result.exit_code == 1 and "is geen test-PKI (er staat geen pki.json in)" in result.output
    (folder / "pki" / "crl").mkdir()
    (folder / "pki" / "crl" / "tsp.crl.pem").write_bytes(
        b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    )
    result = runner.invoke(app, ["certs", "--crl", "pki"])
    assert result.exit_code == 1 and "is geen CRL van de tsp-CA van deze test-PKI" in result.output, (
        result.output
    )


def test_simulator_toml_shows_where_the_crls_go(folder: Path) -> None:
    """``ieb init --simulator`` writes the commented ``crl`` line for simulator.toml (the trial had to
    find the key in docs/security.md); uncommented after ``ieb certs --crl pki`` it is the folder."""
    from ieb.config import load_simulator_config

    toml = folder / "simulator.toml"
    text = toml.read_text()
    assert '# crl = ["pki/crl"]\n' in text and "`ieb certs --crl pki`" in text
    assert load_simulator_config(toml).crl == []  # commented: no revocation check until chosen
    _crl([])
    toml.write_text(text.replace('# crl = ["pki/crl"]', 'crl = ["pki/crl"]'))
    assert [Path(p).name for p in load_simulator_config(toml).crl] == ["crl"]


def test_the_crl_advice_is_relative_to_the_folder_of_ieb_toml(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial, session 7: run from another folder with ``--config``, the advice gave the path as
    seen from the current folder (``["clerk/pki/crl"]``), which ieb.toml would read from its own
    folder (``clerk/clerk/pki/crl``). Now it is the path from ieb.toml's folder, and that value,
    written into ieb.toml, ends the advice."""
    toml = folder / "ieb.toml"
    toml.write_text(re.sub(r"^crl = \[.*\]", "crl = []", toml.read_text(), count=1, flags=re.M))
    monkeypatch.chdir(folder.parent)
    here = Path(folder.name)
    text = runner.invoke(
        app, ["certs", "--crl", str(here / "pki"), "--config", str(here / "ieb.toml")]
    ).output
    assert 'zet daar [tls] crl = ["pki/crl"] (en in simulator.toml: crl = ["pki/crl"])' in text, text
    assert f"`ieb certs --crl {here / 'pki'}`" in text and f"verwijder {here / 'pki' / 'crl'})" in text, text

    # following the advice silences it (ieb.toml reads "pki/crl" from its own folder)
    toml.write_text(re.sub(r"^crl = \[\]", 'crl = ["pki/crl"]', toml.read_text(), count=1, flags=re.M))
    text = runner.invoke(
        app, ["certs", "--crl", str(here / "pki"), "--config", str(here / "ieb.toml")]
    ).output
    assert (
        "[tls] crl" not in text
        and 'simulator.toml noemt deze map nog niet: zet daar crl = ["pki/crl"]' in text
    )
