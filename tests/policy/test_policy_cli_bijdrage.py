"""``ieb bijdrage``: the JSON contract, exit codes and error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from policy_builders import CLIENT
from typer.testing import CliRunner

from ieb.cli.bijdrage import register


def app() -> typer.Typer:
    application = typer.Typer()

    @application.callback()
    def main() -> None:
        """Test host."""

    register(application)
    return application


def request(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gemeente": {"code": "0363", "verlaagd_tarief": [], "minima": None},
        "huishouden": {
            "leden": [
                {
                    "bsn": CLIENT,
                    "geboortedatum": "1950-06-15",
                    "wlz_eigen_bijdrage": False,
                    "beschermd_wonen": False,
                }
            ],
            "inkomen_cent_per_jaar": None,
        },
        "voorzieningen": [
            {
                "bsn": CLIENT,
                "soort": "hulpmiddel",
                "start": "2020-01-15",
                "stop": None,
                "kostprijs_cent": 57000,
            }
        ],
        "van": "2020-01",
        "tot": "2022-12",
    }
    data.update(changes)
    return data


def run(tmp_path: Path, data: object, *args: str) -> Any:
    path = tmp_path / "in.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return CliRunner().invoke(app(), ["bijdrage", *args, str(path)])


def test_json_contract_worked_example(tmp_path: Path) -> None:
    result = run(tmp_path, request(), "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"maanden", "totaal_cent", "kostprijs"}
    assert out["maanden"][0] == {"maand": "2020-01", "bedrag_cent": 0, "reden": "startmaand"}
    assert sum(1 for m in out["maanden"] if m["bedrag_cent"] == 1900) == 30
    assert out["totaal_cent"] == 57000
    assert out["kostprijs"] == [
        {"bsn": CLIENT, "resterend_cent": 0, "virtuele_einddatum": "2022-07-31", "stop_maand": "2022-07"}
    ]


def test_text_output(tmp_path: Path) -> None:
    result = run(tmp_path, request(tot="2020-03"))
    assert result.exit_code == 0
    assert "19,00" in result.stdout and "2020-02" in result.stdout


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"van": "2020-13"}, "van"),
        ({"voorzieningen": [{"bsn": CLIENT, "soort": "taxi", "start": "2020-01-15"}]}, "voorzieningen[0].soort"),
        ({"voorzieningen": [{"bsn": CLIENT, "soort": "begeleiding", "start": "2020-02-30"}]}, "voorzieningen[0].start"),
        ({"voorzieningen": [{"bsn": CLIENT, "soort": "hulpmiddel", "start": "2020-01-15", "kostprijs_cent": -5}]},
         "voorzieningen[0].kostprijs_cent"),
        ({"voorzieningen": [{"bsn": "999900018", "soort": "begeleiding", "start": "2020-01-15"}]},
         "voorzieningen[0].bsn"),
        ({"gemeente": {"code": "0363", "verlaagd_tarief": [{"vanaf": "2024-01-01", "bedrag_cent": 2500}],
                       "minima": None}}, "gemeente.verlaagd_tarief[0].bedrag_cent"),
        ({"gemeente": {"code": "363", "verlaagd_tarief": [], "minima": None}}, "gemeente.code"),
        ({"tot": "2019-12"}, "tot"),
    ],
)  # fmt: skip
def test_bad_input_exits_1_naming_the_field(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    result = run(tmp_path, request(**change), "--format", "json")
    assert result.exit_code == 1, result.output
    assert f"fout: {field}" in result.stderr
    assert result.stdout == ""
    assert "999900018" not in result.stderr


def test_broken_json_exits_1(tmp_path: Path) -> None:
    result = run(tmp_path, "{nee", "--format", "json")
    assert result.exit_code == 1 and "geen geldige JSON" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path, request(), "--format", "xml").exit_code == 2
    assert CliRunner().invoke(app(), ["bijdrage", str(tmp_path / "missing.json")]).exit_code == 2


def test_future_tariff_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IEB_TARIEVEN", '[{"vanaf": "2027-01-01", "bedrag_cent": 2300}]')
    data = request(
        voorzieningen=[{"bsn": CLIENT, "soort": "begeleiding", "start": "2026-11-15"}],
        van="2027-01",
        tot="2027-01",
    )
    out = json.loads(run(tmp_path, data, "--format", "json").stdout)
    assert out["maanden"] == [{"maand": "2027-01", "bedrag_cent": 2300, "reden": "landelijk_tarief"}]


def test_roles_in_the_contract(tmp_path: Path) -> None:
    leden = [
        {"bsn": CLIENT, "geboortedatum": "1985-01-01", "wlz_eigen_bijdrage": False, "beschermd_wonen": False,
         "rol": "client"},
        {"bsn": "999900043", "geboortedatum": "2015-01-01", "wlz_eigen_bijdrage": False, "beschermd_wonen": False,
         "rol": "kind"},
    ]  # fmt: skip
    data = request(
        gemeente={
            "code": "0363",
            "verlaagd_tarief": [],
            "minima": None,
            "woningaanpassing_minderjarigen": True,
        },
        huishouden={"leden": leden, "inkomen_cent_per_jaar": None},
        voorzieningen=[{"bsn": "999900043", "soort": "woningaanpassing", "start": "2025-01-15"}],
        van="2025-02",
        tot="2025-02",
    )
    result = run(tmp_path, data, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["maanden"] == [
        {"maand": "2025-02", "bedrag_cent": 2100, "reden": "landelijk_tarief"}
    ]
    text = run(tmp_path, data)
    assert "huishouden: client ******006, kind ******043" in text.stdout
    assert "999900043" not in text.stdout


@pytest.mark.parametrize(
    ("leden", "field"),
    [
        ([{"rol": "ouder"}], "huishouden.leden[0].rol"),
        ([{"rol": "client"}, {"rol": "partner", "geboortedatum": "2015-01-01"}], "huishouden.leden[1].rol"),
        ([{"rol": "client"}, {}], "huishouden.leden[1].rol"),
        ([{}, {}, {}], "huishouden.leden"),
    ],
)
def test_bad_roles_exit_1_naming_the_field(tmp_path: Path, leden: list[dict[str, Any]], field: str) -> None:
    bsns = [CLIENT, "999900018", "999900031"]
    members = [
        {
            "bsn": bsns[i],
            "geboortedatum": "1950-06-15",
            "wlz_eigen_bijdrage": False,
            "beschermd_wonen": False,
            **extra,
        }
        for i, extra in enumerate(leden)
    ]
    result = run(
        tmp_path, request(huishouden={"leden": members, "inkomen_cent_per_jaar": None}), "--format", "json"
    )
    assert result.exit_code == 1, result.output
    assert f"fout: {field}" in result.stderr, result.stderr
    assert "999900018" not in result.stderr


@pytest.mark.parametrize(
    "example", sorted((Path(__file__).resolve().parents[2] / "docs" / "examples").glob("bijdrage-*.json"))
)
def test_documented_examples_run_through_the_cli(example: Path) -> None:
    result = CliRunner().invoke(app(), ["bijdrage", "--format", "json", str(example)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["maanden"] and all(m["reden"] for m in out["maanden"])


def test_oversized_and_non_utf8_input_exit_1(tmp_path: Path) -> None:
    from ieb.policy.contract import MAX_REQUEST_BYTES

    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_REQUEST_BYTES + 1))
    result = CliRunner().invoke(app(), ["bijdrage", "--format", "json", str(big)])
    assert result.exit_code == 1 and "groter dan" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"van": "\xff"}')
    result = CliRunner().invoke(app(), ["bijdrage", "--format", "json", str(bad)])
    assert result.exit_code == 1 and "UTF-8" in result.stderr


def test_too_many_voorzieningen_exit_1_naming_the_field(tmp_path: Path) -> None:
    from ieb.policy.contract import MAX_LIJST

    item = {"bsn": CLIENT, "soort": "begeleiding", "start": "2020-01-15"}
    result = run(tmp_path, request(voorzieningen=[item] * (MAX_LIJST + 1)), "--format", "json")
    assert result.exit_code == 1 and "fout: voorzieningen" in result.stderr


def test_stdin_is_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app(), ["bijdrage", "--format", "json", "-"], input=json.dumps(request(tot="2020-02"))
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["maanden"][-1]["maand"] == "2020-02"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"van": ' + "9" * 5001 + "}", "getal langer dan"),
        ("[" * 100_000 + "]" * 100_000, "te diep genest"),
        ('{"van": NaN}', "NaN/Infinity"),
    ],
    ids=["5001-digit-int", "100k-nested", "nan"],
)
def test_hostile_json_exits_1_in_dutch_without_traceback(tmp_path: Path, text: str, expected: str) -> None:
    """t2 #3: a 5001-digit integer (int max str digits) and 100k nested brackets (RecursionError)
    printed a traceback."""
    result = run(tmp_path, text)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "fout: invoer:" in result.output and expected in result.output
    assert "Traceback" not in result.output


def test_hostile_json_in_the_library_entry_points() -> None:
    """The same bounded reader behind estimate_from_json, parameters_from_json and
    tariffs_from_json: the project's own errors, not ValueError/RecursionError."""
    from ieb.errors import ConfigurationError
    from ieb.policy import PolicyInputError
    from ieb.policy.contract import estimate_from_json
    from ieb.policy.parameters import parameters_from_json
    from ieb.policy.tariffs import tariffs_from_json

    deep = "[" * 100_000 + "]" * 100_000
    huge = "[" + "9" * 5001 + "]"
    for text in (deep, huge):
        with pytest.raises(PolicyInputError):
            estimate_from_json(text)
        with pytest.raises(PolicyInputError):
            parameters_from_json(text)
        with pytest.raises(ConfigurationError):
            tariffs_from_json(text)


def test_errors_mask_a_bsn_given_as_a_number_or_a_key(tmp_path: Path) -> None:
    """t2 #4: ``waarde 999900006 moet tekst zijn`` printed the full BSN."""
    data = request()
    data["huishouden"]["leden"][0]["bsn"] = int(CLIENT)
    result = run(tmp_path, data)
    assert result.exit_code == 1
    assert CLIENT not in result.output and f"******{CLIENT[-3:]}" in result.output
    data = request()
    data["voorzieningen"][0]["kostprijs_cent"] = CLIENT
    result = run(tmp_path, data)
    assert result.exit_code == 1 and CLIENT not in result.output
    data = request()
    data["gemeente"][CLIENT] = 1
    result = run(tmp_path, data)
    assert result.exit_code == 1 and CLIENT not in result.output, result.output
