"""The DVS (Decentrale Validatieservice) both ways, over real HTTP on loopback:

- ``ieb serve-validation`` answers a request made exactly as for the DVS container (``POST /validatie``,
  ``Content-Type: application/x-www-form-urlencoded``, ``Content-Length``, ``X-Version-Override``);
- ``ieb validate --dvs URL`` sends each file to a DVS and merges its rapport, here a minimal stand-in
  written from the published API description (not from ieb's own service);
- one verdict on a StUF-GGk envelope from the CLI, the rapport and the service.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

import ieb.ggk as ggk
from ieb.cli import app
from ieb.conformance.dvs import DvsClient, DvsError, parse_rapport
from tests.conformance.conftest import ROOT, assert_rapport_valid
from tests.conformance.test_service import Served

SAMPLES = ROOT / "tests" / "core" / "samples"
NS = "http://www.istandaarden.nl/validatie/1_1/rapport/schema"
R = {"r": NS}
TODAY = "2026-06-01"
runner = CliRunner()


# ------------------------------------------------------------------ ieb serve-validation as a DVS


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served(max_bytes=200_000) as s:
        yield s


def _dvs_headers(body: bytes, **extra: str) -> dict[str, str]:
    """Exactly what ``curl --data-binary @bericht.xml -H 'Content-Type: application/x-www-form-urlencoded'`` sends."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)),
        **extra,
    }


def test_curl_style_call_with_the_dvs_headers(served: Served, rapport_schema: etree.XMLSchema) -> None:
    bad = (SAMPLES / "invalid" / "cs002-bsn-11proef.xml").read_bytes()
    status, headers, body = served.request("POST", "/validatie", bad, _dvs_headers(bad))
    assert status == 200 and headers["content-type"].startswith("application/xml")
    root = assert_rapport_valid(rapport_schema, body)
    assert root.xpath("//r:Fout/r:Code/text()", namespaces=R) == ["CS002"]
    good = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    for level in ("1.0.2", "1.0.3"):
        status, _, body = served.request(
            "POST", "/validatie", good, _dvs_headers(good, **{"X-Version-Override": level})
        )
        assert status == 200, body
        assert_rapport_valid(rapport_schema, body)
    status, _, body = served.request("GET", "/status")
    assert status == 200 and {"1.0.2", "1.0.3", "4.0"} <= set(json.loads(body)["patch_levels"])


def test_unknown_patch_level_is_400_with_the_levels_known(served: Served) -> None:
    good = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    status, _, body = served.request(
        "POST", "/validatie", good, _dvs_headers(good, **{"X-Version-Override": "9.9.9"})
    )
    assert status == 400
    message = json.loads(body)["error"]
    assert "9.9.9" in message and "1.0.3" in message and "X-Version-Override" in message


