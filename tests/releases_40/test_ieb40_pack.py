"""The ieb-4.0 pack: table, rules with their 4.0 codes, retourcodes, delivery mapping, retour writer
(issue 20, step 2)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ieb.releases import Registry, get_pack
from ieb.releases.ieb_4_0 import PACK, Wmo405, Wmo407, build, from_xml, pack_for, to_xml, validate_xsd
from ieb.releases.ieb_4_0.rules import HISTORY_RULE_CODES, IEB_4_0_RULES, Parameters40
from ieb.releases.pack import Direction, Period, PeriodChange, PlannedRecord, ReleasePack, RetourRequest
from ieb.validation import validate_bytes

D = dt.date
BSN = "999990019"
TODAY = D(2026, 6, 1)
HEADER: dict[str, Any] = {"afzender": "0363", "identificatie": "ID-1", "dagtekening": D(2026, 5, 20)}


def _wmo405(**changes: Any) -> bytes:
    values: dict[str, Any] = {
        **HEADER,
        "bsn": BSN,
        "eb_start_nummer": 7,
        "eb_startdatum": D(2026, 5, 1),
        "status_aanlevering": "1",
        **changes,
    }
    return to_xml(build(Wmo405, **values))


def _codes(data: bytes, today: dt.date = TODAY) -> list[tuple[str, str | None]]:
    report = validate_bytes(data, today=today)
    assert report.release == "ieb-4.0"
    return [(i.code, i.retourcode) for i in report.issues]


def test_the_pack_is_built_in_and_its_table_answers() -> None:
    pack = get_pack("ieb-4.0")
    assert pack is PACK and pack.valid_from == D(2025, 4, 7)
    assert [m.name for m in pack.heen()] == ["WMO405", "WMO407"]
    assert pack.retour_of("WMO405").name == "WMO406" and pack.heen_of("WMO408").name == "WMO407"
    row = pack.message("WMO405")
    assert row.direction is Direction.HEEN and row.klasse == "PeriodeEigenBijdrageAbo"
    assert (row.key_element, row.date_element) == ("EbStartNummer", "EbStartdatum")
    assert ("EbStopdatum",) in row.klasse_fields and ("EbKostprijs", "KostprijsBedrag") in row.klasse_fields
    assert pack.message("WMO407").date_element == "BwStartdatum"
    assert pack.by_model(Wmo405) is row and pack.by_code(row.bericht_code or "") is row
    assert Registry.with_builtin().get("ieb-4.0").name == "ieb-4.0"
    assert pack.revision_on(None) == Parameters40()


def test_retourcodes_name_the_4_0_rules() -> None:
    table = PACK.retourcodes
    assert table.rule("S300") == "TR378" and table.rule("S333") == "TR409" and table.rule("8848") == "TR135"
    assert table.retourcode("TR056") == "9056" and table.retourcode("TR063") == "9063"
    assert table.retourcode("TR393") == "9393" and table.retourcode("TR394") is None  # TR394 reports 0001
    for code in ("9071", "9102", "9114", "9115", "9328", "9329", "9330"):  # 1.0 codes, not in 4.0
        assert code not in table
    every_rule = {c for codes in table.rules_of.values() for c in codes}
    listed = set(PACK.rules.codes())
    assert every_rule <= listed | {"TR056", "TR063", "TR393", "TR395"}
    assert set(HISTORY_RULE_CODES) <= listed


def test_a_good_wmo405_has_no_findings() -> None:
    assert _codes(_wmo405(kostprijs_bedrag=57000, kostprijs_startdatum=D(2026, 5, 1))) == []


def test_tr394_stop_before_the_revision_term_on_a_change() -> None:
    old = _wmo405(status_aanlevering="2", eb_startdatum=D(2022, 1, 1), eb_stopdatum=D(2023, 5, 19))
    assert _codes(old) == [("TR394", "0001")]
    edge = _wmo405(status_aanlevering="2", eb_startdatum=D(2022, 1, 1), eb_stopdatum=D(2023, 5, 20))
    assert _codes(edge) == []
    # a first delivery (status 1) is not TR394's business
    assert _codes(_wmo405(eb_startdatum=D(2022, 1, 1), eb_stopdatum=D(2023, 5, 19))) == []


def test_tr394_term_is_a_parameter() -> None:
    data = _wmo405(status_aanlevering="2", eb_startdatum=D(2022, 1, 1), eb_stopdatum=D(2025, 6, 1))
    report = validate_bytes(data, today=TODAY, revision=None)
    assert report.valid
    from ieb.validation.rules import RuleContext

    short = Parameters40(revision_term_months=6)
    root = etree.fromstring(data)
    ctx = RuleContext(root=root, spec=PACK.message("WMO405"), today=TODAY, revision=short)  # type: ignore[arg-type]
    tr394 = next(r for r in IEB_4_0_RULES if r.code == "TR394")
    (issue,) = tr394.run(ctx)
    assert "6 maanden" in issue.message


def test_tr378_tr409_tr135_report_s300_s333_8848() -> None:
    assert _codes(_wmo405(afzender="0001")) == [("TR378", "S300")]
    assert _codes(_wmo405(kostprijs_bedrag=100, kostprijs_startdatum=D(2026, 5, 1))) == [("TR409", "S333")]
    assert _codes(_wmo405(), today=D(2026, 5, 19)) == [("TR135", "8848")]


def test_xsd_invalid_4_0_payload_is_level_1() -> None:
    data = _wmo405().replace(b"<wmo405:StatusAanlevering>1<", b"<wmo405:StatusAanlevering>9<")
    report = validate_bytes(data, today=TODAY)
    assert report.bericht == "WMO405" and report.level == 1 and "XSD" in report.codes


def test_wmo407_validates_and_carries_bw_dates() -> None:
    data = to_xml(
        build(
            Wmo407,
            **HEADER,
            bsn=BSN,
            eb_start_nummer=3,
            bw_startdatum=D(2026, 1, 1),
            bw_stopdatum=D(2026, 6, 30),
            status_aanlevering="1",
        )
    )
    assert _codes(data) == []
    assert b"<wmo407:BwStopdatum>2026-06-30</wmo407:BwStopdatum>" in data


# ------------------------------------------------------------------ delivery mapping


def _p(start: dt.date, stop: dt.date | None = None, bedrag: int | None = None) -> Period:
    return Period(7, BSN, start, stop, bedrag, start if bedrag is not None else None)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, []),
        (None, _p(D(2026, 1, 1)), [("1", D(2026, 1, 1), None)]),
        (
            None,
            _p(D(2026, 1, 1), D(2026, 3, 31)),
            [("1", D(2026, 1, 1), D(2026, 3, 31))],
        ),  # start+stop, one record
        (
            _p(D(2026, 1, 1)),
            _p(D(2026, 1, 1), D(2026, 5, 31)),
            [("2", D(2026, 1, 1), D(2026, 5, 31))],
        ),  # add a stop
        (
            _p(D(2026, 1, 1), D(2026, 5, 31)),
            _p(D(2026, 1, 1), D(2026, 6, 30)),
            [("2", D(2026, 1, 1), D(2026, 6, 30))],
        ),
        (_p(D(2026, 1, 1), D(2026, 5, 31)), _p(D(2026, 1, 1)), [("2", D(2026, 1, 1), None)]),  # stop removed
        (_p(D(2026, 1, 1)), _p(D(2026, 2, 1)), [("2", D(2026, 2, 1), None)]),
        (_p(D(2026, 1, 1)), _p(D(2026, 1, 1), bedrag=50_000), [("2", D(2026, 1, 1), None)]),
        (_p(D(2026, 1, 1), D(2026, 3, 31)), None, [("3", D(2026, 1, 1), D(2026, 3, 31))]),
        (_p(D(2026, 1, 1), D(2026, 3, 31)), _p(D(2026, 1, 1), D(2026, 3, 31)), []),  # idempotent
    ],
)
def test_delivery_mapping_one_wmo405_record(
    before: Period | None, after: Period | None, expected: list[tuple[str, dt.date, dt.date | None]]
) -> None:
    mapping = PACK.require_delivery()
    records = mapping.records(PeriodChange(before, after))
    assert [(r.status, r.datum, r.stopdatum) for r in records] == expected
    assert all(r.bericht == "WMO405" for r in records)
    state = before
    for record in records:
        state = mapping.apply(state, record)
    assert state == after


def test_delivery_mapping_refuses_what_4_0_cannot_express() -> None:
    mapping = PACK.require_delivery()
    with pytest.raises(ValueError, match="Bsn"):
        mapping.records(PeriodChange(_p(D(2026, 1, 1)), Period(7, "999990020", D(2026, 1, 1))))
    with pytest.raises(ValueError, match="TR063"):
        mapping.apply(None, PlannedRecord("WMO405", "3", 7, BSN, D(2026, 1, 1)))
    with pytest.raises(ValueError, match="bestaat al"):
        mapping.apply(_p(D(2026, 1, 1)), PlannedRecord("WMO405", "1", 7, BSN, D(2026, 1, 1)))
    with pytest.raises(ValueError, match="geen periodebericht"):
        mapping.apply(None, PlannedRecord("WMO406", "1", 7, BSN, D(2026, 1, 1)))


# ------------------------------------------------------------------ retour writer


def _request(pack: ReleasePack, data: bytes, **codes: tuple[str, ...]) -> RetourRequest:
    root = etree.fromstring(data)
    header = {
        etree.QName(e).localname: (e.text or "")
        for e in root.iter()
        if isinstance(e.tag, str)
        and len(e) == 0
        and etree.QName(e).localname
        in ("Afzender", "Identificatie", "Dagtekening", "BasisschemaXsdVersie", "BerichtXsdVersie")
    }
    client = next(e for e in root if etree.QName(e).localname == "Client")
    return RetourRequest(
        retour=pack.retour_of("WMO405"),
        heen_header=header,
        identificatie_retour="R-9",
        dagtekening_retour=D(2026, 5, 21),
        client=client if codes.get("klasse_codes") else None,
        **codes,
    )


def test_retour_writer_accepts_with_0200() -> None:
    data = _wmo405(eb_stopdatum=D(2026, 8, 31), kostprijs_bedrag=57000, kostprijs_startdatum=D(2026, 5, 1))
    writer = PACK.require_retour_writer()
    retour = writer(_request(PACK, data, klasse_codes=("0200",), client_codes=("0200",)))
    bericht, _root, issues = validate_xsd(retour)
    assert (bericht, issues) == ("WMO406", [])
    model = from_xml(retour)
    assert model.codes == ("0200",)  # type: ignore[attr-defined]
    assert (model.eb_start_nummer, model.eb_stopdatum, model.kostprijs_bedrag) == (7, D(2026, 8, 31), 57000)  # type: ignore[attr-defined]
    assert model.identificatie == "ID-1" and model.identificatie_retour == "R-9"
    assert validate_bytes(retour, today=TODAY).valid


def test_retour_writer_header_only_rejection() -> None:
    retour = PACK.require_retour_writer()(_request(PACK, _wmo405(), header_codes=("8848",)))
    model = from_xml(retour)
    assert model.codes == ("8848",) and model.bsn is None  # type: ignore[attr-defined]


def test_pack_on_an_official_folder_uses_its_namespace_and_codes(standin_copy: Path) -> None:
    for name in ("WMO405", "WMO406"):
        xsd = standin_copy / f"{name}.xsd"
        text = xsd.read_text(encoding="utf-8").replace("4_0/wmo", "4_0_off/wmo")
        xsd.write_text(text.replace('value="474"', 'value="999"'), encoding="utf-8")
    pack = pack_for(standin_copy)
    assert pack.message("WMO405").bericht_code == "999"
    assert "4_0_off" in pack.message("WMO406").namespace
    data = to_xml(
        build(
            Wmo405, **HEADER, bsn=BSN, eb_start_nummer=7, eb_startdatum=D(2026, 5, 1), status_aanlevering="1"
        ),
        standin_copy,
    )
    retour = pack.require_retour_writer()(
        _request(pack, data, klasse_codes=("0200",), client_codes=("0200",))
    )
    assert b"4_0_off/wmo406" in retour
    assert validate_xsd(retour, standin_copy)[2] == []
