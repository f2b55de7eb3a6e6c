"""The exchange as one facade: from desired state to accepted retours, for one gemeente or many.

:class:`Exchange` is what the ``ieb`` commands and vendors' software use::

    ex = Exchange.from_config("ieb.toml")            # or Exchange(IebConfig(...))
    preview = ex.plan("gewenst.csv")                 # nothing recorded: what would be sent
    queued = ex.queue(preview)                       # ledger deliveries + outbox envelopes, ONE transaction
    queued = ex.queue_files(["wmo401.xml"])          # hand-built files, after validation + history pre-flight
    result = ex.send()                               # drain the outbox (ieb send)
    status = ex.status()                             # Status: .as_json() is the ieb status contract
    ex.requeue(dead=True)                            # put dead letters back
    ex.retry_failed_retours()                        # re-apply inbox entries that failed

The facade orchestrates; the parts live beside it: :mod:`ieb.exchange.status` (``ieb status``),
:mod:`ieb.exchange.retours` (the receiver's handler, retour files, the ONE inbox replay) and
:mod:`ieb.exchange.fo01` (Fo01 bookkeeping). The service (``ieb serve``: :class:`ieb.service.Service`)
and the HTML report (:func:`ieb.report.write_report`) stand on the facade; it imports neither.

Shapes: amounts in eurocent, dates :class:`datetime.date`, BSNs masked in every text this module
produces. Errors: :class:`ExchangeError` (and the errors it wraps: ``PlanningError``,
``PreflightError``, ``InputRowError``, ``ConfigurationError``, ``OutboxError``), all
:class:`ieb.errors.IebError`; each lists its problems as ``.issues``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ieb.codec import from_xml
from ieb.errors import ConfigurationError, IebError
from ieb.exchange.errors import ExchangeError
from ieb.exchange.fo01 import reopen_technical
from ieb.exchange.retours import ChunkReport, Dropped, Replayed, Retours
from ieb.ledger.convert import converted
from ieb.ledger.history import Delivery, check_history
from ieb.ledger.retour import RetourOutcome
from ieb.ledger.store import Ledger
from ieb.releases import default_registry, get_pack, use_official_folder
from ieb.releases.pack import MessageDef, ReleasePack
from ieb.store.db import open_database
from ieb.store.schema import counters, eb_start_nummers
from ieb.tabular import RowIssue, read_table, restore_zeros
from ieb.types import mask_bsns
from ieb.validation import validate_bytes

if TYPE_CHECKING:
    # The configuration (pydantic-settings) and the outbox are imported where used as well: the
    # retour handling (``ieb.exchange.retours``, a plain ``ieb retour FILES --db``) needs neither.
    from ieb.config import IebConfig

    # The planner, envelope, transport and status parts are imported where they are used, so that a
    # command that needs only the ledger (``ieb retour FILES``) does not load the planner, requests,
    # cheroot or the GGk models (issue 22: start-up). ``Status``, ``DEADLINE_MONTHS`` and ``deadline_of`` are still
    # importable from here (module ``__getattr__`` below).
    from ieb.exchange.desired import ChunkCallback, DesiredState, StreamResult
    from ieb.exchange.status import DEADLINE_MONTHS, Status, deadline_of
    from ieb.ggk import Envelope
    from ieb.ledger.planner import Period, Plan
    from ieb.transport.client import GgkClient
    from ieb.transport.outbox import Outbox
    from ieb.transport.sender import DrainResult, ResultCallback, RetryCallback, RetryPolicy
    from ieb.transport.server import InboxEntry, Receiver
    from ieb.transport.tls import TlsFiles

#: persons per chunk of :meth:`Exchange.plan_and_queue_file` (= ``ieb.exchange.desired.CHUNK_PERSONS``, kept
#: here so that importing the facade does not load the planner; tests/ledger/test_retour_open.py)
_CHUNK_PERSONS = 4_000
_FROM_STATUS = ("DEADLINE_MONTHS", "Status", "deadline_of")


def __getattr__(name: str) -> Any:
    """``Status``, ``DEADLINE_MONTHS`` and ``deadline_of`` of :mod:`ieb.exchange.status`, on first use."""
    if name in _FROM_STATUS:
        from ieb.exchange import status

        return getattr(status, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEADLINE_MONTHS",
    "Exchange",
    "ExchangeError",
    "Preview",
    "Queued",
    "Status",
    "StreamResult",
    "deadline_of",
    "read_desired_records",
]

log = logging.getLogger("ieb.exchange")


# ------------------------------------------------------------------------------ desired state


def read_desired_records(path: str | os.PathLike[str]) -> list[Mapping[str, Any]]:
    """The rows of a desired-state file through :func:`ieb.tabular.read_table` (CSV with ``,`` or
    ``;``, a JSON array or JSON lines; bounded; true line numbers in ``row.line``), for
    :func:`ieb.ledger.planner.desired_from_records`: columns ``bsn, start`` and optionally ``stop,
    kostprijs_cent, kostprijs_start, gemeente``. Raises :class:`ieb.tabular.TableError`."""
    p = Path(path)
    table = read_table(
        p,
        name=str(p),
        required=("bsn", "start"),
        optional=("stop", "kostprijs_cent", "kostprijs_start", "gemeente"),
    )
    return list(table.rows)


# ------------------------------------------------------------------------------ results


@dataclass
class Preview:
    """What :meth:`Exchange.plan` found: one :class:`~ieb.ledger.planner.Plan` per gemeente (nothing
    recorded). ``retroactive``: planned starts whose EbStartdatum lies more than a month before the
    Dagtekening (late: "stapelfacturen"), as ``Delivery.describe()`` lines."""

    plans: dict[str, Plan]
    desired: dict[str, dict[str, list[Period]]]
    today: dt.date
    partial: bool = False
    retroactive: list[str] = field(default_factory=list)
    #: the desired state as read (lines per person, rows refused with ``partial``)
    state: DesiredState | None = None

    @property
    def issues(self) -> list[RowIssue]:
        """Every problem of the rows and persons left out (with ``partial``), each with its line,
        field, text and rule code, in line order."""
        refused = list(self.state.refused) if self.state is not None else []
        planned = [i for p in self.plans.values() for i in p.problems]
        return sorted([*refused, *planned], key=lambda i: (i.line is None, i.line or 0))

    @property
    def refused_rows(self) -> int:
        """How many rows of the file were left out (with ``partial``): the rows refused when the
        file was read plus every row of a person the planner refused; the figure ``ieb plan
        --queue`` prints and logs as ``geweigerd``, whatever the output format."""
        if self.state is None:
            return len(self.issues)
        from ieb.exchange.desired import refused_bsns

        rows = self.state.refused_rows
        for g, p in self.plans.items():
            lines = self.state.lines.get(g, {})
            rows += sum(len(lines[b]) for b in refused_bsns(p, lines))
        return rows

    @property
    def messages(self) -> list[Any]:
        """The planned messages of all gemeenten, in sending order per gemeente."""
        return [m for p in self.plans.values() for m in p.messages]

    @property
    def problems(self) -> list[str]:
        """Rows and persons that could not be planned (with ``partial``), one line each: the file
        and line, the field, the Dutch text and the rule code (``gewenst.csv:4: kolom stop: Bsn
        ******006: stop ... ligt voor start ... (TR328)``)."""
        source = self.state.source if self.state is not None else "<records>"
        return [i.describe(source) for i in self.issues]

    @property
    def deferred(self) -> list[Any]:
        """Steps left out because their date is more than a month ahead, all gemeenten."""
        return [d for p in self.plans.values() for d in p.deferred]


@dataclass
class Queued:
    """What :meth:`Exchange.queue` / :meth:`Exchange.queue_files` stored: per message its
    (gemeente, identificatie, referentienummer, describe-line)."""

    messages: list[tuple[str, str, str, str]] = field(default_factory=list)
    preview: Preview | None = None

    def __len__(self) -> int:
        return len(self.messages)


# ------------------------------------------------------------------------------ the facade


def _check_release(config: IebConfig) -> None:
    """Raise ConfigurationError (code ``CONFIG``) naming the setting when ``config.release`` is no
    registered release that sends messages: an unknown name used to be accepted by every command
    and refused only by ``ieb plan``, without saying where it came from."""
    try:
        pack = default_registry.get(config.release)
    except ConfigurationError:
        pack = None
    if pack is None or pack.delivery is None:
        known = ", ".join(p.name for p in default_registry if p.delivery is not None)
        raise ConfigurationError(
            f"release = {config.release!r} is geen bekende release om mee te versturen; kies uit {known}",
            code="CONFIG",
            location=str(config.source) if config.source is not None else None,
        )


class Exchange:
    """The exchange of one organisation, configured by :class:`~ieb.config.IebConfig`.

    ``engine``: an open database (default: opened from ``config.database`` on first use).
    ``must_exist``: refuse a SQLite database file that does not exist (read-only commands).
    """

    def __init__(self, config: IebConfig, *, engine: Engine | None = None, must_exist: bool = False) -> None:
        self.config = config
        self._engine = engine
        self.must_exist = must_exist
        if config.release_xsd is not None:  # the official XSDs registered by `ieb release check`
            use_official_folder(config.release, config.resolve(config.release_xsd) or config.release_xsd)
        _check_release(config)
        self.on_retour: Callable[[str, tuple[str, ...]], None] | None = None
        #: the retour handling (receiver handler, retour files, inbox replay) on this exchange's database
        self.retours = Retours(
            lambda: self.engine, lambda: self.ledger, lambda: self.on_retour, lambda: self.config.clock
        )
        #: applied to the desired-state records before planning (``ieb plan`` sets the accepted
        #: Wlz stops here, ``ieb.wlz.WlzSignalen.overlay``); the facade imports no such module
        self.desired_overlay: Callable[[list[Any]], list[Any]] | None = None

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, must_exist: bool = False, **overrides: Any
    ) -> Exchange:
        """Load ``ieb.toml`` (``path``, ``$IEB_CONFIG`` or ``./ieb.toml``) with ``IEB_*`` overrides."""
        from ieb.config import load_config

        return cls(load_config(path, **overrides), must_exist=must_exist)

    # -- resources --------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The database engine, opened (and migrated) on first use; see ``must_exist``."""
        if self._engine is None:
            url = self.config.database_url
            if self.must_exist:
                parsed = sa.make_url(url)
                if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                    if not Path(str(parsed.database)).is_file():
                        raise ConfigurationError(
                            f"database {parsed.database} bestaat niet (nog niets gepland of verstuurd?); "
                            "controleer 'database' in ieb.toml of IEB_DATABASE",
                            code="NO_DATABASE",
                            location=str(parsed.database),
                        )
            self._engine = open_database(url)
        return self._engine

    @property
    def ledger(self) -> Ledger:
        """The ledger (:class:`ieb.ledger.store.Ledger`) on :attr:`engine`."""
        return Ledger(self.engine)

    def outbox(self, **kwargs: Any) -> Outbox:
        """An :class:`ieb.transport.outbox.Outbox` on :attr:`engine` with :attr:`lease_seconds`."""
        kwargs.setdefault("lease_seconds", self.lease_seconds)
        from ieb.transport.outbox import Outbox

        return Outbox(self.engine, **kwargs)

    @property
    def lease_seconds(self) -> float:
        """Lease per claimed message: ``retry.lease_seconds`` or 1.5 x one attempt (at least 10 s)."""
        r = self.config.retry
        if r.lease_seconds is not None:
            return r.lease_seconds
        g = self.config.ggk
        return max(10.0, 1.5 * (g.connect_timeout + g.operation_timeout))

    @property
    def retry_policy(self) -> RetryPolicy:
        """The sender's :class:`ieb.transport.sender.RetryPolicy` from ``[retry]``."""
        r = self.config.retry
        from ieb.transport.sender import RetryPolicy

        return RetryPolicy(
            max_attempts=r.max_attempts,
            attempts_per_claim=r.attempts_per_claim,
            backoff_initial=r.backoff_initial,
            backoff_max=r.backoff_max,
            requeue_initial=r.requeue_initial,
            requeue_max=r.requeue_max,
            give_up_seconds=r.give_up_seconds,
        )

    def close(self) -> None:
        """Dispose of the database engine (it is opened again on next use)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _gemeenten(self) -> list[str]:
        return list(self.config.gemeenten)

    def tls_files(self) -> TlsFiles:
        """The organisation's certificate, key and CA files from ``[organisatie]``, checked: present,
        existing, and (with ``organisatie.oin``) the certificate carries that OIN. Raises
        :class:`ConfigurationError` (code ``CONFIG``) naming the setting."""
        o = self.config.organisatie
        cert, key, ca = self.config.resolve(o.cert), self.config.resolve(o.key), self.config.resolve(o.ca)
        missing = [
            n
            for n, v in (("organisatie.cert", cert), ("organisatie.key", key), ("organisatie.ca", ca))
            if not v
        ]
        if missing:
            raise ConfigurationError(f"ontbreekt in ieb.toml: {', '.join(missing)}", code="CONFIG")
        for name, p in (("organisatie.cert", cert), ("organisatie.key", key), ("organisatie.ca", ca)):
            assert p is not None
            if not p.is_file():
                raise ConfigurationError(f"{name}: bestand {p} bestaat niet", code="CONFIG", location=str(p))
        assert cert is not None and key is not None and ca is not None
        if o.oin:
            try:
                from ieb.transport.pki import load_certificates, oin_from_certificate

                found = oin_from_certificate(load_certificates(cert)[0])
            except (ValueError, IndexError) as exc:
                raise ConfigurationError(
                    f"organisatie.cert: {cert} is geen PEM-certificaat", code="CONFIG", location=str(cert)
                ) from exc
            if found != o.oin:
                raise ConfigurationError(
                    f"organisatie.oin {o.oin} past niet bij het certificaat {cert} (OIN {found or 'geen'})",
                    code="CONFIG",
                )
        from ieb.transport.tls import TlsFiles, check_crls

        files = TlsFiles(
            cert=cert, key=key, ca=ca, crl=tuple(self.config.resolve(p) or p for p in self.config.tls.crl)
        )
        check_crls(files)  # [tls] crl: an unusable CRL stops here, naming the file (CrlError, CONFIG)
        return files

    def client(self) -> GgkClient:
        """The GGk client from the config (mutual TLS, limits, optional WUS signing)."""
        g = self.config.ggk
        if not g.endpoint:
            raise ConfigurationError("ggk.endpoint ontbreekt in ieb.toml", code="CONFIG")
        tls = self.tls_files()
        from ieb.transport.client import GgkClient, WusSigning

        signing = WusSigning.from_files(tls.key, tls.cert, tls.ca) if g.sign else None
        if signing is not None and g.signer_oins:  # only the GGk's signature on an answer counts
            signing = dataclasses.replace(signing, peer_oins=frozenset(g.signer_oins))
        return GgkClient(
            g.endpoint,
            tls=tls,
            connect_timeout=g.connect_timeout,
            operation_timeout=g.operation_timeout,
            check_hostname=g.check_hostname,
            signing=signing,
            pool_maxsize=self.config.retry.workers,
            max_answer_bytes=g.max_answer_bytes,
        )

    # -- planning ---------------------------------------------------------------------------

    def _desired(
        self,
        desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        gemeente: str | None,
        partial: bool = False,
    ) -> DesiredState:
        """Every row of ``desired`` checked at once (:func:`ieb.exchange.desired.collect_desired`):
        a :class:`TableError` naming every problem with its line unless ``partial``."""
        if isinstance(desired, str | os.PathLike):
            records: list[Any] = read_desired_records(desired)
            source = str(desired)
        else:
            records = list(desired)
            source = "<records>"
        if self.desired_overlay is not None:
            records = list(self.desired_overlay(records))
        from ieb.exchange.desired import collect_desired

        return collect_desired(
            records,
            source=source,
            configured=self._gemeenten(),
            gemeente=gemeente,
            partial=partial,
            release=self.config.release,
        )

    def _plan_all(
        self,
        ledger: Ledger,
        wanted: DesiredState,
        today: dt.date,
        *,
        record: bool,
        partial: bool,
    ) -> dict[str, Plan]:
        from ieb.ledger.planner import plan

        plans: dict[str, Plan] = {}
        for g, desired in wanted.periods.items():
            plans[g] = plan(
                ledger,
                g,
                desired,
                today=today,
                record=record,
                partial=partial,
                release=self.config.release,
                lines=wanted.lines.get(g),
            )
        return plans

    def plan(
        self,
        desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        gemeente: str | None = None,
        today: dt.date | None = None,
        partial: bool = False,
    ) -> Preview:
        """Plan the heenberichten that bring the ledger to ``desired`` (a file or records),
        per gemeente, WITHOUT recording anything. Raises ``PlanningError`` / ``PreflightError``
        (nothing planned) unless ``partial``; ``InputRowError`` for a bad file."""
        day = today or dt.date.today()
        wanted = self._desired(desired, gemeente, partial)
        plans = self._plan_all(self.ledger, wanted, day, record=False, partial=partial)
        preview = Preview(plans, wanted.periods, day, partial, state=wanted)
        preview.retroactive = _retroactive(preview)
        return preview

    def queue(self, preview: Preview) -> Queued:
        """Record the previewed messages as pending deliveries AND put their envelopes in the outbox,
        in ONE transaction (a crash leaves either both or neither). The plan is made again inside
        the transaction; when the ledger changed since the preview an :class:`ExchangeError` is
        raised and nothing is stored."""
        from ieb.exchange.desired import DesiredState

        state = preview.state or DesiredState(preview.desired, {})
        return self._record(state, preview.today, preview.partial, expect=preview)

    def plan_and_queue(
        self,
        desired: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
        *,
        gemeente: str | None = None,
        today: dt.date | None = None,
        partial: bool = False,
    ) -> Queued:
        """:meth:`plan` and :meth:`queue` in one step and one transaction (planned once):
        what ``ieb plan FILE --queue`` does. ``Queued.preview`` holds the plan."""
        wanted = self._desired(desired, gemeente, partial)
        return self._record(wanted, today or dt.date.today(), partial, expect=None)

    def plan_and_queue_file(
        self,
        path: str | os.PathLike[str],
        *,
        gemeente: str | None = None,
        today: dt.date | None = None,
        partial: bool = False,
        chunk_persons: int = _CHUNK_PERSONS,
        on_chunk: ChunkCallback | None = None,
    ) -> StreamResult:
        """``ieb plan FILE --queue`` for a file of any size, in flat memory: the file is streamed
        and the persons are planned and queued ``chunk_persons`` at a time, one transaction per
        chunk; a killed run is resumed by running it again (no duplicates). See
        :mod:`ieb.exchange.desired` for what is checked before the first chunk. Accepted Wlz stops
        (:attr:`desired_overlay`) need the whole file: with any, this is :meth:`plan_and_queue`
        summarised as a :class:`StreamResult`."""
        from ieb.exchange.desired import StreamResult, plan_and_queue_stream

        day = today or dt.date.today()
        if self.desired_overlay is not None and list(self.desired_overlay([])):
            queued = self.plan_and_queue(path, gemeente=gemeente, today=day, partial=partial)
            assert queued.preview is not None
            p = queued.preview
            out = StreamResult(
                persons=sum(len(v) for v in p.desired.values()),
                messages=len(queued),
                chunks=1,
                deferred=[d.describe() for d in p.deferred],
                deferred_count=len(p.deferred),
                refused=list(p.issues),
                refused_rows=p.refused_rows,
                gemeenten=list(p.plans),
                retroactive=list(p.retroactive),
                retroactive_count=len(p.retroactive),
            )
            if on_chunk is not None:
                by_gemeente: dict[str, list[str]] = {}
                for g, _, ref, _ in queued.messages:
                    by_gemeente.setdefault(g, []).append(ref)
                for g, plan_ in p.plans.items():
                    on_chunk(g, plan_, by_gemeente.get(g, []))
            return out
        return plan_and_queue_stream(
            self,
            path,
            gemeente=gemeente,
            today=day,
            partial=partial,
            chunk_persons=chunk_persons,
            on_chunk=on_chunk,
        )

    def _record(
        self,
        wanted: DesiredState,
        day: dt.date,
        partial: bool,
        *,
        expect: Preview | None,
    ) -> Queued:
        with self.engine.begin() as conn:
            ledger = Ledger(conn)  # joins this transaction: its work is a savepoint in it
            plans = self._plan_all(ledger, wanted, day, record=True, partial=partial)
            preview = Preview(plans, wanted.periods, day, partial, state=wanted)
            preview.retroactive = _retroactive(preview)
            if expect is not None:
                before = [m.delivery.describe() for m in expect.messages]
                after = [m.delivery.describe() for m in preview.messages]
                if before != after:
                    conn.rollback()
                    raise ExchangeError(
                        "het grootboek is veranderd sinds de voorvertoning; plan opnieuw", code="STALE_PLAN"
                    )
            queued = Queued(preview=preview)
            outbox = self.outbox()
            from ieb.transport.outbox import enqueue_fresh

            for g, p in plans.items():
                rows = [self._row(g, m.bericht, m.xml, m.delivery.identificatie) for m in p.messages]
                # outbox + audit rows multi-row (issue 22), same transaction; each row's person from
                # the delivery recorded by plan() in it
                enqueue_fresh(outbox, rows, conn=conn, bsns=[m.delivery.bsn for m in p.messages])
                for m, row in zip(p.messages, rows, strict=True):
                    ref = str(row["referentienummer"])
                    queued.messages.append((g, m.delivery.identificatie, ref, m.delivery.describe()))
        return queued

    @staticmethod
    def _row(gemeente: str, bericht: str, xml: bytes, identificatie: str) -> dict[str, Any]:
        from ieb.ggk.builders import new_di01_bytes

        # build(new_di01(...)) byte for byte, from the template's frame without the models (issue 22)
        referentienummer, envelope = new_di01_bytes(xml, bericht, gemeente)
        return {
            "envelope": envelope,
            "referentienummer": referentienummer,
            "afzender": gemeente,
            "functie": bericht,
            "payload": xml,
            "bericht_identificatie": identificatie,
        }

    def _enqueue(
        self, outbox: Outbox, conn: Connection, gemeente: str, bericht: str, xml: bytes, identificatie: str
    ) -> str:
        from ieb.ggk import build, new_di01

        di01 = new_di01(xml, bericht, gemeente)
        outbox.enqueue(
            build(di01),
            referentienummer=di01.referentienummer,
            afzender=gemeente,
            functie=bericht,
            payload=xml,
            bericht_identificatie=identificatie,
            conn=conn,
        )
        return di01.referentienummer

    def queue_files(self, paths: Sequence[str | os.PathLike[str]], *, today: dt.date | None = None) -> Queued:
        """Put existing heenbericht files (``ieb build``, hand-made) in the ledger and the outbox,
        all or nothing: every file is validated (all levels) and checked against the history (the
        ledger plus the files before it); a file whose Afzender is not in ``gemeenten``, whose
        BerichtIdentificatie is already in the ledger, or that breaks a rule makes the whole call
        raise :class:`ExchangeError` listing every refused file with its rule codes."""
        day = today or dt.date.today()
        configured = self._gemeenten()
        problems: list[str] = []
        loaded: list[tuple[str, bytes, Delivery, str]] = []
        for p in paths:
            name = str(p)
            try:
                data = Path(p).read_bytes()
            except OSError as exc:
                problems.append(f"{name}: niet te lezen ({exc.strerror})")
                continue
            report = validate_bytes(data, today=day)
            if report.release is not None and report.release != self.config.release:
                problems.append(
                    f"{name}: dit is een {report.bericht} van release {report.release}, maar de ingestelde "
                    f"release is {self.config.release!r} (release in ieb.toml, --release, of de standaard); "
                    f"maak het bestand opnieuw in {self.config.release} of stel release in"
                )
                continue
            if not report.valid:
                codes = ", ".join(sorted({f"{i.code}" for i in report.issues}))
                first = report.issues[0]
                problems.append(mask_bsns(f"{name}: afgekeurd [{codes}]: {first.message}"))
                continue
            try:
                message = from_xml(data, today=day)
            except IebError as exc:
                problems.append(mask_bsns(f"{name}: {exc}"))
                continue
            found = _table_row(message)
            if found is None or not found[1].is_heen:
                known = ", ".join(m.name for m in found[0].heen()) if found else "-"
                problems.append(f"{name}: een {message.bericht} is geen heenbericht ({known})")
                continue
            heen: Any = message  # a heenbericht of its pack (checked above)
            d = Delivery.from_message(heen)
            if configured and d.afzender not in configured:
                problems.append(
                    f"{name}: Afzender {d.afzender} staat niet in ieb.toml (gemeenten = {configured})"
                )
                continue
            loaded.append((name, data, d, found[0].name))
        with self.engine.begin() as conn:
            ledger = self.ledger
            histories: dict[str, Any] = {}
            seen: set[tuple[str, str, dt.date]] = set()
            for name, _data, d, _release in loaded:
                key = (d.afzender, d.identificatie, d.dagtekening)
                if key in seen or ledger.find(conn, *key) is not None:
                    problems.append(
                        f"{name}: BerichtIdentificatie {d.identificatie}/{d.dagtekening} van {d.afzender} "
                        "staat al in het grootboek"
                    )
                    continue
                seen.add(key)
                if d.afzender not in histories:
                    # a 1.0 ledger continues in 4.0: its start+stop pairs seen as periods
                    histories[d.afzender] = converted(
                        ledger.full_history(conn, d.afzender), get_pack(self.config.release)
                    )
                issues = check_history(d, histories[d.afzender])
                if issues:
                    codes = ", ".join(f"{i.code} ({i.retourcode})" for i in issues)
                    problems.append(mask_bsns(f"{name}: {d.describe()}: {codes}: {issues[0].message}"))
                    continue
                histories[d.afzender].add(d)
            if problems:
                conn.rollback()
                raise ExchangeError(
                    f"{len(problems)} bestand(en) geweigerd; er is niets in de wachtrij gezet",
                    problems,
                    code="QUEUE_REFUSED",
                )
            outbox = self.outbox()
            queued = Queued()
            for name, data, d, release in loaded:
                ledger.add(
                    conn, d, outcome="pending", payload=data, source=name, detail="bestand", release=release
                )
                # keep the planner's sequences ahead of hand-made numbers
                if d.is_start and d.status == "1":
                    exists = conn.execute(
                        sa.select(eb_start_nummers.c.bsn).where(
                            eb_start_nummers.c.afzender == d.afzender,
                            eb_start_nummers.c.eb_start_nummer == d.eb_start_nummer,
                        )
                    ).first()
                    if exists is None:
                        conn.execute(
                            sa.insert(eb_start_nummers).values(
                                afzender=d.afzender, eb_start_nummer=d.eb_start_nummer, bsn=d.bsn
                            )
                        )
                    _bump(conn, counters, d.afzender, "eb_start_nummer", d.eb_start_nummer)
                if d.identificatie.isdigit():
                    _bump(conn, counters, d.afzender, "identificatie", int(d.identificatie))
                ref = self._enqueue(outbox, conn, d.afzender, d.bericht, data, d.identificatie)
                queued.messages.append((d.afzender, d.identificatie, ref, d.describe()))
        return queued

    # -- sending and serving ----------------------------------------------------------------

    def send(
        self,
        *,
        workers: int | None = None,
        timeout: float | None = None,
        on_result: ResultCallback | None = None,
        stop_on_permanent: bool = True,
        stop_when_unreachable: bool = False,
        on_retry: RetryCallback | None = None,
    ) -> DrainResult:
        """Send what the outbox holds until it is empty (``ieb send``). A permanent fault
        (certificate, hostname, HTTP 4xx, Fo03, WSDL) stops the run at once:
        ``result.permanent`` holds it with its ``hint``. With ``stop_when_unreachable``, a run in
        which every open message failed to reach the GGk (refused, timed out) and nothing was
        acknowledged stops after that round: ``result.unreachable`` holds the last error and the
        messages stay pending. ``on_retry(message, text)`` hears every transient failure within a
        claim. Ctrl-C releases the leases."""
        client = self.client()
        try:
            from ieb.transport.sender import Sender

            sender = Sender(
                self.outbox(),
                client,
                policy=self.retry_policy,
                on_result=on_result,
                stop_on_permanent=stop_on_permanent,
                stop_when_unreachable=stop_when_unreachable,
                on_retry=on_retry,
            )
            return sender.drain(workers=workers or self.config.retry.workers, timeout=timeout)
        finally:
            client.close()

    def receiver(self) -> Receiver:
        """The receiver app (WSGI) of ``ieb serve``: stores and processes retouren (Du01) and Fo01."""
        configured = self._gemeenten()
        allowed = self.config.receiver.allowed_oins
        if not allowed:
            raise ConfigurationError(
                "receiver.allowed_oins is leeg: wie mag retouren afleveren?", code="CONFIG"
            )
        from ieb.transport.server import Receiver

        return Receiver(
            self.engine,
            organisatie=configured[0] if configured else "0000",
            allowed_oins=set(allowed),
            handler=self.handle_envelope,
        )

    # -- retours ----------------------------------------------------------------------------

    def handle_envelope(
        self, envelope: Envelope, entry: InboxEntry, *, conn: sa.Connection | None = None
    ) -> str | None:
        """The receiver's handler (see :meth:`ieb.exchange.retours.Retours.handle_envelope`)."""
        return self.retours.handle_envelope(envelope, entry, conn=conn)

    def process_retour_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        today: dt.date | None = None,
        on_chunk: ChunkReport | None = None,
    ) -> tuple[list[RetourOutcome], list[tuple[str, str]]]:
        """Process retour files one by one (``ieb retour FILES``): a file that cannot be processed
        is stored in the inbox as ``failed`` with its reason and does not block the others.
        Returns (outcomes, [(file, reason)]); ``on_chunk(outcomes, failures)`` hears each chunk's
        part (500 files, one transaction) once it is committed."""
        return self.retours.process_files(paths, today=today, on_chunk=on_chunk)

    def retry_failed_retours(
        self, *, today: dt.date | None = None, on_each: Callable[[Replayed], None] | None = None
    ) -> list[Replayed]:
        """Re-apply every ``failed`` inbox entry (Du01, Fo01 or a retour file): returns
        (referentienummer, new status, reason when it failed again); ``on_each`` gets each as
        soon as it is marked (see :meth:`ieb.exchange.retours.Retours.replay`)."""
        return self.retours.replay(("failed",), today=today, on_each=on_each)

    def drop_failed_retours(self, referentienummers: Sequence[str]) -> list[Dropped]:
        """Take these ``failed`` inbox entries out for good, audited: (referentienummer, dropped?,
        reason or why not) per entry (see :meth:`ieb.exchange.retours.Retours.drop_failed`)."""
        return self.retours.drop_failed(referentienummers)

    def requeue(
        self, referentienummers: Sequence[str] = (), *, dead: bool = False, failed: bool = False
    ) -> list[str]:
        """Put dead / failed outbox rows back to pending (after the cause is fixed); their
        deliveries that a Fo01 marked ``technical`` become ``pending`` again."""
        if not referentienummers and not dead and not failed:
            raise ExchangeError("noem referentienummers, of --dead en/of --failed", code="REQUEUE")
        with self.engine.begin() as conn:
            refs = self.outbox().requeue(referentienummers, dead=dead, failed=failed, conn=conn)
            reopen_technical(conn, refs)
        return refs

    # -- status -----------------------------------------------------------------------------

    def status(
        self, *, gemeente: str | None = None, today: dt.date | None = None, detail: bool = False
    ) -> Status:
        """The state of the exchange (see :class:`Status`); ``gemeente`` limits it to one."""
        from ieb.exchange.status import read_status

        status = read_status(
            self.engine, self._gemeenten(), gemeente=gemeente, today=today or dt.date.today(), detail=detail
        )
        status.release = self.config.release
        return status


