"""Build WMO401/WMO403 files from records (CSV or JSON lines), all or nothing.

Record fields (CSV header or JSON keys): ``bericht`` (WMO401 or WMO403; optional when the command
gives one), ``afzender``, ``identificatie``, ``dagtekening``, ``bsn``, ``eb_start_nummer``,
``status`` (1, 2 or 3; default 1), for WMO401 ``eb_startdatum`` and optionally ``kostprijs_bedrag``
(eurocent) + ``kostprijs_startdatum``, for WMO403 ``eb_stopdatum``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ieb.codec import to_xml
from ieb.errors import InputRowError
from ieb.messages import Message, Wmo401, Wmo403
from ieb.types import mask_bsn
from ieb.validation import validate_bytes

__all__ = ["BuiltFile", "build_files", "read_records"]

_FIELDS_401 = {"eb_startdatum", "kostprijs_bedrag", "kostprijs_startdatum"}
_FIELDS_403 = {"eb_stopdatum"}
_COMMON = {"bericht", "afzender", "identificatie", "dagtekening", "bsn", "eb_start_nummer", "status"}


@dataclass(frozen=True)
class BuiltFile:
    line: int
    bericht: str
    name: str
    data: bytes


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) from a ``.csv`` or ``.jsonl``/``.ndjson``/``.json`` (one object a line) file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            yield (
                reader.line_num,
                {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k},
            )
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputRowError(f"geen geldige JSON: {exc.msg}", location=f"{path}:{number}") from None
        if not isinstance(obj, dict):
            raise InputRowError("elke regel moet een JSON-object zijn", location=f"{path}:{number}")
        yield number, obj


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} moet een geheel getal zijn")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{field} {value!r} moet een geheel getal zijn (bedragen in eurocent)")


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field} {value!r} is geen datum JJJJ-MM-DD") from None


def _required_date(value: Any, field: str) -> dt.date:
    day = _date(value, field)
    if day is None:
        raise ValueError(f"veld {field} ontbreekt")
    return day


def record_to_message(record: dict[str, Any], default_bericht: str | None = None) -> Message:
    bericht = str(record.get("bericht") or default_bericht or "").upper()
    if bericht not in ("WMO401", "WMO403"):
        raise ValueError(f"bericht {bericht or '(leeg)'!r}: kies WMO401 of WMO403")
    allowed = _COMMON | (_FIELDS_401 if bericht == "WMO401" else _FIELDS_403)
    unknown = sorted(k for k, v in record.items() if k not in allowed and v not in (None, ""))
    if unknown:
        raise ValueError(f"onbekende velden voor {bericht}: {', '.join(unknown)}")
    for field in ("afzender", "identificatie", "dagtekening", "bsn", "eb_start_nummer"):
        if record.get(field) in (None, ""):
            raise ValueError(f"veld {field} ontbreekt")
    common: dict[str, Any] = {
        "afzender": str(record["afzender"]),
        "identificatie": str(record["identificatie"]),
        "dagtekening": _date(record["dagtekening"], "dagtekening"),
        "bsn": str(record["bsn"]),
        "eb_start_nummer": _int(record["eb_start_nummer"], "eb_start_nummer"),
        "status": str(record.get("status") or "1"),
    }
    if bericht == "WMO401":
        if record.get("eb_startdatum") in (None, ""):
            raise ValueError("veld eb_startdatum ontbreekt")
        return Wmo401.build(
            **common,
            eb_startdatum=_required_date(record["eb_startdatum"], "eb_startdatum"),
            kostprijs_bedrag=_int(record.get("kostprijs_bedrag"), "kostprijs_bedrag"),
            kostprijs_startdatum=_date(record.get("kostprijs_startdatum"), "kostprijs_startdatum"),
        )
    if record.get("eb_stopdatum") in (None, ""):
        raise ValueError("veld eb_stopdatum ontbreekt")
    return Wmo403.build(**common, eb_stopdatum=_required_date(record["eb_stopdatum"], "eb_stopdatum"))


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        msg = str(err["msg"]).removeprefix("Value error, ")
        # never echo a BSN back
        if "bsn" in loc.lower():
            msg = msg.replace(str(err.get("input", "")), mask_bsn(err.get("input", "")))
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def build_files(
    path: Path, *, bericht: str | None = None, today: dt.date | None = None, check: bool = True
) -> list[BuiltFile]:
    """Turn every record into a file in memory; raise :class:`InputRowError` at the first bad row."""
    built: list[BuiltFile] = []
    names: set[str] = set()
    for line, record in read_records(path):
        where = f"{path}:{line}"
        try:
            message = record_to_message(record, bericht)
        except ValidationError as exc:
            raise InputRowError(_explain(exc), location=where) from None
        except ValueError as exc:
            raise InputRowError(str(exc), location=where) from None
        data = to_xml(message)
        if check:
            report = validate_bytes(data, today=today)
            blocking = [i for i in report.issues if i.level < 3 or i.code in ("CS300", "CS333", "8848")]
            if blocking:
                codes = "; ".join(f"{i.code}: {i.message}" for i in blocking)
                raise InputRowError(f"het bericht zou worden afgekeurd: {codes}", location=where)
        h = message.header
        name = f"{message.bericht}_{h.afzender}_{h.bericht_identificatie.identificatie}.xml"
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        if name in names:
            raise InputRowError(
                f"identificatie {h.bericht_identificatie.identificatie!r} komt twee keer voor; "
                "elk bericht heeft een eigen BerichtIdentificatie nodig",
                location=where,
            )
        names.add(name)
        built.append(BuiltFile(line, message.bericht, name, data))
    return built


def write_all(files: list[BuiltFile], out: Path) -> list[Path]:
    """Write all files or none: into a temporary folder next to ``out``, then moved in place."""
    out.mkdir(parents=True, exist_ok=True)
    clashes = [f.name for f in files if (out / f.name).exists()]
    if clashes:
        raise InputRowError(
            f"bestand bestaat al in {out}: {clashes[0]}; kies een andere map of identificatie"
        )
    staging = Path(tempfile.mkdtemp(prefix=".ieb-build-", dir=out))
    written: list[Path] = []
    try:
        for f in files:
            target = staging / f.name
            with open(target, "wb") as fh:
                fh.write(f.data)
                fh.flush()
                os.fsync(fh.fileno())
        for f in files:
            os.replace(staging / f.name, out / f.name)
            written.append(out / f.name)
    except OSError:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
