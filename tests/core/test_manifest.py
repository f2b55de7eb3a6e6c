"""The sample corpus: every file with the rule codes the CAK would report."""

import datetime as dt
import json
from pathlib import Path

import pytest

from ieb.releases import get_pack
from ieb.validation import validate_bytes, validate_file

SAMPLES = Path(__file__).parent / "samples"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_sample_gives_expected_codes(entry: dict) -> None:
    report = validate_file(SAMPLES / entry["file"], today=dt.date.fromisoformat(entry["today"]))
    assert report.codes == entry["codes"], [i.message for i in report.issues]
    for issue in report.issues:
        assert issue.message and issue.level in (1, 2, 3)
        assert "999900007" not in issue.message  # never a full BSN
        if issue.level < 3:
            assert issue.retourcode == "0001"


def test_manifest_covers_valid_and_invalid_for_every_message() -> None:
    for bericht in ("wmo401", "wmo402", "wmo403", "wmo404"):
        assert any(e["file"].startswith(f"valid/{bericht}") for e in MANIFEST)
    invalid = [e for e in MANIFEST if e["codes"]]
    for bericht in ("wmo401", "wmo403"):
        assert any(bericht in (SAMPLES / e["file"]).read_bytes().decode("utf-8", "replace") for e in invalid)


def test_every_rule_fires_somewhere_and_never_on_valid_samples() -> None:
    fired: set[str] = set()
    for entry in MANIFEST:
        fired.update(entry["codes"])
    for rule in get_pack("ieb-1.0").rules.message:
        assert (rule.issue_code or rule.code) in fired, f"no sample shows {rule.code} firing"
    for code in ("OP179", "OP192", "XML", "XSD"):
        assert code in fired or code == "OP179"  # OP179 is built at test time (too big to ship)


def test_level3_codes_carry_their_specific_retourcode() -> None:
    report = validate_file(SAMPLES / "invalid/many-problems.xml", today=dt.date(2026, 6, 1))
    by_code = {i.code: i for i in report.issues}
    assert by_code["CS300"].retourcode == "S300" and by_code["CS300"].level == 3
    assert by_code["CS333"].retourcode == "S333" and by_code["CS333"].level == 3
    assert by_code["8848"].retourcode == "8848" and by_code["8848"].level == 3
    assert by_code["CS002"].retourcode == "0001" and by_code["CS002"].level == 2
    assert report.level == 2


def test_op179_file_over_25_mb(tmp_path: Path) -> None:
    base = (SAMPLES / "valid/wmo401-start.xml").read_bytes()
    big = base.replace(b"</wmo401:Bericht>", b"<!--" + b"x" * (25 * 1024 * 1024) + b"--></wmo401:Bericht>")
    path = tmp_path / "big.xml"
    path.write_bytes(big)
    assert validate_file(path).codes == ["OP179"]
    assert validate_bytes(big).codes == ["OP179"]
    # exactly at the limit is still parsed
    assert validate_bytes(base, max_bytes=len(base)).codes != ["OP179"]


def test_xsd_messages_are_dutch_and_mask_bsns() -> None:
    short = validate_file(SAMPLES / "invalid/xsd-bsn-short.xml").issues[0]
    assert short.code == "XSD" and short.message.startswith("Veld wmo401:Bsn")
    assert "99990000" not in short.message and "[0-9]{9}" in short.message
    long = validate_file(SAMPLES / "invalid/xsd-identificatie-long.xml").issues[0]
    assert "te lang (13 tekens; hoogstens 12)" in long.message
    missing = validate_file(SAMPLES / "invalid/xsd-missing-bsn.xml").issues[0]
    assert "verwacht: wmo401:Bsn" in missing.message


def test_validation_is_thread_safe() -> None:
    """Threads validating at once each get their own findings (one compiled schema per thread)."""
    from concurrent.futures import ThreadPoolExecutor

    entries = [e for e in MANIFEST if e["codes"] and "XSD" in e["codes"]] + [
        e for e in MANIFEST if not e["codes"]
    ]

    def check(entry: dict) -> bool:
        report = validate_file(SAMPLES / entry["file"], today=dt.date.fromisoformat(entry["today"]))
        return report.codes == entry["codes"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(check, entries * 20))