def test_no_content_length_is_411(served: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        conn.putrequest("POST", "/validatie")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        data = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
        conn.send(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 411
        assert "Content-Length" in json.loads(resp.read())["error"]
    finally:
        conn.close()


# ------------------------------------------------------------------ one verdict on envelopes


def _envelope(payload: bytes) -> bytes:
    return ggk.build(ggk.new_di01(payload, "WMO401", "0363", tijdstip=dt.datetime(2026, 5, 20, 10, 0)))


@pytest.mark.parametrize(
    ("sample", "valid"), [("valid/wmo401-start.xml", True), ("invalid/cs002-bsn-11proef.xml", False)]
)
def test_cli_rapport_and_service_agree_on_an_envelope(
    sample: str, valid: bool, tmp_path: Path, served: Served, rapport_schema: etree.XMLSchema
) -> None:
    data = _envelope((SAMPLES / sample).read_bytes())
    f = tmp_path / "di01.xml"
    f.write_bytes(data)
    cli = runner.invoke(app, ["validate", "--today", TODAY, "-f", "json", str(f)])
    assert cli.exit_code == (0 if valid else 1), cli.output
    assert json.loads(cli.stdout)["files"][0]["valid"] is valid
    rap = runner.invoke(app, ["validate", "--today", TODAY, "-f", "rapport", str(f)])
    assert rap.exit_code == (0 if valid else 1), rap.output
    root = assert_rapport_valid(rapport_schema, rap.stdout_bytes)
    assert (len(root.find("r:Fouten", R)) == 0) is valid
    assert root.findtext("r:Header/r:BerichtCode", namespaces=R) == "470"  # the iEb file's header
    status, headers, body = served.request(
        "POST", f"/validatie?today={TODAY}", data, {"Accept": "application/json"}
    )
    assert status == 200 and json.loads(body)["files"][0]["valid"] is valid
    assert json.loads(body)["files"][0] == {**json.loads(cli.stdout)["files"][0], "path": "bericht.xml"}
    assert headers["x-ieb-valid"] == ("true" if valid else "false")
    status, _, body = served.request("POST", f"/validatie?today={TODAY}", data, _dvs_headers(data))
    assert (len(assert_rapport_valid(rapport_schema, body).find("r:Fouten", R)) == 0) is valid


# ------------------------------------------------------------------ --rapport-dir


def test_rapport_dir_keeps_folders_and_never_shares_a_rapport(tmp_path: Path) -> None:
    src = tmp_path / "in"
    for folder, sample in (("a", "valid/wmo401-start.xml"), ("b/c", "invalid/cs002-bsn-11proef.xml")):
        (src / folder).mkdir(parents=True)
        (src / folder / "bericht.xml").write_bytes((SAMPLES / sample).read_bytes())
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["validate", "--today", TODAY, "-f", "rapport", "--rapport-dir", str(out), str(src)]
    )
    assert result.exit_code == 1, result.output
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xml"))
    assert written == ["a/bericht.rapport.xml", "b/c/bericht.rapport.xml"]
    codes = etree.fromstring((out / "b/c/bericht.rapport.xml").read_bytes()).xpath(
        "//r:Code/text()", namespaces=R
    )
    assert codes == ["CS002"]
    # the same file given twice under two names of one folder: two rapports all the same
    twice = runner.invoke(
        app,
        ["validate", "--today", TODAY, "-f", "rapport", "--rapport-dir", str(tmp_path / "o2"),
         str(src / "a" / "bericht.xml"), str(src / "a" / ".." / "a" / "bericht.xml")],
    )  # fmt: skip
    assert twice.exit_code == 0, twice.output
    assert sorted(p.name for p in (tmp_path / "o2").rglob("*.xml")) == [
        "bericht-2.rapport.xml",
        "bericht.rapport.xml",
    ]


# ------------------------------------------------------------------ a stand-in DVS


class StandIn:
    """A minimal DVS from its published API: ``POST /validatie`` with the message as body needs
    ``Content-Type: application/x-www-form-urlencoded`` and a Content-Length (411 otherwise) and
    answers a rapport; ``X-Version-Override`` must be a level it knows (400 otherwise)."""

    def __init__(self, answer: Callable[[bytes], tuple[int, bytes]]) -> None:
        self.answer = answer
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = self.headers.get("Content-Length")
                if self.path != "/validatie":
                    return self._send(404, b"not found")
                if length is None:
                    return self._send(411, b"length required")
                body = self.rfile.read(int(length))
                outer.seen.append(
                    {
                        "type": self.headers.get("Content-Type"),
                        "version": self.headers.get("X-Version-Override"),
                        "body": body,
                    }
                )
                if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                    return self._send(415, b"unsupported media type")
                version = self.headers.get("X-Version-Override")
                if version is not None and version not in ("1.0.2", "1.0.3"):
                    return self._send(400, b"unsupported version")
                status, data = outer.answer(body)
                self._send(status, data)

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def _rapport(*fouten: tuple[str, str | None, list[str], str | None], versie: str = "1.3.2") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><r:Rapport xmlns:r="{NS}"><r:Header>',
        "<r:BerichtCode>470</r:BerichtCode><r:BerichtVersie>1</r:BerichtVersie>",
        "<r:BerichtSubversie>0</r:BerichtSubversie><r:BerichtIdentificatie>",
        "<r:Identificatie>X</r:Identificatie><r:Dagtekening>2026-05-20</r:Dagtekening>",
        f"</r:BerichtIdentificatie><r:XSLTVersie>{versie}</r:XSLTVersie></r:Header><r:Fouten>",
    ]
    for code, rc, locs, details in fouten:
        parts.append(f"<r:Fout><r:Code>{code}</r:Code>")
        if rc:
            parts.append(f"<r:Retourcode>{rc}</r:Retourcode>")
        parts += [f"<r:Locatie>{loc}</r:Locatie>" for loc in locs]
        if details:
            parts.append(f"<r:Details>{details}</r:Details>")
        parts.append("</r:Fout>")
    parts.append("</r:Fouten></r:Rapport>")
    return "".join(parts).encode()


def _official(_: bytes) -> tuple[int, bytes]:
    """CS002 at the Bsn (the same finding as ieb's) and a rule ieb does not know, with a BSN."""
    return 200, _rapport(
        ("CS002", "0001", ["/Bericht/Client/Bsn"], "11-proef"),
        ("TR999", "9999", ["/Bericht/Client/Bsn", "/Bericht/Header/Dagtekening"], "Bsn 999999990 telt"),
    )


