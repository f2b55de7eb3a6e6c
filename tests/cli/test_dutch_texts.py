"""No English library text reaches a clerk: option values that do not convert (click's or pydantic's
messages, by typer version), ieb.toml keys and values (pydantic-settings), a broken CRL file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from ieb.cli import app
from ieb.cli._help import allowed_values

runner = CliRunner()

#: English of click, typer and pydantic that must not reach a clerk
ENGLISH = re.compile(
    r"Input should|Value error|is not a valid|is not in the range|is not one of|Invalid value|"
    r"does not take|unexpected extra|Extra inputs|not permitted|Field required|Missing",
)


def _options() -> list[tuple[list[str], str, Any]]:
    """(command path, option name, parameter) of every option that takes a number or a choice."""
    found: list[tuple[list[str], str, Any]] = []

    def walk(group: Any, path: list[str]) -> None:
        for name, command in getattr(group, "commands", {}).items():
            walk(command, [*path, name])
            for param in getattr(command, "params", []):
                if param.param_type_name == "option" and allowed_values(param) is not None:
                    found.append(([*path, name], param.opts[0], param))

    walk(typer.main.get_command(app), [])
    return found


OPTIONS = _options()


def _bad_values(param: Any, allowed: str) -> list[str]:
    if allowed.startswith("een "):
        bad = ["veel"]
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if low is not None:
            bad.append(str(low - 1))
        if high is not None:
            bad.append(str(high + 1))
        return bad
    return ["geen-keuze"]


def test_the_walk_finds_the_options_of_the_trial() -> None:
    names = {(" ".join(path), option) for path, option, _ in OPTIONS}
    assert {("send", "--workers"), ("demo", "--workers"), ("status", "--format")} <= names
    assert ("serve-validation", "--head-timeout") in names and len(names) > 10


@pytest.mark.parametrize(("path", "option", "param"), OPTIONS, ids=lambda x: x if isinstance(x, str) else "")
def test_a_bad_number_or_choice_is_refused_in_dutch_naming_the_option_and_what_it_takes(
    path: list[str], option: str, param: Any
) -> None:
    allowed = allowed_values(param)
    assert allowed is not None
    for value in _bad_values(param, allowed):
        result = runner.invoke(app, [*path, option, value], env={"COLUMNS": "200"})
        assert result.exit_code == 2, (value, result.output)
        assert f"fout: Ongeldige waarde voor '{option}'" in result.output, result.output
        assert allowed in result.output, result.output
        assert not ENGLISH.search(result.output), result.output


def test_send_workers_zero_names_the_range() -> None:
    result = runner.invoke(app, ["send", "--workers", "0"])
    assert result.exit_code == 2
    assert (
        "fout: Ongeldige waarde voor '--workers': geef een geheel getal van 1 tot en met 32" in result.output
    )


@pytest.mark.parametrize("command", ["send", "demo"])
def test_a_timeout_of_zero_or_less_is_refused_instead_of_ending_at_once(command: str) -> None:
    """``--timeout -1`` used to end ``ieb send`` at once with exit 0 and nothing sent."""
    for value in ("-1", "0"):
        result = runner.invoke(app, [command, "--timeout", value])
        assert result.exit_code == 2, result.output
        assert (
            "fout: Ongeldige waarde voor '--timeout': geef een getal (met een punt: 2.5) van minstens 0.1"
            in result.output
        )


def test_ieb_send_names_each_outcome_in_dutch_and_how_to_resend_a_dead_letter() -> None:
    """The per-message lines of ``ieb send`` used the sender's outcome names (pending, dead, ...);
    a dead letter carried the retry's hint ("het bericht blijft open") and nothing else."""
    from ieb.cli.transport import _outcome_line

    reason = "verbinding verbroken; oplossing: later opnieuw; het bericht blijft open"
    expected = {
        "failed": "geweigerd door de ontvanger",
        "permanent": "blijvende fout",
        "pending": "opnieuw klaargezet",
        "dead": "opgegeven (dead letter)",
        "lease_lost": "overgenomen door een andere verzender",
    }
    for outcome, dutch in expected.items():
        line = _outcome_line("ref-1", outcome, reason)
        assert line.startswith(f"ref-1: {dutch}: {reason}"), line
    assert _outcome_line("ref-1", "dead", reason).endswith(
        "; niet meer automatisch opnieuw: verhelp de oorzaak en zet het terug met `ieb requeue ref-1`"
    )
    assert "requeue" not in _outcome_line("ref-1", "pending", reason)


