"""Reading retour files for ``ieb retour FILES`` (``process_retour_paths``): what is no regular file.

A path that was a file when the folder was walked may be a FIFO by the time it is read (swapped in
between). Opening a FIFO for reading waits for a writer, which would stop the whole run; the file is
opened without blocking and refused on what was actually opened.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from ieb.ledger.retour import process_retour_paths
from ieb.ledger.store import Ledger
from ieb.store.db import open_database


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_or_folder_in_a_files_place_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "retour-1.xml"
    os.mkfifo(fifo)  # no writer: a blocking open would wait forever
    folder = tmp_path / "retour-2.xml"
    folder.mkdir()
    broken = tmp_path / "retour-3.xml"
    broken.write_bytes(b"<kapot")
    ledger = Ledger(open_database("sqlite:///" + str(tmp_path / "l.sqlite")))
    kept: list[str] = []
    result: dict[str, Any] = {}

    def run() -> None:
        result["out"] = process_retour_paths(
            ledger, [fifo, folder, broken], on_failed=lambda n, d, r: kept.append(n)
        )

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(120)  # a guard only: the run does not wait on the FIFO at all
    ledger.close()
    assert not worker.is_alive(), "the run waited on the FIFO"
    done, failed = result["out"]
    assert done == []
    assert failed[:2] == [
        (str(fifo), "niet te lezen (is geen gewoon bestand)"),
        (str(folder), f"niet te lezen ({os.strerror(errno.EISDIR)})"),
    ]
    assert failed[2][0] == str(broken) and "geen geldige retour" in failed[2][1]
    assert kept == [str(broken)]  # only a file that was read is kept for --retry-failed
