"""Every example input in docs/examples/ is run by the documentation tests (docs/cli.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def test_every_example_file_is_run_by_a_docs_block() -> None:
    blocks = "\n".join(
        re.findall(
            r"^```python\n(.*?)^```", (ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), re.S | re.M
        )
    )
    files = [p.name for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith("bijdrage-")]
    assert files
    missing = [name for name in files if f'"{name}"' not in blocks]
    assert not missing, f"example files not run by docs/cli.md: {missing}"
