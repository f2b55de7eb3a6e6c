"""``ieb reconcile``: clear errors without tracebacks, hostile input never crashes the readers,
escaped HTML."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb.cli import app
from ieb.migration import read_administratie, read_henv, read_za, reconcile, render_html
from ieb.migration.files import HENV_KOLOMMEN
from tests.migration.build import adm, henv, za

runner = CliRunner()


def _files(tmp: Path, h: bytes | None = None, a: bytes | None = None) -> list[str]:
    (tmp / "h.csv").write_bytes(h if h is not None else henv({}))
    (tmp / "z.csv").write_bytes(za({}))
    (tmp / "a.csv").write_bytes(a if a is not None else adm({}))
    return [
        "reconcile",
        "--henv",
        str(tmp / "h.csv"),
        "--za",
        str(tmp / "z.csv"),
        "--administratie",
        str(tmp / "a.csv"),
    ]


def test_peildatum_before_2020(tmp_path: Path) -> None:
    result = runner.invoke(
        app, [*_files(tmp_path), "--peildatum", "2019-12-01", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "CS332" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "afstemming.html").exists()


def test_usage_errors(tmp_path: Path) -> None:
    base = [*_files(tmp_path), "--out", str(tmp_path / "o")]
    assert runner.invoke(app, [*base, "--peildatum", "1-1-2020"]).exit_code == 2
    assert runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--format", "xml"]).exit_code == 2
    no_afzender = runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--queue"])
    assert no_afzender.exit_code == 2 and "--afzender" in no_afzender.output
    bad_code = runner.invoke(app, [*base, "--peildatum", "2020-01-01", "--queue", "--afzender", "36"])
    assert bad_code.exit_code == 2


def test_a_missing_file_is_a_fout_and_no_reports(tmp_path: Path) -> None:
    args = _files(tmp_path)
    args[2] = str(tmp_path / "weg.csv")
    result = runner.invoke(
        app, [*args, "--peildatum", "2020-01-01", "--out", str(tmp_path / "o"), "--format", "json"]
    )
    assert result.exit_code == 1
    counts = json.loads(result.stdout)
    assert counts["fouten"] == [
        {
            "bestand": str(tmp_path / "weg.csv"),
            "regel": 0,
            "reden": "bestand niet gevonden; controleer het pad",
        }
    ]
    assert not (tmp_path / "o" / "afstemming.html").exists()


def test_text_output_masks_bsns(tmp_path: Path) -> None:
    args = _files(tmp_path, h=henv({}, {"BSN": "999900018", "HENV_GROEP_CODE": "??"}))
    result = runner.invoke(app, [*args, "--peildatum", "2020-01-01", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "bij beide:                 1" in result.stdout
    assert "HENV_GROEP_CODE" in result.stdout
    assert "999900006" not in result.output and "999900018" not in result.output


def test_own_group_table_option(tmp_path: Path) -> None:
    args = _files(tmp_path, h=henv({"HENV_GROEP_CODE": "Z9"}))
    out = ["--peildatum", "2020-01-01", "--out", str(tmp_path / "o"), "--format", "json"]
    assert len(json.loads(runner.invoke(app, [*args, *out]).stdout)["fouten"]) == 1
    (tmp_path / "groepen.csv").write_text("code;soort\nZ9;huishoudelijke_hulp\n", encoding="utf-8")
    result = runner.invoke(app, [*args, *out, "--force", "--groepen", str(tmp_path / "groepen.csv")])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert (counts["beide"], counts["fouten"]) == (1, [])
    (tmp_path / "groepen.csv").write_text("code;soort\nZ9;fiets\n", encoding="utf-8")
    bad = runner.invoke(app, [*args, *out, "--force", "--groepen", str(tmp_path / "groepen.csv")])
    assert bad.exit_code == 1 and "kolom soort" in bad.output


def test_html_escapes_what_the_files_say() -> None:
    evil = "<script>alert(1)</script>"
    result = reconcile(
        read_henv(henv({"BSN": "999900018"}), name="h.csv"),
        read_za(za({"BSN": "999900031"}), name="z.csv"),
        read_administratie(adm({"achternaam": evil}), name=evil),
        __import__("datetime").date(2020, 1, 1),
    )
    page = render_html(result)
    assert evil not in page and "&lt;script&gt;" in page


_cell = st.text(alphabet=st.sampled_from(list('0123456789;,"-./ JNab€\r\n')), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cell, min_size=1, max_size=len(HENV_KOLOMMEN) + 2), max_size=6))
def test_readers_never_crash_on_junk(rows: list[list[str]]) -> None:
    header = ";".join(HENV_KOLOMMEN)
    data = (header + "\r\n" + "\r\n".join(";".join(r) for r in rows)).encode("utf-8")
    result = read_henv(data, name="h.csv")
    assert all(f.regel >= 0 and f.reden for f in result.fouten)
    assert read_za(data, name="z.csv").onleesbaar  # the wrong header for a ZA file
    assert read_administratie(data, name="a.csv").onleesbaar


_henv_row = st.fixed_dictionaries(
    {
        "BSN": st.sampled_from(["999900006", "999900018", "999900031", "999900007"]),  # the last fails
        "ZORGPERIODE": st.sampled_from(["201913", "201912"]),
        "PERIODE_VANAF": st.sampled_from(["1", "9", "13", "14"]),
        "AANTAL_PERIODEN": st.sampled_from(["", "1", "5", "13", "40"]),
        "HENV_GROEP_CODE": st.sampled_from(["HH", "HM", "ZZ"]),
        "TOTALE_KOSTEN": st.sampled_from(["", "100,00", "900,00"]),
        "RESTBEDRAG": st.sampled_from(["", "0", "50,00"]),
        "IND_LAATSTE_ZORGPERIODE": st.sampled_from(["J", "N", "X"]),
    }
)
_za_row = st.fixed_dictionaries(
    {
        "BSN": st.sampled_from(["999900006", "999900043", "999900007"]),
        "PERIODE_WEEK": st.sampled_from(["201952", "201951", "2019P13", "201953"]),
        "PRODUCTCODE": st.sampled_from(["02A01", "02A02"]),
        "IND_LAATSTE_ZORGPERIODE": st.sampled_from(["J", "N"]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_henv_row, max_size=8),
    st.lists(_za_row, max_size=6),
    st.sampled_from(["2020-01-01", "2020-09-01"]),
)
def test_every_cak_row_ends_up_in_exactly_one_place(
    henv_rows: list[dict[str, str]], za_rows: list[dict[str, str]], peildatum: str
) -> None:
    """Whatever the rows say: each data row of the HenV and ZA files is counted once, in a category
    or in the fouten, and the counts add up to the rows read."""
    import datetime as dt

    from ieb.migration import CakRegel

    result = reconcile(
        read_henv(henv(*henv_rows), name="h.csv"),
        read_za(za(*za_rows), name="z.csv"),
        read_administratie(
            adm({"bsn": "999900006"}, {"bsn": "999900043", "soort": "hulpmiddel", "kostprijs_cent": "90000"}),
            name="a.csv",
        ),
        dt.date.fromisoformat(peildatum),
    )
    for name, rows in (("h.csv", henv_rows), ("z.csv", za_rows)):
        places = result.cak_regels[name]
        assert sorted(places) == list(range(2, len(rows) + 2))  # every data line, once
        assert sum(result.cak_telling()[name].values()) == result.bestanden[name] == len(rows)
        bad = {f.regel for f in result.fouten if f.bestand == name}
        assert {line for line, c in places.items() if c is CakRegel.FOUT} == bad
    groups = {p.bsn: p.groep.value for p in result.personen}
    counted = [
        r
        for r in (*read_henv(henv(*henv_rows)).records, *read_za(za(*za_rows)).records)
        if result.cak_regels["h.csv" if hasattr(r, "zorgperiode") else "z.csv"][r.regel].value
        in ("beide", "alleen_cak")
    ]
    for r in counted:  # a row counted for a person carries that person's group
        where = result.cak_regels["h.csv" if hasattr(r, "zorgperiode") else "z.csv"][r.regel]
        assert groups[r.bsn] == where.value


def test_format_takes_text_as_every_command_does_and_tekst_as_before(tmp_path: Path) -> None:
    outputs = []
    for i, fmt in enumerate(("text", "tekst")):
        args = [*_files(tmp_path), "--peildatum", "2020-01-01", "--out", str(tmp_path / f"o{i}")]
        result = runner.invoke(app, [*args, "--format", fmt])
        assert result.exit_code in (0, 1), result.output
        outputs.append(result.stdout)
    assert outputs[0].replace("/o0/", "/o1/") == outputs[1] and outputs[0].startswith("Afstemming")
