"""CAK-side retours valid under the PUBLISHED schemas; retour processing; CLI contract."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import to_xml
from ieb.ledger import open_database
from ieb.ledger import retour as retour_module
from ieb.ledger.errors import DuplicateRetourError, RetourInputError, UnknownRetourError
from ieb.ledger.planner import Period, plan
from ieb.ledger.retour import process_retours
from ieb.ledger.store import Ledger
from ieb.messages import Wmo401, Wmo403
from ieb.simulator import CakConfig, CakSimulator
from tests.ledger.conftest import GEMEENTEN, TODAY
from tests.migrated import migrated_memory_engine
from tests.reference import IEB_REFERENCE, MISSING

REF = IEB_REFERENCE
pytestmark = pytest.mark.skipif(not REF.is_dir(), reason=MISSING)


@functools.cache  # compiled once per schema (read-only)
def published(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(REF / f"{name}.xsd")))


def start_xml(ident: str = "1", **kw: object) -> bytes:
    values: dict[str, object] = dict(
        afzender="0363",
        identificatie=ident,
        dagtekening=TODAY,
        bsn="999900006",
        eb_start_nummer=1,
        eb_startdatum=dt.date(2024, 5, 1),
    )
    values.update(kw)
    return to_xml(Wmo401.build(**values))  # type: ignore[arg-type]


def assert_valid(retour: bytes | None) -> etree._Element:
    assert retour is not None
    root = etree.fromstring(retour)
    name = etree.QName(root).namespace.split("/")[-2].upper()  # type: ignore[union-attr]
    schema = published(name)
    assert schema.validate(root), schema.error_log
    return root


NS = {
    "r2": "http://www.istandaarden.nl/ieb/1_0/wmo402/schema",
    "r4": "http://www.istandaarden.nl/ieb/1_0/wmo404/schema",
}


@pytest.fixture
def cak() -> CakSimulator:
    return CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN), today=TODAY)


def test_accepted_is_header_only(cak: CakSimulator) -> None:
    r = cak.process(start_xml())
    root = assert_valid(r.retour)
    assert r.verdict == "accepted" and root.find("r2:Client", NS) is None
    assert root.find("r2:Header/r2:RetourCodes", NS) is None
    assert root.findtext("r2:Header/r2:DagtekeningRetour", namespaces=NS) == TODAY.isoformat()
    assert root.findtext("r2:Header/r2:IdentificatieRetour", namespaces=NS) == "1"


def test_level2_is_header_with_0001_and_xslt(cak: CakSimulator) -> None:
    data = start_xml().replace(b"999900006", b"999900007")  # CS002: 11-proef
    r = cak.process(data)
    root = assert_valid(r.retour)
    assert r.level == 2 and r.codes == ("0001",)
    assert [e.text for e in root.iterfind("r2:Header/r2:RetourCodes/r2:RetourCode", NS)] == ["0001"]
    assert root.findtext("r2:Header/r2:XsltVersie", namespaces=NS) == "1.0.0"
    assert root.find("r2:Client", NS) is None


def test_level1_iv028_and_iv032(cak: CakSimulator) -> None:
    data = start_xml().replace(b"EbStartdatum>2024-05-01<", b"EbStartdatum>01-05-2024<")
    r = cak.process(data)
    root = assert_valid(r.retour)
    assert r.level == 1 and r.codes == ("0001",) and root.find("r2:Header/r2:XsltVersie", NS) is None
    quiet = CakSimulator(migrated_memory_engine(), CakConfig(level1="none", gemeenten=GEMEENTEN), today=TODAY)
    r2 = quiet.process(data)
    assert r2.retour is None and r2.verdict == "no_retour" and "IV032" in (r2.reason or "")


@pytest.mark.parametrize("data", [b"not xml", b"<a/>"])
def test_unreadable_header_gets_no_retour(cak: CakSimulator, data: bytes) -> None:
    r = cak.process(data)
    assert r.retour is None and r.verdict == "no_retour" and "kop onleesbaar" in (r.reason or "")


def test_empty_identificatie_still_gets_a_valid_retour(cak: CakSimulator) -> None:
    # issue 10 kind 3: every WMO401/WMO403 gets one valid retour; see tests/simulator/test_cak_retour.py
    r = cak.process(start_xml().replace(b"<ieb:Identificatie>1<", b"<ieb:Identificatie><"))
    root = assert_valid(r.retour)
    ident = root.findtext("r2:Header/r2:BerichtIdentificatie/{*}Identificatie", namespaces=NS)
    assert r.level == 1 and ident == "ONBEKEND"


def test_level3_history_codes_every_class(cak: CakSimulator) -> None:
    stop = to_xml(
        Wmo403.build(
            afzender="0363",
            identificatie="9",
            dagtekening=TODAY,
            bsn="999900006",
            eb_start_nummer=5,
            eb_stopdatum=dt.date(2024, 5, 1),
        )
    )
    r = cak.process(stop)
    root = assert_valid(r.retour)
    assert r.codes == ("9330",)
    assert [e.text for e in root.iterfind("r4:Client/r4:RetourCodes/r4:RetourCode", NS)] == ["0200"]
    assert [
        e.text for e in root.iterfind("r4:Client/r4:StopEigenBijdrage/r4:RetourCodes/r4:RetourCode", NS)
    ] == ["9330"]


def test_level3_header_codes_mark_client_not_assessed(cak: CakSimulator) -> None:
    r = cak.process(start_xml(afzender="0003", dagtekening=TODAY + dt.timedelta(days=2)))
    root = assert_valid(r.retour)
    assert set(r.codes) == {"8848", "S300"}
    assert {e.text for e in root.iterfind("r2:Header/r2:RetourCodes/r2:RetourCode", NS)} == {"8848", "S300"}
    assert [
        e.text for e in root.iterfind("r2:Client/r2:StartEigenBijdrage/r2:RetourCodes/r2:RetourCode", NS)
    ] == ["0233"]


def test_cs333_is_class_code(cak: CakSimulator) -> None:
    r = cak.process(start_xml(kostprijs_bedrag=100, kostprijs_startdatum=dt.date(2024, 5, 1)))
    assert_valid(r.retour)
    assert r.codes == ("S333",)


def test_repeat_returns_same_retour_and_changed_content_is_refused(cak: CakSimulator) -> None:
    first = cak.process(start_xml())
    again = cak.process(start_xml())
    assert again.verdict == "repeat" and again.retour == first.retour
    changed = cak.process(start_xml(eb_startdatum=dt.date(2024, 5, 2)))
    assert changed.verdict == "rejected" and changed.codes == ("9102",)
    assert_valid(changed.retour)


# ------------------------------------------------------------------ retour processing


def _planned(url: str) -> tuple[Ledger, list[tuple[str, bytes]]]:
    ledger = Ledger(open_database(url))
    p = plan(
        ledger,
        "0363",
        {"999900006": [Period(dt.date(2024, 3, 1), dt.date(2024, 4, 30))]},
        today=TODAY,
        gemeenten=GEMEENTEN,
    )
    cak = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN), today=TODAY)
    retours = []
    for m in p.messages:
        r = cak.process(m.xml)
        assert r.retour is not None
        retours.append((m.filename.replace(".xml", ".retour.xml"), r.retour))
    return ledger, retours


def _snapshot(ledger: Ledger) -> list[tuple[object, ...]]:
    with ledger.engine.connect() as conn:
        return [(r.id, r.outcome, r.retour_codes) for r in ledger.rows(conn)]


def test_retours_update_ledger_and_duplicates_are_reported(ledger_db_url: str) -> None:
    ledger, retours = _planned(ledger_db_url)
    out = process_retours(ledger, retours)
    assert [o.outcome for o in out] == ["accepted", "accepted"]
    dup = process_retours(ledger, retours[:1])
    assert dup[0].duplicate and dup[0].outcome == "accepted"


def test_bad_retours_leave_ledger_unchanged(ledger_db_url: str) -> None:
    ledger, retours = _planned(ledger_db_url)
    before = _snapshot(ledger)
    unknown = retours[1][1].replace(b"<ieb:Identificatie>2<", b"<ieb:Identificatie>77<")
    with pytest.raises(UnknownRetourError, match=r"unknown.xml"):
        process_retours(ledger, [retours[0], ("unknown.xml", unknown)])
    with pytest.raises(RetourInputError, match=r"corrupt.xml"):
        process_retours(ledger, [retours[0], ("corrupt.xml", b"<kapot")])
    with pytest.raises(RetourInputError, match=r"heen.xml.*geen retour"):
        process_retours(ledger, [("heen.xml", start_xml())])
    assert _snapshot(ledger) == before
    process_retours(ledger, retours)
    other = retours[0][1].replace(b"<wmo402:IdentificatieRetour>1<", b"<wmo402:IdentificatieRetour>55<")
    with pytest.raises(DuplicateRetourError, match="andere retour"):
        process_retours(ledger, [("other.xml", other)])


@pytest.mark.parametrize("chunk", [1, 2, 500])
def test_retours_in_one_call_behave_as_one_by_one(
    ledger_db_url: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lookups and updates are batched per chunk; duplicates within one call, across a chunk
    boundary or not, are found as if the retours were applied one by one."""
    monkeypatch.setattr(retour_module, "_CHUNK", chunk)
    ledger, retours = _planned(ledger_db_url)
    before = _snapshot(ledger)
    other = retours[0][1].replace(b"<wmo402:IdentificatieRetour>1<", b"<wmo402:IdentificatieRetour>55<")
    with pytest.raises(DuplicateRetourError, match=r"other.xml.*IdentificatieRetour 1\)"):
        process_retours(ledger, [retours[0], retours[1], ("other.xml", other)])
    assert _snapshot(ledger) == before
    out = process_retours(ledger, [retours[0], retours[1], ("again.xml", retours[0][1])])
    assert [(o.outcome, o.duplicate) for o in out] == [
        ("accepted", False),
        ("accepted", False),
        ("accepted", True),
    ]
    assert out[2].delivery_id == out[0].delivery_id
    assert [o for _, o, _ in _snapshot(ledger)] == ["accepted", "accepted"]


