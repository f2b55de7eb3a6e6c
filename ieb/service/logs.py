"""Logging for long-running commands: one JSON object per line on stderr, BSNs masked.

``{"ts": "2026-11-30T06:30:00.123Z", "level": "WARNING", "logger": "ieb.service", "msg": "..."}``
plus the record's ``extra`` fields that are JSON values (``referentienummer``, ``outcome``, ...).
TLS handshake failures that the HTTPS server reports at DEBUG (a peer with a wrong certificate,
a port scan) are raised to WARNING instead of being silenced.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from ieb.transport.audit import install_bsn_masking

__all__ = ["JsonFormatter", "TlsHandshakeFilter", "setup_logging"]

_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "ieb_rate_limited",
}
_TLS_WORDS = ("SSL", "TLS", "handshake", "certificate", "CERTIFICATE", "alert")


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        data: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if (
                key not in _STANDARD
                and not key.startswith("_")
                and isinstance(value, str | int | float | bool)
            ):
                data[key] = value
        if record.exc_text or record.exc_info:
            data["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(data, ensure_ascii=False)


class TlsHandshakeFilter(logging.Filter):
    """On the HTTPS server's logger: pass TLS handshake failures as WARNING, drop other DEBUG noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep TLS handshake failures (as WARNING) and records above DEBUG; drop the rest."""
        if record.levelno > logging.DEBUG:
            return True
        if getattr(record, "ieb_rate_limited", False):
            return False  # lowered by the receiver's rate limit: a flood stays out of the log
        message = record.getMessage()
        if any(w in message for w in _TLS_WORDS):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = f"TLS-handshake mislukt: {message}", None
            return True
        return False


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to ``sys.stderr`` as it is when a record comes (as logging's own
    last-resort handler does), not as it was when the handler was made: a command run in-process
    (tests' CliRunner, an embedding program) swaps stderr and closes its stand-in afterwards, and a
    server thread still logging then hit a closed file ("--- Logging error ---")."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def setup_logging(*, verbose: bool = False, json_lines: bool = True) -> None:
    """Configure the root logger for a service: JSON lines (or plain text) on stderr, BSNs masked,
    TLS handshake failures shown."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ieb", False):
            root.removeHandler(handler)
    handler = _CurrentStderr()
    handler._ieb = True  # type: ignore[attr-defined]
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("ieb").setLevel(logging.INFO)
    logging.getLogger("ieb.audit").setLevel(logging.INFO if verbose else logging.WARNING)
    server_log = logging.getLogger("ieb.transport.server")
    server_log.setLevel(logging.DEBUG)
    if not any(isinstance(f, TlsHandshakeFilter) for f in server_log.filters):
        server_log.addFilter(TlsHandshakeFilter())
    logging.getLogger("cheroot").setLevel(logging.WARNING)
    install_bsn_masking(root)
