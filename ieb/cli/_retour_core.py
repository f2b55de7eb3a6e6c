"""``ieb retour`` without typer: the command's body, its output and a quick start (issue 22).

:func:`run` is the whole command once its options are known; the typer command
(:func:`ieb.cli.ledger.retour_command`) and :func:`main_fast` both call it, so both give the same
bytes on stdout and stderr and the same exit code. :func:`main_fast` is what :func:`ieb.cli.main`
tries first for ``ieb retour ...`` (as :func:`ieb.cli._validate_core.main_fast` for ``ieb
validate``): it reads the plain forms of :func:`parse_args` and runs :func:`run` without importing
typer, click or the other command modules; anything else (``--help``, ``--retry-failed``, an unknown
or misspelt option, a missing value, shell completion) returns None and typer reads the arguments
as before, so every usage error keeps typer's text.

Output (the clerk's words, :data:`OUTCOME_WORDS`): one line per retour on stdout, written per chunk
as soon as the chunk is committed (500 files, one transaction: Ctrl-C loses no report of what was
applied), the files that could not be processed on stderr, then one summary line (and, when a file
was not processed, :data:`KEPT_NOTE` on stderr)::

    retour-1.xml: <retour> op 0363/B1/2026-06-01: geaccepteerd [-]
    3 retour(en): 2 geaccepteerd, 0 afgewezen, 0 technisch afgekeurd, 0 niet beoordeeld, 1 dubbel, 0 niet verwerkt

Exit codes: 0 every file processed (duplicates included); 1 a file not processed (kept for
``--retry-failed``), or a database error; 2 wrong use or configuration; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ieb.cli._validate_core import NO_STDIN, Usage, _err, quick_main, shown_path

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from ieb.exchange import Exchange
    from ieb.exchange.retours import ChunkReport
    from ieb.ledger.retour import RetourOutcome

__all__ = ["DROP_NOTE", "KEPT_NOTE", "OUTCOME_WORDS", "check_files", "main_fast", "parse_args", "run"]

#: the outcomes of a heenbericht in the clerk's words (the JSON keys of ``ieb status`` stay English)
OUTCOME_WORDS = (
    ("accepted", "geaccepteerd"),
    ("pending", "wacht op retour"),
    ("rejected", "afgewezen"),
    ("technical", "technisch afgekeurd"),
    ("not_assessed", "niet beoordeeld"),
)
_WORDS = dict(OUTCOME_WORDS)
#: the outcomes a retour can give, in the order of the summary line
_RETOUR_OUTCOMES = ("accepted", "rejected", "technical", "not_assessed")
#: an inbox entry's status after ``--retry-failed`` (``processed`` / ``failed``), as the run's other lines say it
_RETRY_WORDS = {"processed": "verwerkt", "failed": "niet verwerkt"}
#: after the summary of a run in which a file was not processed: which failures --retry-failed picks up
KEPT_NOTE = (
    "een niet verwerkte retour die gelezen kon worden is bewaard: later opnieuw met "
    "`ieb retour --retry-failed`; een bestand dat niet te lezen is of groter dan 25 MB wordt "
    "niet bewaard: los dat op en geef het opnieuw op"
)
#: after ``--retry-failed`` when an entry failed again: how to stop retrying one that never succeeds
DROP_NOTE = (
    "een retour die nooit kan slagen (kapotte XML, een ander bestand): haal hem weg met "
    "`ieb retour --drop-failed REFERENTIENUMMER` (het weghalen wordt gemeld en in het auditlog gezet)"
)
_INTERRUPTED = (
    "onderbroken: de retouren die al verwerkt waren blijven verwerkt, de rest niet; "
    "geef dezelfde opdracht opnieuw (al verwerkte retouren worden dan als dubbel gemeld)"
)


def _shown(items: Sequence[object]) -> str:
    return ", ".join(str(p) for p in items[:5]) + (f" (en nog {len(items) - 5})" if len(items) > 5 else "")


def check_files(paths: Sequence[Path], name: str) -> None:
    """:class:`Usage` (``name`` is the argument, ``BESTANDEN``) when one of the input ``paths`` does not
    exist, or is a folder (``is een map, geen bestand``, with the ``MAP/*.xml`` to give instead), or
    is no other regular file (a FIFO, a device, a socket, a link to nothing: ``is geen gewoon
    bestand``, as ``ieb validate`` says), or is ``-`` (stdin: :data:`NO_STDIN`, as ``ieb
    validate``). Nothing is opened: a FIFO named here never blocks the command."""
    missing: list[Path] = []
    folders: list[Path] = []
    odd: list[Path] = []
    for p in paths:
        if str(p) == "-":
            raise Usage(NO_STDIN, name)
        try:
            mode = os.stat(p).st_mode
        except (OSError, ValueError):
            mode = 0
            if not os.path.lexists(p):
                missing.append(p)
                continue
        if stat.S_ISDIR(mode):
            folders.append(p)
        elif not stat.S_ISREG(mode):
            odd.append(p)
    parts = [f"bestaat niet: {_shown(missing)}"] if missing else []
    if folders:  # a clerk's first try is the folder the retours came in: say how to name its files
        parts.append(
            f"is een map, geen bestand: {_shown(folders)} (geef de bestanden erin, bijvoorbeeld "
            f"{os.path.join(folders[0], '*.xml')})"
        )
    parts += [f"is geen gewoon bestand: {_shown(odd)}"] if odd else []
    if parts:
        raise Usage("; ".join(parts), name)


def open_exchange(
    config: Path | None,
    db: str | None = None,
    *,
    must_exist: bool = False,
    needs: str | None = None,
    release: str | None = None,
) -> Exchange:
    """The :class:`~ieb.exchange.Exchange` of a command: ``--config`` / $IEB_CONFIG / ./ieb.toml,
    with ``--db`` overriding its database (a path is a SQLite file) and ``--release`` its release.
    ``needs`` (what the command needs from ieb.toml): without any ieb.toml, ``--db`` or ``IEB_*``
    setting the command ends with "geen ieb.toml gevonden ...; maak er een met `ieb init`".
    Raises :class:`Usage` (exit 2) for a configuration error. The one way every command opens the
    exchange: the typer commands through :func:`ieb.cli._exchange.exchange_for`, the typer-free
    ``ieb retour`` directly (this module imports neither typer nor the configuration)."""
    from ieb.errors import IebError
    from ieb.exchange import Exchange  # late: the facade pulls in SQLAlchemy, lxml, the transport

    if needs is not None and db is None:
        from ieb.config import find_config

        try:
            found = find_config(config)
        except IebError as exc:
            raise Usage(str(exc), None) from None
        settings = [k for k in os.environ if k.upper().startswith("IEB_") and k.upper() != "IEB_CONFIG"]
        if found is None and not settings:
            raise Usage(
                f"geen ieb.toml gevonden (niet in {Path.cwd()}, geen --config of IEB_CONFIG); maak er een "
                f"met `ieb init` (nodig: {needs})",
                None,
            )
    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["database"] = _database_url(db)
    if release is not None:
        from ieb.releases import default_registry

        known = [p.name for p in default_registry if p.delivery is not None]
        if release not in known:
            raise Usage(f"onbekende release {release!r}; kies uit {', '.join(known)}", "--release")
        overrides["release"] = release
    try:
        ex = Exchange.from_config(config, must_exist=must_exist, **overrides)
        if must_exist:
            _ = ex.engine
        return ex
    except IebError as exc:
        raise Usage(str(exc), None) from None


#: written on stderr when Ctrl-C is pressed while retours are being applied
_STOPPING = "onderbroken: de retouren die nu worden verwerkt worden nog afgemaakt en gemeld; nog eens Ctrl-C: meteen stoppen"


@contextmanager
def _deferred(note: str | None = None) -> Iterator[list[int]]:
    """Ctrl-C inside the block is only noted: the list it gives gets the signal (and ``note``, if
    any, is written on stderr); a second Ctrl-C stops at once (a write that blocks, a lock that is
    never given: KeyboardInterrupt). Only in the main thread with Python's own SIGINT handler;
    elsewhere the list stays empty and Ctrl-C acts as usual."""
    pressed: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield pressed
        return

    def later(signum: int, _frame: object) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        if note:  # (not when stderr was being written right then: a reentrant write raises)
            with suppress(RuntimeError, OSError):
                _err(note)

    signal.signal(signal.SIGINT, later)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def _whole() -> Iterator[None]:
    """Ctrl-C inside the block takes effect when the block is done (the summary line: written whole,
    tests/attack/test_retour_ctrl_c_report.py); a second one at once."""
    with _deferred() as pressed:
        yield
    if pressed:
        raise KeyboardInterrupt


class _Report:
    """Writes each chunk's lines as it comes and counts them for the summary line. ``stop`` is the
    list of :func:`_deferred` around the run: once Ctrl-C was pressed, the run stops right after
    the committed chunk's lines are written (KeyboardInterrupt out of :meth:`chunk`), unless that
    chunk was the last one (all ``files`` reported: nothing is left to stop)."""

    def __init__(self, stop: list[int] | None = None, files: int = 0) -> None:
        self.counts = dict.fromkeys(_RETOUR_OUTCOMES, 0)
        self.duplicates = 0
        self.failed = 0
        self.stop = stop if stop is not None else []
        self.files = files

    def chunk(self, done: list[RetourOutcome], failed: list[tuple[str, str]]) -> None:
        """Write a committed chunk's lines (all of them), then stop the run if Ctrl-C was pressed
        and files are left."""
        self._chunk(done, failed)
        if self.stop and self.total < self.files:
            raise KeyboardInterrupt

    def _chunk(self, done: list[RetourOutcome], failed: list[tuple[str, str]]) -> None:
        from ieb.errors import without_subject
        from ieb.types import mask_bsns  # a Bsn in a file name (any digits) is masked, as ieb status does

        lines = []
        for r in done:
            if r.duplicate:
                self.duplicates += 1
                note = " (dubbel ontvangen, niets gewijzigd)"
            else:
                self.counts[r.outcome] = self.counts.get(r.outcome, 0) + 1
                note = ""
            lines.append(
                f"{mask_bsns(shown_path(r.source))}: {r.bericht} op {r.afzender}/{r.identificatie}/{r.dagtekening}: "
                f"{_WORDS.get(r.outcome, r.outcome)} [{' '.join(r.codes) or '-'}]{note}\n"
            )
        if lines:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
        for name, reason in failed:  # the reason names the file too: said once (without_subject)
            _err(mask_bsns(f"{shown_path(name)}: niet verwerkt: {without_subject(name, reason)}"))
        self.failed += len(failed)

    @property
    def total(self) -> int:
        """The files reported so far."""
        return sum(self.counts.values()) + self.duplicates + self.failed

    def summary(self) -> str:
        words = [f"{n} {_WORDS.get(k, k)}" for k, n in self.counts.items()]
        return (
            f"{self.total} retour(en): {', '.join(words)}, {self.duplicates} dubbel, "
            f"{self.failed} niet verwerkt"
        )

    def write_summary(self) -> None:
        """The summary line on stdout and, when a file was not processed, :data:`KEPT_NOTE` on stderr
        (once per run, at the end: not between the lines of the chunks)."""
        with _whole():
            sys.stdout.write(self.summary() + "\n")
            sys.stdout.flush()
            if self.failed:
                _err(KEPT_NOTE)


def run(
    files: Sequence[str],
    *,
    retry_failed: bool = False,
    config: Path | None = None,
    db: str | None = None,
    drop_failed: Sequence[str] = (),
) -> int:
    """Run ``ieb retour`` with these options (``files`` as given on the command line) and return its
    exit code. Raises :class:`Usage` for wrong use or configuration (before any retour is read).
    ``drop_failed``: referentienummers of failed inbox entries to take out first (one line each on
    stdout; exit 1 when one of them was not dropped)."""
    from ieb.errors import IebError

    if not files and not retry_failed and not drop_failed:
        raise Usage("ontbreekt: geef retourbestanden, --retry-failed of --drop-failed REF", "BESTANDEN")
    paths = [Path(f) for f in files]
    check_files(paths, "BESTANDEN")
    ex: Exchange | _OnDatabase
    if db is not None and not retry_failed and not drop_failed and _unconfigured(config):
        ex = _OnDatabase(_database_url(db))
    else:
        # no ieb.toml, --db or IEB_*: refused, as ieb plan does, instead of a new ./ieb.sqlite that
        # keeps the failed retours where nobody looks
        ex = open_exchange(
            config, db, must_exist=(retry_failed or bool(drop_failed)) and not files, needs="database"
        )
    failures = 0
    try:
        if drop_failed and not isinstance(ex, _OnDatabase):
            failures += _drop(ex, drop_failed)
        if paths:
            # Ctrl-C while retours are applied takes effect after the chunk under way is committed
            # AND its lines are written: between the commit and the lines it would lose the report of
            # retours that were applied (a rerun calls them "dubbel"); a second Ctrl-C stops at once
            with _deferred(_STOPPING) as stop:
                report = _Report(stop, len(paths))
                try:
                    ex.process_retour_files(paths, on_chunk=report.chunk)
                except BaseException:  # Ctrl-C or a database error after some chunks: count those
                    if report.total:
                        report.write_summary()
                    raise
                report.write_summary()
            failures += report.failed
            if stop and retry_failed:  # Ctrl-C in the files' last chunk: the retry is still left
                raise KeyboardInterrupt
        if retry_failed and not isinstance(ex, _OnDatabase):
            # each entry is applied and marked in a transaction of its own: its line is written as
            # soon as it is marked, and Ctrl-C takes effect after that (as for the files' chunks)
            from ieb.types import mask_bsns

            with _deferred(_STOPPING) as stop:
                replayed: list[str] = []

                def write_line(item: tuple[str, str, str | None]) -> None:
                    ref, status, why = item
                    word = _RETRY_WORDS.get(status, status)  # the inbox status, in the clerk's words
                    # the referentienummer as `ieb status` and --drop-failed show it (a peer's may hold a BSN)
                    sys.stdout.write(mask_bsns(f"{ref}: {word}") + (f": {why}" if why else "") + "\n")
                    sys.stdout.flush()
                    replayed.append(status)
                    if stop:
                        raise KeyboardInterrupt

                ex.retry_failed_retours(on_each=write_line)
            failures += replayed.count("failed")
            if "failed" in replayed:  # once, at the end: the way out for a retour that never succeeds
                _err(DROP_NOTE)
    except IebError as exc:
        from ieb.types import mask_bsns

        _err(f"fout: {mask_bsns(str(exc))}")
        return 1
    except KeyboardInterrupt:
        # the files are applied in chunks, each one transaction (docs/ledger.md): what was applied
        # before Ctrl-C stays, the rest not; the same command again picks up where this one stopped
        _err(_INTERRUPTED)
        return 130
    finally:
        ex.close()
    return 1 if failures else 0


def _drop(ex: Exchange, refs: Sequence[str]) -> int:
    """``--drop-failed REF...``: take those failed inbox entries out (audited), one line per
    referentienummer on stdout; returns how many were NOT dropped."""
    from ieb.types import mask_bsns

    missed = 0
    for ref, dropped, what in ex.drop_failed_retours(refs):
        line = f"{ref}: weggehaald (was: {what})" if dropped else f"{ref}: niet weggehaald: {what}"
        sys.stdout.write(mask_bsns(line.replace("\n", " ")) + "\n")
        missed += not dropped
    sys.stdout.flush()
    return missed


def _unconfigured(config: Path | None) -> bool:
    """True when nothing but ``--db`` can configure this run: no ``--config``, no ``IEB_*``
    variable (``IEB_CONFIG`` included, in any case) and no ``./ieb.toml``. Then the configuration
    :func:`open_exchange` would load is the defaults with that database, and the retours need
    nothing of it: :class:`_OnDatabase` does not load it (pydantic-settings, issue 22)."""
    return (
        config is None
        and not any(k.upper().startswith("IEB_") for k in os.environ)
        and not os.path.lexists("ieb.toml")
    )


def _database_url(db: str) -> str:
    """``--db`` as a SQLAlchemy URL: a path is a SQLite file (made absolute)."""
    return db if "://" in db else "sqlite:///" + str(Path(db).resolve())


class _OnDatabase:
    """What :func:`run` needs of an :class:`~ieb.exchange.Exchange` for an unconfigured run
    (:func:`_unconfigured`): its retour handling on the database ``url``, opened on first use,
    without the facade and the configuration (the same output, exit codes and rows:
    tests/cli/test_retour_fast.py)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine | None = None

    def process_retour_files(
        self, paths: Sequence[Path], *, on_chunk: ChunkReport | None = None
    ) -> tuple[list[RetourOutcome], list[tuple[str, str]]]:
        """:meth:`ieb.exchange.Exchange.process_retour_files`."""
        from ieb.exchange.retours import Retours
        from ieb.store.db import open_database

        self.engine = open_database(self.url)
        return Retours.of_engine(self.engine).process_files(paths, on_chunk=on_chunk)

    def close(self) -> None:
        """Dispose of the engine (:meth:`ieb.exchange.Exchange.close`)."""
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


# ------------------------------------------------------------------------------- the quick start

#: options taking a value -> the parameter of :func:`run`
_VALUE_OPTIONS = {"--db": "db", "--config": "config", "-c": "config"}


def parse_args(args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`run` for ``ieb retour ARGS``, as typer would give them, or
    None when ``args`` use anything but the plain forms: file arguments (at least one), ``--db
    VALUE``, ``--config VALUE`` / ``-c VALUE`` (also ``--option=VALUE`` and ``-cVALUE``; a value
    not empty and not starting with ``-``; each option at most once) and ``--``. Then typer reads
    them (``--help``, ``--retry-failed``, unknown options, missing values: its texts, unchanged)."""
    kwargs: dict[str, Any] = {}
    files: list[str] = []
    i, n = 0, len(args)
    only_files = False
    while i < n:
        arg = args[i]
        i += 1
        if not arg or "\x00" in arg:
            return None
        if only_files or arg[0] != "-" or arg == "-":  # (a lone -: a file to click; refused in run)
            files.append(arg)
            continue
        if arg == "--":
            only_files = True
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
        elif arg.startswith("-c") and len(arg) > 2:
            name, eq, value = "-c", "=", arg[2:]
        else:
            name, eq, value = arg, "", ""
        dest = _VALUE_OPTIONS.get(name)
        if dest is None or dest in kwargs:
            return None
        if not eq:
            if i >= n:
                return None
            value = args[i]
            i += 1
        if not value or value[0] == "-" or "\x00" in value:
            return None
        kwargs[dest] = Path(value) if dest == "config" else value
    if not files:
        return None
    return {"files": files, **kwargs}


def main_fast(args: list[str]) -> int | None:
    """Run ``ieb retour ARGS`` without typer and return its exit code, or None (nothing done) when
    typer must read ``args`` (see :func:`parse_args` and :func:`ieb.cli._validate_core.quick_main`;
    an EOF or Ctrl-C before any retour is read is click's ``Aborted!``, exit 1)."""
    return quick_main(args, parse_args, run)