def test_first_bad_retour_in_input_order_is_reported(ledger_db_url: str) -> None:
    ledger, retours = _planned(ledger_db_url)
    before = _snapshot(ledger)
    unknown = retours[1][1].replace(b"<ieb:Identificatie>2<", b"<ieb:Identificatie>77<")
    with pytest.raises(UnknownRetourError, match=r"unknown.xml"):
        process_retours(ledger, [retours[0], ("unknown.xml", unknown), ("corrupt.xml", b"<kapot")])
    with pytest.raises(RetourInputError, match=r"corrupt.xml") as info:
        process_retours(ledger, [retours[0], ("corrupt.xml", b"<kapot"), ("unknown.xml", unknown)])
    assert not isinstance(info.value, UnknownRetourError)
    assert _snapshot(ledger) == before


def test_rejected_retour_is_shown_in_status(tmp_path: Path) -> None:
    db = str(tmp_path / "g.sqlite")
    ledger = Ledger(open_database(db))
    with ledger.engine.begin() as conn:
        from ieb.ledger.history import Delivery

        ledger.add(
            conn,
            Delivery("WMO403", "0363", "1", TODAY, "999900006", 5, "1", TODAY),
            outcome="pending",
            payload=b"",
        )
    heen = to_xml(
        Wmo403.build(
            afzender="0363",
            identificatie="1",
            dagtekening=TODAY,
            bsn="999900006",
            eb_start_nummer=5,
            eb_stopdatum=TODAY,
        )
    )
    r = CakSimulator(migrated_memory_engine(), CakConfig(gemeenten=GEMEENTEN), today=TODAY).process(heen)
    assert r.retour is not None
    assert process_retours(ledger, [("r.xml", r.retour)])[0].outcome == "rejected"
    res = CliRunner().invoke(app, ["status", "--db", db, "--format", "json"])
    assert res.exit_code == 0, res.output
    assert '"9330"' in res.output and "999900006" not in res.output


