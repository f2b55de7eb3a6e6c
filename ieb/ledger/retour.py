"""Retour processing on the municipality's side: a retour updates the ledger.

A retour is matched to its heenbericht by Afzender + BerichtIdentificatie (Identificatie and
Dagtekening) and the message type: the release pack's table says which heenbericht each retour
answers (in iEb 1.0 the retour of the start answers the start, that of the stop the stop). This
module names no message. The outcome:

* no RetourCodes anywhere (or only 0200) -> ``accepted``;
* 0001 in the header -> ``technical`` (level 1 or 2: fix the message and send it again);
* a specific code (8848, S300, S333, 9xxx) -> ``rejected``;
* only 0233 -> ``not_assessed``.

``process_retours`` handles a batch in one transaction: a corrupt or foreign file, a retour for an
unknown heenbericht, or a second, different retour for the same heenbericht raises a
:class:`~ieb.ledger.errors.RetourInputError` naming the file, and nothing is changed. The same retour
again (a re-delivery: identical bytes, or the same IdentificatieRetour AND DagtekeningRetour, stored
or earlier in the batch) is reported as ``duplicate`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import stat
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from lxml import etree
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from ieb.codec import _INT_FIELDS, _is_field_of, _issue, _model_type, _validated_root, element_to_model
from ieb.errors import IebError, MessageInvalidError
from ieb.ledger.errors import DuplicateRetourError, RetourInputError, UnknownRetourError
from ieb.ledger.history import field_name, message_row
from ieb.ledger.store import Ledger
from ieb.releases import default_registry
from ieb.releases.models import IebModel, Message, model_error
from ieb.releases.pack import MessageDef
from ieb.types import mask_bsn
from ieb.values import read_date, read_integer, read_string
from ieb.xmlsafe import MAX_BYTES

__all__ = ["RetourOutcome", "classify", "process_retour_files", "process_retour_paths", "process_retours"]


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
    return _classify(retour, message_row(str(retour.bericht)))


def _classify(retour: Any, row: MessageDef) -> tuple[str, tuple[str, ...]]:
    """:func:`classify` with the retour's table row."""
    return _outcome(_codes_of(retour, row))


def _codes_of(retour: Any, row: MessageDef) -> list[str]:
    """The header, client and class RetourCodes of a typed retour, in that order (repeats kept)."""
    codes: list[str] = [c.value for c in retour.header.retour_codes]
    client = retour.client
    if client is not None:
        klass = _klasse(retour, row)
        codes += [c.value for c in client.retour_codes]
        codes += [c.value for c in getattr(klass, "retour_codes", ())]
    return codes