def test_validate_dvs_merges_the_rapport_with_sources(
    tmp_path: Path, rapport_schema: etree.XMLSchema
) -> None:
    bad = SAMPLES / "invalid" / "cs002-bsn-11proef.xml"
    with StandIn(_official) as dvs:
        result = runner.invoke(app, ["validate", "--today", TODAY, "-f", "json", "--dvs", dvs.url, str(bad)])
        assert result.exit_code == 1, result.output
        (row,) = json.loads(result.stdout)["files"]
        assert [(i["code"], i["source"]) for i in row["issues"]] == [("CS002", "ieb+dvs"), ("TR999", "dvs")]
        tr = row["issues"][1]
        assert (
            tr["retourcode"] == "9999"
            and tr["location"] == "/Bericht/Client/Bsn | /Bericht/Header/Dagtekening"
        )
        assert "999999990" not in result.stdout  # BSNs in the DVS's Details are masked too
        assert row["dvs"] == {"xslt_versie": "1.3.2"} and row["valid"] is False
        seen = dvs.seen[-1]
        assert seen["type"] == "application/x-www-form-urlencoded" and seen["body"] == bad.read_bytes()
        assert seen["version"] is None

        text = runner.invoke(app, ["validate", "--today", TODAY, "--dvs", dvs.url, str(bad)])
        assert "bron dvs" in text.stdout and "bron ieb+dvs" in text.stdout

        rap = runner.invoke(app, ["validate", "--today", TODAY, "-f", "rapport", "--dvs", dvs.url, str(bad)])
        assert rap.exit_code == 1
        root = assert_rapport_valid(rapport_schema, rap.stdout_bytes)
        assert root.xpath("//r:Code/text()", namespaces=R) == ["CS002", "TR999"]
        details = root.xpath("//r:Details/text()", namespaces=R)
        assert details[0].startswith("[ieb+dvs] ") and details[1].startswith("[dvs] ")
        assert root.findtext("r:Header/r:XSLTVersie", namespaces=R) == "1.3.2"  # the DVS's XSLT set

        # --revision goes to the DVS as X-Version-Override
        runner.invoke(app, ["validate", "--today", TODAY, "--revision", "1.0.3", "--dvs", dvs.url, str(bad)])
        assert dvs.seen[-1]["version"] == "1.0.3"


def test_a_file_valid_for_ieb_is_invalid_when_the_dvs_finds_something(tmp_path: Path) -> None:
    good = SAMPLES / "valid" / "wmo401-start.xml"
    with StandIn(_official) as dvs:
        result = runner.invoke(app, ["validate", "--today", TODAY, "-f", "json", "--dvs", dvs.url, str(good)])
    assert result.exit_code == 1
    (row,) = json.loads(result.stdout)["files"]
    assert {i["source"] for i in row["issues"]} == {"dvs"} and row["valid"] is False


def test_dvs_url_from_ieb_toml_and_the_envelope_payload_is_sent(tmp_path: Path) -> None:
    good = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    env = tmp_path / "di01.xml"
    env.write_bytes(_envelope(good))
    with StandIn(lambda body: (200, _rapport())) as dvs:
        (tmp_path / "ieb.toml").write_text(f'dvs_url = "{dvs.url}"\n', encoding="utf-8")
        result = runner.invoke(
            app,
            ["validate", "--today", TODAY, "-f", "json", str(env)],
            env={"IEB_CONFIG": str(tmp_path / "ieb.toml")},
        )
        assert result.exit_code == 0, result.output
        assert dvs.seen and dvs.seen[-1]["body"] == good  # the iEb file inside, not the envelope
    (row,) = json.loads(result.stdout)["files"]
    assert row["valid"] is True and row["dvs"] == {"xslt_versie": "1.3.2"}


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (lambda body: (200, b"hallo"), "geen leesbare XML"),
        (lambda body: (200, b"<html><body>ok</body></html>"), "geen rapport"),
        (lambda body: (500, b"interne fout bij 999999990"), "HTTP 500"),
        (lambda body: (200, _rapport(("X", None, [], None))), "geen Code of geen Locatie"),
    ],
)
def test_a_dvs_answering_garbage_is_an_error_not_a_pass(answer: Any, said: str) -> None:
    good = SAMPLES / "valid" / "wmo401-start.xml"
    with StandIn(answer) as dvs:
        result = runner.invoke(app, ["validate", "--today", TODAY, "--dvs", dvs.url, str(good)])
    assert result.exit_code == 2, result.output
    assert said in result.output and "999999990" not in result.output
    assert "GELDIG" not in result.stdout  # nothing reported as a pass