# ------------------------------------------------------------------ CLI contract


def test_cli_plan_simulate_retour_status(tmp_path: Path) -> None:
    runner = CliRunner()
    desired = tmp_path / "desired.jsonl"
    desired.write_text(
        '{"bsn": "999900006", "start": "2024-03-01", "stop": "2024-04-30", "kostprijs_cent": null, "kostprijs_start": null}\n'
        '{"bsn": "999900018", "start": "2024-05-01", "kostprijs_cent": 50000}\n'
    )
    db, cak, out, ret = tmp_path / "g.sqlite", tmp_path / "cak.sqlite", tmp_path / "out", tmp_path / "ret"
    res = runner.invoke(
        app,
        [
            "plan",
            str(desired),
            "--afzender",
            "0363",
            "--out",
            str(out),
            "--db",
            str(db),
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("*.xml"))
    assert len(files) == 3 and "999900006" not in res.output
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"junk")
    res = runner.invoke(
        app,
        [
            "simulate",
            "process",
            "--state",
            str(cak),
            "--out",
            str(ret),
            "--today",
            TODAY.isoformat(),
            *map(str, files),
            str(junk),
        ],
    )
    assert res.exit_code == 0, res.output
    retours = sorted(ret.glob("*.retour.xml"))
    assert [p.name for p in retours] == [f.stem + ".retour.xml" for f in files]
    assert (ret / "junk.geen-retour.txt").is_file()
    for p in retours:
        assert_valid(p.read_bytes())
    res = runner.invoke(app, ["retour", "--db", str(db), *map(str, retours)])
    assert res.exit_code == 0 and res.output.count(": geaccepteerd [") == 3, res.output
    res = runner.invoke(
        app,
        [
            "plan",
            str(desired),
            "--afzender",
            "0363",
            "--out",
            str(tmp_path / "o2"),
            "--db",
            str(db),
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert res.exit_code == 0 and "0 bericht(en)" in res.output
    res = runner.invoke(app, ["status", "--db", str(db)])  # one screen: counts, no list of late starts
    assert res.exit_code == 0 and "te laat klaargezet 2" in res.output and "999900018" not in res.output
    res = runner.invoke(app, ["status", "--db", str(db), "--detail"])  # per person: masked
    assert res.exit_code == 0 and "******018" in res.output and "999900018" not in res.output
    res = runner.invoke(app, ["retour", "--db", str(db), str(junk)])
    assert res.exit_code == 1 and "junk.xml" in res.output


def test_cli_plan_reports_impossible_change(tmp_path: Path) -> None:
    desired = tmp_path / "d.csv"
    desired.write_text("bsn,start,stop,kostprijs_cent,kostprijs_start\n999900006,2022-01-01,,,\n")
    res = CliRunner().invoke(
        app,
        [
            "plan",
            str(desired),
            "--afzender",
            "0363",
            "--out",
            str(tmp_path / "o"),
            "--db",
            str(tmp_path / "g.sqlite"),
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert res.exit_code == 1 and "TR112" in res.output and not (tmp_path / "o").exists()
