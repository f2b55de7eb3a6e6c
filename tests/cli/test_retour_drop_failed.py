"""``ieb retour --drop-failed REF``: a retour kept as failed that can never succeed (broken XML) was
tried by every ``--retry-failed`` forever and no command took it out. Dropping is explicit, per
referentienummer, only for a ``failed`` entry, reported per line and audited with the reason, size
and SHA-256 of what was dropped."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ieb.cli import _retour_core as core
from ieb.cli import app
from ieb.store.schema import audit, inbox

BROKEN = b"<wmo402:Bericht"


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(database path, referentienummer) after `ieb retour kapot.retour.xml` kept it as failed."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    (tmp_path / "kapot.retour.xml").write_bytes(BROKEN)
    db = str(tmp_path / "g.sqlite")
    with contextlib.redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        assert core.run(["kapot.retour.xml"], db=db) == 1
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        (ref,) = conn.execute(sa.select(inbox.c.referentienummer).where(inbox.c.status == "failed")).scalars()
    engine.dispose()
    return db, ref


def _rows(db: str) -> tuple[list[str], list[tuple[str | None, str | None, str | None]]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        refs = list(conn.execute(sa.select(inbox.c.referentienummer)).scalars())
        events = [
            (r.referentienummer, r.outcome, r.detail)
            for r in conn.execute(sa.select(audit).where(audit.c.outcome == "dropped"))
        ]
    engine.dispose()
    return refs, events


def test_a_broken_retour_fails_on_every_retry_and_the_retry_names_the_way_out(kept: tuple[str, str]) -> None:
    db, ref = kept
    for _ in range(2):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), contextlib.redirect_stderr(err):
            assert core.run([], retry_failed=True, db=db) == 1
        assert out.getvalue().startswith(f"{ref}: niet verwerkt")
        assert err.getvalue().splitlines() == [core.DROP_NOTE]
    assert "--drop-failed" in core.DROP_NOTE


def test_drop_failed_takes_it_out_reports_and_audits(kept: tuple[str, str]) -> None:
    db, ref = kept
    result = CliRunner().invoke(
        app,
        ["retour", "--drop-failed", ref, "--drop-failed", "bestand-00ff", "--db", db],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1, result.output  # one of the two was not there
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith(f"{ref}: weggehaald (was: kapot.retour.xml: ")
        and "geen geldige retour" in lines[0]
    )
    assert lines[1] == "bestand-00ff: niet weggehaald: staat niet in de inbox"
    refs, events = _rows(db)
    assert ref not in refs
    ((audited, outcome, detail),) = events
    assert (audited, outcome) == (ref, "dropped")
    assert (
        detail is not None and f"{len(BROKEN)} bytes, sha256 {hashlib.sha256(BROKEN).hexdigest()}" in detail
    )
    # nothing is left to retry: the retry ends at once, without a line
    out = io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert core.run([], retry_failed=True, db=db) == 0
    assert out.getvalue() == ""


def test_only_a_failed_entry_is_dropped(kept: tuple[str, str]) -> None:
    db, ref = kept
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.update(inbox).values(status="processed"))
    engine.dispose()
    out = io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert core.run([], drop_failed=[ref, ref], db=db) == 1
    assert out.getvalue().splitlines() == [f"{ref}: niet weggehaald: is niet mislukt (status processed)"]
    refs, events = _rows(db)
    assert ref in refs and events == []


def test_drop_failed_alone_is_a_complete_command_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["retour", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and "--drop-failed" in result.output
    assert "fout: BESTANDEN: ontbreekt: " in result.output and "Ongeldige waarde" not in result.output
