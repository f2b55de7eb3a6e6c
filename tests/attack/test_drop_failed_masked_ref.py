"""Attack on ``ieb retour --drop-failed REF``: REF is "the referentienummer ``ieb status`` lists
under 'Mislukte retouren (inbox)'" (docs/ledger.md), but ``ieb status`` masks every run in it that
may be a BSN (``bestand-3f9a******782bc...``: 1-2 % of kept retour files, and a peer's
referentienummer alike). Such a REF, copied from the status, was "staat niet in de inbox": that
retour could never be dropped, and was tried again by every ``--retry-failed``. Now a REF with
``*`` is matched against the masked referentienummers of the failed entries; exactly one match is
dropped, several are refused naming the count."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ieb.cli import _retour_core as core
from ieb.cli import app
from ieb.exchange.retours import Retours
from ieb.store.db import open_database
from ieb.store.schema import audit, inbox
from ieb.types import mask_bsns


def _masked_contents(count: int) -> list[bytes]:
    """Broken retour files whose ``bestand-`` reference prints masked."""
    found: list[bytes] = []
    k = 0
    while len(found) < count:
        data = b"<kapot nummer='%d'" % k
        ref = "bestand-" + hashlib.sha256(data).hexdigest()[:28]
        if mask_bsns(ref) != ref:
            found.append(data)
        k += 1
    return found


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    path = str(tmp_path / "g.sqlite")
    engine = open_database(path)
    retours = Retours.of_engine(engine)
    for i, data in enumerate([*_masked_contents(1), b"<ook kapot"]):
        retours.store_failed_file(f"kapot-{i}.xml", data, "geen geldige retour")
    engine.dispose()
    return path


def _twin(ref: str) -> str:
    """Another reference that masks to what ``ref`` masks to (other digits under the ``*``)."""
    masked = mask_bsns(ref)
    first = masked.index("*")
    stars = masked.count("*")
    run = len(ref) - (len(masked) - stars)  # the masked run's length in ``ref``
    for k in range(10**6):
        digits = str(k * 7919 % 10**run).zfill(run)
        twin = ref[:first] + digits + ref[first + run :]
        if twin != ref and mask_bsns(twin) == masked:
            return twin
    raise AssertionError("no twin")


def _refs(db: str) -> tuple[list[str], list[str]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        refs = list(conn.execute(sa.select(inbox.c.referentienummer).order_by(inbox.c.id)).scalars())
        dropped = list(
            conn.execute(sa.select(audit.c.referentienummer).where(audit.c.outcome == "dropped")).scalars()
        )
    engine.dispose()
    return refs, dropped


def test_the_ref_as_ieb_status_shows_it_is_dropped(db: str) -> None:
    refs, _ = _refs(db)
    status = CliRunner().invoke(app, ["status", "--db", db], env={"COLUMNS": "200"})
    shown = [line.split(":")[0].strip() for line in status.stdout.splitlines() if "bestand-" in line]
    masked = mask_bsns(refs[0])
    assert "*" in masked and masked in shown, status.stdout  # what the clerk sees and copies
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert core.run([], drop_failed=[masked], db=db) == 0, out.getvalue()
    assert out.getvalue().startswith(f"{masked}: weggehaald (was: ")
    left, dropped = _refs(db)
    assert left == refs[1:] and dropped == [refs[0]]  # that one, audited by its full reference


def test_a_masked_ref_matching_several_failed_entries_drops_none(db: str, tmp_path: Path) -> None:
    refs, _ = _refs(db)
    engine = open_database(db)
    twin = _twin(refs[0])  # another entry with the same masked form
    with engine.begin() as conn:
        row = conn.execute(sa.select(inbox).where(inbox.c.referentienummer == refs[0])).one()
        values = {c: v for c, v in row._mapping.items() if c != "id"}
        conn.execute(sa.insert(inbox).values(**{**values, "referentienummer": twin}))
    engine.dispose()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert core.run([], drop_failed=[mask_bsns(twin)], db=db) == 1
    assert "niet weggehaald" in out.getvalue() and "2 mislukte retouren" in out.getvalue()
    left, dropped = _refs(db)
    assert sorted(left) == sorted([*refs, twin]) and dropped == []


def test_the_retry_shows_the_reference_as_ieb_status_does(db: str) -> None:
    """``--retry-failed`` printed the referentienummer whole (a peer's may hold a BSN), where
    ``ieb status`` and ``--drop-failed`` mask it; the masked form now works for the drop, so the
    retry line masks it too."""
    refs, _ = _refs(db)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert core.run([], retry_failed=True, db=db) == 1
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [mask_bsns(r) for r in refs]
    assert refs[0] not in out.getvalue()