def _outcome(codes: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """(outcome, codes without repeats) of a retour's RetourCodes (header, client, class order)."""
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
#: ... and files of at most about this many bytes (500 files of 25 MB each would be 12 GB in memory)
_CHUNK_BYTES = 16 * 1024 * 1024


class _Applied(NamedTuple):
    """A retour applied earlier in this call: what the heenbericht's row now holds. (Named tuples
    for the per-retour records: a frozen dataclass's ``__init__`` costs ~1 us more each, issue 22.)"""

    payload: bytes
    identificatie: str
    dagtekening: dt.date
    outcome: str


# ------------------------------------------------------------------ reading a retour (issue 22)
#
# ``from_xml`` = ``validate_bytes`` + ``element_to_model``; the latter's ``_collect`` looked up each
# model's field types (``typing`` introspection) for every element of every file: 60 % of B2. A
# retour is read here with the same steps, but with a per-model-class *plan* of its fields built
# once, so the model gets exactly the dict ``ieb.codec._collect`` gives it (property test:
# tests/ledger/test_retour_fast.py) and the same pydantic validation and errors.

_NESTED, _TUPLE, _INT, _DATE, _STR = range(5)


@dataclass(frozen=True, slots=True)
class _Field:
    tag: str  # Clark notation of the element
    name: str  # the model field
    alias: str  # the element's local name (for IEB-DATUM)
    kind: int
    code_tag: str = ""  # _TUPLE: the RetourCode element
    nested: tuple[_Field, ...] = ()


_PLANS: dict[tuple[type[Any], str, str], tuple[_Field, ...]] = {}


def _plan(cls: type[IebModel], msg_ns: str, basis_ns: str) -> tuple[_Field, ...]:
    """The fields of ``cls`` as ``ieb.codec._collect`` reads them, in model field order."""
    key = (cls, msg_ns, basis_ns)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    ns = basis_ns if cls._basis_ns else msg_ns
    fields: list[_Field] = []
    for name, field in cls.model_fields.items():
        alias = field.alias or name
        tag = f"{{{ns}}}{alias}"
        nested = _model_type(field.annotation)
        if nested is not None:
            fields.append(_Field(tag, name, alias, _NESTED, nested=_plan(nested, msg_ns, basis_ns)))
        elif typing.get_origin(field.annotation) is tuple:
            fields.append(_Field(tag, name, alias, _TUPLE, code_tag=f"{{{ns}}}RetourCode"))
        elif _is_field_of(cls, name, int) or name in _INT_FIELDS:
            fields.append(_Field(tag, name, alias, _INT))
        elif _is_field_of(cls, name, dt.date):
            fields.append(_Field(tag, name, alias, _DATE))
        else:
            fields.append(_Field(tag, name, alias, _STR))
    plan = _PLANS[key] = tuple(fields)
    return plan


def _collect_planned(element: etree._Element, plan: tuple[_Field, ...]) -> dict[str, Any]:
    """``ieb.codec._collect`` with the field plan of the model class (same dict, same errors)."""
    children: dict[Any, etree._Element] = {}
    for each in element:
        if isinstance(each.tag, str):
            children.setdefault(each.tag, each)
    values: dict[str, Any] = {}
    for f in plan:
        child = children.get(f.tag)
        if child is None:
            continue
        kind = f.kind
        if kind == _NESTED:
            values[f.name] = _collect_planned(child, f.nested)
        elif kind == _TUPLE:
            values[f.name] = tuple(read_string(c) for c in child if c.tag == f.code_tag)
        elif kind == _INT:
            number = read_integer(child)
            values[f.name] = read_string(child) if number is None else number
        elif kind == _DATE:
            day = read_date(child)
            if day is not None and not day.in_python_range:
                raise MessageInvalidError(
                    f"{f.alias} {day.isoformat()} valt buiten de jaren 0001-9999 (IEB-DATUM)",
                    [_issue("IEB-DATUM", child, f"{f.alias} {day.isoformat()} valt buiten 0001-9999.")],
                )
            values[f.name] = read_string(child) if day is None else day.to_date()
        else:
            values[f.name] = read_string(child)
    return values


def _to_model(root: etree._Element) -> tuple[Any, MessageDef]:
    """:func:`ieb.codec.element_to_model` on the default registry, with :func:`_collect_planned`;
    also the message's table row (of the pack its namespace belongs to)."""
    _pack, row = default_registry.detect(root)
    cls = row.model
    if not (isinstance(cls, type) and issubclass(cls, Message)):
        return element_to_model(root), row  # a pack with its own codec, or no model: the codec decides
    try:
        plan = _plan(cls, cls.namespace(), cls.basis_namespace)
        return cls.model_validate(_collect_planned(root, plan)), row
    except ValidationError as exc:
        raise model_error(cls, exc) from None


# ------------------------------------------------------------------ the values a retour applies (issue 22)
#
# Applying a retour needs nine values. For the releases listed in ``_READ_FROM_TREE`` they are read
# straight from the tree ``validate_bytes`` validated, without building the typed model: for those
# releases every value the model refuses is already refused by the XSD or a level-1/2 rule (Bsn:
# pattern + CS002; StatusAanlevering 9: CS125; BerichtCode: the XSD pattern, CS126; RetourCode: the
# XSD enumeration = the enum; Versie, Gemeentecode, IdentificatieBericht: the XSD patterns and
# lengths = the model's checks; integers and dates: the XSD types and ranges, IEB-DATUM), and every
# value read is the one the model holds (the same ``ieb.values`` readers on the same elements,
# found by the model's own field plan). Anything unexpected (an element missing, a value that does
# not read) falls back to the model, which then decides. Proven by tests/ledger/test_retour_reader.py
# (the tree reader against the model on mutated retours of both releases).

#: Releases whose retours are read from the validated tree (see above); others build their model.
_READ_FROM_TREE = frozenset({"ieb-1.0"})


class _Retour(NamedTuple):
    """What applying one retour needs (:func:`_apply_one`): from the validated tree or from the
    typed model, the same values either way."""

    bericht: str
    afzender: str
    identificatie: str
    dagtekening: dt.date
    identificatie_retour: str
    dagtekening_retour: dt.date
    #: (Bsn, value of the class's key element, e.g. EbStartNummer) or None: the retour has no Client
    client: tuple[str, Any] | None
    #: the header, client and class RetourCodes in that order, repeats kept
    codes: tuple[str, ...]
    #: the heenbericht this retour answers (the table row's ``answers``)
    answers: str | None

    @property
    def key(self) -> tuple[str, str, dt.date]:
        """(Afzender, Identificatie, Dagtekening): the heenbericht's BerichtIdentificatie."""
        return self.afzender, self.identificatie, self.dagtekening


def _from_model(message: Any, row: MessageDef) -> _Retour:
    """The values of a typed retour model (any registered release)."""
    h = message.header
    ident = h.bericht_identificatie
    client = message.client
    pair = None
    if client is not None:
        nummer = getattr(_klasse(message, row), field_name(row.key_element or ""), None)
        pair = (str(client.bsn), nummer)
    return _Retour(
        message.bericht,
        str(h.afzender),
        str(ident.identificatie),
        ident.dagtekening,
        str(h.identificatie_retour),
        h.dagtekening_retour,
        pair,
        tuple(_codes_of(message, row)),
        row.answers,
    )


@dataclass(frozen=True, slots=True)
class _Paths:
    """Where a retour's values are, as fields of its model's plan (Clark tags, read kinds)."""

    header: _Field
    afzender: _Field
    bericht_identificatie: _Field
    identificatie: _Field
    dagtekening: _Field
    identificatie_retour: _Field
    dagtekening_retour: _Field
    header_codes: _Field
    client: _Field
    bsn: _Field
    klasse: _Field
    key: _Field
    klasse_codes: _Field
    client_codes: _Field


#: per table row (by identity: a pack registered again has new rows): the row and its paths
_PATHS: dict[int, tuple[MessageDef, _Paths | None]] = {}


def _paths(release: str, row: MessageDef) -> _Paths | None:
    """The paths of the retour ``row``, from the model's field plan; None when its release is not
    read from the tree or its model has not the usual retour shape (then the model is built)."""
    known = _PATHS.get(id(row))
    if known is not None and known[0] is row:
        return known[1]
    paths = None
    cls = row.model
    if (
        release in _READ_FROM_TREE
        and row.is_retour
        and row.klasse
        and row.key_element
        and isinstance(cls, type)
        and issubclass(cls, Message)
    ):
        try:
            top = {f.name: f for f in _plan(cls, cls.namespace(), cls.basis_namespace)}
            header = {f.name: f for f in top["header"].nested}
            ident = {f.name: f for f in header["bericht_identificatie"].nested}
            client = {f.name: f for f in top["client"].nested}
            klasse = client[field_name(row.klasse)]
            in_klasse = {f.name: f for f in klasse.nested}
            paths = _Paths(
                top["header"],
                header["afzender"],
                header["bericht_identificatie"],
                ident["identificatie"],
                ident["dagtekening"],
                header["identificatie_retour"],
                header["dagtekening_retour"],
                header["retour_codes"],
                top["client"],
                client["bsn"],
                klasse,
                in_klasse[field_name(row.key_element)],
                in_klasse["retour_codes"],
                client["retour_codes"],
            )
        except KeyError:
            paths = None
        if paths is not None and (
            {paths.afzender.kind, paths.identificatie.kind, paths.identificatie_retour.kind, paths.bsn.kind}
            != {_STR}
            or {paths.dagtekening.kind, paths.dagtekening_retour.kind} != {_DATE}
            or paths.key.kind != _INT
            or {paths.header_codes.kind, paths.klasse_codes.kind, paths.client_codes.kind} != {_TUPLE}
        ):
            paths = None  # read otherwise than the tree reader reads them: the model decides
    _PATHS[id(row)] = (row, paths)
    return paths


#: the plain form of an ``xs:date`` (ASCII digits, no sign, no timezone, no whitespace)
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(el: etree._Element | None) -> dt.date | None:
    """The date in ``el`` as the model reads it (:func:`ieb.values.read_date`, in 0001-9999), or
    None (missing, not a date, out of 0001-9999). The plain ``YYYY-MM-DD`` every retour carries
    is read by :meth:`datetime.date.fromisoformat` (the same calendar; 9 us -> 1 us); any other
    form, or one that is no day, by ``read_date`` (tests/ledger/test_retour_reader.py)."""
    if el is None:
        return None
    text = el.text
    if text is not None and len(el) == 0 and _PLAIN_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    day = read_date(el)
    return day.to_date() if day is not None and day.in_python_range else None


def _codes(el: etree._Element | None, f: _Field) -> tuple[str, ...]:
    """The RetourCode values in the RetourCodes element ``el`` (as the model's plan reads them)."""
    if el is None:
        return ()
    return tuple(read_string(c) for c in el if c.tag == f.code_tag)


def _children(el: etree._Element) -> dict[Any, etree._Element]:
    """The first child of ``el`` per tag (as the model's plan reads them)."""
    out: dict[Any, etree._Element] = {}
    for child in el:
        out.setdefault(child.tag, child)
    return out


def _from_tree(root: etree._Element, row: MessageDef, p: _Paths) -> _Retour | None:
    """The values of a validated retour read from its tree, or None when one is not where or what
    the model expects (then the model decides)."""
    top = _children(root)
    h = top.get(p.header.tag)
    if h is None:
        return None
    header = _children(h)
    afzender = header.get(p.afzender.tag)
    ident_retour = header.get(p.identificatie_retour.tag)
    bi = header.get(p.bericht_identificatie.tag)
    if afzender is None or ident_retour is None or bi is None:
        return None
    bericht_identificatie = _children(bi)
    ident = bericht_identificatie.get(p.identificatie.tag)
    dagtekening = _day(bericht_identificatie.get(p.dagtekening.tag))
    dag_retour = _day(header.get(p.dagtekening_retour.tag))
    if ident is None or dagtekening is None or dag_retour is None:
        return None
    codes = _codes(header.get(p.header_codes.tag), p.header_codes)
    pair = None
    c = top.get(p.client.tag)
    if c is not None:
        client = _children(c)
        bsn = client.get(p.bsn.tag)
        k = client.get(p.klasse.tag)
        klasse = {} if k is None else _children(k)
        nummer_el = klasse.get(p.key.tag)
        nummer = None if nummer_el is None else read_integer(nummer_el)
        client_codes = client.get(p.client_codes.tag)
        klasse_codes = klasse.get(p.klasse_codes.tag)
        if bsn is None or nummer is None or client_codes is None or klasse_codes is None:
            return None
        pair = (read_string(bsn), nummer)
        codes += _codes(client_codes, p.client_codes) + _codes(klasse_codes, p.klasse_codes)
    return _Retour(
        row.name,
        read_string(afzender),
        read_string(ident),
        dagtekening,
        read_string(ident_retour),
        dag_retour,
        pair,
        codes,
        row.answers,
    )


def _read(name: str, data: bytes, today: dt.date | None) -> _Retour:
    """Read one retour file: the values applying it needs (as its typed model from
    ``from_xml(data, today=today)`` holds them). A corrupt file or a message that is no retour of a
    registered release raises :class:`RetourInputError` (the model's verdict and text). The row is
    that of the pack the namespace belongs to (names being unique, the same as by message name)."""
    retour: _Retour | None = None
    try:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MessageInvalidError(f"verwacht bytes, niet {type(data).__name__}", [])
        root = _validated_root(bytes(data), today=today, worst=2, registry=None)
        pack, row = default_registry.detect(root)
        paths = _paths(pack.name, row)
        if paths is not None:
            retour = _from_tree(root, row, paths)
        if retour is None:
            message, row = _to_model(root)
    except MessageInvalidError as exc:
        first = exc.issues[0].message if exc.issues else exc.message
        raise RetourInputError(f"{name}: geen geldige retour: {first}", location=name) from exc
    except IebError as exc:
        raise RetourInputError(f"{name}: geen iEb-retour: {exc.message}", location=name) from exc
    if retour is not None:
        return retour
    if not row.is_retour:
        raise RetourInputError(
            f"{name}: dit is een {message.bericht}, geen retour ({_retour_names(row)})", location=name
        )
    return _from_model(message, row)


def _retour_names(row: MessageDef | None) -> str:
    """The retours of the release of ``row`` (its retours joined with ``/``), for a clerk's message."""
    from ieb.releases import default_registry

    packs = [p for p in default_registry if row is None or p.name == row.release]
    return "/".join(m.name for p in packs for m in p.retours()) or "geen retours bekend"


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
                _process_chunk(ledger, conn, chunk, today, seen, results, None)
                chunk = []
        if chunk:
            _process_chunk(ledger, conn, chunk, today, seen, results, None)
    return results


#: ``(file, bytes)`` of a retour file, or ``(file, reason)`` when it could not be read
_Read = tuple[str, bytes | str]


#: open flag so that opening a FIFO does not wait for a writer (0 where the OS has none)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[_Read]:
    """(name, bytes) per file, or (name, reason) for a file that cannot be read, is no regular file
    (``niet te lezen (is geen gewoon bestand)``: a FIFO, socket or device, checked on the opened
    file, so a path swapped after the folder walk is refused too) or is larger than an iEb file may
    be (OP179: not read whole, never applicable)."""
    for p in paths:
        name = str(p)
        try:
            # O_NONBLOCK: a FIFO put in a file's place after the folder walk must not block the run;
            # what is no regular file is refused after the open, on the file actually opened
            fd = os.open(p, os.O_RDONLY | _NONBLOCK)
        except OSError as exc:
            yield name, f"niet te lezen ({exc.strerror})"
            continue
        try:
            try:
                info = os.fstat(fd)
                regular = stat.S_ISREG(info.st_mode)
                size, data = info.st_size, b""
                if regular and size <= MAX_BYTES:
                    with os.fdopen(fd, "rb", closefd=False) as handle:
                        data = handle.read(size + 1)
                        if len(data) > size:  # it grew since the fstat: at most one byte over the limit
                            data += handle.read(MAX_BYTES + 1 - len(data))
            finally:
                os.close(fd)
        except OSError as exc:
            yield name, f"niet te lezen ({exc.strerror})"
            continue
        if not regular:  # a directory keeps the text it had when open() refused it
            what = os.strerror(errno.EISDIR) if stat.S_ISDIR(info.st_mode) else "is geen gewoon bestand"
            yield name, f"niet te lezen ({what})"
            continue
        if size > MAX_BYTES or len(data) > MAX_BYTES:  # (a file that grew since the fstat: its size)
            big = max(size, len(data))
            text = (
                f"{name}: geen geldige retour: Het bestand is {big / 1_048_576:.1f} MB; een iEb-bestand mag "
                f"hoogstens {MAX_BYTES // 1_048_576} MB zijn. Splits de aanlevering in kleinere bestanden."
            )
            yield name, str(RetourInputError(text, location=name))
            continue
        yield name, data


def process_retour_paths(
    ledger: Ledger,
    paths: Iterable[str | os.PathLike[str]],
    *,
    today: dt.date | None = None,
    on_failed: Callable[[str, bytes, str], None] | None = None,
    on_chunk: Callable[[list[RetourOutcome], list[tuple[str, str]]], None] | None = None,
) -> tuple[list[RetourOutcome], list[tuple[str, str]]]:
    """Process retour files each on its own (``ieb retour FILES``): a file that cannot be read or
    processed does not block the others. Returns (outcomes, [(file, reason)]), both in input order.

    The ledger ends exactly as if every file were given to :func:`process_retours` alone, one after
    the other (tests/ledger/test_retour_fast.py), but the files are read, looked up and applied in
    chunks of 500 (or 16 MiB of files), each chunk ONE transaction: a crash loses at most the chunk
    under way, and running again reports what was applied as ``duplicate``. A file over 25 MB (OP179)
    is not read whole and fails like an unreadable one. ``on_failed(file, bytes, reason)`` is called for
    every readable file that failed, after its chunk is committed (outside its transaction), in
    input order; a file that cannot be read (``niet te lezen (...)``) or is too large is only reported.
    ``on_chunk(outcomes, failures)`` hears each chunk's part of the two lists once it is committed
    (``ieb retour`` prints them then, so Ctrl-C loses no report)."""
    done: list[RetourOutcome] = []
    failed: list[tuple[str, str]] = []
    seen: dict[int, _Applied] = {}
    chunk: list[_Read] = []

    def flush() -> None:
        first_done, first_failed = len(done), len(failed)
        readable = [(n, d) for n, d in chunk if isinstance(d, bytes)]
        bad: dict[int, RetourInputError] = {}
        with ledger.transaction() as unit:
            _process_chunk(ledger, unit.connection, readable, today, seen, done, bad)
        # committed: the next chunk reads these retours from the rows (the same rule as ``seen``);
        # keeping every applied retour's bytes to the end held a whole run in memory (tests/attack)
        seen.clear()
        k = 0
        for name, data in chunk:
            if not isinstance(data, bytes):
                failed.append((name, data))
                continue
            error = bad.get(k)
            k += 1
            if error is not None:
                reason = str(error)
                if on_failed is not None:
                    on_failed(name, data, reason)
                failed.append((name, reason))
        if on_chunk is not None:
            on_chunk(done[first_done:], failed[first_failed:])

    held = 0
    for item in _read_files(paths):
        chunk.append(item)
        held += len(item[1]) if isinstance(item[1], bytes) else 0
        if len(chunk) >= _CHUNK or held >= _CHUNK_BYTES:
            flush()
            chunk = []
            held = 0
    if chunk:
        flush()
    return done, failed


def _process_chunk(
    ledger: Ledger,
    conn: Connection,
    chunk: Sequence[tuple[str, bytes]],
    today: dt.date | None,
    seen: dict[int, _Applied],
    results: list[RetourOutcome],
    bad: dict[int, RetourInputError] | None,
) -> None:
    """Apply one chunk. ``bad`` None: raise the first bad file's error (all or nothing); else every
    file stands alone: ``bad[index in chunk]`` gets its error, the others are applied as if each came
    in its own :func:`process_retours` call after the files before it."""
    parsed: list[tuple[str, bytes, _Retour | RetourInputError]] = []
    for name, data in chunk:
        try:
            parsed.append((name, data, _read(name, data, today)))
        except RetourInputError as exc:  # raised in input order below
            parsed.append((name, data, exc if bad is None else _detached(exc)))
    keys = [r.key for _, _, r in parsed if not isinstance(r, RetourInputError)]
    ledger.lock_afzenders(conn, (k[0] for k in keys))  # read and write these rows alone (PostgreSQL)
    rows = ledger.find_many(conn, keys)
    updates: list[dict[str, Any]] = []
    for index, (name, data, read) in enumerate(parsed):
        try:
            if isinstance(read, RetourInputError):
                raise read
            outcome = _apply_one(name, data, read, rows, seen)
        except RetourInputError as exc:
            if bad is None:
                raise
            bad[index] = _detached(exc)
            continue
        results.append(outcome[0])
        if outcome[1] is not None:
            updates.append(outcome[1])
    ledger.set_retours(conn, updates)


def _detached(exc: RetourInputError) -> RetourInputError:
    """``exc`` (and its causes) without tracebacks: a kept error's traceback holds the frames that
    read the chunk (and, through them, the error itself), a cycle that kept every chunk's bytes
    until the garbage collector ran (tests/attack/test_retour_files_bounded.py)."""
    e: BaseException | None = exc
    while e is not None:
        e.__traceback__ = None
        e = e.__cause__ or e.__context__
    return exc


#: what a clerk can do with a retour on an unknown heenbericht (the end of its refusal text): it may
#: belong to another gemeente or database; ``ieb retour`` and the receiver keep it as ``failed``
UNKNOWN_HEENBERICHT_ADVICE = (
    "Hoort deze retour bij deze gemeente en deze database (Afzender; database in ieb.toml)? "
    "ieb retour en de ontvanger bewaren hem als mislukt: verwerk hem met `ieb retour --retry-failed` "
    "zodra het heenbericht bekend is, of haal hem weg met `ieb retour --drop-failed REFERENTIENUMMER` "
    "(het nummer dat ieb status toont) als hij hier niet hoort; zie docs/ledger.md, "
    '"Een retour op een onbekend heenbericht".'
)


#: what a clerk can do with a second, different retour on one heenbericht (the text of
#: :class:`DuplicateRetourError`; docs/ledger.md "Een retour op een onbekend heenbericht")
DIFFERENT_RETOUR_ADVICE = (
    "De eerste retour blijft gelden. Vraag het CAK welke retour klopt (noem beide "
    "IdentificatieRetour); deze retour blijft als mislukt bewaard: haal hem weg met "
    "`ieb retour --drop-failed REFERENTIENUMMER` (het nummer dat ieb status toont)."
)


def _key_text(retour: _Retour) -> str:
    """The heenbericht's BerichtIdentificatie for a clerk's message."""
    return (
        f"Afzender {retour.afzender}, Identificatie {retour.identificatie}, Dagtekening {retour.dagtekening}"
    )


def _apply_one(
    name: str,
    data: bytes,
    retour: _Retour,
    rows: dict[tuple[str, str, dt.date], Any],
    seen: dict[int, _Applied],
) -> tuple[RetourOutcome, dict[str, Any] | None]:
    """What one retour does: its outcome and the update of its heenbericht's row (None for a
    duplicate); raises RetourInputError. A retour is identified by IdentificatieRetour AND
    DagtekeningRetour (as a message by Identificatie and Dagtekening): the same retour as one
    stored, or applied earlier in this call, has the same bytes or that same pair.
    """
    row = rows.get(retour.key)
    if row is None or row.bericht != retour.answers:
        raise UnknownRetourError(
            f"{name}: {retour.bericht} op een onbekend heenbericht ({_key_text(retour)}); deze retour is "
            f"niet toegepast. {UNKNOWN_HEENBERICHT_ADVICE}",
            location=name,
        )
    if retour.client is not None:
        client_bsn, nummer = retour.client
        if client_bsn != row.bsn or nummer != row.eb_start_nummer:
            raise RetourInputError(
                f"{name}: de retour noemt Bsn {mask_bsn(client_bsn)} / EbStartNummer "
                f"{nummer}, het heenbericht ({_key_text(retour)}) Bsn {mask_bsn(row.bsn)} / "
                f"{row.eb_start_nummer}; deze retour is niet toegepast",
                location=name,
            )
    outcome, codes = _outcome(retour.codes)
    retour_id = retour.identificatie_retour
    day = retour.dagtekening_retour
    applied = seen.get(row.id)
    same: bool | None
    if applied is not None:
        same = applied.payload == data or (applied.identificatie == retour_id and applied.dagtekening == day)
        previous_id, previous_outcome = applied.identificatie, applied.outcome
    elif row.retour_payload is not None:
        same = row.retour_payload == data or (
            row.retour_identificatie == retour_id and row.retour_dagtekening == day
        )
        previous_id, previous_outcome = row.retour_identificatie, row.outcome
    else:
        same = None
    if same is not None:
        if not same:
            raise DuplicateRetourError(
                f"{name}: het heenbericht ({_key_text(retour)}) heeft al een andere retour "
                f"(IdentificatieRetour {previous_id}); deze retour is niet toegepast. "
                f"{DIFFERENT_RETOUR_ADVICE}",
                location=name,
            )
        dup = RetourOutcome(
            name,
            retour.bericht,
            retour.afzender,
            retour.identificatie,
            retour.dagtekening,
            previous_outcome,
            codes,
            duplicate=True,
            delivery_id=row.id,
        )
        return dup, None
    seen[row.id] = _Applied(data, retour_id, day, outcome)
    update = {
        "delivery_id": row.id,
        "outcome": outcome,
        "codes": codes,
        "identificatie": retour_id,
        "dagtekening": day,
        "payload": data,
        "source": name,
        "detail": row.detail,
    }
    new = RetourOutcome(
        name,
        retour.bericht,
        retour.afzender,
        retour.identificatie,
        retour.dagtekening,
        outcome,
        codes,
        delivery_id=row.id,
    )
    return new, update


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
