"""Long fuzz runs over the transport entry points: WS-Security, the envelope readers, the receiver.

    python bench/fuzz_transport.py [--count N] [--seed S] [--target all|wssec|envelope|receiver]

Each input is a mutant (:func:`ieb.testing.hostile.mutate`) of a valid signed request, of a valid
Di01/Du01/Fo03 envelope, or of a receiver request. An *escaped exception* is anything but the
project's own (:class:`ieb.errors.IebError`) from ``verify_envelope``, ``ieb.ggk.unwrap_soap`` /
``parse`` / ``EnvelopeChecks.check``, or a receiver answer StUF058 ("interne fout"). Also counted:
messages that quote a nine-digit number (a possible BSN). Prints inputs/second and the counts;
exit status 1 when anything escaped. The payload parsers have their own ``bench/fuzz.py``.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ieb.errors import IebError
from ieb.testing.hostile import mutate

BSN_RUN = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")
PAYLOAD = b"<x><Bsn>999900006</Bsn></x>"


def _pki(directory: Path) -> Any:
    try:
        from ieb.testing.pki import create_test_pki  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from ieb.testing.pki import create_test_pki
    return create_test_pki(directory, ["0363", "GGK"])


def _wssec_target(pki: Any) -> tuple[list[bytes], Callable[[bytes], str | None]]:
    from ieb.transport.wssec import add_addressing, sign_envelope, verify_envelope

    party = pki.party("GGK")
    roots = pki.roots.read_bytes()
    inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
    bare = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
        b'envelope/"><soap:Body><a>PGlFYi8+</a></soap:Body></soap:Envelope>'
    )
    request = add_addressing(bare, to="https://x/", action="urn:a", from_="urn:b")
    signed = sign_envelope(request, key_pem=party.key.read_bytes(), cert_pem=party.cert.read_bytes())

    def run(data: bytes) -> str | None:
        try:
            verify_envelope(data, trusted_roots=roots, intermediates=inter)
        except IebError as exc:
            return str(exc)
        return None

    return [signed], run


def _envelope_target() -> tuple[list[bytes], Callable[[bytes], str | None]]:
    import ieb.ggk as ggk

    di01 = ggk.new_di01(PAYLOAD, "WMO401", "0363")
    samples = [
        ggk.wrap_soap(di01),
        ggk.wrap_soap(ggk.du01_for(di01, PAYLOAD)),
        ggk.soap_fault(ggk.fo03_for(di01, "IB009", "referentienummer 999900006")),
        ggk.build(di01),
    ]
    checks = ggk.EnvelopeChecks(known_ontvangers=None, functie_berichtcode=None)

    def run(data: bytes) -> str | None:
        texts = []
        for read in (ggk.unwrap_soap, ggk.parse):
            try:
                read(data)
            except IebError as exc:
                texts.append(str(exc))
        result = checks.check(data)
        if not result.ok and result.first is not None:
            fo03 = ggk.fo03_for(None, result.first.code.value, str(result.first.omschrijving))
            texts.append(f"{fo03.body.omschrijving} {fo03.body.details or ''}")
        return " | ".join(texts) or None

    return samples, run


def _receiver_target(directory: Path, pki: Any) -> tuple[list[bytes], Callable[[bytes], str | None]]:
    from cryptography.hazmat.primitives import serialization

    import ieb.ggk as ggk
    from ieb.transport.outbox import open_ledger
    from ieb.transport.pki import load_certificates
    from ieb.transport.server import Receiver

    engine = open_ledger(f"sqlite:///{directory / 'fuzz.sqlite'}")
    app = Receiver(engine, organisatie="0363", handler=lambda envelope, entry: "ok")
    der = load_certificates(pki.party("GGK").cert)[0].public_bytes(serialization.Encoding.DER)
    di01 = ggk.new_di01(PAYLOAD, "WMO401", "0363")
    samples = [
        ggk.wrap_soap(ggk.du01_for(di01, PAYLOAD)),
        ggk.wrap_soap(di01),
        ggk.wrap_soap(ggk.fo01_for(di01, "IB009")),
    ]

    def run(data: bytes) -> str | None:
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "ieb.peer_cert": der,
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "1",
        }
        body = b"".join(app(environ, lambda status, headers: None))
        answer = ggk.unwrap_soap(body)
        if isinstance(answer, ggk.Fo03):
            if answer.body.code == "StUF058":
                raise RuntimeError(f"interne fout: {answer.body.omschrijving}")
            return f"{answer.body.omschrijving} {answer.body.details or ''}"
        return None

    return samples, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="inputs per target (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=("all", "wssec", "envelope", "receiver"), default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ieb-fuzz-") as tmp:
        pki = _pki(Path(tmp) / "pki")
        targets: dict[str, tuple[list[bytes], Callable[[bytes], str | None]]] = {}
        if args.target in ("all", "wssec"):
            targets["wssec"] = _wssec_target(pki)
        if args.target in ("all", "envelope"):
            targets["envelope"] = _envelope_target()
        if args.target in ("all", "receiver"):
            targets["receiver"] = _receiver_target(Path(tmp), pki)
        escaped_total = 0
        for name, (samples, run) in targets.items():
            rnd = random.Random(args.seed)
            escaped: collections.Counter[str] = collections.Counter()
            bsn = 0
            example: dict[str, str] = {}
            started = time.perf_counter()
            for _ in range(args.count):
                data = mutate(rnd.choice(samples), rnd)
                try:
                    text = run(data)
                except Exception as exc:  # noqa: BLE001 - counted: this is what the run looks for
                    key = type(exc).__name__
                    escaped[key] += 1
                    example.setdefault(key, str(exc)[:200])
                    continue
                if text and BSN_RUN.search(text):
                    bsn += 1
                    example.setdefault("bsn", text[:200])
            seconds = time.perf_counter() - started
            escaped_total += sum(escaped.values()) + bsn
            print(
                f"{name:9} {args.count} inputs in {seconds:.1f} s ({args.count / seconds:.0f}/s): "
                f"{sum(escaped.values())} escaped exceptions {dict(escaped)}, {bsn} messages with a BSN"
            )
            for key, text in example.items():
                print(f"          e.g. {key}: {text}")
    return 1 if escaped_total else 0


if __name__ == "__main__":
    sys.exit(main())
