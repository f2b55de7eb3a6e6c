"""``ieb serve-validation`` over real HTTP on loopback (uvicorn in a thread, and the CLI as a process)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from ieb.conformance.service import create_app
from tests.conformance.conftest import ROOT, assert_rapport_valid

uvicorn = pytest.importorskip("uvicorn")
SAMPLES = ROOT / "tests" / "core" / "samples"
R = {"r": "http://www.istandaarden.nl/validatie/1_1/rapport/schema"}
TODAY = "2026-06-01"


class Served:
    def __init__(self, max_bytes: int) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(max_bytes=max_bytes), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served(max_bytes=200_000) as s:
        yield s


def test_post_answers_a_valid_rapport(served: Served, rapport_schema: etree.XMLSchema) -> None:
    data = (SAMPLES / "invalid" / "cs002-bsn-11proef.xml").read_bytes()
    status, headers, body = served.request("POST", f"/validatie?today={TODAY}", data)
    assert status == 200 and headers["content-type"].startswith("application/xml")
    assert headers["x-ieb-valid"] == "false"
    root = assert_rapport_valid(rapport_schema, body)
    assert root.xpath("//r:Fout/r:Code/text()", namespaces=R) == ["CS002"]
    valid = next((SAMPLES / "valid").glob("*.xml")).read_bytes()
    status, headers, body = served.request("POST", f"/validatie?today={TODAY}", valid)
    assert status == 200 and headers["x-ieb-valid"] == "true"
    assert assert_rapport_valid(rapport_schema, body).find("r:Fouten", R) is None


def test_json_is_the_cli_contract_for_one_file(served: Served) -> None:
    from typer.testing import CliRunner

    from ieb.cli import app

    path = SAMPLES / "invalid" / "many-problems.xml"
    status, _, body = served.request(
        "POST",
        f"/validatie?today={TODAY}&naam={path}",
        path.read_bytes(),
        {"Accept": "application/json"},
    )
    assert status == 200
    cli = CliRunner().invoke(app, ["validate", "--format", "json", "--today", TODAY, str(path)])
    assert json.loads(body) == json.loads(cli.stdout)


def test_size_limit_413_and_hostile_xml(served: Served, rapport_schema: etree.XMLSchema) -> None:
    status, _, body = served.request("POST", "/validatie", b"<a>" + b"x" * 300_000 + b"</a>")
    assert status == 413 and b"OP179" in body
    # chunked upload without Content-Length is cut off all the same
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.putrequest("POST", "/validatie")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(40):
            chunk = b"<!--" + b"y" * 10_000 + b"-->"
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close the connection once it has answered 413
    finally:
        conn.close()
    laughs = (SAMPLES / "invalid" / "xml-billion-laughs.xml").read_bytes()
    status, _, body = served.request("POST", "/validatie", laughs)
    assert status == 200
    root = assert_rapport_valid(rapport_schema, body)
    assert root.xpath("//r:Fout/r:Code/text()", namespaces=R)


def test_status_and_forced_revision(served: Served) -> None:
    status, _, body = served.request("GET", "/status")
    data = json.loads(body)
    assert status == 200 and data["version"] and data["rules"] > 10
    assert {"name": "ieb-1.0", "messages": ["WMO401", "WMO402", "WMO403", "WMO404"]} in data["releases"]
    valid = next((SAMPLES / "valid").glob("*.xml")).read_bytes()
    status, _, body = served.request("POST", "/validatie?revisie=1.0.3", valid)
    if data["revision_parameter"]:
        assert status == 200
        assert "1.0.3" in data["revisions"]
        bad = served.request("POST", "/validatie?revisie=9.9.9", valid)
        assert bad[0] == 422 and "9.9.9" in json.loads(bad[2])["error"]
    else:
        assert status == 422 and "revisie" in json.loads(body)["error"]
    status, _, _ = served.request("POST", "/validatie", valid, {"X-Ieb-Revisie": "1.0.3"})
    assert status == (200 if data["revision_parameter"] else 422)
    assert served.request("POST", "/validatie?today=gisteren", valid)[0] == 400
    assert served.request("GET", "/validatie")[0] == 405


def test_cli_serve_validation_with_curl(tmp_path: Path, rapport_schema: etree.XMLSchema) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ieb", "serve-validation", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        bericht = next((SAMPLES / "valid").glob("*.xml"))
        if shutil.which("curl"):
            out = subprocess.run(
                ["curl", "-s", "--data-binary", f"@{bericht}", f"http://127.0.0.1:{port}/validatie"],
                capture_output=True,
                check=True,
                timeout=30,
            ).stdout
        else:  # pragma: no cover - curl is on CI
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/validatie", body=bericht.read_bytes())
            out = conn.getresponse().read()
        root = assert_rapport_valid(rapport_schema, out)
        assert root.findtext("r:Header/r:BerichtCode", namespaces=R) in ("470", "471", "472", "473")
        assert dt.date.fromisoformat(
            root.findtext("r:Header/r:BerichtIdentificatie/r:Dagtekening", namespaces=R) or ""
        )
    finally:
        proc.terminate()
        proc.wait(timeout=15)
