"""``ieb validate MAP`` (the quick walk of ieb.cli._validate_core, issue 22) on a folder with
hostile entries: a symbolic link that loops (``b.xml -> b.xml``), links to a device and to a missing
file, a fifo and a folder link. The walk skips what is not a regular file, as ``Path.rglob`` and
``Path.is_file`` did before it (``is_file`` is False for a link loop); it raised ``OSError: Too
many levels of symbolic links`` as a traceback. Nothing hangs (the fifo is never opened)."""

from __future__ import annotations

import io
import os
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from ieb.cli import _validate_core as core

SAMPLE = Path(__file__).resolve().parent.parent / "core" / "samples" / "valid" / "wmo401-start.xml"


@pytest.mark.skipif(os.name == "nt", reason="symbolic links and fifos as on POSIX")
def test_a_folder_with_link_loops_and_special_files(tmp_path: Path) -> None:
    folder = tmp_path / "map"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "a.xml")
    shutil.copy(SAMPLE, folder / "sub" / "c.xml")
    (folder / "b.xml").symlink_to("b.xml")  # a loop
    (folder / "sub" / "lus.XML").symlink_to("../sub/lus.XML")
    (folder / "d.xml").symlink_to("/dev/null")
    (folder / "weg.xml").symlink_to("bestaat-niet.xml")
    (folder / "terug").symlink_to(".")
    os.mkfifo(folder / "f.xml")
    files = core.collect_paths([folder])
    assert files == [str(folder / "a.xml"), str(folder / "sub" / "c.xml")]
    rglob = sorted(q for q in folder.rglob("*") if q.suffix.lower() == ".xml" and q.is_file())
    assert files == [str(q) for q in rglob]
    out = io.StringIO()
    with redirect_stdout(out):
        code = core.run([folder], format="json", today="2026-06-01")
    assert code == 0
    assert out.getvalue().count('"valid": true') == 2


@pytest.mark.skipif(os.name == "nt", reason="file names of any bytes as on POSIX")
@pytest.mark.parametrize("format", ["text", "junit"])
def test_a_file_name_with_a_newline_or_undecodable_bytes_is_shown_on_one_line(
    tmp_path: Path, format: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A name with a line break cannot forge a line of the report (``GELDIG ...``), and a name that
    is not UTF-8 (a surrogate in Python) does not stop the report on a strict UTF-8 stdout (a
    traceback before): such characters are shown escaped (``\\n``, ``\\xff``). JSON keeps the name
    exactly (its contract)."""
    import sys

    folder = tmp_path / "map"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "a\nGELDIG.xml")
    shutil.copy(SAMPLE, os.fsencode(folder) + b"/b\xff\x01.xml")
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n")
    old = sys.stdout
    sys.stdout = strict
    try:
        code = core.run([folder], format=format, today="2026-06-01")
        strict.flush()
        out = strict.buffer.getvalue().decode()  # type: ignore[attr-defined]
    finally:
        sys.stdout = old
    assert code == 0
    assert "a\\nGELDIG.xml" in out and "b\\xff\\x01.xml" in out
    if format == "text":
        assert [line.split()[0] for line in out.splitlines()[:-1]] == ["GELDIG", "GELDIG"]
    else:
        from lxml import etree

        names = [t.get("name") for t in etree.fromstring(out.encode()).iter("testcase")]
        assert names == [f"{folder}/a\\nGELDIG.xml", f"{folder}/b\\xff\\x01.xml"]


@pytest.mark.skipif(os.name == "nt", reason="file names of any bytes as on POSIX")
def test_json_with_a_file_name_of_undecodable_bytes_is_utf8_and_keeps_the_name(
    tmp_path: Path,
) -> None:
    """``--format json`` on a name that is not UTF-8 (found by a trial run over a CI folder): it
    stopped with a UnicodeEncodeError traceback on a strict UTF-8 stdout (``PYTHONIOENCODING=utf-8``)
    and wrote a raw byte, a document ``json.loads`` refused, on the usual one. Now the surrogate is
    a JSON escape: valid UTF-8, and the exact bytes of the name come back with ``os.fsencode``."""
    import json
    import sys

    folder = tmp_path / "map"
    folder.mkdir()
    name = os.fsencode(folder) + b"/latin1-\xe9.xml"
    shutil.copy(SAMPLE, name)
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n")
    old = sys.stdout
    sys.stdout = strict
    try:
        code = core.run([folder], format="json", today="2026-06-01")
        strict.flush()
        raw = strict.buffer.getvalue()  # type: ignore[attr-defined]
    finally:
        sys.stdout = old
    assert code == 0
    report = json.loads(raw.decode("utf-8"))  # strict: valid UTF-8
    assert b"\\udce9" in raw
    assert [os.fsencode(f["path"]) for f in report["files"]] == [name]
    assert report["summary"] == {"files": 1, "valid": 1, "invalid": 0}


def test_json_safe_leaves_text_without_surrogates_alone() -> None:
    text = '{"path": "één\\n.xml", "message": "\\u00eb"}'
    assert core.json_safe(text) is text
    assert core.json_safe('"a\udcffb"') == '"a\\udcffb"'


@pytest.mark.skipif(os.name == "nt", reason="fifos as on POSIX")
def test_a_fifo_given_by_name_is_refused_as_not_a_file_not_as_missing(tmp_path: Path) -> None:
    """``ieb validate fifo.xml`` said "bestaat niet" for a name that exists (trial run); a name that
    is there but is no regular file or folder gets its own message, a missing one keeps its own."""
    os.mkfifo(tmp_path / "f.xml")
    with pytest.raises(core.Usage, match="is geen gewoon bestand of map"):
        core.collect_paths([tmp_path / "f.xml"])
    with pytest.raises(core.Usage, match="bestaat niet"):
        core.collect_paths([tmp_path / "weg.xml"])
