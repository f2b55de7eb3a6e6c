"""The attack matrix of ``docs/security.md``: hostile peers and files against ieb, on loopback only.

    python bench/attacks.py [--row NAME] [--timeout S]

Every row runs in its own Python process (bounded by ``--timeout``, default 60 s) against the code on
``PYTHONPATH`` - so the same command measures main and a branch (``PYTHONPATH=/path/to/main``).
A row prints what the attacker achieved and whether it was refused. All servers listen on
127.0.0.1; every loop is bounded. Rows:

* ``idle-tcp``: 10 TCP connections that never start TLS; latency of one legitimate Du01 send.
* ``multi-ip-idle``: 4 source addresses (127.0.0.2-5) x 64 idle TCP connections fill the 256-connection
  total; latency of one legitimate Du01 send.
* ``slow-headers``: 10 TLS connections with a trusted certificate that never finish their request
  head; latency of one legitimate send.
* ``huge-header``: a 4 MB header line; the answer and how long it took.
* ``huge-content-length``: ``Content-Length: 60000000000`` and 5 body bytes; the answer.
* ``dtd-utf16`` / ``dtd-utf32``: a UTF-16 / UTF-32 document whose DTD names a FIFO, through the
  payload parser (``ieb.xmlsafe``), the envelope reader (``ieb.ggk``) and WS-Security; "opened"
  means libxml2 opened the FIFO.
* ``namespaces``: a valid Du01 whose Envelope declares 300k namespaces, through the receiver's checks.
* ``wide-payload``: a 0.8 MB payload with 200k empty elements through ``validate_bytes``; peak memory.
* ``gzip-bomb``: our client against a server answering 1 MB of gzip that inflates to 1 GB; peak memory.
* ``slow-drip``: our client against a server dripping one byte a second; how long ``send`` takes
  with a 3 s operation timeout.
* ``foreign-signer``: a WS-Security signature by another party of the same PKI than the TLS peer.
* ``serve-admission`` (issue 21): 16 slow connections with a trusted-chain certificate whose OIN is
  not allowed, against the receiver behind ``ieb serve``'s /health-/metrics middleware; latency of
  one legitimate retour (was 60+ s: the middleware hid the admission).
* ``receiver-db-down`` (issue 21): the receiver's database is locked; the answer must be a
  RETRYABLE fault (was a final Fo03 StUF058: the retour was lost).
* ``chunked-and-length`` (issue 21): ``Transfer-Encoding: chunked`` and ``Content-Length`` together.
* ``two-serialnumbers`` (issue 21): a certificate whose subject holds the allowed OIN AND another
  serialNumber, the allowed one first.
* ``size-masking`` (issue 21): ``ieb plan`` on a file over the size limit: the refusal must name the
  limit (BSN masking turned it into "groter dan ******** bytes").
* ``csv-errors-cap`` (issue 21): ``ieb plan --gemeente`` on 50k bad rows: bytes on stderr (all
  problems at once had no cap: 653 MB for 1.9 M rows).
* ``reconcile-fifo`` (issue 21): ``ieb reconcile --henv FIFO`` fed from /dev/zero: bytes read before
  the refusal (was 10.9 GB in 30 s past the 64 MB limit).
* ``full-disk-plan`` (issue 21): ``ieb plan --queue`` when the database cannot grow (RLIMIT_FSIZE):
  a clear error, not a traceback (was 367 lines).
* ``validation-inflight`` (issue 21): ``ieb serve-validation`` with 8 connections holding 25 MB
  bodies: peak memory of the service and the answers to 5 legitimate small requests (was 2.07 GB
  and 10 of 10 legitimate requests 503).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROWS = (
    "idle-tcp",
    "multi-ip-idle",
    "slow-headers",
    "huge-header",
    "huge-content-length",
    "dtd-utf16",
    "dtd-utf32",
    "namespaces",
    "wide-payload",
    "gzip-bomb",
    "slow-drip",
    "foreign-signer",
    "serve-admission",
    "receiver-db-down",
    "chunked-and-length",
    "two-serialnumbers",
    "size-masking",
    "csv-errors-cap",
    "reconcile-fifo",
    "full-disk-plan",
    "validation-inflight",
)


# ------------------------------------------------------------------------------------------ setup


def _pki(directory: Path) -> Any:
    try:
        from ieb.testing.pki import create_test_pki  # after the move of the test PKI
    except ImportError:
        from ieb.testing.pki import create_test_pki
    return create_test_pki(directory, ["0363", "GGK"])


def _tls(pki: Any, code: str) -> Any:
    from ieb.transport.tls import TlsFiles

    party = pki.party(code)
    return TlsFiles(party.chain, party.key, pki.roots)


def _du01() -> Any:
    from ieb.ggk import du01_for, new_di01

    return du01_for(new_di01(b"<x/>", "WMO401", "0363"), b"<y/>")


@contextmanager
def _receiver(directory: Path, pki: Any, **kwargs: Any) -> Iterator[Any]:
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import HttpsServer, Receiver

    engine = open_ledger(f"sqlite:///{directory / 'receiver.sqlite'}")
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin}, **kwargs)
    server = HttpsServer(app, _tls(pki, "0363"), threads=8).start()
    try:
        yield server
    finally:
        server.stop()
        engine.dispose()


def _send_seconds(pki: Any, url: str, timeout: float = 40.0) -> float:
    from ieb.transport.client import GgkClient

    started = time.monotonic()
    try:
        with GgkClient(
            url, tls=_tls(pki, "GGK"), connect_timeout=timeout, operation_timeout=timeout
        ) as client:
            client.send(_du01())
    except Exception as exc:  # noqa: BLE001 - the attack worked: report how long the sender waited
        print(f"legitimate send failed: {type(exc).__name__}", file=sys.stderr)
    return time.monotonic() - started


def _tls_socket(pki: Any, port: int) -> ssl.SSLSocket:
    from ieb.transport.tls import client_context

    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return client_context(_tls(pki, "GGK")).wrap_socket(raw, server_hostname="127.0.0.1")


def _status_line(sock: ssl.SSLSocket, timeout: float) -> str:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, OSError):
        pass
    return data.split(b"\r\n", 1)[0].decode("latin-1") or "(no answer)"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -------------------------------------------------------------------------------------------- rows


def row_idle_tcp(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        baseline = _send_seconds(pki, server.url)
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(10)]
        try:
            delayed = _send_seconds(pki, server.url)
        finally:
            for s in idle:
                s.close()
    extra = delayed - baseline
    return {"attack": "10 idle TCP connections", "extra_latency_s": round(extra, 2), "refused": extra < 1.0}


def row_multi_ip_idle(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        idle = [
            socket.create_connection(
                ("127.0.0.1", server.port), timeout=5, source_address=(f"127.0.0.{i}", 0)
            )
            for i in range(2, 6)
            for _ in range(64)
        ]
        from ieb.transport.client import GgkClient

        started, ok = time.monotonic(), True
        try:
            with GgkClient(
                server.url, tls=_tls(pki, "GGK"), connect_timeout=10, operation_timeout=10
            ) as client:
                client.send(_du01())
        except Exception as exc:  # noqa: BLE001 - the attack worked
            print(f"legitimate send failed: {type(exc).__name__}", file=sys.stderr)
            ok = False
        finally:
            for s in idle:
                s.close()
    seconds = round(time.monotonic() - started, 2)
    return {
        "attack": "4 x 64 idle TCP connections",
        "send_s": seconds,
        "delivered": ok,
        "refused": ok and seconds < 1,
    }


def row_slow_headers(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        baseline = _send_seconds(pki, server.url)
        slow = [_tls_socket(pki, server.port) for _ in range(10)]
        try:
            for s in slow:
                s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\n")
            delayed = _send_seconds(pki, server.url)
        finally:
            for s in slow:
                s.close()
    extra = delayed - baseline
    return {
        "attack": "10 slow-header connections",
        "extra_latency_s": round(extra, 2),
        "refused": extra < 1.0,
    }


def row_huge_header(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        before = _peak_mb()
        s = _tls_socket(pki, server.port)
        started = time.monotonic()
        sent = 0
        s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nX-Big: ")
        s.settimeout(2)
        try:
            for _ in range(64):  # up to 4 MB
                s.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass
        status = _status_line(s, 10)
        s.close()
    return {
        "attack": "4 MB header line",
        "answer": status,
        "bytes_accepted": sent,
        "seconds": round(time.monotonic() - started, 2),
        "server_peak_growth_mb": round(_peak_mb() - before, 1),
        "refused": " 431 " in status + " " or " 413 " in status + " ",
    }


def row_huge_content_length(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        s = _tls_socket(pki, server.port)
        started = time.monotonic()
        s.sendall(
            b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: 60000000000\r\n\r\n<soap"
        )
        status = _status_line(s, 15)
        s.close()
    seconds = time.monotonic() - started
    return {
        "attack": "Content-Length 60 GB",
        "answer": status,
        "seconds": round(seconds, 2),
        "refused": status.split(" ")[1:2] == ["413"] and seconds < 2,
    }


def _dtd(target: str, encoding: str) -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE r SYSTEM "{target}">\n'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>'
    )
    return text.encode(encoding.lower())


def _opens_fifo(read: Callable[[bytes], object], data_for: Callable[[str], bytes], d: Path) -> str:
    fifo = d / f"fifo-{time.monotonic_ns()}"
    os.mkfifo(fifo)
    outcome: list[str] = []

    def run() -> None:
        try:
            read(data_for(str(fifo)))
            outcome.append("accepted")
        except Exception as exc:  # noqa: BLE001 - reported
            outcome.append(f"refused ({type(exc).__name__})")

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=3)
    if worker.is_alive():
        # unblock libxml2 by opening the writer side, then report
        with open(fifo, "wb"):
            pass
        worker.join(timeout=3)
        return "OPENED the FIFO"
    return outcome[0]


def _dtd_row(d: Path, encoding: str) -> dict[str, Any]:
    from ieb import xmlsafe
    from ieb.ggk import unwrap_soap
    from ieb.transport.wssec import verify_envelope

    readers: dict[str, Callable[[bytes], object]] = {
        "payload parser": xmlsafe.parse_bytes,
        "envelope reader": unwrap_soap,
        "WS-Security": lambda b: verify_envelope(b, trusted_roots=()),
    }
    results = {name: _opens_fifo(read, lambda t: _dtd(t, encoding), d) for name, read in readers.items()}
    return {
        "attack": f"{encoding} document with a DTD naming a FIFO",
        **results,
        "refused": all(r.startswith("refused") for r in results.values()),
    }


def row_dtd_utf16(d: Path) -> dict[str, Any]:
    return _dtd_row(d, "UTF-16")


def row_dtd_utf32(d: Path) -> dict[str, Any]:
    return _dtd_row(d, "UTF-32")


def row_namespaces(d: Path) -> dict[str, Any]:
    from ieb.ggk import EnvelopeChecks, wrap_soap

    soap = wrap_soap(_du01())
    end = soap.index(b">", soap.index(b"Envelope"))
    decls = b"".join(b' xmlns:n%d="urn:n%d"' % (i, i) for i in range(300_000))
    data = soap[:end] + decls + soap[end:]  # a valid Du01 whose Envelope declares 300k namespaces
    started = time.monotonic()
    result = EnvelopeChecks(known_ontvangers=None, functie_berichtcode=None).check(data)
    seconds = time.monotonic() - started
    first = result.first
    return {
        "attack": f"Du01 envelope declaring 300k namespaces ({len(data) / 1e6:.1f} MB)",
        "seconds": round(seconds, 2),
        "answer": f"{first.code.value}: {str(first.omschrijving)[:80]}" if first else "accepted",
        "refused": (not result.ok) and seconds < 1.0,
    }


def row_wide_payload(d: Path) -> dict[str, Any]:
    from ieb.validation import validate_bytes

    data = _WMO401.replace(b"<wmo401:Client>", b"<wmo401:Client>" + b"<a/>" * 200_000)
    before = _peak_mb()
    started = time.monotonic()
    try:
        report = validate_bytes(data)
        answer = f"{len(getattr(report, 'issues', []) or [])} findings"
    except Exception as exc:  # noqa: BLE001 - reported
        answer = f"{type(exc).__name__}: {str(exc)[:80]}"
    growth = _peak_mb() - before
    return {
        "attack": f"payload of {len(data) / 1e6:.1f} MB with 200k empty elements",
        "seconds": round(time.monotonic() - started, 2),
        "peak_growth_mb": round(growth, 1),
        "answer": answer,
        "refused": growth < 100,
    }


_WMO401 = b"""<?xml version="1.0" encoding="UTF-8"?>
<wmo401:Bericht xmlns:ieb="http://www.istandaarden.nl/ieb/1_0/basisschema/schema" \
xmlns:wmo401="http://www.istandaarden.nl/ieb/1_0/wmo401/schema">
  <wmo401:Header>
    <wmo401:BerichtCode>470</wmo401:BerichtCode>
    <wmo401:BerichtVersie>1</wmo401:BerichtVersie>
    <wmo401:BerichtSubversie>0</wmo401:BerichtSubversie>
    <wmo401:Afzender>0363</wmo401:Afzender>
    <wmo401:BerichtIdentificatie>
      <ieb:Identificatie>TEST0001</ieb:Identificatie>
      <ieb:Dagtekening>2025-01-15</ieb:Dagtekening>
    </wmo401:BerichtIdentificatie>
  </wmo401:Header>
  <wmo401:Client>
    <wmo401:Bsn>999900006</wmo401:Bsn>
  </wmo401:Client>
