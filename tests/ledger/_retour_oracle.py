"""The retour processing of main at 95a027b (issue 22, round 4), kept unchanged as the oracle of
tests/ledger/test_retour_fast.py: it reads every retour with ``from_xml`` (the full codec path)."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ieb.codec import from_xml
from ieb.errors import IebError, MessageInvalidError
from ieb.ledger.errors import DuplicateRetourError, RetourInputError, UnknownRetourError
from ieb.ledger.history import field_name, message_row
from ieb.ledger.store import Ledger
from ieb.releases.pack import MessageDef
from ieb.types import mask_bsn

__all__ = ["RetourOutcome", "classify", "process_retour_files", "process_retours"]


@dataclass(frozen=True, slots=True)
class RetourOutcome:
    """What one retour did to the ledger."""

    source: str
    bericht: str
    afzender: str
    identificatie: str
    dagtekening: dt.date
    outcome: str
    codes: tuple[str, ...]
    duplicate: bool = False
    delivery_id: int | None = None


def _klasse(retour: Any, row: MessageDef) -> Any:
    """The retour's berichtklasse (the table row's ``klasse`` under ``Client``), or None."""
    if retour.client is None or row.klasse is None:
        return None
    return getattr(retour.client, field_name(row.klasse), None)


def classify(retour: Any) -> tuple[str, tuple[str, ...]]:
    """(outcome, codes) of a typed retour model of any registered release; ``codes`` are the header,
    client and class codes in that order. Raises UnknownMessageError for a model no pack knows."""
    row = message_row(str(retour.bericht))
    codes: list[str] = [c.value for c in retour.header.retour_codes]
    if retour.client is not None:
        klass = _klasse(retour, row)
        codes += [c.value for c in retour.client.retour_codes]
        codes += [c.value for c in getattr(klass, "retour_codes", ())]
    unique = tuple(dict.fromkeys(codes))
    specific = [c for c in unique if c not in ("0200", "0233")]
    if "0001" in unique:
        return "technical", unique
    if specific:
        return "rejected", unique
    if "0233" in unique:
        return "not_assessed", unique
    return "accepted", unique


#: retours read, looked up and applied together (one SELECT per Afzender and one UPDATE executemany)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _Applied:
    """A retour applied earlier in this call: what the heenbericht's row now holds."""

    payload: bytes
    identificatie: str
    dagtekening: dt.date
    outcome: str


def _read(name: str, data: bytes, today: dt.date | None) -> Any:
    """Parse one retour file (a typed retour model); a corrupt file or a message that is no retour of
    a registered release raises :class:`RetourInputError`."""
    try:
        message = from_xml(data, today=today)
    except MessageInvalidError as exc:
        first = exc.issues[0].message if exc.issues else exc.message
        raise RetourInputError(f"{name}: geen geldige retour: {first}", location=name) from exc
    except IebError as exc:
        raise RetourInputError(f"{name}: geen iEb-retour: {exc.message}", location=name) from exc
    try:
        row: MessageDef | None = message_row(str(message.bericht))
    except IebError:
        row = None
    if row is None or not row.is_retour:
        raise RetourInputError(
            f"{name}: dit is een {message.bericht}, geen retour ({_retour_names(row)})", location=name
        )
    return message


def _retour_names(row: MessageDef | None) -> str:
    """The retours of the release of ``row`` (its retours joined with ``/``), for a clerk's message."""
    from ieb.releases import default_registry

    packs = [p for p in default_registry if row is None or p.name == row.release]
    return "/".join(m.name for p in packs for m in p.retours()) or "geen retours bekend"


def _key(message: Any) -> tuple[str, str, dt.date]:
    ident = message.header.bericht_identificatie
    return str(message.header.afzender), str(ident.identificatie), ident.dagtekening


def process_retours(
    ledger: Ledger, files: Iterable[tuple[str, bytes]], *, today: dt.date | None = None
) -> list[RetourOutcome]:
    """Process retours (``(name, bytes)`` pairs) into the ledger, all in one transaction.

    The retours are read in chunks of 500: the heenberichten of a chunk are looked up in one query
    per Afzender and the chunk's updates applied in one ``executemany``. Raises
    :class:`RetourInputError` (or its subclasses :class:`UnknownRetourError`,
    :class:`DuplicateRetourError`) for the first bad file in input order; nothing is then changed.
    """
    results: list[RetourOutcome] = []
    seen: dict[int, _Applied] = {}
    with ledger.transaction() as unit:
        conn = unit.connection
        chunk: list[tuple[str, bytes]] = []
        for item in files:
            chunk.append(item)
            if len(chunk) >= _CHUNK:
                _process_chunk(ledger, conn, chunk, today, seen, results)
                chunk = []
        if chunk:
            _process_chunk(ledger, conn, chunk, today, seen, results)
    return results


