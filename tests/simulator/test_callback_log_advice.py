"""The simulator's log line for a retour that did not reach the gemeente gives ONE advice and one
retry note (trial, session 7: the sender's ``oplossing: ...; volgende poging over 2 s`` was
followed by a second ``oplossing: ...`` and ``de GGk probeert het later opnieuw``)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from ieb.simulator.server import _log_callback
from ieb.transport.errors import TransientSendError, describe

MSG: Any = SimpleNamespace(referentienummer="ref-1", attempts=2)


def _line(caplog: pytest.LogCaptureFixture, outcome: str, reason: str | None) -> str:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ieb.simulator"):
        _log_callback(MSG, outcome, reason)
    [record] = caplog.records
    return record.getMessage()


def test_one_advice_and_one_retry_note(caplog: pytest.LogCaptureFixture) -> None:
    refused = TransientSendError(
        "ontvanger van de gemeente weigert de verbinding op https://127.0.0.1:8443/x (draait die?)",
        hint="start de ontvanger van de gemeente (`ieb serve`)",
        detail="[Errno 111] Connection refused",
    )
    line = _line(caplog, "pending", f"{describe(refused)}; volgende poging over 2 s")  # as the sender says it
    assert line.count("oplossing:") == 1 and "probeert het later opnieuw" not in line, line
    assert line.endswith("([Errno 111] Connection refused); volgende poging over 2 s"), line

    # a reason without advice or retry note gets the simulator's own
    line = _line(caplog, "pending", "verbinding verbroken")
    assert line == (
        "retour ref-1 niet afgeleverd bij de gemeente (pending, poging 2): verbinding verbroken; "
        "oplossing: start de ontvanger van de gemeente (ieb serve of ieb receive) en controleer "
        "receiver.port en de firewall; de GGk probeert het later opnieuw"
    )
    # given up: the advice, no retry note
    line = _line(caplog, "dead", None)
    assert line.endswith(
        ": -; oplossing: start de ontvanger van de gemeente (ieb serve of ieb receive) "
        "en controleer receiver.port en de firewall"
    ), line
