"""Every ```python block in README.md and docs/*.md runs (blocks of one page share a namespace)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: p.name)
def test_page_snippets_run(page: Path, tmp_path: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for number, block in enumerate(_blocks(page), start=1):
            code = compile(block, f"{page.name}[block {number}]", "exec")
            exec(code, namespace)  # the documentation is ours
    finally:
        os.chdir(cwd)


def test_public_api_is_small_and_explicit() -> None:
    import ieb

    assert ieb.__all__ == sorted(ieb.__all__, key=lambda n: (n != "__version__", n))
    assert set(ieb.__all__) == {
        "__version__",
        "Bsn",
        "Exchange",
        "Gemeentecode",
        "IebError",
        "Issue",
        "Message",
        "MessageInvalidError",
        "Report",
        "RetourCode",
        "StatusAanlevering",
        "Wmo401",
        "Wmo402",
        "Wmo403",
        "Wmo404",
        "from_xml",
        "get_release",
        "mask_bsn",
        "register_folder",
        "to_xml",
        "validate_bytes",
        "validate_file",
    }
    for name in ieb.__all__:
        assert getattr(ieb, name) is not None
    with pytest.raises(AttributeError):
        ieb.nonexistent  # noqa: B018


TEXT_BLOCK = re.compile(r"^```text\n(.*?)^```", re.S | re.M)
DUTCH_PAGES = [ROOT / "docs" / "index.md", ROOT / "docs" / "aan-de-slag.md"]


def _ieb_lines(page: Path) -> list[list[str]]:
    import shlex

    lines = []
    for block in TEXT_BLOCK.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            words = shlex.split(line.split("#", 1)[0].rstrip(" &"))
            if words and words[0].endswith("ieb") and len(words) > 1:
                lines.append(words[1:])
    return lines


@pytest.mark.parametrize("page", DUTCH_PAGES, ids=lambda p: p.name)
def test_every_command_on_the_getting_started_pages_exists_with_its_options(page: Path) -> None:
    """What the applicatiebeheerder copies from "Aan de slag" is a real command with real options."""
    import typer.main

    from ieb.cli import app

    root = typer.main.get_command(app)
    for words in _ieb_lines(page):
        command: object = root
        rest = list(words)
        while rest and rest[0] in getattr(command, "commands", {}):
            command = command.commands[rest.pop(0)]  # type: ignore[attr-defined]
        assert command is not root or rest[0] == "--version", words
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}  # type: ignore[attr-defined]
        for word in rest:
            if word.startswith("-"):
                assert word.split("=", 1)[0] in known, (words, word)


def test_the_site_has_a_dutch_home_page_and_getting_started_first_in_the_menu() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:") :]
    assert nav.index("index.md") < nav.index("aan-de-slag.md") < nav.index("conformance.md")
    home = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "[Aan de slag](aan-de-slag.md)" in home
    steps = (ROOT / "docs" / "aan-de-slag.md").read_text(encoding="utf-8")
    for step in ("ieb init", "ieb plan gewenst.csv --queue", "ieb status", "ieb report", "afwijst"):
        assert step in steps


@pytest.mark.slow  # a full site build, about 5 s
def test_the_site_builds_strict_without_a_warning(tmp_path: Path) -> None:
    """`mkdocs build --strict` as .ci/run runs it, but without -q: with -q mkdocs 1.6 does not count
    its own warnings (a broken link in cli.md passed for months)."""
    import subprocess
    import sys

    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING" not in run.stderr, run.stderr[-3000:]
