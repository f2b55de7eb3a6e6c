"""Every example input in docs/examples/ is run by the documentation tests (docs/cli.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def test_every_example_file_is_run_by_a_docs_block() -> None:
    pages = sorted((ROOT / "docs").glob("*.md"))  # docs/cli.md, and docs/migration.md for migration-*
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    blocks = "\n".join(re.findall(r"^```python\n(.*?)^```", text, re.S | re.M))
    files = [p.name for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith("bijdrage-")]
    assert files
    missing = [name for name in files if f'"{name}"' not in blocks]
    assert not missing, f"example files not run by docs/cli.md: {missing}"
