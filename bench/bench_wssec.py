"""WS-Security (Digikoppeling 2W-be-S) costs per message, against bare RSA and the unsigned path.

    python bench/bench_wssec.py [--count N] [--rounds R] [--oracle]   # prints JSON
    python bench/bench_wssec.py --http [--count N] [--rounds R]     # over HTTPS, CPU of both sides
    python bench/bench_wssec.py --stages [--count N]                # where the signed pair's CPU goes
    python bench/bench_wssec.py --xmlsec [--count N] [--rounds R]   # XML-DSig in C (python-xmlsec) vs ours
    python bench/bench_wssec.py --gap [--count N] [--rounds R]      # signed-only CPU: flow, one process, loop

Measured in one process, CPU time (``time.process_time``) per operation, the minimum over rounds
(the figure least disturbed by other jobs on a shared machine), with the load average:

* ``rsa_sign_ms`` / ``rsa_verify_ms``: bare ``cryptography`` RSA PKCS#1 v1.5 / SHA-256 with the
  test PKI's service key (its size is ``key_bits``) over SignedInfo-sized bytes - the floor;
* ``sign_ms``: :func:`~ieb.transport.wssec.add_addressing` + :func:`~ieb.transport.wssec.sign_envelope`
  on the SOAP request ``GgkClient`` posts for a Di01 (tree in, as the client does);
* ``verify_ms``: :func:`~ieb.transport.wssec.verify_envelope` of that request as the receiver
  calls it (roots, intermediates, signer OIN);
* ``roundtrip_signed_ms`` / ``roundtrip_unsigned_ms``: one round trip without the network: the
  client builds the request (``GgkClient.soap_request``), the receiver handles it
  (``Receiver.receive``: verify, checks, SQLite inbox, Bv03, signed answer) and the client reads
  the answer (``GgkClient._answer``: schema-valid Bv03; signed: ``verify_envelope`` with the
  SignatureConfirmation) - ``GgkClient.send`` without its HTTP post;
* ``xml_overhead_ms``: the signed round trip minus the unsigned one minus two RSA signatures and
  two RSA verifications - what XML-DSig costs beyond the RSA floor.

With ``--xmlsec`` (needs ``pip install xmlsec``, not a dependency of ieb: see
docs/performance.md "Signed, round 7") :func:`bench_xmlsec` measures libxmlsec1's signing and
verification of the same request next to ours, in the same rounds.

With ``--gap`` :func:`bench_gap` measures the signed-only CPU of a round trip in the two-process
flow, in one process (warm, cold, per step) and as the signed-only steps alone in tight loops, in
the same rounds (docs/performance.md "Signed, round 9").

With ``--oracle`` the implementation before issue 22 round 4 (``tests/transport/wssec_oracle.py``)
is measured alongside, in the same rounds (``oracle_sign_ms``, ``oracle_verify_ms``,
``oracle_roundtrip_signed_ms``: the transport calling the oracle's functions). Nothing is asserted.

:func:`signed_ceiling` is what ``bench/run.py`` B3 reports as ``details.signed_rsa_ceiling``: the
best ``signed_vs_unsigned`` two RSA signatures and two verifications per round trip allow, given
the unsigned round trip's seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _best_ms(fn: Callable[[], object], n: int, rounds: int) -> float:
    """Minimum over ``rounds`` of the CPU milliseconds per call of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) * 1000 / n)
    return best


def rsa_costs(key_pem: bytes | None = None, n: int = 200, rounds: int = 5) -> dict[str, float]:
    """``{"key_bits", "rsa_sign_ms", "rsa_verify_ms"}`` for the RSA key in ``key_pem`` (default: a
    new RSA-2048 key, the size of the test PKI's service keys)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if key_pem is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        loaded = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        key = loaded
    data = b"<ds:SignedInfo>" + b"x" * 1200 + b"</ds:SignedInfo>"  # a SignedInfo of six references
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key()
    return {
        "key_bits": key.key_size,
        "rsa_sign_ms": _best_ms(lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256()), n, rounds),
        "rsa_verify_ms": _best_ms(
            lambda: public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256()), n, rounds
        ),
    }


def signed_ceiling(unsigned_roundtrip_s: float, rsa: dict[str, float]) -> float:
    """The best signed/unsigned rate ratio when signing cost nothing but its RSA operations:
    ``t / (t + 2 sign + 2 verify)`` with ``t`` the unsigned round trip in seconds."""
    extra = 2 * (rsa["rsa_sign_ms"] + rsa["rsa_verify_ms"]) / 1000
    return unsigned_roundtrip_s / (unsigned_roundtrip_s + extra)


def _oracle() -> ModuleType:
    sys.path.insert(0, str(ROOT / "tests" / "transport"))
    import wssec_oracle  # type: ignore[import-not-found]

    return wssec_oracle  # type: ignore[no-any-return]


@contextmanager
def _implementation(wssec: ModuleType, oracle: ModuleType | None) -> Iterator[None]:
    """With ``oracle``: the transport's calls into ``ieb.transport.wssec`` (it imports the functions
    when it calls them) go to the oracle's functions for the duration."""
    names = (
        "add_addressing",
        "parse_soap_envelope",
        "sign_envelope",
        "signature_confirmation",
        "verify_envelope",
    )
    saved = {name: getattr(wssec, name) for name in names}
    try:
        if oracle is not None:
            for name in names:
                setattr(wssec, name, getattr(oracle, name))
        yield
    finally:
        for name, value in saved.items():
            setattr(wssec, name, value)