def test_a_dvs_that_is_down_is_an_error_in_every_format() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there
    good = SAMPLES / "valid" / "wmo401-start.xml"
    for fmt in ("text", "json", "junit", "rapport"):
        result = runner.invoke(app, ["validate", "--today", TODAY, "-f", fmt, "--dvs", url, str(good)])
        assert result.exit_code == 2, (fmt, result.output)
        assert "niet bereikbaar" in result.output


def test_answer_size_is_bounded() -> None:
    with StandIn(lambda body: (200, _rapport() + b" " * 5000)) as dvs:
        client = DvsClient(dvs.url, max_answer=4096)
        with pytest.raises(DvsError, match="groter dan 4096"):
            client.validate(b"<x/>")
        assert parse_rapport(_rapport()).xslt_versie == "1.3.2"
    with pytest.raises(DvsError, match="http"):
        DvsClient("ftp://example.invalid")


def test_a_patch_level_of_another_release_is_400(served: Served) -> None:
    good = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()  # an iEb 1.0 file
    status, _, body = served.request(
        "POST", "/validatie", good, _dvs_headers(good, **{"X-Version-Override": "4.0"})
    )
    assert status == 400 and "4.0" in json.loads(body)["error"]


def test_a_content_length_that_does_not_match_the_body_is_400() -> None:
    """The HTTP layer (h11) frames bodies by Content-Length itself; the app checks it again for any
    ASGI server that does not: called here as an ASGI app with a body longer than declared."""
    import asyncio

    from ieb.conformance.service import create_app

    app = create_app()
    data = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/validatie",
        "raw_path": b"/validatie",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"10"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert "Content-Length 10 klopt niet" in json.loads(sent[1]["body"])["error"]


def test_dvs_url_in_ieb_toml_must_be_http(tmp_path: Path) -> None:
    from ieb.config import load_config
    from ieb.errors import ConfigurationError

    (tmp_path / "ieb.toml").write_text('dvs_url = "ftp://dvs.example"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="dvs_url"):
        load_config(tmp_path / "ieb.toml")
    (tmp_path / "ieb.toml").write_text('dvs_url = "http://localhost:8080"\n', encoding="utf-8")
    assert load_config(tmp_path / "ieb.toml").dvs_url == "http://localhost:8080"


def test_a_dvs_that_never_answers_is_a_timeout_error() -> None:
    release = threading.Event()

    def hang(body: bytes) -> tuple[int, bytes]:
        release.wait(30)  # answers only after the client gave up
        return 200, _rapport()

    with StandIn(hang) as dvs:
        try:
            client = DvsClient(dvs.url, timeout=0.3)
            with pytest.raises(DvsError, match=r"niet binnen 0\.3 seconden"):
                client.validate(b"<x/>")
        finally:
            release.set()


def test_dvs_url_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ieb.toml here
    good = SAMPLES / "valid" / "wmo401-start.xml"
    with StandIn(lambda body: (200, _rapport())) as dvs:
        result = runner.invoke(
            app, ["validate", "--today", TODAY, "-f", "json", str(good)], env={"IEB_DVS_URL": dvs.url}
        )
        assert result.exit_code == 0, result.output
        assert len(dvs.seen) == 1
    bad = runner.invoke(app, ["validate", "--today", TODAY, "--dvs", "ftp://x", str(good)])
    assert bad.exit_code == 2 and "http" in bad.output


def test_dvs_default_is_the_level_valid_on_the_validation_date(served: Served) -> None:
    """A file dated in the 1.0.2 period (before 2021-07-19), validated on 2026-06-01: the DVS API
    applies 1.0.3 (the level of the validation date); ieb's own API the one of its Dagtekening."""
    data = (SAMPLES / "valid" / "wmo401-start.xml").read_bytes()
    day = etree.fromstring(data).xpath("//*[local-name()='Dagtekening']/text()")[0]
    old = data.replace(f">{day}<".encode(), b">2021-01-04<")
    status, headers, _ = served.request("POST", f"/validatie?today={TODAY}", old, _dvs_headers(old))
    assert status == 200 and headers["x-ieb-patch"] == "1.0.3"
    status, headers, _ = served.request("POST", f"/validatie?today={TODAY}", old)
    assert status == 200 and headers["x-ieb-patch"] == "1.0.2"
    status, headers, _ = served.request(
        "POST", f"/validatie?today={TODAY}", old, _dvs_headers(old, **{"X-Version-Override": "1.0.2"})
    )
    assert status == 200 and headers["x-ieb-patch"] == "1.0.2"
