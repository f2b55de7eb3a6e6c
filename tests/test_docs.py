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
