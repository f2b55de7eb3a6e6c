"""Reading WMO301/305/307: the published examples, our schemas against the reference schemas, bad
input with a Dutch finding per file and line, StatusAanlevering 1/2/3, idempotent storage and
nothing half-stored."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from ieb.iwmo.reader import read_bytes
from ieb.iwmo.store import IwmoStore
from ieb.store.schema import iwmo_producten
from tests.iwmo.traffic import Client, wmo301, wmo305_307

D = dt.date
C = Client("999900006", D(1950, 5, 17))
OTHER = Client("999900018", D(1990, 1, 2))


MARCH = D(2025, 3, 1)


def m301(nummer: int = 101, ingang: dt.date = MARCH, eind: dt.date | None = None, **kw: object) -> bytes:
    return wmo301(
        "0363",
        "12345678",
        str(kw.pop("ident", "1")),
        kw.pop("dag", D(2025, 2, 20)),
        kw.pop("client", C),
        nummer,
        str(kw.pop("categorie", "02")),
        ingang,
        eind,
        kw.pop("reden", None),
    )  # type: ignore[arg-type]


def m305(begin: dt.date, status: str = "1", nummer: int = 101, ident: str = "2", client: Client = C) -> bytes:
    return wmo305_307("WMO305", "0363", "12345678", ident, begin, client, nummer, "02", begin, status)


def m307(
    begin: dt.date, eind: dt.date, status: str = "1", nummer: int = 101, ident: str = "3", reden: str = "19"
) -> bytes:
    return wmo305_307("WMO307", "0363", "12345678", ident, eind, C, nummer, "02", begin, status, eind, reden)


def _write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    out = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out.append(folder / name)
    return out


def _count(store: IwmoStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(iwmo_producten)).scalar_one())


# ------------------------------------------------------------------ published material


def test_the_seven_published_examples_are_read_and_the_others_reported_as_not_needed(
    store: IwmoStore, reference: Path
) -> None:
    report = store.read([reference / "examples"])
    by_name = {Path(r.bron).name: r for r in report.files}
    assert set(by_name) == {f"WMO3{n}.xml" for n in ("01", "05", "07", "15", "17", "19", "23")}
    assert (by_name["WMO301.xml"].opgeslagen, by_name["WMO305.xml"].opgeslagen) == (1, 2)
    for name in ("WMO315.xml", "WMO317.xml", "WMO319.xml", "WMO323.xml"):
        assert by_name[name].bericht is None and [f.code for f in by_name[name].findings] == ["IW002"]
        assert by_name[name].findings[0].ernst == "info"
    # the published 307 stops 300202 with Begindatum 2025-04-15 while its 305 started on 2025-04-04
    stop = by_name["WMO307.xml"]
    assert (stop.opgeslagen, stop.geweigerd) == (1, 1)
    (finding,) = [f for f in stop.findings if f.ernst == "fout"]
    assert finding.code == "TR069" and finding.regel == 45 and "2025-04-15" in finding.tekst
    assert "999900006" not in str(finding) and "******006" in str(finding)
    # the published 305 and 307 have no WMO301 among the examples: stored, with a warning
    assert {(f.code, f.ernst) for f in by_name["WMO305.xml"].findings} == {("TR019", "waarschuwing")}
    # reading everything again changes nothing
    again = store.read([reference / "examples"])
    assert again.totals()["opgeslagen"] == 0 and again.totals()["al_gelezen"] == 4
    assert store.counts() == {"WMO301": 1, "WMO305": 2, "WMO307": 1, "bestanden": 14}


@pytest.mark.parametrize("bericht", ["WMO301", "WMO305", "WMO307"])
def test_generated_messages_validate_against_the_published_schemas_too(reference: Path, bericht: str) -> None:
    data = {
        "WMO301": m301(eind=D(2025, 9, 30)),
        "WMO305": m305(D(2025, 3, 3)),
        "WMO307": m307(D(2025, 3, 3), D(2025, 4, 4)),
    }[bericht]
    schema = etree.XMLSchema(etree.parse(str(reference / f"{bericht}.xsd")))
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert read_bytes(data, "x.xml").products


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<iwmo:Categorie>02</iwmo:Categorie>", b"<iwmo:Categorie>19</iwmo:Categorie>"),  # unknown category
        (b"<wmo305:BerichtCode>418</wmo305:BerichtCode>", b"<wmo305:BerichtCode>419</wmo305:BerichtCode>"),
        (
            b"<wmo305:StatusAanlevering>1</wmo305:StatusAanlevering>",
            b"<wmo305:StatusAanlevering>4</wmo305:StatusAanlevering>",
        ),
        (
            b"<wmo305:Begindatum>2025-03-03</wmo305:Begindatum>",
            b"<wmo305:Begindatum>2025-02-30</wmo305:Begindatum>",
        ),
        (b"<wmo305:Bsn>999900006</wmo305:Bsn>", b"<wmo305:Bsn>99990000</wmo305:Bsn>"),
    ],
)
def test_our_schema_refuses_what_the_published_schema_refuses(
    reference: Path, old: bytes, new: bytes
) -> None:
    data = m305(D(2025, 3, 3)).replace(old, new)
    assert data != m305(D(2025, 3, 3))
    published = etree.XMLSchema(etree.parse(str(reference / "WMO305.xsd")))
    assert not published.validate(etree.fromstring(data))
    parsed = read_bytes(data, "bad.xml")
    assert parsed.products == [] and parsed.findings and {f.code for f in parsed.findings} == {"XSD"}
    assert any(f.regel for f in parsed.findings)  # the line of the bad element
    assert all("99990000" not in str(f) for f in parsed.findings)


def test_an_unknown_category_is_named_with_its_line() -> None:
    data = m305(D(2025, 3, 3)).replace(b"<iwmo:Categorie>02<", b"<iwmo:Categorie>77<")
    parsed = read_bytes(data, "cat.xml")
    lines = [f for f in parsed.findings if f.regel]
    assert lines and "Categorie" in lines[0].tekst and "77" in lines[0].tekst
    assert lines[0].regel == data[: data.index(b">77<")].count(b"\n") + 1


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (m305(D(2025, 3, 3)).replace(b"iwmo/3_2/wmo305", b"iwmo/3_1/wmo305"), "IW001"),
        (m305(D(2025, 3, 3)).replace(b"iwmo/3_2/wmo305", b"ijw/3_2/jw305"), "IW001"),
        (b'<?xml version="1.0"?><Bericht xmlns="urn:iets"/>', "IW001"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "XML"),
        (b"\xff\xfe<\x00x\x00/\x00>\x00", "OP192"),
        (b"<x><y></x>", "XML"),
        (m305(D(2025, 3, 3)).replace(b">999900006<", b">999900007<"), "CS002"),
        (
            m305(D(2025, 3, 3)).replace(b"<wmo305:ToewijzingNummer>101</wmo305:ToewijzingNummer>", b""),
            "IW003",
        ),
    ],
)
def test_bad_files_get_a_dutch_finding_and_nothing_is_read(data: bytes, code: str) -> None:
    parsed = read_bytes(data, "slecht.xml")
    assert parsed.products == []
    assert code in {f.code for f in parsed.findings}, parsed.findings
    assert all(f.tekst and "999900007" not in f.tekst for f in parsed.findings)


def test_an_ieb_message_is_another_standard(reference: Path) -> None:
    ieb_files = sorted((reference.parent / "ieb-1.0").rglob("*.xml"))
    if not ieb_files:
        pytest.skip("LET OP: geen iEb-voorbeeld in de referentie")
    parsed = read_bytes(ieb_files[0].read_bytes(), ieb_files[0].name)
    assert [f.code for f in parsed.findings] == ["IW001"] and "ieb" in parsed.findings[0].tekst


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from ieb.iwmo.reader import read_file

    big = tmp_path / "groot.xml"
    with big.open("wb") as fh:
        fh.truncate(26 * 1024 * 1024)
    assert [f.code for f in read_file(big).findings] == ["OP179"]


def test_a_message_in_a_stuf_ggk_envelope_is_read_like_the_bare_file(
    store: IwmoStore, tmp_path: Path
) -> None:
    from ieb.ggk import build, new_di01

    bare = m305(D(2025, 3, 3))
    wrapped = build(new_di01(bare, "WMO", "0363", "12345678"))
    parsed = read_bytes(wrapped, "envelop.xml")
    assert [p.begindatum for p in parsed.products] == [D(2025, 3, 3)] and "envelop" in parsed.bron
    assert parsed.products[0].sleutel == read_bytes(bare, "kaal.xml").products[0].sleutel
    _write(tmp_path / "in", {"a.xml": m301(), "b.xml": wrapped, "c.xml": bare})
    report = store.read([tmp_path / "in"])
    assert report.totals() == {"bestanden": 3, "opgeslagen": 2, "al_gelezen": 1, "geweigerd": 0}


def test_rule_findings_name_the_file_the_line_and_the_rule_and_the_rest_is_read(
    store: IwmoStore, tmp_path: Path
) -> None:
    files = _write(
        tmp_path / "in",
        {
            "01.xml": m301(nummer=101, eind=D(2025, 12, 31)),
            "02.xml": m307(D(2025, 3, 3), D(2025, 4, 1), ident="20"),  # a 307 without a 305
            "03.xml": m305(D(2025, 3, 3), status="2", ident="21"),  # status 2 without an earlier 305
            "04.xml": m305(D(2025, 3, 9), status="3", ident="22"),  # status 3 without an earlier 305
            "05.xml": m305(D(2025, 7, 15), nummer=103, ident="23"),  # after the toewijzing: conflicting dates
            "09.xml": m301(nummer=103, eind=D(2025, 6, 30), ident="27"),
            "06.xml": m301(
                nummer=102, ingang=D(2025, 5, 1), eind=D(2025, 4, 1), ident="24"
            ),  # end before start
            "07.xml": m301(nummer=101, client=OTHER, ident="25"),  # the number of another client
            "08.xml": m305(D(2025, 3, 5), ident="26"),  # fine
        },
    )
    report = store.read(files)
    codes = {Path(f.bron).name: f.code for f in report.errors}
    assert codes == {
        "02.xml": "TR069",
        "03.xml": "TR063",
        "04.xml": "TR063",
        "05.xml": "IW010",
        "06.xml": "IW010",
        "07.xml": "TR332",
    }
    assert all(f.regel and f.regel > 1 for f in report.errors)
    assert report.totals()["opgeslagen"] == 3
    text = "\n".join(str(f) for f in report.errors)
    assert "999900006" not in text and "999900018" not in text


def test_status_2_replaces_and_status_3_cancels(store: IwmoStore, tmp_path: Path) -> None:
    files = _write(
        tmp_path / "in",
        {
            "a.xml": m301(eind=D(2025, 12, 31)),
            "b.xml": wmo305_307(
                "WMO305", "0363", "12345678", "b", D(2025, 3, 5), C, 101, "02", D(2025, 3, 4), "1"
            ),
            "c.xml": wmo305_307(
                "WMO305", "0363", "12345678", "c", D(2025, 3, 8), C, 101, "02", D(2025, 3, 2), "2"
            ),
            "d.xml": wmo305_307(
                "WMO307",
                "0363",
                "12345678",
                "d",
                D(2025, 6, 3),
                C,
                101,
                "02",
                D(2025, 3, 2),
                "1",
                D(2025, 6, 1),
            ),
            "e.xml": wmo305_307(
                "WMO307",
                "0363",
                "12345678",
                "e",
                D(2025, 6, 9),
                C,
                101,
                "02",
                D(2025, 3, 2),
                "2",
                D(2025, 6, 7),
                "23",
            ),
        },
    )
    assert not store.read(files).errors
    (levering,) = store.state().leveringen[("0363", 101)]
    assert (levering.begindatum, levering.einddatum, levering.reden) == (D(2025, 3, 2), D(2025, 6, 7), "23")
    assert len(levering.refs) == 4
    more = _write(
        tmp_path / "more",
        {
            "f.xml": wmo305_307(
                "WMO307",
                "0363",
                "12345678",
                "f",
                D(2025, 6, 20),
                C,
                101,
                "02",
                D(2025, 3, 2),
                "3",
                D(2025, 6, 7),
            ),
            "g.xml": wmo305_307(
                "WMO305", "0363", "12345678", "g", D(2025, 6, 25), C, 101, "02", D(2025, 3, 2), "3"
            ),
        },
    )
    assert not store.read(more).errors
    assert store.state().leveringen[("0363", 101)] == []
    # a toewijzing withdrawn with RedenWijziging 13
    gone = _write(
        tmp_path / "gone", {"h.xml": m301(eind=D(2025, 12, 31), reden="13", ident="h", dag=D(2025, 7, 1))}
    )
    assert not store.read(gone).errors
    assert store.state().toewijzingen[("0363", 101)].verwijderd


def test_a_crash_while_storing_stores_nothing_and_a_second_read_stores_everything(
    store: IwmoStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ieb.iwmo import store as store_module

    files = _write(tmp_path / "in", {"a.xml": m301(eind=D(2025, 12, 31)), "b.xml": m305(D(2025, 3, 3))})
    original = store_module.IwmoStore._known

    def crash(conn: sa.Connection, sleutels: list[str]) -> set[str]:
        original(conn, sleutels)
        conn.execute(
            iwmo_producten.insert(),
            [store_module._row(read_bytes(files[0].read_bytes(), "x").products[0], "x")],
        )
        raise RuntimeError("stroom uitgevallen")

    monkeypatch.setattr(store_module.IwmoStore, "_known", staticmethod(crash))
    with pytest.raises(RuntimeError):
        store.read(files)
    assert _count(store) == 0 and store.counts()["bestanden"] == 0
    monkeypatch.setattr(store_module.IwmoStore, "_known", staticmethod(original))
    assert store.read(files).totals()["opgeslagen"] == 2
    assert store.read(files).totals()["opgeslagen"] == 0 and _count(store) == 2


def test_a_message_as_tekstbestand_in_an_envelope_is_read_too() -> None:
    from ieb.ggk import build, new_di01

    wrapped = build(new_di01(m305(D(2025, 3, 3)), "WMO", "0363", "12345678", bestandsnaam="start.xml"))
    assert [p.toewijzing_nummer for p in read_bytes(wrapped, "e.xml").products] == [101]


@pytest.mark.parametrize("seed", range(3))
def test_mutated_messages_never_raise_only_findings(seed: int) -> None:
    import random

    rng = random.Random(seed)
    original = m307(D(2025, 3, 3), D(2025, 4, 4))
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[pos] = rng.randrange(256)
            elif choice < 0.7:
                del data[pos : pos + rng.randint(1, 40)]
            else:
                data[pos:pos] = rng.choice([b"<", b"&", b"]]>", b"\x00", b"<x>", b"2025-13-45", b"9" * 30])
        parsed = read_bytes(bytes(data), "mutant.xml")
        assert parsed.products or parsed.findings
        assert all(isinstance(f.tekst, str) and f.tekst for f in parsed.findings)


def test_two_readers_at_once_store_every_product_once(store: IwmoStore, tmp_path: Path) -> None:
    import threading

    files = _write(
        tmp_path / "in",
        {
            f"{n:03d}.xml": m301(nummer=n, eind=D(2025, 12, 31), ident=f"i{n}", client=C)
            for n in range(100, 160)
        },
    )
    errors: list[Exception] = []

    def read() -> None:
        try:
            IwmoStore(store.engine).read(files)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and _count(store) == 60