# ------------------------------------------------------------------------------ helpers


def _gemeente_of(rec: Any) -> str:
    value = rec.get("gemeente") if isinstance(rec, Mapping) else getattr(rec, "gemeente", None)
    return restore_zeros(value or "", 4)  # Excel's 363 is gemeente 0363


def _table_row(message: Any) -> tuple[ReleasePack, MessageDef] | None:
    """The release pack and table row of a parsed message (by its model class), or None."""
    for pack in default_registry:
        row = pack.by_model(type(message))
        if row is not None:
            return pack, row
    return None


def _bump(conn: Connection, counters: sa.Table, scope: str, kind: str, value: int) -> None:
    updated = conn.execute(
        sa.update(counters)
        .where(counters.c.scope == scope, counters.c.kind == kind, counters.c.last_value < value)
        .values(last_value=value)
    ).rowcount
    if updated == 0:
        exists = conn.execute(
            sa.select(counters.c.last_value).where(counters.c.scope == scope, counters.c.kind == kind)
        ).first()
        if exists is None:
            conn.execute(sa.insert(counters).values(scope=scope, kind=kind, last_value=value))


def _retroactive(preview: Preview) -> list[str]:
    from ieb.exchange.status import deadline_of

    out = []
    for m in preview.messages:
        d = m.delivery
        if d.is_start and d.status == "1" and d.dagtekening > deadline_of(d.datum):
            out.append(f"{d.describe()}: EbStartdatum {d.datum} ligt meer dan een maand voor {d.dagtekening}")
    return out
