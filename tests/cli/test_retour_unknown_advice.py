"""A retour on an unknown heenbericht says what the clerk can do (the trial's leftover: it said only
that the retour was not applied). The advice is true: the retour is kept as ``failed`` and the
commands it names take it."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from ieb.cli import _retour_core as core
from ieb.ledger.retour import UNKNOWN_HEENBERICHT_ADVICE
from ieb.store.schema import inbox

SAMPLE = Path(__file__).parents[1] / "core" / "samples" / "valid" / "wmo402-accepted.xml"


def test_the_refusal_names_the_way_out_and_the_way_out_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    (tmp_path / "r.xml").write_bytes(SAMPLE.read_bytes())
    db = str(tmp_path / "leeg.sqlite")  # no heenbericht at all: another gemeente's or database's retour
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert core.run(["r.xml"], db=db) == 1
    (line,) = [x for x in err.getvalue().splitlines() if x.startswith("r.xml: niet verwerkt: ")]
    assert "op een onbekend heenbericht (Afzender 0363, Identificatie AMS-0001" in line, line
    assert line.endswith(UNKNOWN_HEENBERICHT_ADVICE), line
    for part in (
        "deze gemeente en deze database",
        "bewaren hem als mislukt",
        "`ieb retour --retry-failed` zodra het heenbericht bekend is",
        "`ieb retour --drop-failed REFERENTIENUMMER`",
        "docs/ledger.md",
    ):
        assert part in line, part
    assert line.count("r.xml") == 1  # (named once: tests/cli/test_problem_lines_once.py)
    docs = (Path(__file__).parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8")
    assert "### Een retour op een onbekend heenbericht" in docs

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        kept = conn.execute(sa.select(inbox.c.referentienummer, inbox.c.status, inbox.c.error)).all()
    engine.dispose()
    assert [(status, UNKNOWN_HEENBERICHT_ADVICE in (error or "")) for _, status, error in kept] == [
        ("failed", True)
    ]
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(out):
        assert core.run([], retry_failed=True, db=db) == 1  # still unknown: still failed, same advice
        assert core.run([], drop_failed=[kept[0][0]], db=db) == 0
    assert UNKNOWN_HEENBERICHT_ADVICE in out.getvalue() and f"{kept[0][0]}: weggehaald" in out.getvalue()
