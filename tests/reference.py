"""Where the tests find the published reference schemas (one place for the whole suite).

``$IEB_REFERENCE_DIR`` when set, else ``shared/reference`` beside the checkout (``../shared/reference``
seen from the project root). The files are read from there, never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("IEB_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
IEB_REFERENCE = REFERENCE / "ieb-1.0"
GGK_REFERENCE = REFERENCE / "ggk-0210"
RAPPORT_REFERENCE = REFERENCE / "validatie-rapport-1.1"

#: the reason a test skips without them: where they were looked for and how to point elsewhere
MISSING = f"published reference files not found in {REFERENCE} (set IEB_REFERENCE_DIR)"
