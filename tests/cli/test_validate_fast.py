"""``ieb validate`` without typer (ieb.cli._validate_core, issue 22) gives the same bytes as before.

* the arguments: for every command line the quick reader accepts, typer reads the same values
  (hypothesis over a grammar of options, values and paths); a line it does not accept goes to typer;
* the outputs: on a mixed folder (valid, invalid, XSD errors, a BOM, no XML, a file over 25 MB, a
  StUF-GGk envelope, upper-case names, subfolders, links) ``text``, ``json`` and ``junit`` are byte
  for byte what the previous implementation wrote (kept below as the reference: ``Path.rglob``,
  ``validate_file`` per file, one write per file);
* the process: ``ieb validate ...`` through :func:`ieb.cli.main` (quick) and through typer give the
  same stdout, stderr and exit code, usage errors included.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st

import ieb.ggk as ggk
from ieb.cli import _validate_core as core
from ieb.cli import app

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
TODAY = dt.date(2026, 6, 1)


# ------------------------------------------------------------------------------------ arguments

_OPTION_VALUES = {
    "--format": ["text", "json", "junit", "rapport", "xml", "=json"],
    "--today": ["2026-06-01", "2026-6-1", "gisteren"],
    "--gemeenten": ["g.csv", "map/g.csv"],
    "--release-dir": ["r1", "r2"],
    "--revision": ["1.0.2", "1.0.3"],
    "--heen": ["heen.xml"],
    "--rapport-dir": ["rap"],
    "--release": ["ieb-1.0", "ieb-4.0"],
    "--dvs": ["http://localhost:1/"],
}


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    args: list[str] = []
    for _ in range(draw(st.integers(0, 7))):
        kind = draw(st.sampled_from(["path", "option", "option=", "short", "shortjoined", "flag", "odd"]))
        if kind == "path":
            args.append(draw(st.sampled_from(["a.xml", "map", "b c.XML", "./x.xml", "map/", "é.xml"])))
        elif kind in ("option", "option="):
            name = draw(st.sampled_from(sorted(_OPTION_VALUES)))
            value = draw(st.sampled_from(_OPTION_VALUES[name]))
            args += [f"{name}={value}"] if kind == "option=" else [name, value]
        elif kind == "short":
            args += ["-f", draw(st.sampled_from(_OPTION_VALUES["--format"]))]
        elif kind == "shortjoined":
            args.append("-f" + draw(st.sampled_from(_OPTION_VALUES["--format"])))
        elif kind == "flag":
            args.append("--allow-empty")
        else:
            args.append(
                draw(
                    st.sampled_from(
                        [
                            "--",
                            "-",
                            "--help",
                            "-h",
                            "--allow-empty=1",
                            "--todya",
                            "--format",
                            "-f",
                            "-x",
                            "",
                            "--release-dir=",
                            "--today=-1",
                        ]
                    )
                )
            )
    return args


def _typer_params(args: list[str]) -> dict[str, Any] | None:
    """What typer gives the validate command for ``args`` (None when it refuses them)."""
    command = typer.main.get_command(app).commands["validate"]  # type: ignore[attr-defined]
    try:
        ctx = command.make_context("validate", list(args))
    except BaseException:  # a usage error (click's exceptions, typer.Exit)  # noqa: BLE001
        return None
    params = dict(ctx.params)
    params["release_dir"] = list(params["release_dir"]) or None
    return params


_DEFAULTS: dict[str, Any] = {
    "format": "text",
    "today": None,
    "gemeenten": None,
    "release_dir": None,
    "allow_empty": False,
    "revision": None,
    "heen": None,
    "rapport_dir": None,
    "release": None,
    "dvs": None,
}


@settings(max_examples=400, deadline=None)
@given(_command_lines())
def test_what_the_quick_reader_accepts_typer_reads_the_same(args: list[str]) -> None:
    quick = core.parse_args(args)
    if quick is None:
        return  # typer reads it (and prints its own usage errors)
    expected = _typer_params(args)
    assert expected is not None, args
    assert {**_DEFAULTS, **quick} == expected, args


@pytest.mark.parametrize(
    "args",
    [
        ["a.xml"],
        ["--format", "json", "a.xml", "b.xml"],
        ["-fjunit", "--today=2026-06-01", "map"],
        ["--release-dir", "r1", "--release-dir=r2", "a.xml", "--allow-empty"],
        ["--", "a.xml"],
        ["--format", "text", "--format", "json", "a.xml"],
        ["-"],  # a path to click too; run refuses it (stdin, exit 2: tests/cli/test_stdin_dash.py)
        ["a.xml", "-", "--format", "json"],
    ],
)
def test_plain_command_lines_are_read_without_typer(args: list[str]) -> None:
    quick = core.parse_args(args)
    assert quick is not None
    assert {**_DEFAULTS, **quick} == _typer_params(args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["a.xml", "-h"],
        ["--todya", "x", "a.xml"],
        ["a.xml", "--today"],
        ["--allow-empty=1", "a"],
    ],
)
def test_other_command_lines_go_to_typer(args: list[str]) -> None:
    assert core.parse_args(args) is None


# -------------------------------------------------------------------- the reference (before issue 22 round 4)


def _old_collect(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() == ".xml" and q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise AssertionError(p)
    return list(dict.fromkeys(files))


def _old_results(files: list[Path]) -> list[dict[str, Any]]:
    from ieb.conformance.verdict import envelope_result, is_envelope
    from ieb.releases import default_registry
    from ieb.validation import validate_file

    results: list[dict[str, Any]] = []
    for f in files:
        report = validate_file(f, today=TODAY, gemeenten=None, registry=default_registry, revision=None)
        if report.bericht is None and is_envelope(report.root):
            results.append(
                envelope_result(
                    str(f), f.read_bytes(), today=TODAY, gemeenten=None, registry=default_registry
                ).row
            )
        else:
            results.append({"path": str(f), **report.to_dict()})
        note = core._stand_in(results[-1].get("release"), default_registry)
        if note:
            results[-1]["stand_in"] = note
    return results


def _old_text(results: list[dict[str, Any]], summary: dict[str, int], out: io.StringIO) -> None:
    paint = core.Paint(out)
    for r in results:
        release = r["release"] or "onbekende release"
        what = f"{r['bericht'] or '?'} ({release})"
        unread = {"OP179", "OP192", "XML"}
        if r["bericht"] is None and r["issues"] and {i["code"] for i in r["issues"]} <= unread:
            what = "niet gelezen"
        label = paint.green("GELDIG") + "  " if r["valid"] else paint.red("ONGELDIG")
        lines = [f"{label}  {r['path']}  {what}"]
        lines.extend(core._issue_lines(r["issues"], paint))
        payload = r.get("payload")
        if payload is not None:
            if payload["valid"] is None:
                lines.append(f"    inhoud: {payload['note']}")
            else:
                state = "geldig" if payload["valid"] else "ONGELDIG"
                inner = f"{payload['bericht'] or '?'} ({payload['release'] or 'onbekende release'})"
                lines.append(f"    inhoud: {inner} {state}")
                lines.extend(core._issue_lines(payload["issues"], paint, indent="      "))
        out.write("\n".join(lines) + "\n")
    notes = [(r["stand_in"], r["release"]) for r in results if r.get("stand_in")]
    for note, release in dict.fromkeys(notes):  # each note once (issue: it was under every file)
        out.write(f"let op: {note} ({release}: {notes.count((note, release))} bestand(en))\n")
    out.write(
        f"{summary['files']} bestand(en) gecontroleerd: {summary['valid']} geldig, {summary['invalid']} ongeldig\n"
    )


def _old_output(paths: list[Path], format: str) -> tuple[str, int]:
    results = _old_results(_old_collect(paths))
    valid = sum(1 for r in results if r["valid"])
    summary = {"files": len(results), "valid": valid, "invalid": len(results) - valid}
    out = io.StringIO()
    if format == "json":
        out.write(json.dumps({"files": results, "summary": summary}, ensure_ascii=False, indent=2) + "\n")
    elif format == "junit":
        out.write(core.junit(results))
    else:
        _old_text(results, summary, out)
    return out.getvalue(), 0 if summary["invalid"] == 0 else 1


def _mixed_folder(root: Path) -> Path:
    """Valid and invalid files, a BOM, no XML, a sparse file over 25 MB, envelopes, odd names."""
    folder = root / "berichten"
    (folder / "sub" / "diep").mkdir(parents=True)
    (folder / "a-b").mkdir()
    (folder / "a").mkdir()
    start = (SAMPLES / "valid/wmo401-start.xml").read_bytes()
    for n in range(30):
        (folder / f"v{n:02d}.xml").write_bytes(start)
    for sample in sorted((SAMPLES / "valid").glob("*.xml"))[:8]:
        shutil.copy(sample, folder / "sub" / sample.name.upper().replace(".XML", ".Xml"))
    for sample in sorted((SAMPLES / "invalid").glob("*.xml")):
        shutil.copy(sample, folder / "sub" / "diep" / sample.name)
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", folder / "a-b" / "x.xml")
    shutil.copy(SAMPLES / "invalid/cs002-bsn-11proef.xml", folder / "a" / "x.XML")
    (folder / "bom.xml").write_bytes(b"\xef\xbb\xbf" + start)
    (folder / "tekst.xml").write_bytes(b"dit is geen xml")
    (folder / "leeg.xml").write_bytes(b"")
    (folder / ".verborgen.xml").write_bytes(start)
    (folder / ".xml").write_bytes(start)  # no suffix: not an .xml file
    (folder / "notities.txt").write_text("geen xml")
    with open(folder / "groot.xml", "wb") as big:  # sparse: over 25 MB, never read
        big.truncate(26 * 1024 * 1024)
    (folder / "map.xml").mkdir()  # a folder named like a file
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", folder / "map.xml" / "binnen.xml")
    envelope = ggk.build(ggk.new_di01(start, "WMO401", "0363", tijdstip=dt.datetime(2026, 5, 20, 10, 0)))
    (folder / "envelop.xml").write_bytes(envelope)
    bad = (SAMPLES / "invalid/cs002-bsn-11proef.xml").read_bytes()
    bad_envelope = ggk.build(ggk.new_di01(bad, "WMO401", "0363", tijdstip=dt.datetime(2026, 5, 20, 10, 0)))
    (folder / "envelop-fout.xml").write_bytes(bad_envelope)
    if hasattr(os, "symlink"):
        os.symlink(folder / "v00.xml", folder / "link.xml")
        os.symlink(folder / "sub", folder / "linkmap")  # a link to a folder: not followed
        os.symlink(folder / "bestaat-niet.xml", folder / "kapot.xml")
    return folder


@pytest.mark.parametrize("format", ["text", "json", "junit"])
def test_outputs_are_byte_for_byte_the_previous_ones(tmp_path: Path, format: str) -> None:
    folder = _mixed_folder(tmp_path)
    roots = [folder, folder / "v03.xml", folder / "sub"]  # a file twice: counted once
    want, want_code = _old_output(roots, format)
    out = io.StringIO()
    with redirect_stdout(out):
        code = core.run(roots, format=format, today=TODAY.isoformat())
    assert out.getvalue() == want
    assert code == want_code == 1
    assert "groot.xml" in want and "envelop.xml" in want and "binnen.xml" in want


def test_the_walk_finds_what_rglob_found(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    for roots in ([folder], [folder / "sub", folder], [Path(os.path.relpath(folder))]):
        assert core.collect_paths(roots) == [str(p) for p in _old_collect(roots)]
    cwd = Path.cwd()
    try:
        os.chdir(folder)
        assert core.collect_paths([Path(".")]) == [str(p) for p in _old_collect([Path(".")])]
    finally:
        os.chdir(cwd)


def test_a_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(SAMPLES / "valid/wmo401-start.xml", folder / "a.xml")
    with pytest.raises(core.Usage) as caught:
        core.validate_files([str(folder / "weg.xml")], TODAY, None, _registry(), None)
    assert caught.value.option == "PAD" and "weg.xml is niet te lezen" in caught.value.message


def _registry() -> Any:
    from ieb.releases import default_registry

    return default_registry


# ------------------------------------------------------------------------------------- processes


def _process(args: list[str], cwd: Path, quick: bool) -> tuple[int, str, str]:
    """``ieb ARGS`` in a fresh interpreter, through main() (quick) or through typer."""
    if quick:
        script = "import sys; from ieb.cli import main; sys.argv = ['ieb', *sys.argv[1:]]; main()"
    else:
        script = (
            "import sys; from ieb.cli import app; sys.argv = ['ieb', *sys.argv[1:]]; app(prog_name='ieb')"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("IEB_CONFIG", "IEB_DVS_URL")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, cwd=cwd, env=env, timeout=120, check=False
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--today", "2026-06-01", "berichten"],
        ["validate", "-fjson", "--today=2026-06-01", "berichten/sub", "berichten/v01.xml"],
        ["validate", "--format", "junit", "--today", "2026-06-01", "--release", "ieb-4.0", "berichten/sub"],
        ["validate", "--today", "2026-13-01", "berichten"],
        ["validate", "--format", "yaml", "berichten"],
        ["validate", "berichten/weg.xml"],
        ["validate", "--release", "ieb-9.9", "berichten/v01.xml"],
        ["validate", "--allow-empty", "leeg"],
        ["validate", "leeg"],
        ["validate", "--todya", "2026-06-01", "berichten"],
    ],
)
def test_quick_and_typer_give_the_same_process_output(tmp_path: Path, args: list[str]) -> None:
    _mixed_folder(tmp_path)
    (tmp_path / "leeg").mkdir()
    quick = _process(args, tmp_path, quick=True)
    assert quick == _process(args, tmp_path, quick=False)
    assert quick[0] in (0, 1, 2)
