"""Opening the ledger and starting ``ieb retour`` (issue 22, B2 round 5).

* The schema check reads the known revisions from the migration files once per process instead of
  loading them through alembic on every open; what it reads must be exactly what alembic reads, and
  anything it does not understand must fall back to alembic.
* A database at the head revision is opened without importing alembic; an older or newer one still
  takes the alembic path (upgraded, or refused).
* ``ieb retour FILE`` imports neither the transport (requests, cheroot, zeep), nor alembic, nor the
  planner.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from ieb.ledger.errors import DatabaseVersionError
from ieb.ledger.planner import Period, plan
from ieb.ledger.store import Ledger
from ieb.releases import get_release
from ieb.releases.pack import RetourRequest
from ieb.store import db
from tests.ledger.conftest import GEMEENTEN

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2024, 6, 15)
BSN = "999900006"


def _alembic_facts() -> tuple[frozenset[str], str | None]:
    script = ScriptDirectory.from_config(db._alembic_config())
    return frozenset(r.revision for r in script.walk_revisions()), script.get_current_head()


def test_known_revisions_are_alembics() -> None:
    assert db.known_revisions() == _alembic_facts()


def _copy_migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(db._MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "_MIGRATIONS", copy)
    return copy / "versions"


def _add(versions: Path, name: str, revision: str, down: str, extra: str = "") -> None:
    (versions / f"{name}.py").write_text(
        f'"""test migration"""\n\nrevision = "{revision}"\ndown_revision = {down}\n'
        f"branch_labels = None\ndepends_on = None\n{extra}\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )


def test_a_new_migration_file_is_seen_and_matches_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = _copy_migrations(tmp_path, monkeypatch)
    before = db.known_revisions()
    assert before is not None
    _add(versions, "0099_test", "0099_test", f'"{before[1]}"')
    after = db.known_revisions()
    assert after is not None and after[1] == "0099_test"
    assert after == _alembic_facts()


@pytest.mark.parametrize(
    ("down", "extra"),
    [
        ('("0008_logboek", "0009_afzender_release")', ""),  # a merge: only alembic can tell
        ('"0008_logboek"', ""),  # two heads
        ('"0009_afzender_release"', 'branch_labels = ("x",)'),  # a label
        ('"0000_missing"', ""),  # points to a revision that does not exist
    ],
)
def test_anything_unusual_falls_back_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, down: str, extra: str
) -> None:
    versions = _copy_migrations(tmp_path, monkeypatch)
    _add(versions, "0099_test", "0099_test", down, extra)
    assert db.known_revisions() is None


def _retour_setup(where: Path) -> tuple[str, Path]:
    """A SQLite ledger with one pending WMO401 and the file of its accepted WMO402."""
    url = f"sqlite:///{where / 'ledger.sqlite'}"
    ledger = Ledger.open(url)
    planned = plan(ledger, "0363", {BSN: [Period(dt.date(2024, 3, 1))]}, today=DAY, gemeenten=GEMEENTEN)
    ledger.close()
    (message,) = planned.messages
    pack = get_release("ieb-1.0")
    from lxml import etree

    root = etree.fromstring(message.xml)
    head = {
        etree.QName(e).localname: (e.text or "").strip()
        for e in root.iter()
        if isinstance(e.tag, str)
        and etree.QName(e).localname
        in ("Afzender", "Identificatie", "Dagtekening", "BasisschemaXsdVersie", "BerichtXsdVersie")
    }
    assert pack.retour_writer is not None
    data = pack.retour_writer(RetourRequest(pack.retour_of(message.bericht), head, "R1", DAY))
    path = where / "retour.xml"
    path.write_bytes(data)
    return url, path


_PROBE = """
import json, sys
from ieb.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
names = ("requests", "zeep", "cheroot", "alembic", "ieb.ledger.planner", "ieb.transport.server", "ieb.ggk")
print(json.dumps({"code": code, "loaded": [n for n in names if n in sys.modules]}), file=sys.stderr)
"""


def _run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("IEB_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return done, json.loads(done.stderr.strip().splitlines()[-1])


def test_ieb_retour_loads_no_transport_alembic_or_planner(tmp_path: Path) -> None:
    url, path = _retour_setup(tmp_path)
    done, probe = _run(["retour", str(path), "--db", url], tmp_path)
    assert probe == {"code": 0, "loaded": []}, done.stderr
    assert "geaccepteerd" in done.stdout
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT outcome FROM deliveries")).scalar() == "accepted"
    again, probe = _run(["retour", str(path), "--db", url], tmp_path)  # the same file: a duplicate
    assert probe == {"code": 0, "loaded": []}, again.stderr
    assert "duplicate" in again.stdout or "dubbel" in again.stdout, again.stdout


def test_an_older_database_is_still_upgraded_and_a_newer_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Ledger.open(url).close()
    with sa.create_engine(url).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(DatabaseVersionError, match="9999_future"):
        Ledger.open(url)
    empty = f"sqlite:///{tmp_path / 'new.sqlite'}"
    ledger = Ledger.open(empty)  # no alembic_version yet: created through alembic
    ledger.close()
    assert db.schema_revision(sa.create_engine(empty)) == db.head_revision()


def test_chunk_persons_default_is_the_planners() -> None:
    import ieb.exchange
    from ieb.exchange.desired import CHUNK_PERSONS

    assert ieb.exchange._CHUNK_PERSONS == CHUNK_PERSONS


def test_the_plain_head_read_still_refuses_a_foreign_database(db_url: str) -> None:
    """Round 7: the head check is one read on the driver's connection. A database with ieb's tables
    but without ``alembic_version`` (the read fails: on PostgreSQL inside the driver's transaction,
    which must not leak into the alembic path) is refused as foreign and left alone; one with two
    version rows is not "at head" and goes to alembic, which refuses the unknown one."""
    Ledger.open(db_url).close()
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('9999_other')"))
        with pytest.raises(DatabaseVersionError, match="9999_other"):
            Ledger.open(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE alembic_version"))
        with pytest.raises(DatabaseVersionError, match="foreign database"):
            Ledger.open(db_url)
        with engine.connect() as conn:
            assert "deliveries" in sa.inspect(conn).get_table_names()
            assert "alembic_version" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