def _process_chunk(
    ledger: Ledger,
    conn: Connection,
    chunk: Sequence[tuple[str, bytes]],
    today: dt.date | None,
    seen: dict[int, _Applied],
    results: list[RetourOutcome],
) -> None:
    parsed: list[tuple[str, bytes, Any]] = []
    for name, data in chunk:
        try:
            parsed.append((name, data, _read(name, data, today)))
        except RetourInputError as exc:  # raised in input order below
            parsed.append((name, data, exc))
    rows = ledger.find_many(conn, [_key(m) for _, _, m in parsed if not isinstance(m, RetourInputError)])
    updates: list[dict[str, Any]] = []
    for name, data, message in parsed:
        if isinstance(message, RetourInputError):
            raise message
        h = message.header
        ident = h.bericht_identificatie
        row = rows.get(_key(message))
        retour_row = message_row(str(message.bericht))
        heen = retour_row.answers
        key = f"Afzender {h.afzender}, Identificatie {ident.identificatie}, Dagtekening {ident.dagtekening}"
        if row is None or row.bericht != heen:
            raise UnknownRetourError(
                f"{name}: {message.bericht} op een onbekend heenbericht ({key}); deze retour is niet toegepast. "
                'Hoort deze retour bij deze gemeente en deze database (Afzender; database in ieb.toml)? ieb retour en de ontvanger bewaren hem als mislukt: verwerk hem met `ieb retour --retry-failed` zodra het heenbericht bekend is, of haal hem weg met `ieb retour --drop-failed REFERENTIENUMMER` (het nummer dat ieb status toont) als hij hier niet hoort; zie docs/ledger.md, "Een retour op een onbekend heenbericht".',
                location=name,
            )
        if message.client is not None:
            client_bsn = str(message.client.bsn)
            klass = _klasse(message, retour_row)
            nummer = getattr(klass, field_name(retour_row.key_element or ""), None)
            if client_bsn != row.bsn or nummer != row.eb_start_nummer:
                raise RetourInputError(
                    f"{name}: de retour noemt Bsn {mask_bsn(client_bsn)} / EbStartNummer "
                    f"{nummer}, het heenbericht ({key}) Bsn {mask_bsn(row.bsn)} / "
                    f"{row.eb_start_nummer}; deze retour is niet toegepast",
                    location=name,
                )
        outcome, codes = classify(message)
        retour_id = str(h.identificatie_retour)
        applied = seen.get(row.id)
        if applied is not None:
            # round 7: the batch's rule is the stored one (IdentificatieRetour AND DagtekeningRetour)
            same = applied.payload == data or (
                applied.identificatie == retour_id and applied.dagtekening == h.dagtekening_retour
            )
            previous_id, previous_outcome = applied.identificatie, applied.outcome
        elif row.retour_payload is not None:
            same = row.retour_payload == data or (
                row.retour_identificatie == retour_id and row.retour_dagtekening == h.dagtekening_retour
            )
            previous_id, previous_outcome = row.retour_identificatie, row.outcome
        else:
            same = None
        if same is not None:
            if not same:
                raise DuplicateRetourError(
                    f"{name}: het heenbericht ({key}) heeft al een andere retour "
                    f"(IdentificatieRetour {previous_id}); deze retour is niet toegepast. "
                    "De eerste retour blijft gelden. Vraag het CAK welke retour klopt (noem beide "
                    "IdentificatieRetour); deze retour blijft als mislukt bewaard: haal hem weg met "
                    "`ieb retour --drop-failed REFERENTIENUMMER` (het nummer dat ieb status toont).",
                    location=name,
                )
            results.append(
                RetourOutcome(
                    name,
                    message.bericht,
                    str(h.afzender),
                    str(ident.identificatie),
                    ident.dagtekening,
                    previous_outcome,
                    codes,
                    duplicate=True,
                    delivery_id=row.id,
                )
            )
            continue
        updates.append(
            {
                "delivery_id": row.id,
                "outcome": outcome,
                "codes": codes,
                "identificatie": retour_id,
                "dagtekening": h.dagtekening_retour,
                "payload": data,
                "source": name,
                "detail": row.detail,
            }
        )
        seen[row.id] = _Applied(data, retour_id, h.dagtekening_retour, outcome)
        results.append(
            RetourOutcome(
                name,
                message.bericht,
                str(h.afzender),
                str(ident.identificatie),
                ident.dagtekening,
                outcome,
                codes,
                delivery_id=row.id,
            )
        )
    ledger.set_retours(conn, updates)


def process_retour_files(
    ledger: Ledger, paths: Iterable[str | os.PathLike[str]], *, today: dt.date | None = None
) -> list[RetourOutcome]:
    """Read and process retour files (one transaction for all)."""
    files = []
    for p in paths:
        path = Path(p)
        try:
            files.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise RetourInputError(f"{path}: niet te lezen ({exc.strerror})", location=str(path)) from exc
    return process_retours(ledger, files, today=today)
