"""Releases as data: a self-written test release registered from its folder, no code change."""

from pathlib import Path

import pytest

from ieb.codec import parse_generic
from ieb.errors import ConfigurationError, MessageInvalidError, UnknownMessageError
from ieb.releases import Registry, ReleasePack, get_release, scan_folder
from ieb.validation import validate_bytes

FIXTURE = Path(__file__).parent.parent / "fixtures" / "release-tst-9.9"


@pytest.fixture
def registry() -> Registry:
    r = Registry()
    r.register_folder(FIXTURE)
    return r


def test_builtin_release() -> None:
    rel = get_release("ieb-1.0")
    assert set(rel.messages) == {"WMO401", "WMO402", "WMO403", "WMO404"}
    assert rel.message("wmo401").bericht_code == "470"
    assert rel.message("WMO404").bericht_code == "473"
    assert rel.message("WMO401").schema is rel.message("WMO401").schema  # compiled once


def test_scan_reads_names_codes_and_types() -> None:
    rel = scan_folder(FIXTURE)
    assert rel.name == "tst-9.9"
    assert set(rel.messages) == {"TST901", "TST902"}
    spec = rel.message("TST901")
    assert spec.bericht_code == "901"
    assert spec.types[("Bericht", "Client", "Partner")] == "LDT_BurgerServicenummer"  # via a restriction
    assert spec.types[("Bericht", "Client", "Periode", "Einddatum")] == "LDT_Datum"


def test_detect_parse_and_validate_generic(registry: Registry) -> None:
    msg = parse_generic((FIXTURE / "tst901-valid.xml").read_bytes(), registry=registry)
    assert (msg.release, msg.bericht, msg.bericht_code) == ("tst-9.9", "TST901", "901")
    assert msg.get("Header/Dagtekening") == "2026-05-01"
    assert [c["Bsn"] for c in msg.tree["Client"]] == ["999900006", "999900031"]


def test_generic_checks_on_a_registered_release(registry: Registry) -> None:
    report = validate_bytes((FIXTURE / "tst901-invalid.xml").read_bytes(), registry=registry)
    assert report.release == "tst-9.9"
    assert sorted(report.codes) == ["CS002", "CS002", "CS125", "XSD"]
    with pytest.raises(MessageInvalidError):
        parse_generic((FIXTURE / "tst901-invalid.xml").read_bytes(), registry=registry)


def test_xsd_errors_of_registered_release(registry: Registry) -> None:
    data = (FIXTURE / "tst901-valid.xml").read_bytes().replace(b">901<", b">999<")
    assert validate_bytes(data, registry=registry).codes == ["XSD"]


def test_unknown_release_and_bad_folders(tmp_path: Path, registry: Registry) -> None:
    with pytest.raises(ConfigurationError):
        registry.get("ieb-4.0")
    with pytest.raises(ConfigurationError):
        scan_folder(tmp_path)
    with pytest.raises(ConfigurationError):
        registry.register_folder(FIXTURE)  # twice
    from lxml import etree

    with pytest.raises(UnknownMessageError):
        registry.detect(etree.fromstring(b"<x xmlns='urn:nothing'/>"))
    # a release registered in one registry is unknown to another
    assert validate_bytes((FIXTURE / "tst901-valid.xml").read_bytes()).codes == ["XSD"]


def test_sources_load_only_as_far_as_needed() -> None:
    """Issue 22: ``detect`` and ``get`` load the sources in order and stop at the first that has the
    answer; iterating loads the rest; a failing source is tried again; a replaced pack is detected."""
    from lxml import etree

    tst = scan_folder(FIXTURE)
    builtin = get_release("ieb-1.0")
    calls: list[str] = []

    def one() -> list[ReleasePack]:
        calls.append("1.0")
        return [builtin]

    failures = [ConfigurationError("kapot")]

    def two() -> list[ReleasePack]:
        calls.append("tst")
        if failures:
            raise failures.pop()
        return [tst]

    registry = Registry(sources=[one, two])
    sample = Path(__file__).parent / "samples/valid/wmo401-kostprijs.xml"
    root = etree.fromstring(sample.read_bytes())
    assert registry.detect(root)[0] is builtin and calls == ["1.0"]
    assert registry.get("ieb-1.0") is builtin and calls == ["1.0"]
    with pytest.raises(ConfigurationError):
        registry.get("tst-9.9")  # the source fails: not remembered as loaded
    assert registry.get("tst-9.9") is tst and calls == ["1.0", "tst", "tst"]
    assert [p.name for p in registry] == ["ieb-1.0", "tst-9.9"] and len(calls) == 3
    # detect remembers its answer per root tag, until the packs change: the stand-in "ieb-1.0"
    # (the test release's XSDs) has no WMO401, so the file is no longer known
    registry.register(scan_folder(FIXTURE, name="ieb-1.0"), replace=True)
    with pytest.raises(UnknownMessageError):
        registry.detect(root)


def test_an_ieb_1_0_file_does_not_import_ieb_4_0() -> None:
    """Validating an iEb 1.0 file with the default registry loads only the ieb-1.0 pack."""
    import subprocess
    import sys

    sample = Path(__file__).parent / "samples/valid/wmo401-kostprijs.xml"
    code = (
        "import sys, datetime as dt, pathlib; from ieb.validation import validate_bytes; "
        f"r = validate_bytes(pathlib.Path({str(sample)!r}).read_bytes(), today=dt.date(2026, 6, 1)); "
        "assert r.valid and r.release == 'ieb-1.0', r.issues; "
        "assert 'ieb.releases.ieb_4_0' not in sys.modules; "
        "from ieb.releases import get_pack; assert get_pack('ieb-4.0').name == 'ieb-4.0'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