def bench_wssec(n: int = 200, rounds: int = 5, with_oracle: bool = False) -> dict[str, Any]:
    """The figures described in the module docstring, as a dict (milliseconds of CPU)."""
    import requests

    from bench.run import _pki, di01s
    from ieb.transport import wssec
    from ieb.transport.client import GgkClient, WusSigning
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import PeerInfo, Receiver
    from ieb.transport.tls import TlsFiles

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ieb-wssec-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k, g = pki.party("GGK"), pki.party("0363")
        roots = pki.roots.read_bytes()
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        out.update(rsa_costs(k.key.read_bytes(), n, rounds))
        tls = TlsFiles(k.chain, k.key, pki.roots)
        client_signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
        server_signing = WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter)
        endpoint = "https://127.0.0.1:1/ggk0210/OntvangAsynchroon"
        unsigned_client = GgkClient(endpoint, tls=tls)
        signed_client = GgkClient(endpoint, tls=tls, signing=client_signing)

        # sign and verify alone, on the request the client posts
        plain = unsigned_client.soap_request(di01s(1)[0])[1]
        kp, cp = client_signing.key_pem, client_signing.cert_pem

        def sign_with(module: ModuleType) -> Callable[[], bytes]:
            def sign() -> bytes:
                tree = module.add_addressing(
                    module.parse_soap_envelope(plain), to=endpoint, action="urn:a", message_id="urn:uuid:1"
                )
                return module.sign_envelope(tree, key_pem=kp, cert_pem=cp)  # type: ignore[no-any-return]

            return sign

        signed = sign_with(wssec)()

        def verify_with(module: ModuleType) -> Callable[[], object]:
            return lambda: module.verify_envelope(
                signed, trusted_roots=roots, intermediates=inter, message_kind="request", signer_oins={k.oin}
            )

        modules = [("", wssec)] + ([("oracle_", _oracle())] if with_oracle else [])
        for prefix, module in modules:
            out[prefix + "sign_ms"] = _best_ms(sign_with(module), n, rounds)
            out[prefix + "verify_ms"] = _best_ms(verify_with(module), n, rounds)

        # the round trip without the network
        peer = PeerInfo(k.oin, "GGK", "127.0.0.1")
        environ = {"HTTP_SOAPACTION": '"http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"'}
        receivers = {
            "signed": Receiver(
                open_ledger(f"sqlite:///{tmp / 'signed.sqlite'}"),
                organisatie="0363",
                allowed_oins={k.oin},
                signing=server_signing,
                require_signature=True,
            ),
            "unsigned": Receiver(
                open_ledger(f"sqlite:///{tmp / 'unsigned.sqlite'}"), organisatie="0363", allowed_oins={k.oin}
            ),
        }
        clients = {"signed": signed_client, "unsigned": unsigned_client}

        def roundtrip(kind: str, envelope: bytes) -> None:
            # the client's own steps (GgkClient.send without the HTTP post): build, then read the answer
            client = clients[kind]
            _, ref, request, signature_value = client._request(envelope)
            reply = receivers[kind].receive(request, environ, peer)
            answer = requests.Response()
            answer.status_code, answer._content = reply.status, reply.body
            answer.headers["Content-Type"] = reply.content_type
            client._answer(ref, signature_value, answer, 0.0)

        kinds = ["signed", "unsigned"] + (["oracle_signed"] if with_oracle else [])
        best = dict.fromkeys(kinds, float("inf"))
        for r in range(rounds):
            for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
                envelopes = di01s(n)  # new messages: the receiver stores each one
                with _implementation(wssec, _oracle() if kind.startswith("oracle_") else None):
                    started = time.process_time()
                    for envelope in envelopes:
                        roundtrip(kind.removeprefix("oracle_"), envelope)
                    best[kind] = min(best[kind], (time.process_time() - started) * 1000 / n)
        for engine in (rc.engine for rc in receivers.values()):
            engine.dispose()
    out["roundtrip_signed_ms"] = best["signed"]
    out["roundtrip_unsigned_ms"] = best["unsigned"]
    if with_oracle:
        out["oracle_roundtrip_signed_ms"] = best["oracle_signed"]
    out["xml_overhead_ms"] = (
        best["signed"] - best["unsigned"] - 2 * (out["rsa_sign_ms"] + out["rsa_verify_ms"])
    )
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    out["details"] = {"n": n, "rounds": rounds, "clock": "process CPU time, minimum over rounds"}
    return out


