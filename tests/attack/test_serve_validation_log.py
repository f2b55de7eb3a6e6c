"""Attack: ``ieb serve-validation --log-level info`` writes uvicorn's access log; a BSN in the
request line (``?naam=correctie_<bsn>.xml``) must be masked there like in every other log."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
ROOT = Path(__file__).resolve().parents[2]
BSN = "999990020"  # a test BSN (11-proef)


def test_a_bsn_in_the_request_line_is_masked_in_the_access_log() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ieb", "serve-validation", "--port", str(port), "--log-level", "info"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None
                assert time.monotonic() < deadline, "serve-validation did not start"
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        encoded = "".join(f"%{ord(c):02X}" for c in BSN)
        statuses = []
        for naam in (f"correctie_{BSN}.xml", f"correctie_{encoded}.xml"):
            conn.request("POST", f"/validatie?naam={naam}", body=b"<geen-ieb/>")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()
        assert statuses == [200, 200]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    log = (out + err).decode("utf-8", "replace")
    assert "/validatie?naam=correctie_******020.xml" in log, log  # the access line is there ...
    assert BSN not in log and encoded not in log  # ... masked, also when percent-encoded
