"""The signed path without re-parses (issue 22, transport round 5), against the way it was built.

* The receiver signs the Bv03 from its template bytes (parsed once) instead of building the model
  and its tree: with deterministic Ids and a fixed clock the signed answer is byte for byte what
  the old construction (``soap_envelope(envelope_to_element(bv03))``, WS-Addressing,
  SignatureConfirmation, signature) gives, for random zender fields, requests and request
  signatures.
* The client takes its request's SignatureValue from the signing instead of parsing its own
  signed request again: the same value the old ``_signature_value`` parse found.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.ggk import SOAP_ACTIONS, Systeem, bv03_for, du01_for, fo01_for, new_di01
from ieb.ggk.codec import envelope_to_element
from ieb.ggk.soap import soap_envelope
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport import wssec
from ieb.transport.client import GgkClient, WusSigning
from ieb.transport.server import _BV03_TEMPLATES, Receiver
from ieb.transport.tls import TlsFiles
from ieb.xmlsafe import safe_parser
from tests.migrated import migrated_sqlite_url

NOW = dt.datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=dt.UTC)
DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return create_test_pki(tmp_path_factory.mktemp("pki"), ["0363", "GGK"])


def _signing(pki: TestPki, code: str) -> WusSigning:
    party = pki.party(code)
    inter = pki.tsp_cert.read_bytes() + pki.domain_cert.read_bytes()
    return WusSigning(party.key.read_bytes(), party.cert.read_bytes(), pki.roots.read_bytes(), inter)


@pytest.fixture(scope="module")
def receiver(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Any:
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'r.sqlite'}")
    yield Receiver(engine, organisatie="0363", signing=_signing(pki, "0363"))
    engine.dispose()


def _old_signed_answer(receiver: Receiver, bv03: Any, request_sig: tuple[str, str | None]) -> bytes:
    """The signed Bv03 as the receiver built it before this round (main 647c56b)."""
    signing = receiver.signing
    assert signing is not None
    tree = wssec.add_addressing(
        soap_envelope(envelope_to_element(bv03)),
        to="http://www.w3.org/2005/08/addressing/anonymous",
        action=SOAP_ACTIONS["ggk_Di01"] + "Response",
        relates_to=request_sig[1] or f"urn:uuid:{bv03.cross_refnummer}",
    )
    tree = wssec.signature_confirmation(tree, request_signature_value=request_sig[0])
    return wssec.sign_envelope(
        tree, key_pem=signing.key_pem, cert_pem=signing.cert_pem, key_password=signing.key_password, now=NOW
    )


_text = st.text(alphabet=st.sampled_from("abcXYZ019 &<>\"'é-_."), min_size=3, max_size=12).filter(
    lambda s: s.strip() == s
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    organisatie=_text,
    applicatie=_text,
    kind=st.sampled_from(["di01", "du01", "fo01"]),
    signature=st.binary(min_size=1, max_size=300),
    message_id=st.none() | st.just("urn:uuid:9d1c0e62-4d7f-4d43-b1a3-3b0f3f1a2c44") | _text,
    minute=st.integers(0, 59),
)
def test_the_signed_bv03_from_its_template_is_the_built_one(
    receiver: Receiver,
    organisatie: str,
    applicatie: str,
    kind: str,
    signature: bytes,
    message_id: str | None,
    minute: int,
) -> None:
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    request = {"di01": di01, "du01": du01_for(di01, b"<y/>"), "fo01": fo01_for(di01, "IB102", "geen route")}[
        kind
    ]
    bv03 = bv03_for(
        request,
        zender=Systeem(organisatie=organisatie, applicatie=applicatie),
        tijdstip=dt.datetime(2026, 12, 6, 17, minute, 5, 123000, tzinfo=dt.UTC),
    )
    request_sig = (base64.b64encode(signature).decode("ascii"), message_id)
    counter: Counter[str] = Counter()

    def new_id(kind: str) -> str:
        counter[kind] += 1
        return f"{kind}-{counter[kind]}"

    with (
        mock.patch.object(wssec, "_new_id", new_id),
        mock.patch.object(wssec, "_now", lambda now: NOW),
        mock.patch.object(wssec.uuid, "uuid4", lambda: "0b6c2a4e-5d1f-4e2a-9c3b-7a8d9e0f1a2b"),
    ):
        old = _old_signed_answer(receiver, bv03, request_sig)
        counter.clear()
        new = receiver._answer(bv03, request_sig)
    assert new == old
    # and the receiver's template for a checked request (no model) gives the same unsigned bytes
    assert _BV03_TEMPLATES.render(bv03).startswith(b"<?xml")


def test_the_client_knows_its_signature_value_without_parsing_again(pki: TestPki) -> None:
    party = pki.party("GGK")
    tls = TlsFiles(party.chain, party.key, pki.roots)
    with GgkClient("https://127.0.0.1:9/x", tls=tls, signing=_signing(pki, "GGK")) as client:
        for _ in range(3):
            _, _, data, value = client._request(new_di01(b"<x/>", "WMO401", "0363"))
            root = etree.fromstring(data, safe_parser(huge_text=True))
            found = root.findtext(f".//{{{DS}}}SignatureValue")
            assert found is not None and value == "".join(found.split())
        unsigned = GgkClient("https://127.0.0.1:9/x", tls=tls)
        assert unsigned._request(new_di01(b"<x/>", "WMO401", "0363"))[3] is None
        unsigned.close()


def test_a_signed_round_trip_confirms_the_request_signature(pki: TestPki, tmp_path: Path) -> None:
    """End to end over mutual TLS: the answer signed from the template verifies (the client checks
    its SignatureConfirmation against the value kept from signing), and a receiver whose answer
    confirms another value is refused."""
    from ieb.transport.errors import PermanentSendError
    from ieb.transport.outbox import open_ledger
    from ieb.transport.server import HttpsServer

    engine = open_ledger(migrated_sqlite_url(tmp_path / "signed.sqlite"))
    app = Receiver(engine, organisatie="0363", signing=_signing(pki, "0363"), require_signature=True)
    g = pki.party("0363")
    try:
        with HttpsServer(app, TlsFiles(g.chain, g.key, pki.roots), threads=2) as server:
            k = pki.party("GGK")
            tls = TlsFiles(k.chain, k.key, pki.roots)
            with GgkClient(server.url, tls=tls, signing=_signing(pki, "GGK")) as client:
                result = client.send(new_di01(b"<x/>", "WMO401", "0363"))
                assert any(p.endswith("}SignatureConfirmation") for p in result.signed_parts)
                real = client._request

                def lying(envelope: Any) -> tuple[str, str, bytes, str | None]:
                    operation, ref, data, _ = real(envelope)
                    return operation, ref, data, base64.b64encode(b"another").decode("ascii")

                with mock.patch.object(client, "_request", lying), pytest.raises(PermanentSendError):
                    client.send(new_di01(b"<x/>", "WMO401", "0363"))
    finally:
        engine.dispose()