def bench_http_cpu(n: int = 200, rounds: int = 3) -> dict[str, Any]:
    """B3's signed/unsigned pair by CPU instead of wall time: ``GgkClient.send`` over mutual TLS on
    loopback to the receiver in its own process (``bench/_receiver.py``, modes ``receiver`` and
    ``signed``), one thread; per message the client process's CPU (``time.process_time``) plus the
    receiver process's (``/proc``), median over rounds (alternating). On a loaded machine the wall
    time of a round trip is mostly waiting for a core; the CPU both sides spend is what a quiet
    machine would see (plus the fixed loopback latency). ``cpu_ratio`` = unsigned / signed."""
    import statistics

    from bench.bench_recv import _cpu_seconds, _server
    from bench.run import _pki, di01s
    from ieb.transport.client import GgkClient, WusSigning
    from ieb.transport.tls import TlsFiles

    per: dict[str, list[float]] = {"signed": [], "unsigned": []}
    wall: dict[str, list[float]] = {"signed": [], "unsigned": []}
    split: dict[str, list[tuple[float, float]]] = {"signed": [], "unsigned": []}
    with tempfile.TemporaryDirectory(prefix="ieb-wssec-http-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        roots = pki.roots.read_bytes()
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        tls = TlsFiles(k.chain, k.key, pki.roots)
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
        with (
            _server(tmp / "pki", tmp / "plain.sqlite", "receiver") as (url, pid),
            _server(tmp / "pki", tmp / "signed.sqlite", "signed") as (surl, spid),
            GgkClient(url, tls=tls) as plain,
            GgkClient(surl, tls=tls, signing=signing) as signed,
        ):
            sides = {"unsigned": (plain, pid), "signed": (signed, spid)}
            for client, _ in sides.values():
                for envelope in di01s(5):
                    client.send(envelope)  # TLS session, schemas, chain cache
            for r in range(rounds):
                for kind in ("signed", "unsigned") if r % 2 == 0 else ("unsigned", "signed"):
                    client, server_pid = sides[kind]
                    envelopes = di01s(n)
                    cpu0, server0, wall0 = time.process_time(), _cpu_seconds(server_pid), time.perf_counter()
                    for envelope in envelopes:
                        client.send(envelope)
                    client_cpu = time.process_time() - cpu0
                    server_cpu = _cpu_seconds(server_pid) - server0
                    per[kind].append((client_cpu + server_cpu) * 1000 / n)
                    split[kind].append((client_cpu * 1000 / n, server_cpu * 1000 / n))
                    wall[kind].append((time.perf_counter() - wall0) * 1000 / n)
    signed_ms, unsigned_ms = statistics.median(per["signed"]), statistics.median(per["unsigned"])
    return {
        "cpu_ms_signed": signed_ms,
        "cpu_ms_unsigned": unsigned_ms,
        "cpu_ratio": unsigned_ms / signed_ms,
        "wall_ms_signed": statistics.median(wall["signed"]),
        "wall_ms_unsigned": statistics.median(wall["unsigned"]),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "details": {"n": n, "rounds": rounds, "cpu_ms": per, "client_server_cpu_ms": split, "wall_ms": wall},
    }


def bench_xmlsec(n: int = 200, rounds: int = 5) -> dict[str, Any]:
    """libxmlsec1 (python-xmlsec) against :mod:`ieb.transport.wssec` on the SOAP request the client
    posts for a Di01, CPU milliseconds per operation, minimum over ``rounds`` (the four measured in
    turn, rotating the order each round). Generous to xmlsec: it only does the cryptographic part,
    none of our policy checks and none of the tree building:

    * ``xmlsec_sign_ms``: parse a finished template (our signed request with every DigestValue and
      the SignatureValue emptied), register the ``wsu:Id`` attributes, ``SignatureContext.sign``
      (digests of the six references, C14N of SignedInfo, RSA), serialise;
    * ``xmlsec_verify_ms``: parse our signed request, register the ``wsu:Id`` attributes,
      ``SignatureContext.verify`` with the signer's public key loaded once;
    * ``sign_ms`` / ``verify_ms``: ours, everything included (parse, WS-Addressing, the
      Security header, signing; verification with the chain, signer OIN, coverage, positions,
      Timestamp and addressing checks), as in :func:`bench_wssec`;
    * ``rsa_sign_ms`` / ``rsa_verify_ms``: the RSA floor (:func:`rsa_costs`);
    * ``sign_crypto_ms`` / ``verify_crypto_ms`` and ``xmlsec_sign_crypto_ms`` /
      ``xmlsec_verify_crypto_ms``: the cryptographic part alone on a parsed tree (the six
      references' C14N and digest, SignedInfo's C14N, RSA), ours and in xmlsec (a signature
      context with the ``wsu:Id`` attributes registered, ``sign``/``verify``); ``hybrid_*_ms`` is
      ours with that part swapped for xmlsec's: what the brief's design would cost.

    Sanity, before timing: xmlsec's signature verifies with :func:`~ieb.transport.wssec.verify_envelope`
    and xmlsec refuses our request with one digest changed (so it really checks)."""
    import re

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from lxml import etree

    try:
        import xmlsec
    except Exception as exc:  # noqa: BLE001 - ImportError, or xmlsec.InternalError: its import
        # refuses a libxml2 whose major.minor differs from lxml's ("library version mismatch")
        raise SystemExit(
            f"--xmlsec needs python-xmlsec on the libxml2 lxml uses "
            f"({'.'.join(map(str, etree.LIBXML_VERSION))}): pip install xmlsec ({exc})"
        ) from None
    if xmlsec.get_libxml_version()[:2] != etree.LIBXML_VERSION[:2]:  # the check of its own import
        raise SystemExit(
            f"python-xmlsec uses libxml2 {xmlsec.get_libxml_version()}, lxml {etree.LIBXML_VERSION}: "
            "the comparison needs one libxml2 (install matching wheels)"
        )

    from bench.run import _pki, di01s
    from ieb.transport import wssec
    from ieb.transport.client import GgkClient
    from ieb.transport.tls import TlsFiles

    out: dict[str, Any] = {
        "xmlsec": getattr(xmlsec, "__version__", "?"),
        "libxml2_lxml": ".".join(map(str, etree.LIBXML_VERSION)),
        "libxml2_xmlsec": ".".join(map(str, xmlsec.get_libxml_version())),
    }
    with tempfile.TemporaryDirectory(prefix="ieb-wssec-xmlsec-") as tmp_name:
        pki = _pki(Path(tmp_name) / "pki")
        k = pki.party("GGK")
        roots = pki.roots.read_bytes()
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        key_pem, cert_pem = k.key.read_bytes(), k.cert.read_bytes()
        endpoint = "https://127.0.0.1:1/ggk0210/OntvangAsynchroon"
        plain = GgkClient(endpoint, tls=TlsFiles(k.chain, k.key, pki.roots)).soap_request(di01s(1)[0])[1]
        out.update(rsa_costs(key_pem, n, rounds))

    def sign() -> bytes:
        tree = wssec.add_addressing(
            wssec.parse_soap_envelope(plain), to=endpoint, action="urn:a", message_id="urn:uuid:1"
        )
        return wssec.sign_envelope(tree, key_pem=key_pem, cert_pem=cert_pem)

    signed = sign()
    template = re.sub(rb"(<ds:DigestValue>)[^<]*", rb"\1", signed)
    template = re.sub(rb"(<ds:SignatureValue>)[^<]*", rb"\1", template)
    private = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem, None)
    public_pem = (
        x509.load_pem_x509_certificate(cert_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    public = xmlsec.Key.from_memory(public_pem, xmlsec.constants.KeyDataFormatPem, None)
    wsu_id = f"{{{wssec.NS_WSU}}}Id"
    ds_signature = f"{{{wssec.NS_DS}}}Signature"

    def context(root: etree._Element, key: Any) -> Any:
        ctx = xmlsec.SignatureContext()
        for el in root.iter(etree.Element):
            if el.get(wsu_id) is not None:
                ctx.register_id(el, "Id", wssec.NS_WSU)
        ctx.key = key
        return ctx

    def xmlsec_sign() -> bytes:
        root = wssec.parse_soap_envelope(template)
        context(root, private).sign(next(root.iter(ds_signature)))
        return etree.tostring(root, encoding="UTF-8", xml_declaration=True)

    def xmlsec_verify(data: bytes = signed) -> None:
        root = wssec.parse_soap_envelope(data)
        context(root, public).verify(next(root.iter(ds_signature)))

    def verify() -> object:
        return wssec.verify_envelope(
            signed, trusted_roots=roots, intermediates=inter, message_kind="request", signer_oins={k.oin}
        )

    wssec.verify_envelope(xmlsec_sign(), trusted_roots=roots, intermediates=inter, message_kind="request")
    xmlsec_verify()
    tampered = re.sub(
        rb"(<ds:DigestValue>)(.)", lambda m: m[1] + (b"B" if m[2] == b"A" else b"A"), signed, count=1
    )
    try:
        xmlsec_verify(tampered)
    except xmlsec.Error:
        pass
    else:  # pragma: no cover - the sanity check of the comparison itself
        raise AssertionError("xmlsec accepted a changed digest")

    # The cryptographic part alone, on a tree already parsed (what xmlsec would take over from us,
    # and what it costs in xmlsec): the six references' C14N + digest, SignedInfo's C14N, RSA.
    import base64
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    signing_key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(signing_key, rsa.RSAPrivateKey)
    verify_key = signing_key.public_key()
    tree = wssec.parse_soap_envelope(signed)
    by_id = {el.get(wsu_id): el for el in tree.iter(etree.Element) if el.get(wsu_id) is not None}
    signature_el = next(tree.iter(ds_signature))
    signed_info, value_el = signature_el[0], signature_el[1]
    refs = [by_id[ref.get("URI", "")[1:]] for ref in signed_info.iter(f"{{{wssec.NS_DS}}}Reference")]
    raw_value = base64.b64decode(value_el.text or "")

    def digests() -> list[bytes]:
        return [hashlib.sha256(wssec._c14n(el)).digest() for el in refs]

    def our_sign_crypto() -> None:
        digests()
        signing_key.sign(wssec._c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())

    def our_verify_crypto() -> None:
        verify_key.verify(raw_value, wssec._c14n(signed_info), padding.PKCS1v15(), hashes.SHA256())
        digests()

    template_tree = wssec.parse_soap_envelope(template)
    template_signature = next(template_tree.iter(ds_signature))

    def xmlsec_sign_crypto() -> None:  # re-signing the same template tree overwrites the values
        context(template_tree, private).sign(template_signature)

    def xmlsec_verify_crypto() -> None:
        context(tree, public).verify(signature_el)

    steps = {
        "sign_ms": sign,
        "xmlsec_sign_ms": xmlsec_sign,
        "verify_ms": verify,
        "xmlsec_verify_ms": xmlsec_verify,
        "sign_crypto_ms": our_sign_crypto,
        "xmlsec_sign_crypto_ms": xmlsec_sign_crypto,
        "verify_crypto_ms": our_verify_crypto,
        "xmlsec_verify_crypto_ms": xmlsec_verify_crypto,
    }
    names = list(steps)
    best = dict.fromkeys(names, float("inf"))
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            best[name] = min(best[name], _best_ms(steps[name], n, 1))
    out.update(best)
    for kind in ("sign", "verify"):
        floor = out[f"rsa_{kind}_ms"]
        out[f"{kind}_beyond_rsa_ms"] = best[f"{kind}_ms"] - floor
        out[f"xmlsec_{kind}_beyond_rsa_ms"] = best[f"xmlsec_{kind}_ms"] - floor
        # ours with only the cryptographic part done by xmlsec (our checks and tree work kept)
        out[f"hybrid_{kind}_ms"] = (
            best[f"{kind}_ms"] - best[f"{kind}_crypto_ms"] + best[f"xmlsec_{kind}_crypto_ms"]
        )
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    out["details"] = {"n": n, "rounds": rounds, "request_bytes": len(signed), "clock": "process CPU time"}
    return out


#: (module, attribute) of the steps :func:`stage_timers` times: the client's and the receiver's
#: WS-Security work and the transport steps around it
STAGES: tuple[tuple[str, str], ...] = (
    ("ieb.transport.client", "GgkClient._request"),
    ("ieb.transport.client", "GgkClient._answer"),
    ("ieb.transport.client", "GgkClient._verify_answer"),
    ("ieb.transport.server", "Receiver.__call__"),
    ("ieb.transport.server", "Receiver.receive"),
    ("ieb.transport.server", "Receiver._verify"),
    ("ieb.transport.server", "Receiver._signed"),
    ("ieb.transport.server", "Receiver.handle_checked"),
    ("ieb.ggk.codes", "EnvelopeChecks.check"),
    ("ieb.transport.wssec", "parse_soap_envelope"),
    ("ieb.transport.wssec", "add_addressing"),
    ("ieb.transport.wssec", "signature_confirmation"),
    ("ieb.transport.wssec", "_sign_envelope"),
    ("ieb.transport.wssec", "verify_envelope"),
)


def stage_timers() -> dict[str, list[float]]:
    """Wrap every step of :data:`STAGES` in this process with a timer of the calling thread's CPU
    (``time.thread_time``: waiting is not counted); returns the live ``{step: [calls, seconds]}``.
    The transport imports the wssec functions when it calls them, so the wrapped ones are used.
    Bench only (``bench/_receiver.py`` with ``IEB_BENCH_STAGES``, :func:`bench_stages`)."""
    import functools
    import importlib

    totals: dict[str, list[float]] = {}
    for module_name, attribute in STAGES:
        owner: Any = importlib.import_module(module_name)
        *outer, name = attribute.split(".")
        for part in outer:
            owner = getattr(owner, part)
        real = getattr(owner, name)
        entry = totals.setdefault(attribute, [0, 0.0])

        def timed(*args: Any, _real: Any = real, _entry: list[float] = entry, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return _real(*args, **kwargs)
            finally:
                _entry[0] += 1
                _entry[1] += time.thread_time() - started

        setattr(owner, name, functools.wraps(real)(timed))
    return totals


def bench_stages(n: int = 300) -> dict[str, Any]:
    """B3's signed and unsigned pair over mutual TLS (as :func:`bench_http_cpu`, one round each,
    signed first), with :func:`stage_timers` in the client and in the receiver process: CPU
    milliseconds per message of each step on both sides, next to each process's whole CPU."""
    from bench.bench_recv import _cpu_seconds, _server
    from bench.run import _pki, di01s
    from ieb.transport.client import GgkClient, WusSigning
    from ieb.transport.tls import TlsFiles

    out: dict[str, Any] = {}
    totals = stage_timers()
    with tempfile.TemporaryDirectory(prefix="ieb-wssec-stages-") as tmp_name:
        tmp = Path(tmp_name)
        pki = _pki(tmp / "pki")
        k = pki.party("GGK")
        key_pem = k.key.read_bytes()
        roots = pki.roots.read_bytes()
        inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
        tls = TlsFiles(k.chain, k.key, pki.roots)
        signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
        for kind, mode, client_signing in (("signed", "signed", signing), ("unsigned", "receiver", None)):
            stages_file = tmp / f"{kind}-stages.json"
            os.environ["IEB_BENCH_STAGES"] = str(stages_file)
            try:
                server = _server(tmp / "pki", tmp / f"{kind}.sqlite", mode)
                url, pid = server.__enter__()
            finally:
                del os.environ["IEB_BENCH_STAGES"]
            try:
                with GgkClient(url, tls=tls, signing=client_signing) as client:
                    for envelope in di01s(5):
                        client.send(envelope)  # TLS session, schemas, chain cache
                    envelopes = di01s(n)
                    for entry in totals.values():
                        entry[:] = [0, 0.0]
                    cpu0, server0, wall0 = time.process_time(), _cpu_seconds(pid), time.perf_counter()
                    for envelope in envelopes:
                        client.send(envelope)
                    client_cpu, server_cpu = time.process_time() - cpu0, _cpu_seconds(pid) - server0
                    wall = time.perf_counter() - wall0
                    client_steps = {k: v[1] * 1000 / n for k, v in totals.items() if v[0]}
            finally:
                server.__exit__(None, None, None)
            server_steps = json.loads(stages_file.read_text())  # since the warm-up; per message below
            out[kind] = {
                "client_cpu_ms": client_cpu * 1000 / n,
                "server_cpu_ms": server_cpu * 1000 / n,
                "wall_ms": wall * 1000 / n,
                "client_ms": client_steps,
                "server_ms": {k: v[1] * 1000 / (n + 5) for k, v in server_steps.items() if v[0]},
            }
    # the pair by CPU (both processes), next to what two RSA signatures and two verifications
    # with the same key allow on top of the unsigned pair's CPU (measured now, same load)
    rsa = rsa_costs(key_pem, 100, 3)
    signed_cpu = out["signed"]["client_cpu_ms"] + out["signed"]["server_cpu_ms"]
    unsigned_cpu = out["unsigned"]["client_cpu_ms"] + out["unsigned"]["server_cpu_ms"]
    out["cpu_signed_vs_unsigned"] = unsigned_cpu / signed_cpu
    out["cpu_rsa_ceiling"] = unsigned_cpu / (unsigned_cpu + 2 * (rsa["rsa_sign_ms"] + rsa["rsa_verify_ms"]))
    out["rsa_ms"] = {"sign": rsa["rsa_sign_ms"], "verify": rsa["rsa_verify_ms"]}
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    out["details"] = {"n": n, "clock": "thread CPU per step; process CPU (/proc) per side"}
    return out


def _gc_counting_receiver() -> None:
    """``bench_wssec.py --gc-receiver OUT PKI_DIR DB MODE [DELAY_MS]``: ``bench/_receiver.py`` run
    in this process with a count of the garbage collections (per generation) and the thread CPU
    seconds spent in them, written to OUT as JSON when the receiver stops; the counters restart
    when the file ``OUT.reset`` appears (it is removed then). For :func:`bench_gap`."""
    import gc
    import runpy
    import threading

    out = Path(sys.argv[2])
    counts: dict[str, list[float]] = {"collections": [0, 0, 0], "seconds": [0.0, 0.0, 0.0]}
    started: dict[int, float] = {}

    def count(phase: str, info: dict[str, int]) -> None:
        me = threading.get_ident()
        if phase == "start":
            started[me] = time.thread_time()
        else:
            counts["collections"][info["generation"]] += 1
            counts["seconds"][info["generation"]] += time.thread_time() - started.pop(me, time.thread_time())

    def watch_reset() -> None:
        flag = out.with_name(out.name + ".reset")
        while True:
            time.sleep(0.05)
            if flag.exists():
                counts["collections"], counts["seconds"] = [0, 0, 0], [0.0, 0.0, 0.0]
                flag.unlink()

    gc.callbacks.append(count)
    threading.Thread(target=watch_reset, daemon=True).start()
    sys.argv = [str(ROOT / "bench/_receiver.py"), *sys.argv[3:]]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        out.write_text(json.dumps(counts))


@contextmanager
def _counted_server(pki_dir: Path, db: Path, mode: str, gc_file: Path) -> Iterator[tuple[str, int]]:
    """:func:`bench.bench_recv._server` started through :func:`_gc_counting_receiver`."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = [sys.executable, __file__, "--gc-receiver", str(gc_file), str(pki_dir), str(db), mode]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url:
            raise RuntimeError("receiver did not start")
        yield url, proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_gap(n: int = 150, rounds: int = 5) -> dict[str, Any]:
    """Where the signed round trip's extra CPU goes: the same signed-only work measured four ways
    in one run, rounds interleaved, one estimator (median over rounds of the mean per message):

    * ``flow``: B3's pair over mutual TLS, client here + receiver in its own process (the CPU of
      both processes: ``time.process_time`` + ``/proc``), signed minus unsigned;
    * ``in_process``: the same round trip without the network, in this process
      (:func:`bench_wssec`'s ``roundtrip``), signed minus unsigned;
    * ``in_process_cold``: that round trip again, with 64 MB written and a 1 ms sleep before each
      of its three steps (the client's request, the receiver, the client's reading of the answer),
      counting only the steps' thread CPU: what the flow does to the caches and the core between
      two steps, without the network;
    * ``loop``: only the signed-only steps, each in a tight loop over the messages of that round
      trip: the client's signing (parse the SOAP request, WS-Addressing, sign), the receiver's
      verification, the receiver's answer signing (parse the answer, WS-Addressing,
      SignatureConfirmation, sign) and the client's verification of the answer (with its parse).

    ``ms.rsa_sign_tight`` / ``ms.rsa_sign_after_wait``: one RSA-2048 signature (x ``n``) back to
    back, and after the same write + sleep as the cold round trip.

    Plus ``rsa_ms`` (two signatures + two verifications with the service keys, same rounds) and the
    garbage collections per message in the client and in each receiver process (``gc.callbacks``).
    Milliseconds of CPU per message; nothing is asserted."""
    import gc
    import statistics

    import requests
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from bench.bench_recv import _cpu_seconds
    from bench.run import _pki, di01s
    from ieb.transport import wssec
    from ieb.transport.client import GgkClient, WusSigning
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import PeerInfo, Receiver
    from ieb.transport.tls import TlsFiles

    gcs = {"collections": [0, 0, 0]}

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            gcs["collections"][info["generation"]] += 1

    per: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        per.setdefault(name, []).append(seconds * 1000 / n)

    gc.callbacks.append(count)
    load = [os.getloadavg()[0]]
    try:
        with tempfile.TemporaryDirectory(prefix="ieb-wssec-gap-") as tmp_name:
            tmp = Path(tmp_name)
            pki = _pki(tmp / "pki")
            k, g = pki.party("GGK"), pki.party("0363")
            roots = pki.roots.read_bytes()
            inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
            tls = TlsFiles(k.chain, k.key, pki.roots)
            client_signing = WusSigning(k.key.read_bytes(), k.cert.read_bytes(), roots, inter)
            server_signing = WusSigning(g.key.read_bytes(), g.cert.read_bytes(), roots, inter)
            rsa = {
                who: rsa_costs(s.key_pem, 50, 1)
                for who, s in (("client", client_signing), ("server", server_signing))
            }
            endpoint = "https://127.0.0.1:1/ggk0210/OntvangAsynchroon"
            local = {
                "signed": (
                    GgkClient(endpoint, tls=tls, signing=client_signing),
                    Receiver(
                        open_ledger(f"sqlite:///{tmp / 'local-signed.sqlite'}"),
                        organisatie="0363",
                        allowed_oins={k.oin},
                        signing=server_signing,
                        require_signature=True,
                    ),
                ),
                "unsigned": (
                    GgkClient(endpoint, tls=tls),
                    Receiver(open_ledger(f"sqlite:///{tmp / 'local-unsigned.sqlite'}"), organisatie="0363"),
                ),
            }
            peer = PeerInfo(k.oin, "GGK", "127.0.0.1")
            environ = {"HTTP_SOAPACTION": '"http://www.stufstandaarden.nl/koppelvlak/ggk0210/ggk_Di01"'}
            answers: list[tuple[bytes, str | None, tuple[str, str | None]]] = []
            signed_receiver = local["signed"][1]
            real_signed = signed_receiver._signed

            def keep_answer(data: bytes, cross: str | None, request_sig: tuple[str, str | None]) -> bytes:
                answers.append((data, cross, request_sig))
                return real_signed(data, cross, request_sig)

            signed_receiver._signed = keep_answer  # type: ignore[method-assign]

            junk = bytearray(64 * 1024 * 1024)

            def wait(cold: bytearray | None) -> float:
                if cold is not None:
                    cold[::64] = bytes(len(cold) // 64)  # one write per cache line
                    time.sleep(0.001)
                return time.thread_time()

            def roundtrip(
                kind: str, envelope: bytes, cold: bytearray | None = None
            ) -> tuple[str, bytes, str | None, bytes, list[float]]:
                """(ref, request, signature value, answer bytes, thread CPU seconds of the three
                steps: the client's request, the receiver, the client's reading of the answer)"""
                client, rec = local[kind]
                started = wait(cold)
                _, ref, request, signature_value = client._request(envelope)
                spent = [time.thread_time() - started]
                started = wait(cold)
                reply = rec.receive(request, environ, peer)
                spent.append(time.thread_time() - started)
                answer = requests.Response()
                answer.status_code, answer._content = reply.status, reply.body
                answer.headers["Content-Type"] = reply.content_type
                started = wait(cold)
                client._answer(ref, signature_value, answer, 0.0)
                spent.append(time.thread_time() - started)
                return ref, request, signature_value, reply.body, spent

            gc_files = {kind: tmp / f"{kind}.gc.json" for kind in ("signed", "unsigned")}
            with (
                _counted_server(tmp / "pki", tmp / "plain.sqlite", "receiver", gc_files["unsigned"]) as (
                    url,
                    pid,
                ),
                _counted_server(tmp / "pki", tmp / "signed.sqlite", "signed", gc_files["signed"]) as (
                    surl,
                    spid,
                ),
                GgkClient(url, tls=tls) as plain,
                GgkClient(surl, tls=tls, signing=client_signing) as signed,
            ):
                flows = {"unsigned": (plain, pid), "signed": (signed, spid)}
                for kind, (client, _) in flows.items():
                    for envelope in di01s(5):
                        client.send(envelope)  # TLS session, schemas, chain cache
                        roundtrip(kind, envelope)
                for file in gc_files.values():
                    file.with_name(file.name + ".reset").write_text("")
                for file in gc_files.values():  # the receiver removes the flag once it has reset
                    while file.with_name(file.name + ".reset").exists():
                        time.sleep(0.01)
                gcs["collections"] = [0, 0, 0]
                for r in range(rounds):
                    for kind in ("signed", "unsigned") if r % 2 == 0 else ("unsigned", "signed"):
                        client, server_pid = flows[kind]
                        envelopes = di01s(n)
                        cpu0, server0 = time.process_time(), _cpu_seconds(server_pid)
                        for envelope in envelopes:
                            client.send(envelope)
                        note(f"flow_{kind}", time.process_time() - cpu0 + _cpu_seconds(server_pid) - server0)
                    for kind in ("signed", "unsigned") if r % 2 == 0 else ("unsigned", "signed"):
                        # cold: the same round trip, with 64 MB written and a 1 ms sleep before
                        # each of its three steps (client request, receiver, client answer), as
                        # between the steps of the flow, where each side waits for the other
                        # and other processes run; only the steps' thread CPU is counted
                        spent = 0.0
                        for envelope in di01s(n):
                            spent += sum(roundtrip(kind, envelope, cold=junk)[4])
                        note(f"in_process_cold_{kind}", spent)
                    for kind in ("signed", "unsigned") if r % 2 == 0 else ("unsigned", "signed"):
                        envelopes = di01s(n)
                        answers.clear()
                        cpu0 = time.process_time()
                        trips = [roundtrip(kind, envelope) for envelope in envelopes]
                        note(f"in_process_{kind}", time.process_time() - cpu0)
                        for step, name in enumerate(("request", "receive", "answer")):
                            note(f"step_{name}_{kind}", sum(trip[4][step] for trip in trips))
                        if kind == "unsigned":
                            continue
                        # the signed-only steps alone, each in a tight loop over those messages
                        client = local["signed"][0]
                        plains = [local["unsigned"][0].soap_request(e)[1] for e in envelopes]
                        cpu0 = time.process_time()
                        for (ref, *_), body in zip(trips, plains, strict=True):
                            wssec._sign_envelope(
                                wssec.add_addressing(
                                    wssec.parse_soap_envelope(body),
                                    to=endpoint,
                                    action="urn:a",
                                    message_id=f"urn:uuid:{ref}",
                                ),
                                key_pem=client_signing.key_pem,
                                cert_pem=client_signing.cert_pem,
                            )
                        note("loop_client_sign", time.process_time() - cpu0)
                        cpu0 = time.process_time()
                        for _, request, *_ in trips:
                            signed_receiver._verify(request, peer)
                        note("loop_receiver_verify", time.process_time() - cpu0)
                        cpu0 = time.process_time()
                        for data, cross, request_sig in answers:
                            real_signed(data, cross, request_sig)
                        note("loop_receiver_sign", time.process_time() - cpu0)
                        cpu0 = time.process_time()
                        for ref, _, signature_value, reply, _ in trips:
                            client._verify_answer(ref, signature_value, wssec.parse_soap_envelope(reply))
                        note("loop_client_verify", time.process_time() - cpu0)
                    for who in ("client", "server"):
                        key_pem = (client_signing if who == "client" else server_signing).key_pem
                        costs = rsa_costs(key_pem, n // 3 or 1, 1)
                        note(f"rsa_{who}", (costs["rsa_sign_ms"] + costs["rsa_verify_ms"]) * n / 1000)
                    # one RSA signature alone, tight and after the same wait as the cold round trip
                    key, _ = wssec._load_signing_material(
                        client_signing.key_pem, client_signing.cert_pem, None
                    )
                    for label, cold in (("rsa_sign_tight", None), ("rsa_sign_after_wait", junk)):
                        spent = 0.0
                        for _ in range(n // 3 or 1):
                            started = wait(cold)
                            key.sign(b"x" * 1400, padding.PKCS1v15(), hashes.SHA256())
                            spent += time.thread_time() - started
                        note(label, spent * n / (n // 3 or 1))
                    load.append(os.getloadavg()[0])
                messages = rounds * n * 2  # the flow and the in-process round trips
                client_gcs = [c / messages for c in gcs["collections"]]
            receiver_gcs = {kind: json.loads(file.read_text()) for kind, file in gc_files.items()}
            for _, rec in local.values():
                rec.engine.dispose()
    finally:
        gc.callbacks.remove(count)
    med = {name: statistics.median(values) for name, values in per.items()}
    loop = sum(v for name, v in med.items() if name.startswith("loop_"))
    out: dict[str, Any] = {
        "flow_extra_ms": med["flow_signed"] - med["flow_unsigned"],
        "in_process_extra_ms": med["in_process_signed"] - med["in_process_unsigned"],
        "loop_ms": loop,
        "rsa_ms": med["rsa_client"] + med["rsa_server"],
        "ms": med,
        "gc_per_message": {
            "client": client_gcs,
            **{
                f"receiver_{kind}": [c / (rounds * n) for c in v["collections"]]
                for kind, v in receiver_gcs.items()
            },
        },
        "gc_ms_per_message": {
            f"receiver_{kind}": sum(v["seconds"]) * 1000 / (rounds * n) for kind, v in receiver_gcs.items()
        },
        "loadavg": [round(x, 2) for x in load],
        "details": {
            "n": n,
            "rounds": rounds,
            "rounds_ms": per,
            "rsa_first": rsa,
            "clock": "process CPU; flow: client process + receiver process (/proc)",
        },
    }
    out["in_process_cold_extra_ms"] = med["in_process_cold_signed"] - med["in_process_cold_unsigned"]
    # each step of the warm round trip, signed minus unsigned, next to the same steps in the loop
    out["in_process_steps_extra_ms"] = {
        name: {
            "round_trip": med[f"step_{name}_signed"] - med[f"step_{name}_unsigned"],
            "loop": sum(med[n] for n in loops),
        }
        for name, loops in (
            ("request", ("loop_client_sign",)),
            ("receive", ("loop_receiver_verify", "loop_receiver_sign")),
            ("answer", ("loop_client_verify",)),
        )
    }
    out["flow_minus_loop_ms"] = out["flow_extra_ms"] - loop
    out["in_process_minus_loop_ms"] = out["in_process_extra_ms"] - loop
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--oracle", action="store_true", help="measure the pre-round-4 implementation too")
    parser.add_argument("--http", action="store_true", help="B3's pair by CPU of client + receiver")
    parser.add_argument("--stages", action="store_true", help="B3's pair: CPU per step on both sides")
    parser.add_argument("--xmlsec", action="store_true", help="python-xmlsec's sign/verify next to ours")
    parser.add_argument("--gap", action="store_true", help="signed-only CPU: flow vs in-process vs loop")
    if sys.argv[1:2] == ["--gc-receiver"]:
        _gc_counting_receiver()
        return
    args = parser.parse_args()
    if args.gap:
        print(json.dumps(bench_gap(args.count, args.rounds), indent=2))
    elif args.xmlsec:
        print(json.dumps(bench_xmlsec(args.count, args.rounds), indent=2))
    elif args.stages:
        print(json.dumps(bench_stages(args.count), indent=2))
    elif args.http:
        print(json.dumps(bench_http_cpu(args.count, args.rounds), indent=2))
    else:
        print(json.dumps(bench_wssec(args.count, args.rounds, args.oracle), indent=2))


if __name__ == "__main__":
    main()