</wmo401:Bericht>
"""


@contextmanager
def _evil_server(pki: Any, handle: Callable[[ssl.SSLSocket], None]) -> Iterator[int]:
    """A one-connection-at-a-time TLS server on 127.0.0.1 that answers with ``handle``."""
    from ieb.transport.tls import server_context

    ctx = server_context(_tls(pki, "0363"))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        request += chunk
                    head, _, rest = request.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length")
                        ),
                        0,
                    )
                    while len(rest) < length:
                        rest += conn.recv(65536)
                    handle(conn)
            except OSError:
                pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _client_send(pki: Any, port: int, operation_timeout: float) -> str:
    from ieb.transport.client import GgkClient

    url = f"https://127.0.0.1:{port}/ggk0210/OntvangAsynchroon"
    try:
        with GgkClient(
            url, tls=_tls(pki, "GGK"), connect_timeout=5, operation_timeout=operation_timeout
        ) as c:
            c.send(_du01())
        return "accepted"
    except Exception as exc:  # noqa: BLE001 - reported
        return f"refused ({type(exc).__name__}: {str(exc)[:80]})"


def row_gzip_bomb(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing, streamed: 1 GB of zeros
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()

    def handle(conn: ssl.SSLSocket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(bomb) + bomb
        )

    before = _peak_mb()
    with _evil_server(pki, handle) as port:
        started = time.monotonic()
        outcome = _client_send(pki, port, 30)
    growth = _peak_mb() - before
    return {
        "attack": f"answer of {len(bomb) / 1e6:.1f} MB gzip inflating to 1 GB",
        "client": outcome,
        "seconds": round(time.monotonic() - started, 2),
        "client_peak_growth_mb": round(growth, 1),
        "refused": outcome.startswith("refused") and growth < 100,
    }


def row_slow_drip(d: Path) -> dict[str, Any]:
    pki = _pki(d)

    def handle(conn: ssl.SSLSocket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n")
        for _ in range(20):  # one byte a second, at most 20 s
            conn.sendall(b" ")
            time.sleep(1)

    with _evil_server(pki, handle) as port:
        started = time.monotonic()
        outcome = _client_send(pki, port, 3)
        seconds = time.monotonic() - started
    return {
        "attack": "answer dripping one byte a second (client operation timeout 3 s)",
        "client": outcome,
        "seconds": round(seconds, 1),
        "refused": outcome.startswith("refused") and seconds < 5,
    }


def row_foreign_signer(d: Path) -> dict[str, Any]:
    from ieb.transport.client import GgkClient, WusSigning

    pki = _pki(d)
    roots = pki.roots.read_bytes()
    inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
    g = pki.party("0363")
    signing = WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter)
    with _receiver(d, pki, signing=signing, require_signature=True) as server:
        forged = WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter, verify_answers=False)
        try:
            with GgkClient(server.url, tls=_tls(pki, "GGK"), signing=forged) as client:
                client.send(_du01())
            outcome = "accepted"
        except Exception as exc:  # noqa: BLE001 - reported
            outcome = f"refused ({getattr(exc, 'code', None) or type(exc).__name__}: {str(exc)[:90]})"
    return {
        "attack": "request signed by 0363 over a TLS connection of GGK",
        "receiver": outcome,
        "refused": outcome.startswith("refused (IB002"),
    }


def row_serve_admission(d: Path) -> dict[str, Any]:
    from ieb.service import MonitorMiddleware
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import Receiver, receiver_server

    pki = _pki_with(d, ["0363", "GGK", "0599"])  # 0599: same chain, OIN not allowed
    engine = open_ledger(f"sqlite:///{d / 'serve.sqlite'}")
    app = Receiver(engine, organisatie="0363", allowed_oins={pki.party("GGK").oin})
    server = receiver_server(MonitorMiddleware(app, None), app, _tls(pki, "0363"), threads=4).start()  # type: ignore[arg-type]
    try:
        from ieb.transport.tls import client_context

        baseline = _send_seconds(pki, server.url)
        slow = []
        for _ in range(16):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s = client_context(_tls(pki, "0599")).wrap_socket(raw, server_hostname="127.0.0.1")
            s.sendall(b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        try:
            seconds = _send_seconds(pki, server.url, timeout=90)
        finally:
            for s in slow:
                s.close()
    finally:
        server.stop()
        engine.dispose()
    return {
        "attack": "16 slow connections, trusted chain, OIN not allowed (ieb serve)",
        "extra_latency_s": round(seconds - baseline, 2),
        "refused": seconds - baseline < 1.0,
    }


def row_receiver_db_down(d: Path) -> dict[str, Any]:
    import sqlite3

    import sqlalchemy as sa

    from ieb.transport.client import GgkClient
    from ieb.transport.errors import TransientSendError

    pki = _pki(d)
    with _receiver(d, pki) as server:
        engine = server.app.engine
        engine.dispose()
        sa.event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout = 200"))
        lock = sqlite3.connect(d / "receiver.sqlite", timeout=5, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            with GgkClient(server.url, tls=_tls(pki, "GGK")) as client:
                client.send(_du01())
            outcome = "acknowledged without storing"
        except TransientSendError as exc:
            outcome = f"transient {exc.code} (HTTP {exc.status})"
        except Exception as exc:  # noqa: BLE001 - the attack worked: a final refusal
            outcome = f"final {type(exc).__name__} {getattr(exc, 'code', '')}"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
    return {
        "attack": "receiver database locked",
        "answer": outcome,
        "refused": outcome.startswith("transient"),
    }


def row_chunked_and_length(d: Path) -> dict[str, Any]:
    pki = _pki(d)
    with _receiver(d, pki) as server:
        s = _tls_socket(pki, server.port)
        s.sendall(
            b"POST /ggk0210/OntvangAsynchroon HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        status = _status_line(s, 10)
        s.close()
    return {"attack": "Transfer-Encoding + Content-Length", "answer": status, "refused": " 400 " in status}


def row_two_serialnumbers(d: Path) -> dict[str, Any]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import Receiver

    allowed = "00000099000000000001"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, allowed),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "00000099000000000666"),
            x509.NameAttribute(NameOID.COMMON_NAME, "twee serienummers"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    engine = open_ledger(f"sqlite:///{d / 'r.sqlite'}")
    try:
        app = Receiver(engine, organisatie="0363", allowed_oins={allowed})
        refusal = app.admit(cert.public_bytes(serialization.Encoding.DER))
    finally:
        engine.dispose()
    return {
        "attack": "certificate with two serialNumbers, the allowed OIN first",
        "admission": "refused" if refusal is not None else "admitted",
        "refused": refusal is not None,
    }


def _ieb(args: list[str], cwd: Path, timeout: float = 50, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ieb", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def row_size_masking(d: Path) -> dict[str, Any]:
    big = d / "big.csv"
    with big.open("wb") as f:
        f.truncate(100 * 1024 * 1024)  # sparse: over the limit without writing it
    proc = _ieb(["plan", str(big), "--db", str(d / "x.sqlite"), "--gemeente", "0363"], d)
    text = proc.stderr + proc.stdout
    line = next((x.strip() for x in text.splitlines() if "groter" in x), text.strip()[-120:])
    return {
        "attack": "file over the size limit",
        "message": line[:120],
        "refused": "groter" in line and "**" not in line,
    }


def row_csv_errors_cap(d: Path) -> dict[str, Any]:
    bad = d / "bad.csv"
    bad.write_text("bsn,start\n" + "123,2026-01-01\n" * 50_000)
    started = time.monotonic()
    proc = _ieb(["plan", str(bad), "--db", str(d / "x.sqlite"), "--gemeente", "0363"], d, timeout=120)
    size = len(proc.stderr.encode()) + len(proc.stdout.encode())
    return {
        "attack": "50k bad CSV rows",
        "output_kb": round(size / 1024),
        "seconds": round(time.monotonic() - started, 1),
        "refused": proc.returncode != 0 and size < 512 * 1024,
    }


def row_reconcile_fifo(d: Path) -> dict[str, Any]:
    fifo = d / "henv.fifo"
    os.mkfifo(fifo)
    (d / "za.txt").write_text("")
    (d / "adm.csv").write_text("bsn,achternaam\n")
    written = [0]
    stop = threading.Event()

    def feed() -> None:
        chunk = b"0" * (1 << 20)
        try:
            with fifo.open("wb") as f:
                while not stop.is_set() and written[0] < 4 << 30:
                    f.write(chunk)
                    written[0] += len(chunk)
        except OSError:
            pass  # the reader closed: refused

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    started = time.monotonic()
    try:
        proc = _ieb(
            [
                "reconcile",
                "--henv",
                str(fifo),
                "--za",
                str(d / "za.txt"),
                "--administratie",
                str(d / "adm.csv"),
                "--peildatum",
                "2024-01-01",
                "--out",
                str(d / "out"),
            ],
            d,
            timeout=30,
        )
        ended = proc.returncode is not None
    except subprocess.TimeoutExpired:
        ended = False
    stop.set()
    seconds = time.monotonic() - started
    mb = written[0] / (1 << 20)
    return {
        "attack": "HenV from a FIFO fed with zeros",
        "read_mb": round(mb),
        "seconds": round(seconds, 1),
        "refused": ended and mb <= 66,
    }


def row_full_disk_plan(d: Path) -> dict[str, Any]:
    import signal as _signal

    desired = d / "gewenst.csv"
    desired.write_text("bsn,start\n" + "".join(f"{b},2026-01-01\n" for b in _test_bsns(300)))
    db = d / "vol.sqlite"
    _ieb(
        ["plan", str(desired), "--db", str(db), "--gemeente", "0363", "--today", "2026-01-05"], d
    )  # create it

    def small_files() -> None:
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)  # a write past the limit fails with EFBIG
        size = db.stat().st_size + 64 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    proc = _ieb(
        ["plan", str(desired), "--queue", "--db", str(db), "--gemeente", "0363", "--today", "2026-01-05"],
        d,
        preexec_fn=small_files,
    )
    text = proc.stderr + proc.stdout
    lines = len(text.splitlines())
    return {
        "attack": "plan --queue when the database cannot grow",
        "exit": proc.returncode,
        "lines": lines,
        "refused": proc.returncode != 0 and "Traceback" not in text and lines < 20,
    }


def _test_bsns(n: int) -> list[str]:
    out, k = [], 999900000
    while len(out) < n:
        digits = f"{k:09d}"
        total = sum(int(c) * w for c, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
        if total % 11 == 0:
            out.append(digits)
        k += 1
    return out


def row_validation_inflight(d: Path) -> dict[str, Any]:
    import http.client

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ieb", "serve-validation", "--host", "127.0.0.1", "--port", str(port)],
        cwd=d,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    holders: list[socket.socket] = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        body = b"<x>" + b"a" * (25 * 1024 * 1024 - 64 * 1024)  # just under the 25 MiB limit
        for _ in range(8):  # 25 MB announced and all but the last bytes sent, then held
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(
                f"POST /validatie HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body) + 10}\r\n\r\n".encode()
            )
            try:
                s.sendall(body)
            except OSError:
                pass  # refused early: fine
            holders.append(s)
        answers = []
        for _ in range(5):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                c.request("POST", "/validatie", body=b"<x/>", headers={"Content-Type": "application/xml"})
                answers.append(c.getresponse().status)
            except OSError as exc:
                answers.append(type(exc).__name__)
            finally:
                c.close()
        peak = _proc_peak_mb(proc.pid)
    finally:
        for s in holders:
            s.close()
        proc.terminate()
        proc.wait(10)
    served = sum(1 for a in answers if a not in (503, "TimeoutError", "ConnectionResetError"))
    return {
        "attack": "8 connections holding 25 MB bodies",
        "peak_mb": round(peak),
        "legit_answers": answers,
        "refused": peak < 600 and served == 5,
    }


def _proc_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return -1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pki_with(directory: Path, codes: list[str]) -> Any:
    try:
        from ieb.testing.pki import create_test_pki
    except ImportError:
        from ieb.testing.pki import create_test_pki
    return create_test_pki(directory, codes)


# -------------------------------------------------------------------------------------------- main


def _run_row(name: str) -> None:
    fn = globals()["row_" + name.replace("-", "_")]
    with tempfile.TemporaryDirectory(prefix="ieb-attack-") as tmp:
        result = fn(Path(tmp))
    print(json.dumps({"row": name, **result}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--row", choices=ROWS, help="run one row in this process")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per row (default 60)")
    args = parser.parse_args()
    if args.row:
        _run_row(args.row)
        return 0
    refused = 0
    for name in ROWS:
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--row", name],
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=False,
            )
            line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            result = json.loads(line) if line.startswith("{") else {"row": name, "error": proc.stderr[-300:]}
        except subprocess.TimeoutExpired:
            result = {"row": name, "attack": f"still busy after {args.timeout:.0f} s", "refused": False}
        result["wall_s"] = round(time.monotonic() - started, 1)
        refused += bool(result.get("refused"))
        mark = "REFUSED " if result.get("refused") else "NOT REFUSED"
        details = ", ".join(f"{k}={v}" for k, v in result.items() if k not in ("row", "refused"))
        print(f"{mark:11} {name:20} {details}", flush=True)
    print(f"{refused} of {len(ROWS)} attacks refused")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