@pytest.mark.parametrize(
    ("args", "dutch"),
    [
        (["send", "--sign=ja"], "fout: Optie '--sign' neemt geen waarde."),
        (["status", "teveel"], "fout: Onverwacht extra argument: teveel"),
        (["status", "--format", "xml"], "fout: Ongeldige waarde voor '--format': kies text of json"),
    ],
)
def test_other_usage_errors_of_click_are_dutch(args: list[str], dutch: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert dutch in result.output
    assert not ENGLISH.search(result.output), result.output


def test_allowed_values_reads_click_range_types_too() -> None:
    """Older typer (pyproject allows >= 0.12) gives click's IntRange/FloatRange/Choice types."""
    import click

    def option(kind: Any) -> Any:
        return click.Option(["--x"], type=kind)

    assert allowed_values(option(click.IntRange(1, 32))) == "een geheel getal van 1 tot en met 32"
    assert allowed_values(option(click.IntRange(min=0))) == "een geheel getal van minstens 0"
    assert (
        allowed_values(option(click.FloatRange(max=9.5))) == "een getal (met een punt: 2.5) van hoogstens 9.5"
    )
    assert allowed_values(option(click.INT)) == "een geheel getal"
    assert allowed_values(option(click.Choice(["text", "json", "junit"]))) == "text, json of junit"
    assert allowed_values(option(click.STRING)) is None
    assert allowed_values(option(click.Path())) is None


# ----------------------------------------------------------------------------------- ieb.toml


def _config_error(tmp_path: Path, text: str) -> str:
    from ieb.config import load_config
    from ieb.errors import ConfigurationError

    (tmp_path / "ieb.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(tmp_path / "ieb.toml")
    return str(info.value)


def test_a_config_with_an_unknown_key_names_the_allowed_keys_and_the_likely_one(tmp_path: Path) -> None:
    text = _config_error(tmp_path, 'databse = "x.sqlite"\n[ggk]\nendpont = "https://ggk.example"\n')
    assert "databse: onbekende sleutel, bedoelt u 'database'? (toegestaan: database, gemeenten," in text
    assert (
        "ggk.endpont: onbekende sleutel, bedoelt u 'endpoint'? (toegestaan in [ggk]: endpoint, sign," in text
    )
    assert "source" not in text.split("toegestaan:", 1)[1]  # not a setting of the file
    assert not ENGLISH.search(text), text


def test_a_config_with_wrong_values_is_refused_in_dutch_naming_what_each_takes(tmp_path: Path) -> None:
    text = _config_error(
        tmp_path,
        'release = "4.0"\nclock = "morgen"\ngemeenten = "0363"\n'
        '[ggk]\nconnect_timeout = 0\nsign = "ja"\n'
        '[receiver]\nport = "poort"\nthreads = 100\n'
        '[simulator]\nlevel1 = "alles"\n[retry]\nlease_seconds = -1\n',
    )
    for dutch in (
        "release: heeft niet de juiste vorm (bijv. ieb-4.0)",
        "clock: geef een datum JJJJ-MM-DD",
        'gemeenten: geef een lijst, bijv. ["..."]',
        "ggk.connect_timeout: geef een getal (met een punt: 2.5) groter dan 0 en hoogstens 120",
        "ggk.sign: geef true of false",
        "receiver.port: geef een geheel getal van 0 tot en met 65535",
        "receiver.threads: geef een geheel getal van 1 tot en met 64",
        "simulator.level1: kies 'retour' of 'none'",
        "retry.lease_seconds: geef een getal (met een punt: 2.5) groter dan 0",
    ):
        assert dutch in text, (dutch, text)
    assert not ENGLISH.search(text), text


def _bounded_settings() -> list[tuple[str, str, Any]]:
    from pydantic import BaseModel

    from ieb.config import IebConfig

    found = []
    for section, info in IebConfig.model_fields.items():
        model = info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, field in model.model_fields.items():
            bounds = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt") if hasattr(m, k)}
            if bounds:
                found.append((section, name, next(iter(bounds.values()))))
    return found


@pytest.mark.parametrize(("section", "name", "low"), _bounded_settings())
def test_every_bounded_number_of_ieb_toml_too_low_is_refused_in_dutch(
    tmp_path: Path, section: str, name: str, low: Any
) -> None:
    text = _config_error(tmp_path, f"[{section}]\n{name} = {low - 1}\n")
    assert f"{section}.{name}: geef een " in text and str(low) in text, text
    assert not ENGLISH.search(text), text


def test_an_unreadable_environment_variable_gets_a_dutch_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ieb.config import load_config
    from ieb.errors import ConfigurationError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IEB_CONFIG", raising=False)
    monkeypatch.setenv("IEB_GEMEENTEN", "0363")
    with pytest.raises(ConfigurationError, match=r"omgevingsvariabele IEB_\* is niet te lezen .*JSON"):
        load_config()
    monkeypatch.setenv("IEB_GEMEENTEN", '["0363"]')
    monkeypatch.setenv("IEB_RETRY__WORKERS", "0")
    with pytest.raises(ConfigurationError) as info:
        load_config()
    assert "IEB_RETRY__WORKERS (retry.workers): geef een geheel getal van 1 tot en met 32" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "english"),
    [
        (
            'gemeenten = ["0363"]\n[retry\n',
            "op regel 2, kolom 7",
            "Expected ']' at the end of a table declaration",
        ),
        ('gemeenten = ["0363"\n', "aan het eind van het bestand", "Unclosed array"),
    ],
)
def test_a_toml_syntax_error_names_line_and_column_in_dutch_first(
    tmp_path: Path, text: str, where: str, english: str
) -> None:
    from ieb.config import load_config
    from ieb.errors import ConfigurationError

    path = tmp_path / "ieb.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as info:
        load_config(path)
    assert f"{path}: geen geldige TOML {where} (tomllib: {english})" in str(info.value), str(info.value)


