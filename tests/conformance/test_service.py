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
    assert len(assert_rapport_valid(rapport_schema, body).find("r:Fouten", R)) == 0  # empty, as the official


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


def test_idle_and_slow_head_connections_do_not_lock_out_a_valid_post() -> None:
    """t2 #2: 8 idle sockets made uvicorn's limit_concurrency answer 503 to everyone. Now 50 idle
    and 20 slow-header connections are held open and a real POST still gets 200 promptly; the
    idle ones are closed after the head deadline."""
    from ieb.conformance.service import uvicorn_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(create_app(max_bytes=200_000, max_concurrency=2), head_timeout=1.5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        held += [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        held += slow
        for s in slow:
            s.sendall(b"POST /validatie HTTP/1.1\r\nHost: x\r\n")
        body = next((SAMPLES / "valid").glob("*.xml")).read_bytes()
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", f"/validatie?today={TODAY}", body=body, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["summary"]["valid"] == 1
        conn.close()
        assert time.monotonic() - started < 3
        # a slow head keeps trickling bytes: still closed at the deadline
        for s in slow:
            s.sendall(b"X-A: 1\r\n")
        time.sleep(2.5)
        for s in held:
            s.settimeout(2)
            assert s.recv(100) == b"", "connection without a complete head stays open"
    finally:
        for s in held:
            s.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_busy_validations_answer_503_not_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 503 now means "validations busy": with max_concurrency=1 and a validation held, a second
    request is refused with Retry-After, and served again once the first is done."""
    import ieb.conformance.verdict as validation
    from ieb.conformance.service import uvicorn_config

    gate = threading.Event()
    real = validation.check_bytes

    def slow(*a: object, **k: object) -> object:
        gate.wait(10)
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(validation, "check_bytes", slow)
    app = create_app(max_bytes=200_000, max_concurrency=1)
    monkeypatch.undo()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    body = next((SAMPLES / "valid").glob("*.xml")).read_bytes()

    def post() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            conn.request("POST", f"/validatie?today={TODAY}", body=body)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        results: list[int] = []
        first = threading.Thread(target=lambda: results.append(post()))
        first.start()
        time.sleep(0.5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", f"/validatie?today={TODAY}", body=body)
        resp = conn.getresponse()
        assert resp.status == 503 and resp.getheader("retry-after") == "2"
        assert "bezet" in json.loads(resp.read())["error"]
        conn.close()
        gate.set()
        first.join(10)
        assert results == [200]
        assert post() == 200
    finally:
        gate.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
