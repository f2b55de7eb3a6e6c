"""The logboek: who planned, queued or requeued what, when (issue 26 item 3).

One row per ``ieb plan`` (preview runs included, marked ``vastgelegd = false``), ``ieb queue`` and
``ieb requeue``: ``at`` (UTC), ``opdracht`` (``plan``, ``plan --queue``, ``plan --out``, ``queue``,
``requeue``), ``gebruiker`` (the OS user, :func:`getpass.getuser`), ``bestand`` (the file name as
given with BSN-like digit runs masked, may be empty), ``sha256`` (of the file's bytes, empty without a file), ``release``,
``gemeenten`` (comma-separated codes), ``berichten`` (messages planned/queued), ``geweigerd``
(rows or persons refused), ``uitgesteld``, ``uitkomst`` (``ok``, ``deels``, ``mislukt``; ``bezig``
for a streamed ``plan --queue`` that started and never ended: killed after some chunks) and
``toelichting`` (one Dutch line, BSNs masked). The table is :data:`ieb.store.schema.logboek` (created by migration ``0008_logboek``).
``ieb logboek`` shows it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.store.schema import logboek
from ieb.types import mask_bsns

__all__ = ["LogEntry", "file_sha256", "finish_log", "logboek", "read_log", "write_log"]


@dataclass(frozen=True)
class LogEntry:
    """One row of the logboek (see the module docstring for the fields)."""

    id: int
    at: dt.datetime
    opdracht: str
    gebruiker: str
    bestand: str
    sha256: str
    release: str
    gemeenten: str
    berichten: int
    geweigerd: int
    uitgesteld: int
    vastgelegd: bool
    uitkomst: str
    toelichting: str

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready values (``at`` ISO 8601 UTC)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["at"] = self.at.isoformat()
        return out


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 (hex) of a file, read in blocks of 1 MB."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):  # no user name in the environment (a container without passwd entry)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "onbekend"


def write_log(
    engine: Engine,
    *,
    opdracht: str,
    bestanden: Sequence[str | os.PathLike[str]] = (),
    release: str = "",
    gemeenten: Sequence[str] = (),
    berichten: int = 0,
    geweigerd: int = 0,
    uitgesteld: int = 0,
    vastgelegd: bool = False,
    uitkomst: str = "ok",
    toelichting: str = "",
    at: dt.datetime | None = None,
) -> int:
    """Add one row (its own transaction) and return its id. ``bestanden``: the input files (their
    names joined with ``, ``; the hash is that of the one file, or of the hashes of several);
    ``at`` defaults to now (UTC). A file that cannot be read is logged with an empty hash."""
    names = [str(b) for b in bestanden]
    digests = []
    for b in bestanden:
        try:
            digests.append(file_sha256(b))
        except OSError:
            digests.append("")
    digest = (
        digests[0]
        if len(digests) == 1
        else (hashlib.sha256("".join(digests).encode()).hexdigest() if digests else "")
    )
    with engine.begin() as conn:
        return int(
            conn.execute(
                sa.insert(logboek)
                .values(
                    at=at or dt.datetime.now(dt.UTC),
                    opdracht=opdracht[:40],
                    gebruiker=_user(),
                    bestand=mask_bsns(", ".join(names))[:500],
                    sha256=digest,
                    release=release[:20],
                    gemeenten=",".join(sorted(set(gemeenten)))[:200],
                    berichten=berichten,
                    geweigerd=geweigerd,
                    uitgesteld=uitgesteld,
                    vastgelegd=vastgelegd,
                    uitkomst=uitkomst[:10],
                    toelichting=mask_bsns(toelichting)[:500],
                )
                .returning(logboek.c.id)
            ).scalar_one()
        )


def finish_log(
    engine: Engine,
    log_id: int,
    *,
    gemeenten: Sequence[str] = (),
    berichten: int = 0,
    geweigerd: int = 0,
    uitgesteld: int = 0,
    vastgelegd: bool = False,
    uitkomst: str = "ok",
    toelichting: str = "",
) -> None:
    """Complete the row ``log_id`` that :func:`write_log` added when a run started (``uitkomst``
    ``bezig``) with the run's outcome (its own transaction; the fields as :func:`write_log`)."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(logboek)
            .where(logboek.c.id == log_id)
            .values(
                gemeenten=",".join(sorted(set(gemeenten)))[:200],
                berichten=berichten,
                geweigerd=geweigerd,
                uitgesteld=uitgesteld,
                vastgelegd=vastgelegd,
                uitkomst=uitkomst[:10],
                toelichting=mask_bsns(toelichting)[:500],
            )
        )


def read_log(engine: Engine, *, limit: int = 50, gemeente: str | None = None) -> list[LogEntry]:
    """The latest ``limit`` rows, newest first; with ``gemeente`` only rows naming it."""
    q = sa.select(logboek).order_by(logboek.c.id.desc()).limit(limit)
    if gemeente is not None:  # a whole code of the comma-separated list (no LIKE wildcards)
        g = logboek.c.gemeenten
        q = q.where(
            sa.or_(
                g == gemeente,
                g.startswith(gemeente + ",", autoescape=True),
                g.endswith("," + gemeente, autoescape=True),
                g.contains("," + gemeente + ",", autoescape=True),
            )
        )
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    out = []
    for r in rows:
        at = r["at"]
        if at.tzinfo is None:  # SQLite returns naive datetimes: stored as UTC
            at = at.replace(tzinfo=dt.UTC)
        fields = {**dict(r), "at": at, "vastgelegd": bool(r["vastgelegd"])}
        fields["bestand"] = mask_bsns(r["bestand"])  # rows written before names were masked
        out.append(LogEntry(**fields))
    return out
