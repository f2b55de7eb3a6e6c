"""The state of the exchange (``ieb status``, ``ieb report``, ``/metrics``): one read of the database.

:func:`read_status` counts deliveries by outcome and retourcode, outbox rows by status, failed
inbox entries, and lists what is overdue: a start (StatusAanlevering 1 of a heenbericht whose date
element is ``EbStartdatum`` in its release pack's table) must reach the CAK within
:data:`DEADLINE_MONTHS` month of its EbStartdatum, judged by the message's Dagtekening (see
:func:`read_status`). A rejection (afgewezen, technisch afgekeurd, niet beoordeeld) is *resolved*
once a later message for the same person (Afzender + Bsn) was accepted, and *open* until then;
:attr:`Status.still_wrong` lists the persons with an open rejection, with the code's meaning and
what to do (the release pack's hint per retourcode). :class:`Status` and its :meth:`Status.as_json`
are the ``ieb status --json`` contract. BSNs are masked in every text; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ieb.dates import add_months
from ieb.errors import ConfigurationError
from ieb.ggk.codes import FoutCode
from ieb.releases import default_registry
from ieb.store.schema import deliveries as d_t
from ieb.store.schema import inbox as i_t
from ieb.store.schema import outbox as o_t
from ieb.types import RetourCode, mask_bsn, mask_bsns

__all__ = [
    "DEADLINE_MONTHS",
    "PROBLEM_OUTCOMES",
    "Status",
    "advice",
    "deadline_of",
    "gemeente_naam",
    "opens_period",
    "read_status",
]

#: the law gives one month from the start of the voorziening to reach the CAK
DEADLINE_MONTHS = 1
#: the date element of a message that starts a period (the standard's term, in every release)
_START_DATE_ELEMENT = "EbStartdatum"
#: the outcomes that count as a rejection to resolve (a later accepted message for the person)
PROBLEM_OUTCOMES = ("rejected", "technical", "not_assessed")
#: codes that never tell the cause on their own (0200 geen opmerking, 0233 niet beoordeeld)
_GENERIC_CODES = ("0200", "0233")


@dataclass
class Status:
    """The state of the exchange (``ieb status``). :meth:`as_json` is the contract."""

    gemeenten: list[str]
    deliveries: dict[str, int]
    retourcodes: dict[str, int]
    outbox: dict[str, int]
    inbox_failed: int
    overdue: int
    oldest_open_seconds: float | None = None
    retourcode_text: dict[str, str] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    failed_inbox: list[dict[str, Any]] = field(default_factory=list)
    overdue_list: list[dict[str, Any]] = field(default_factory=list)
    detail: list[dict[str, Any]] = field(default_factory=list)
    #: open rows (pending/sending) that failed at least once: why, and when the next attempt is due
    retrying: list[dict[str, Any]] = field(default_factory=list)
    #: the iEb release the configuration sends (``ieb.toml`` ``release``)
    release: str = "ieb-1.0"
    #: rejected/technical/not-assessed messages: ``{"open": n, "resolved": n}`` (resolved: a later
    #: message for the same person was accepted)
    rejections: dict[str, int] = field(default_factory=lambda: {"open": 0, "resolved": 0})
    #: one entry per person with an open rejection, newest Dagtekening first (see :func:`read_status`)
    still_wrong: list[dict[str, Any]] = field(default_factory=list)
    #: per gemeentecode: the name in the bundled CBS list (``"0363": "Amsterdam"``)
    gemeente_namen: dict[str, str] = field(default_factory=dict)
    #: per gemeentecode: deliveries per outcome, ``rejections_open``, ``rejections_resolved``,
    #: ``overdue``, ``last_dagtekening`` (ISO date or None)
    per_gemeente: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """The status as plain data (the JSON contract; ``detail`` adds per-message rows; ``release``
        names the configured iEb release)."""
        data: dict[str, Any] = {
            "release": self.release,
            "gemeenten": self.gemeenten,
            "deliveries": self.deliveries,
            "retourcodes": self.retourcodes,
            "outbox": self.outbox,
            "inbox_failed": self.inbox_failed,
            "overdue": self.overdue,
            "oldest_open_seconds": self.oldest_open_seconds,
            "retourcode_text": self.retourcode_text,
            "dead_letters": self.dead_letters,
            "failed_inbox": self.failed_inbox,
            "overdue_list": self.overdue_list,
            "retrying": self.retrying,
            "rejections": self.rejections,
            "still_wrong": self.still_wrong,
            "gemeente_namen": self.gemeente_namen,
            "per_gemeente": self.per_gemeente,
        }
        if detail:
            data["detail"] = self.detail
        return data

    def as_json(self, *, detail: bool = False) -> str:
        """The status as indented JSON (see :meth:`as_dict`)."""
        return json.dumps(self.as_dict(detail=detail), indent=2, ensure_ascii=False, default=str)


def deadline_of(start: dt.date) -> dt.date:
    """The last day a start with EbStartdatum ``start`` reaches the CAK in time (one month)."""
    return add_months(start, DEADLINE_MONTHS)


def _start_berichten(release: str) -> frozenset[str]:
    try:
        pack = default_registry.get(release)
    except ConfigurationError:  # a release whose pack is no longer installed: no start known
        return frozenset()
    return frozenset(m.name for m in pack.heen() if m.date_element == _START_DATE_ELEMENT)


def opens_period(
    release: str, bericht: str, status: str, *, _seen: dict[str, frozenset[str]] | None = None
) -> bool:
    """True for a new start: StatusAanlevering ``"1"`` of a heenbericht of ``release`` whose date
    element is ``EbStartdatum`` (asked of the release pack's table)."""
    if status != "1":
        return False
    if _seen is None:
        return bericht in _start_berichten(release)
    if release not in _seen:
        _seen[release] = _start_berichten(release)
    return bericht in _seen[release]


def gemeente_naam(code: str) -> str:
    """The name of gemeentecode ``code`` in the bundled CBS list (the latest period), or ``""``."""
    from ieb.validation.gemeenten import bundled_gemeenten

    found = bundled_gemeenten().lookup(code)
    return found.naam if found is not None else ""


def _generic_advice(code: str) -> str:
    if code == "0001":
        return "Technisch afgekeurd: herstel het bestand (zie de foutmelding) en plan opnieuw; het telt niet mee."
    if code == "0200":
        return "Geaccepteerd: niets te doen."
    if code == "0233":
        return "Niet beoordeeld omdat een eerder bericht is afgekeurd: los dat eerst op en plan opnieuw."
    if code[:1] in ("8", "9", "S"):
        return "Inhoudelijk afgewezen: pas de gewenste situatie aan volgens de regel en plan opnieuw."
    if code.startswith(("IB", "StUF", "RIN")):
        return (
            "Envelop geweigerd door de GGk (Fo01): herstel de oorzaak en plan opnieuw (ieb plan --queue); "
            "een Fo03 staat bij de niet afgeleverde berichten en gaat terug met ieb requeue."
        )
    return "Zie de omschrijving; neem zo nodig contact op met het CAK."


def advice(code: str, release: str | None = None) -> str:
    """What to do about retourcode or Fo01 code ``code`` (Dutch, for a municipal clerk): the hint of
    ``release``'s pack (``RetourcodeTable.hints``; any installed pack when ``release`` is None or has
    none for the code), else a general line by the kind of code."""
    return _advice(code, release)


@functools.cache
def _advice(code: str, release: str | None) -> str:
    if release:
        try:
            hint = default_registry.get(release).retourcodes.hints.get(code)
        except ConfigurationError:  # a release whose pack is no longer installed
            hint = None
        if hint:
            return hint
    for pack in default_registry:
        hint = pack.retourcodes.hints.get(code)
        if hint:
            return hint
    return _generic_advice(code)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _mask(text: str | None) -> str | None:
    return mask_bsns(text) if text else text


def _lateness(r: Any, o: Any, day: dt.date, starts: dict[str, frozenset[str]]) -> dict[str, Any] | None:
    """The overdue entry of a start delivery (see :func:`opens_period`), or None when in time.

    Judged by the Dagtekening (what the message tells the CAK), never by the database row's
    creation time: ``queued_late`` when the Dagtekening is after the deadline; ``sent_late`` when
    the Dagtekening was in time but the GGk acknowledged it after the deadline (an acknowledgement
    outside Dagtekening..``day`` comes from another clock, e.g. a rehearsal, and is not used);
    ``unsent`` when ``day`` is past the deadline and the message is neither acknowledged nor
    answered."""
    if not opens_period(r.release, r.bericht, r.status, _seen=starts):
        return None
    limit = deadline_of(r.datum)
    base = {
        "gemeente": r.afzender,
        "identificatie": r.identificatie,
        "bsn": mask_bsn(r.bsn),
        "eb_startdatum": r.datum.isoformat(),
        "deadline": limit.isoformat(),
    }
    if r.dagtekening > limit:
        return base | {"kind": "queued_late", "when": r.dagtekening.isoformat()}
    sent = _aware(o.acknowledged_at) if o is not None else None
    if sent is not None and r.dagtekening <= sent.date() <= day:
        if sent.date() > limit:
            return base | {"kind": "sent_late", "when": sent.date().isoformat()}
        return None
    if sent is None and day > limit and r.outcome == "pending":
        return base | {"kind": "unsent", "when": None}
    return None


def _code_text(code: str) -> str:
    try:
        return RetourCode(code).omschrijving
    except ValueError:
        try:
            return FoutCode(code).omschrijving
        except ValueError:
            return ""


def read_status(
    engine: Engine,
    configured: Sequence[str],
    *,
    gemeente: str | None = None,
    today: dt.date,
    now: dt.datetime | None = None,
    detail: bool = False,
) -> Status:
    """The :class:`Status` of the database behind ``engine``. ``configured``: the gemeenten of
    ieb.toml (listed even without deliveries); ``gemeente`` limits everything to one Afzender;
    ``today`` decides what is overdue, ``now`` (UTC, default: the clock) the ages in seconds."""
    now = now or dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        dq = sa.select(
            d_t.c.afzender,
            d_t.c.identificatie,
            d_t.c.dagtekening,
            d_t.c.bericht,
            d_t.c.release,
            d_t.c.bsn,
            d_t.c.eb_start_nummer,
            d_t.c.status,
            d_t.c.datum,
            d_t.c.outcome,
            d_t.c.retour_codes,
            d_t.c.id,
        )
        oq = sa.select(
            o_t.c.referentienummer,
            o_t.c.afzender,
            o_t.c.bericht_identificatie,
            o_t.c.status,
            o_t.c.created_at,
            o_t.c.acknowledged_at,
            o_t.c.last_error,
            o_t.c.attempts,
            o_t.c.functie,
            o_t.c.next_attempt_at,
        )
        if gemeente is not None:
            dq = dq.where(d_t.c.afzender == gemeente)
            oq = oq.where(o_t.c.afzender == gemeente)
        drows = conn.execute(dq.order_by(d_t.c.id)).all()  # no payloads: status stays cheap
        orows = conn.execute(oq).all()
        irows = conn.execute(
            sa.select(
                i_t.c.referentienummer,
                i_t.c.cross_ref_nummer,
                i_t.c.berichtcode,
                i_t.c.error,
                i_t.c.received_at,
            ).where(i_t.c.status == "failed")
        ).all()
        known = sorted(set(conn.execute(sa.select(d_t.c.afzender).distinct()).scalars()))
    gemeenten = [gemeente] if gemeente else sorted(set(configured) | set(known))
    by_key = {(o.afzender, o.bericht_identificatie): o for o in orows}
    refs = {o.referentienummer for o in orows}
    counts = dict.fromkeys(("pending", "accepted", "rejected", "technical", "not_assessed"), 0)
    codes: dict[str, int] = {}
    detail_rows: list[dict[str, Any]] = []
    overdue_list: list[dict[str, Any]] = []
    starts: dict[str, frozenset[str]] = {}
    #: per person (afzender, bsn): the open problem rows since the last accepted message, and
    #: whether a message after the newest problem still waits for its retour
    open_by_person: dict[tuple[str, str], list[Any]] = {}
    fix_pending: dict[tuple[str, str], bool] = {}
    resolved = 0
    per_g: dict[str, dict[str, Any]] = {}
    resolved_ids: set[int] = set()
    for r in drows:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
        g = per_g.setdefault(r.afzender, _gemeente_counts())
        g[r.outcome] = g.get(r.outcome, 0) + 1
        if g["last_dagtekening"] is None or r.dagtekening.isoformat() > g["last_dagtekening"]:
            g["last_dagtekening"] = r.dagtekening.isoformat()
        person = (r.afzender, r.bsn)
        if r.outcome in PROBLEM_OUTCOMES:
            open_by_person.setdefault(person, []).append(r)
            fix_pending[person] = False
        elif r.outcome == "accepted" and person in open_by_person:
            done = open_by_person.pop(person)
            resolved += len(done)
            g["rejections_resolved"] += len(done)
            resolved_ids.update(x.id for x in done)
            fix_pending.pop(person, None)
        elif r.outcome == "pending" and person in open_by_person:
            fix_pending[person] = True
        for c in (r.retour_codes or "").split():
            codes[c] = codes.get(c, 0) + 1
        o = by_key.get((r.afzender, r.identificatie))
        late = _lateness(r, o, today, starts)
        if late is not None:
            overdue_list.append(late)
            g["overdue"] += 1
        if detail:
            detail_rows.append(
                {
                    "gemeente": r.afzender,
                    "bericht": r.bericht,
                    "identificatie": r.identificatie,
                    "dagtekening": r.dagtekening.isoformat(),
                    "bsn": mask_bsn(r.bsn),
                    "eb_start_nummer": r.eb_start_nummer,
                    "status": r.status,
                    "datum": r.datum.isoformat(),
                    "outcome": r.outcome,
                    "retour_codes": (r.retour_codes or "").split(),
                    "outbox": o.status if o is not None else None,
                    "referentienummer": o.referentienummer if o is not None else None,
                    "release": r.release,
                    "row": r.id,
                }
            )
    outbox_counts = dict.fromkeys(("pending", "sending", "acknowledged", "failed", "dead"), 0)
    oldest: dt.datetime | None = None
    dead: list[dict[str, Any]] = []
    retrying: list[dict[str, Any]] = []
    for o in orows:
        if o.status in ("pending", "sending") and (o.attempts or 0) > 0:
            due = _aware(o.next_attempt_at)
            retrying.append(
                {
                    "referentienummer": o.referentienummer,
                    "gemeente": o.afzender,
                    "identificatie": o.bericht_identificatie,
                    "status": o.status,
                    "attempts": o.attempts,
                    "reason": _mask(o.last_error),
                    "next_attempt_at": due.isoformat(timespec="seconds") if due else None,
                    "next_attempt_in_seconds": max(0, round((due - now).total_seconds())) if due else None,
                }
            )
        outbox_counts[o.status] = outbox_counts.get(o.status, 0) + 1
        created = _aware(o.created_at)
        if (
            o.status in ("pending", "sending")
            and created is not None
            and (oldest is None or created < oldest)
        ):
            oldest = created
        if o.status in ("dead", "failed"):
            dead.append(
                {
                    "referentienummer": o.referentienummer,
                    "gemeente": o.afzender,
                    "identificatie": o.bericht_identificatie,
                    "status": o.status,
                    "attempts": o.attempts,
                    "reason": _mask(o.last_error),
                }
            )
    failed_inbox = [
        {
            "referentienummer": i.referentienummer,
            "cross_ref_nummer": i.cross_ref_nummer,
            "berichtcode": i.berichtcode,
            "reason": _mask(i.error),
            "received_at": str(i.received_at) if i.received_at else None,
        }
        for i in irows
        if gemeente is None or i.cross_ref_nummer in refs or i.berichtcode == "bestand"
    ]
    if detail:
        for row in detail_rows:
            ident = row.pop("row")
            row.pop("release")
            row["resolved"] = (ident in resolved_ids) if row["outcome"] in PROBLEM_OUTCOMES else None
    still_wrong = _still_wrong(open_by_person, fix_pending)
    for afzender, g in per_g.items():
        g["rejections_open"] = sum(len(v) for (a, _), v in open_by_person.items() if a == afzender)
    for code in gemeenten:
        per_g.setdefault(code, _gemeente_counts())
    return Status(
        rejections={"open": sum(len(v) for v in open_by_person.values()), "resolved": resolved},
        still_wrong=still_wrong,
        gemeente_namen={c: gemeente_naam(c) for c in sorted(per_g)},
        per_gemeente={c: per_g[c] for c in sorted(per_g)},
        gemeenten=gemeenten,
        deliveries=counts,
        retourcodes=dict(sorted(codes.items())),
        outbox=outbox_counts,
        inbox_failed=len(failed_inbox),
        overdue=len(overdue_list),
        oldest_open_seconds=round((now - oldest).total_seconds(), 1) if oldest else None,
        retourcode_text={c: _code_text(c) for c in sorted(codes)},
        dead_letters=dead,
        failed_inbox=failed_inbox,
        overdue_list=overdue_list,
        detail=detail_rows,
        retrying=retrying,
    )


def _gemeente_counts() -> dict[str, Any]:
    return dict.fromkeys(
        ("pending", "accepted", "rejected", "technical", "not_assessed", "rejections_open"), 0
    ) | {"rejections_resolved": 0, "overdue": 0, "last_dagtekening": None}


def _main_code(r: Any) -> str:
    """The code that tells why a problem row failed: the first specific retourcode, else 0001
    (technical) or 0233 (not assessed)."""
    codes = (r.retour_codes or "").split()
    specific = [c for c in codes if c not in _GENERIC_CODES]
    if specific:
        return specific[0]
    return {"technical": "0001", "not_assessed": "0233"}.get(r.outcome, codes[0] if codes else "0001")


def _still_wrong(
    open_by_person: dict[tuple[str, str], list[Any]], fix_pending: dict[tuple[str, str], bool]
) -> list[dict[str, Any]]:
    """One entry per person with an open rejection: its newest problem row's gemeente, masked Bsn,
    bericht, identificatie, dagtekening (ISO), ``code`` (the telling one), ``codes`` (all),
    ``meaning``, ``advice`` (the pack's hint for ``code``), ``open_messages`` and ``fix_pending``
    (a later message waits for its retour). Newest Dagtekening first."""
    out: list[dict[str, Any]] = []
    for person, rows in open_by_person.items():
        r = rows[-1]
        code = _main_code(r)
        out.append(
            {
                "gemeente": r.afzender,
                "gemeente_naam": gemeente_naam(r.afzender),
                "bsn": mask_bsn(r.bsn),
                "bericht": r.bericht,
                "identificatie": r.identificatie,
                "dagtekening": r.dagtekening.isoformat(),
                "outcome": r.outcome,
                "code": code,
                "codes": (r.retour_codes or "").split(),
                "meaning": _code_text(code),
                "advice": advice(code, r.release),
                "open_messages": len(rows),
                "fix_pending": fix_pending.get(person, False),
            }
        )
    out.sort(key=lambda x: (x["dagtekening"], x["gemeente"]), reverse=True)
    return out
