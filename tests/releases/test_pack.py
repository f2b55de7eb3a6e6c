"""The release pack API: the ieb-1.0 table, its delivery mapping, its retour writer, the registry."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from ieb.errors import ConfigurationError, UnknownMessageError
from ieb.releases import ENTRY_POINT_GROUP, Registry, get_pack
from ieb.releases.pack import Direction, Period, PeriodChange, PlannedRecord, ReleasePack, RetourRequest

D = dt.date
BSN = "999990019"


@pytest.fixture(scope="module")
def pack() -> ReleasePack:
    return get_pack("ieb-1.0")


def test_table_lookups(pack: ReleasePack) -> None:
    heen = pack.heen()
    assert [m.direction for m in heen] == [Direction.HEEN] * 2
    for row in heen:
        retour = pack.retour_of(row.name)
        assert retour.is_retour and pack.heen_of(retour.name) is row
        assert retour.klasse == row.klasse and retour.date_element == row.date_element
        assert pack.by_code(row.bericht_code or "") is row
        assert pack.by_namespace(row.namespace) is row
        assert row.model is not None and pack.by_model(row.model) is row
        assert row.schema_path.is_file() and row.basis_namespace == pack.basis_namespace
    assert pack.by_code("999") is None and pack.by_namespace("urn:x") is None
    with pytest.raises(UnknownMessageError):
        pack.retour_of(pack.retours()[0].name)
    with pytest.raises(UnknownMessageError):
        pack.heen_of(heen[0].name)
    with pytest.raises(UnknownMessageError):
        pack.message("XYZ999")


def test_retourcodes_and_revisions(pack: ReleasePack) -> None:
    assert pack.retourcodes.rule("9102") == "TR102"
    assert pack.retourcodes.rules("9102") == ("TR102", "OP291")
    assert pack.retourcodes.retourcode("CS300") == "S300"
    assert pack.retourcodes.retourcode("CS002") is None and pack.retourcodes.rule("0001") is None
    assert pack.revision_on(D(2021, 7, 18)).name == "1.0.2"
    assert pack.revision_on(D(2021, 7, 19)).name == "1.0.3"
    assert pack.revision_on(None) is pack.revisions[-1]
    with pytest.raises(ConfigurationError):
        pack.revision("9.9.9")


def _p(start: dt.date, stop: dt.date | None = None, bedrag: int | None = None) -> Period:
    return Period(7, BSN, start, stop, bedrag, start if bedrag is not None else None)


def _shape(records: tuple[PlannedRecord, ...]) -> list[tuple[str, str, dt.date]]:
    return [(r.bericht, r.status, r.datum) for r in records]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, []),
        (None, _p(D(2026, 1, 1)), [("WMO401", "1", D(2026, 1, 1))]),
        (
            None,
            _p(D(2026, 1, 1), D(2026, 3, 1)),
            [("WMO401", "1", D(2026, 1, 1)), ("WMO403", "1", D(2026, 3, 1))],
        ),
        (
            _p(D(2026, 1, 1), D(2026, 3, 1)),
            None,
            [("WMO403", "3", D(2026, 3, 1)), ("WMO401", "3", D(2026, 1, 1))],
        ),
        (_p(D(2026, 1, 1)), _p(D(2026, 2, 1)), [("WMO401", "2", D(2026, 2, 1))]),
        (_p(D(2026, 1, 1)), _p(D(2026, 1, 1), bedrag=50_000), [("WMO401", "2", D(2026, 1, 1))]),
        (_p(D(2026, 1, 1)), _p(D(2026, 1, 1), D(2026, 5, 1)), [("WMO403", "1", D(2026, 5, 1))]),
        (
            _p(D(2026, 1, 1), D(2026, 5, 1)),
            _p(D(2026, 1, 1), D(2026, 6, 1)),
            [("WMO403", "2", D(2026, 6, 1))],
        ),
        (_p(D(2026, 1, 1), D(2026, 5, 1)), _p(D(2026, 1, 1)), [("WMO403", "3", D(2026, 5, 1))]),
        # the start moves past the old stop: the stop goes first (TR328)
        (
            _p(D(2026, 1, 1), D(2026, 3, 1)),
            _p(D(2026, 4, 1), D(2026, 6, 1)),
            [("WMO403", "2", D(2026, 6, 1)), ("WMO401", "2", D(2026, 4, 1))],
        ),
        (
            _p(D(2026, 4, 1), D(2026, 6, 1)),
            _p(D(2026, 1, 1), D(2026, 3, 1)),
            [("WMO401", "2", D(2026, 1, 1)), ("WMO403", "2", D(2026, 3, 1))],
        ),
    ],
)
def test_delivery_mapping(
    pack: ReleasePack, before: Period | None, after: Period | None, expected: list[tuple[str, str, dt.date]]
) -> None:
    mapping = pack.require_delivery()
    records = mapping.records(PeriodChange(before, after))
    assert _shape(records) == expected
    state = before
    for record in records:  # applying the records reaches the wanted period
        state = mapping.apply(state, record)
    assert state == after


def test_delivery_mapping_refuses(pack: ReleasePack) -> None:
    mapping = pack.require_delivery()
    other = Period(7, "999990020", D(2026, 1, 1))
    with pytest.raises(ValueError, match="Bsn"):
        mapping.records(PeriodChange(_p(D(2026, 1, 1)), other))
    stop = PlannedRecord("WMO403", "1", 7, BSN, D(2026, 1, 1))
    with pytest.raises(ValueError, match="TR330"):
        mapping.apply(None, stop)
    with pytest.raises(ValueError, match="TR102"):
        mapping.apply(_p(D(2026, 1, 1)), PlannedRecord("WMO401", "1", 7, BSN, D(2026, 1, 1)))
    with pytest.raises(ValueError, match="geen heenbericht"):
        mapping.apply(None, PlannedRecord("WMO402", "1", 7, BSN, D(2026, 1, 1)))


def test_retour_writer_output_is_valid(pack: ReleasePack) -> None:
    from ieb.codec import to_xml

    heen = pack.message("WMO401").model.build(  # type: ignore[union-attr]
        afzender="0363",
        identificatie="AMS-0001",
        dagtekening=D(2026, 2, 1),
        bsn=BSN,
        eb_start_nummer=7,
        eb_startdatum=D(2026, 1, 1),
        kostprijs_bedrag=40_000,
        kostprijs_startdatum=D(2026, 1, 1),
    )
    root = etree.fromstring(to_xml(heen))
    client = next(c for c in root if etree.QName(c).localname == "Client")
    kop = {
        "Afzender": "0363",
        "Identificatie": "AMS-0001",
        "Dagtekening": "2026-02-01",
        "BasisschemaXsdVersie": "1.2.0",
        "BerichtXsdVersie": "1.2.0",
    }
    for client_el, codes in ((None, ("0001",)), (client, ())):
        data = pack.require_retour_writer()(
            RetourRequest(
                retour=pack.retour_of("WMO401"),
                heen_header=kop,
                identificatie_retour="R1",
                dagtekening_retour=D(2026, 2, 2),
                header_codes=codes,
                client=client_el,
                client_codes=("0200",),
                klasse_codes=("0200",),
            )
        )
        doc = etree.fromstring(data)
        schema = pack.retour_of("WMO401").schema
        assert schema.validate(doc), schema.error_log
    assert b"<ieb:KostprijsBedrag>40000</ieb:KostprijsBedrag>" in data


def test_registry_loads_entry_point_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack shipped as its own distribution is found through the entry point group."""
    (tmp_path / "tstpack.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from ieb.releases.pack import Direction, MessageDef, ReleasePack

            _S = Path("TST901.xsd")
            PACK = ReleasePack(
                name="tst-ep",
                messages={
                    "TST901": MessageDef("tst-ep", "TST901", "901", "urn:tst:901", _S, direction=Direction.HEEN, answers="TST902"),
                    "TST902": MessageDef("tst-ep", "TST902", "902", "urn:tst:902", _S, direction=Direction.RETOUR, answers="TST901"),
                },
            )
            NOT_A_PACK = 1
            """
        )
    )
    dist = tmp_path / "tstpack-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tstpack\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ntst-ep = tstpack:PACK\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.with_builtin()
    names = [p.name for p in registry]
    assert "ieb-1.0" in names and "tst-ep" in names
    assert registry.get("tst-ep").retour_of("TST901").name == "TST902"
    # a broken entry point is a clear error naming it, not a silent gap
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbad = tstpack:NOT_A_PACK\n")
    with pytest.raises(ConfigurationError, match="bad"):
        list(Registry.with_builtin())
    sys.modules.pop("tstpack", None)


def test_pack_table_must_be_consistent() -> None:
    from ieb.releases.pack import MessageDef

    row = MessageDef("x-1", "X1", "1", "urn:x1", Path("x.xsd"), direction=Direction.HEEN, answers="X2")
    with pytest.raises(ConfigurationError, match="X2"):
        ReleasePack(name="x-1", messages={"X1": row})
    with pytest.raises(ConfigurationError):
        ReleasePack(name="y-1", messages={"X1": MessageDef("x-1", "X1", "1", "urn:x1", Path("x.xsd"))})


def test_rule_set_lists_history_and_retour_rules_by_code(pack: ReleasePack) -> None:
    from ieb.ledger.history import HISTORY_RULES
    from ieb.releases.pack import RuleKind, RuleSet

    selected = pack.rules.select(RuleKind.HISTORY, HISTORY_RULES)
    assert [r.code for r in selected] == list(pack.rules.history)
    assert pack.rules.lists(RuleKind.MESSAGE, "CS002") and not pack.rules.lists(RuleKind.MESSAGE, "TR071")
    assert "RC006" in pack.rules.codes(RuleKind.RETOUR) and "TR071" in pack.rules.codes()
    with pytest.raises(ConfigurationError, match="TR999"):
        RuleSet(history=("TR999",)).select(RuleKind.HISTORY, HISTORY_RULES)


def test_every_table_row_round_trips_through_codec_validation_and_ggk_routing(pack: ReleasePack) -> None:
    """The table is the only source: each heen row builds, serialises, is detected, validates and
    parses back; its retour (written by the pack's writer) does the same; GGk routing takes the
    table as data (IB240 fires on a functie from another row)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    import ieb.ggk as ggk
    from ieb.codec import from_xml, to_xml
    from ieb.releases import Registry
    from ieb.testing.strategies import heen_messages
    from ieb.validation import validate_bytes

    checks = ggk.EnvelopeChecks(functie_berichtcode=Registry([pack]).functie_berichtcodes())
    kop_names = ("Afzender", "Identificatie", "Dagtekening", "BasisschemaXsdVersie", "BerichtXsdVersie")
    seen: set[str] = set()

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        row = data.draw(st.sampled_from(pack.heen()))
        message = data.draw(heen_messages(row))
        day = message.header.bericht_identificatie.dagtekening
        xml = to_xml(message)
        report = validate_bytes(xml, today=day, registry=Registry([pack]))
        assert (report.release, report.bericht) == (pack.name, row.name)
        assert [i for i in report.issues if i.level < 3] == []
        assert from_xml(xml, today=day) == message
        di01 = ggk.new_di01(xml, row.name, message.header.afzender)
        assert checks.check(ggk.build(di01)).ok
        other = next(r for r in pack.messages.values() if r.bericht_code != row.bericht_code)
        assert checks.check(ggk.build(ggk.new_di01(xml, other.name, "0363"))).codes == ("IB240",)
        retour_row = pack.retour_of(row.name)
        root = etree.fromstring(xml)
        values = {etree.QName(e).localname: (e.text or "") for e in root.iter() if isinstance(e.tag, str)}
        client = next(c for c in root if etree.QName(c).localname == "Client")
        retour = pack.require_retour_writer()(
            RetourRequest(
                retour=retour_row,
                heen_header={k: values[k] for k in kop_names},
                identificatie_retour="R-1",
                dagtekening_retour=day,
                client=client,
                client_codes=("0200",),
                klasse_codes=("0200",),
            )
        )
        parsed = from_xml(retour, today=day)
        assert type(parsed) is retour_row.model and parsed.heen == row.name  # type: ignore[attr-defined]
        du01 = ggk.du01_for(di01, retour, functie=retour_row.name)
        assert checks.check(ggk.build(du01)).ok
        seen.add(row.name)

    run()
    assert seen <= {r.name for r in pack.heen()}


def test_registry_loads_once_and_other_threads_wait(pack: ReleasePack) -> None:
    """A thread asking while another loads the packs waits for them (never sees an empty registry);
    the sources run once."""
    import threading

    started, go = threading.Event(), threading.Event()
    calls: list[int] = []

    def sources() -> list[ReleasePack]:
        calls.append(1)
        started.set()
        go.wait(10)
        return [pack]

    registry = Registry(sources=sources)
    results: list[object] = []

    def ask() -> None:
        try:
            results.append(registry.get(pack.name))
        except ConfigurationError as exc:  # an empty registry: recorded, asserted below
            results.append(exc)

    first = threading.Thread(target=ask)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=ask)
    second.start()
    second.join(0.2)  # the second one is blocked on the loading (or not yet asking): both are fine
    go.set()
    first.join(10)
    second.join(10)
    assert results == [pack, pack] and calls == [1]
