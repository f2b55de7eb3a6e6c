"""The service log handler writes to stderr as it is at the time of the record: a closed stand-in
of an in-process command run no longer turns a later server thread's line into a "Logging error"
(seen in the CI log: a receiver thread logging a refused TLS handshake after its test had ended)."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from ieb.service.logs import setup_logging


def test_a_record_after_stderr_was_swapped_back_goes_to_the_current_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    stand_in = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stand_in)
    try:
        setup_logging(json_lines=False)
        logging.getLogger("ieb.test").warning("eerste")
        assert "eerste" in stand_in.getvalue()
        stand_in.close()  # the in-process run is over: its stand-in is closed
        later = io.StringIO()
        monkeypatch.setattr(sys, "stderr", later)
        errors: list[object] = []
        monkeypatch.setattr(logging.Handler, "handleError", lambda self, record: errors.append(record))
        logging.getLogger("ieb.test").warning("tweede")
        assert errors == [] and "tweede" in later.getvalue()
    finally:
        for h in list(root.handlers):
            if h not in before[0]:
                root.removeHandler(h)
        root.setLevel(before[1])