# --------------------------------------------------------------------------------------- CRL files


@pytest.mark.parametrize(
    ("content", "lead"),
    [
        (b"\x00\x01 dit is geen CRL", "het bestand is beschadigd, afgebroken of geen CRL"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "het bestand is beschadigd"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "het PEM-bestand bevat geen 'BEGIN X509 CRL'-blok",
        ),
        # cut off while downloading: the block has no end (not "no BEGIN block")
        (b"-----BEGIN X509 CRL-----\nMIHsMIGUAgEBMAoGCCqGSM49\n", "het PEM-bestand is afgebroken"),
        (
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n-----BEGIN X509 CRL-----\nMIHs\n",
            "het PEM-bestand is afgebroken",
        ),
    ],
)
def test_a_crl_the_parser_refuses_is_named_with_a_dutch_lead_and_what_to_do(
    tmp_path: Path, content: bytes, lead: str
) -> None:
    from ieb.transport.revocation import CrlError, load_crls

    path = tmp_path / "kapot.crl"
    path.write_bytes(content)
    with pytest.raises(CrlError) as info:
        load_crls([path], [])
    text = str(info.value)
    assert text.startswith(f"[CONFIG] CRL {path}: geen leesbare CRL (PEM of DER): {lead}"), text
    assert "oplossing: " in text
    # the parser's own (English) words only come after the Dutch, marked as technical
    english = text.find("error parsing")
    assert english == -1 or english > text.index("technische melding: ")


def test_a_crl_folder_without_files_or_a_crl_path_that_does_not_exist_says_what_to_do(tmp_path: Path) -> None:
    from ieb.transport.revocation import CrlError, load_crls

    (tmp_path / "leeg").mkdir()
    for name, lead in (("leeg", "de map bevat geen CRL-bestanden"), ("weg", "bestand of map bestaat niet")):
        with pytest.raises(CrlError) as info:
            load_crls([tmp_path / name], [])
        text = str(info.value)
        assert text.startswith(f"[CONFIG] CRL {tmp_path / name}: {lead}; oplossing: "), text
        assert "de instelling crl" in text


def test_the_wlz_section_is_refused_in_dutch_with_its_own_section_names() -> None:
    from ieb.errors import ConfigurationError
    from ieb.wlz.settings import parse_wlz_settings

    with pytest.raises(ConfigurationError) as info:
        parse_wlz_settings({"beleid": {"bewaartermijn": 400, "bewaartermijn_dagen": "lang"}, "uplaod": {}})
    text = str(info.value)
    assert (
        "wlz.beleid.bewaartermijn: onbekende sleutel, bedoelt u 'bewaartermijn_dagen'? (toegestaan in [wlz.beleid]:"
        in text
    )
    assert "wlz.beleid.bewaartermijn_dagen: geef een geheel getal van hoogstens 36600" in text
    assert "wlz.uplaod: onbekende sleutel, bedoelt u 'upload'? (toegestaan in [wlz]: upload," in text
    assert not ENGLISH.search(text), text


def test_init_without_gemeente_says_gemeenten_is_still_to_fill_in(tmp_path: Path) -> None:
    """``ieb init`` without --gemeente writes ``gemeenten = []``; its last line said only
    "vul organisatie en ggk in", and ``ieb plan`` then refused every row."""
    bare = runner.invoke(app, ["init", "--dir", str(tmp_path / "a")])
    assert bare.exit_code == 0, bare.output
    assert "(vul gemeenten (of geef --gemeente), organisatie en ggk in)" in bare.output
    named = runner.invoke(app, ["init", "--dir", str(tmp_path / "b"), "-g", "0363"])
    assert named.exit_code == 0 and "(vul organisatie en ggk in)" in named.output


def test_init_simulator_without_gemeente_says_what_is_missing(tmp_path: Path) -> None:
    """`ieb init --simulator` alone said "Ongeldige waarde voor --gemeente: noem minstens één
    --gemeente": no value was given at all, so nothing was invalid."""
    result = runner.invoke(app, ["init", "--simulator", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "Ongeldige waarde" not in result.output
    assert "fout: --gemeente: ontbreekt:" in result.output and "--gemeente 0363" in result.output
    assert not (tmp_path / "ieb.toml").exists()
