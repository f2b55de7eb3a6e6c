"""Attack on ``ieb retour`` (round 7: "Ctrl-C during the last chunk lets the run finish: nothing is
left to stop"). With ``FILES --retry-failed`` something IS left after the files' last chunk: the
retry of every failed inbox message. Ctrl-C pressed while that last chunk was applied was noted
("onderbroken: ... worden nog afgemaakt"), then swallowed: the retry phase ran anyway and the run
ended 0, as if Ctrl-C had never been pressed. Now the run stops after the files' summary (exit 130,
"onderbroken"), the retry is not started; without ``--retry-failed`` the round-7 rule stands."""

from __future__ import annotations

import contextlib
import io
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ieb.cli import _retour_core
from ieb.exchange import Exchange
from ieb.ledger.store import Ledger
from tests.attack.test_retour_killed_run import _rows, _setup

pytestmark = [  # Ctrl-C is pressed here: Python's own SIGINT handler, however pytest was started
    pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal"),
    pytest.mark.usefixtures("default_sigint"),
]


def _ctrl_c_after_each_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Ledger.transaction

    @contextlib.contextmanager
    def then_ctrl_c(self: Ledger) -> Iterator[Any]:
        with real(self) as unit:
            yield unit
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Ledger, "transaction", then_ctrl_c)


@pytest.mark.parametrize("retry_failed", [True, False])
def test_ctrl_c_during_the_files_last_chunk_stops_before_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], retry_failed: bool
) -> None:
    db, paths = _setup(tmp_path)
    paths = paths[:3]
    for name in list(__import__("os").environ):
        if name.upper().startswith("IEB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    retried: list[int] = []

    def retry(self: Exchange) -> list[tuple[str, str, str]]:
        retried.append(1)
        return []

    monkeypatch.setattr(Exchange, "retry_failed_retours", retry)
    _ctrl_c_after_each_commit(monkeypatch)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    code = _retour_core.run([str(p) for p in paths], retry_failed=retry_failed, db=f"sqlite:///{db}")
    assert sum(1 for r in _rows(db) if r[1] == "accepted") == 3  # the files' one chunk is applied
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 retour(en): 3 geaccepteerd"), lines
    err = capsys.readouterr().err
    if retry_failed:  # Ctrl-C: the retry phase is what was left, and it is not started
        assert code == 130
        assert retried == []
        assert "onderbroken: de retouren die al verwerkt" in err
    else:  # nothing was left: the run finishes (round 7)
        assert code == 0
        assert "onderbroken: de retouren die al verwerkt" not in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
