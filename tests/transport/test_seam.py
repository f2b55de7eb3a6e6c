"""Issue 19 item 4: the transport seam (protocol, outbox store, sender pool) knows nothing of
StUF-GGk, so a Digikoppeling REST transport can be added without touching them."""

from __future__ import annotations

import ast
from pathlib import Path

import ieb.transport
from tests.migrated import migrated_sqlite_url

SEAM = ("base.py", "outbox.py", "sender.py")
STUF_GGK = (
    "ieb.ggk",
    "ieb.transport.client",
    "ieb.transport.server",
    "ieb.transport.wssec",
    "ieb.transport.faults",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):  # inside functions too
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_the_seam_imports_no_stuf_ggk_module() -> None:
    folder = Path(ieb.transport.__file__).parent
    for name in SEAM:
        bad = {m for m in _imports(folder / name) if m.startswith(STUF_GGK)}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_a_plain_function_is_a_transport_and_gets_a_neutral_result(tmp_path: Path) -> None:
    from ieb.transport.base import Delivered
    from ieb.transport.outbox import Outbox, open_ledger
    from ieb.transport.sender import Sender

    engine = open_ledger(migrated_sqlite_url(tmp_path / "seam.sqlite"))
    try:
        box = Outbox(engine)
        box.enqueue(b"any bytes, any protocol", referentienummer="ref-1", afzender="0363", functie="REST")
        seen: list[bytes] = []

        def rest(message: bytes) -> Delivered:
            seen.append(message)
            return Delivered(reference="ref-1", status=202, seconds=0.0)

        result = Sender(box, rest).drain(workers=1, timeout=30)
        assert result.acknowledged == 1 and seen == [b"any bytes, any protocol"]
    finally:
        engine.dispose()
