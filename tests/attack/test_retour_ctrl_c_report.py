"""Attack: ``ieb retour`` promises that Ctrl-C loses no report of what was applied: a chunk's lines
are written once it is committed. But Ctrl-C could land while those lines were being written (500
lines to a slow terminal or pipe): the KeyboardInterrupt came out of ``write``, part of the committed
chunk's lines never appeared, and the summary line still counted them (seen: 469 lines under a
"500 retour(en)" summary). A committed chunk's lines and the summary are now written whole; the
Ctrl-C takes effect right after (exit 130, as before)."""

from __future__ import annotations

import io
import signal
import sys
from pathlib import Path

import pytest

from ieb.cli import _retour_core
from tests.attack.test_retour_killed_run import _rows, _setup

pytestmark = [  # Ctrl-C is pressed here: Python's own SIGINT handler, however pytest was started
    pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal"),
    pytest.mark.usefixtures("default_sigint"),
]


class _Terminal(io.StringIO):
    """stdout on which Ctrl-C is pressed while the first chunk's lines are being written."""

    pressed = False

    def write(self, text: str) -> int:
        if not self.pressed and text.count("\n") > 100:
            self.pressed = True
            signal.raise_signal(signal.SIGINT)  # the handler runs here, inside write
        return super().write(text)


def test_ctrl_c_while_a_chunk_is_reported_loses_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db, paths = _setup(tmp_path)
    for name in list(__import__("os").environ):
        if name.upper().startswith("IEB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    out = _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    code = _retour_core.run([str(p) for p in paths], db=f"sqlite:///{db}")
    assert code == 130
    assert out.pressed
    lines = out.getvalue().splitlines()
    applied = sum(1 for r in _rows(db) if r[1] == "accepted")
    assert applied == 500  # the first chunk; Ctrl-C stopped the run before the second
    assert len(lines) == applied + 1
    assert all(": geaccepteerd [" in line for line in lines[:-1])
    assert lines[-1].startswith(f"{applied} retour(en): {applied} geaccepteerd")
    assert "onderbroken" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
