"""Issue 22 (B3, round 7): a signed answer is parsed once, for reading and for verifying.

Before, ``GgkClient._answer`` parsed the answer for reading (``soap_body_element``) and
``verify_envelope`` parsed it again. Now the one parse is the signature check's own (UTF-8 only,
comments dropped), and XML that parse refuses is read as before. The outcome, and which error
wins when an answer is wrong in several ways, is compared here with the previous code (a frozen
copy, ``_old_answer``) for good, tampered, malformed, re-encoded, hostile, foreign and faulty
answers. Decided: an answer that cannot be read at all stays a :class:`TransientSendError`
("onleesbaar antwoord": it may have been damaged on the way; the receiver is idempotent, so the
resend is safe) even when its signature would fail too; a readable answer whose signature fails is
a :class:`PermanentSendError`. One reading changes on purpose: text split by a comment inside a
signed answer is read whole, as the signature covers it (before, the text up to the comment).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from ieb.errors import IebError
from ieb.ggk import STUF_NS, Fo03, bv03_for, fo03_for, new_di01, wrap_soap
from ieb.ggk.codec import validate_element
from ieb.ggk.soap import soap_body_element, unwrap_soap
from ieb.testing.pki import TestPki, create_test_pki
from ieb.transport.client import _BV03, GgkClient, SendResult, WusSigning
from ieb.transport.errors import PermanentSendError, TransientSendError, TransportError
from ieb.transport.faults import fault_error
from ieb.transport.server import Receiver
from ieb.transport.tls import TlsFiles


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


@pytest.fixture(scope="module")
def client(pki: TestPki) -> Any:
    party = pki.party("GGK")
    tls = TlsFiles(party.chain, party.key, pki.roots)
    with GgkClient("https://127.0.0.1:9/x", tls=tls, signing=_signing(pki, "GGK")) as c:
        yield c


def _old_answer(
    client: GgkClient, ref: str, signature_value: str | None, response: requests.Response
) -> SendResult:
    """``GgkClient._answer`` before this round (main cf70cb7), the status checks before the XML cut."""
    status = response.status_code
    content = response.content
    ctx: dict[str, Any] = {"endpoint": client.endpoint, "referentienummer": ref, "status": status}
    answer = None
    try:
        child = soap_body_element(content)
        if child.tag == _BV03:
            validate_element(child)
        else:
            answer = unwrap_soap(content)
    except IebError as exc:
        raise TransientSendError(f"onleesbaar antwoord (HTTP {status}): {exc}", code=exc.code, **ctx) from exc
    if isinstance(answer, Fo03):
        raise fault_error(answer, status=status, endpoint=client.endpoint)
    signed_parts = client._verify_answer(ref, signature_value, content)
    if answer is not None:
        raise TransientSendError(f"antwoord is een {answer.berichtcode}, geen Bv03", **ctx)
    if status != 200:
        if 400 <= status < 500 and status not in (408, 429):
            raise PermanentSendError(f"Bv03 met HTTP {status}", hint="controleer het endpoint", **ctx)
        raise TransientSendError(f"Bv03 met HTTP {status}", **ctx)
    cross = child.findtext(f"{{{STUF_NS}}}stuurgegevens/{{{STUF_NS}}}crossRefnummer")
    if cross != ref:
        raise TransientSendError(f"Bv03 hoort bij {cross}, niet bij {ref}", **ctx)
    return SendResult(bv03=child, status=status, seconds=0.0, signed_parts=signed_parts)


def _response(content: bytes, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "text/xml; charset=utf-8"
    response._content = content
    return response


def _outcome(call: Any, *args: Any) -> tuple[Any, ...]:
    try:
        result = call(*args)
    except TransportError as exc:
        return (type(exc).__name__, str(exc), getattr(exc, "code", None))
    return ("ok", result.reference, result.signed_parts, result.status)


_SIG = base64.b64encode(b"our request signature").decode("ascii")


def _answers(receiver: Receiver) -> dict[str, tuple[bytes, str, int]]:
    """name -> (answer bytes, the referentienummer we sent, HTTP status)."""
    di01 = new_di01(b"<x/>", "WMO401", "0363")
    ref = di01.referentienummer
    signed = receiver._answer(bv03_for(di01), (_SIG, f"urn:uuid:{ref}"))
    other = new_di01(b"<x/>", "WMO401", "0363")
    fo03 = wrap_soap(fo03_for(di01, "StUF058", "tijdelijk"))
    head, _, tail = signed.partition(b"?>")
    return {
        "good": (signed, ref, 200),
        "good, HTTP 500": (signed, ref, 500),
        "for another message": (signed, other.referentienummer, 200),
        "tampered body": (signed.replace(b"crossRefnummer>", b"crossRefnummer> ", 1), ref, 200),
        "tampered and cut off": (signed.replace(b"crossRefnummer>", b"crossRefnummer> ", 1)[:-40], ref, 200),
        "cut off": (signed[:-40], ref, 200),
        "UTF-16": (
            signed.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
            ref,
            200,
        ),
        "with a DTD": (head + b"?><!DOCTYPE x [<!ENTITY e 'e'>]>" + tail, ref, 200),
        "unsigned Bv03": (wrap_soap(bv03_for(di01)), ref, 200),
        "unsigned Fo03": (fo03, ref, 500),
        "not SOAP": (b"<?xml version='1.0'?><a/>", ref, 200),
        "two Bodies": (
            signed.replace(b"</soap-env:Envelope>", b"<soap-env:Body/></soap-env:Envelope>"),
            ref,
            200,
        ),
    }


def test_each_answer_gets_the_outcome_it_got_before(client: GgkClient, receiver: Receiver) -> None:
    answers = _answers(receiver)
    outcomes = {}
    for name, (content, ref, status) in answers.items():
        new = _outcome(client._answer, ref, _SIG, _response(content, status), 0.0)
        old = _outcome(_old_answer, client, ref, _SIG, _response(content, status))
        assert new == old, name
        outcomes[name] = new[0]
    assert outcomes["good"] == "ok"
    assert outcomes["tampered body"] == "PermanentSendError"
    # unreadable wins over a signature that would fail as well: resend, the answer may be damaged
    assert outcomes["tampered and cut off"] == outcomes["cut off"] == "TransientSendError"
    assert outcomes["with a DTD"] == "TransientSendError"
    assert outcomes["UTF-16"] == "PermanentSendError"  # readable, but not as the signature policy allows
    assert outcomes["unsigned Fo03"] == "TransientFaultError"


def test_the_result_reads_the_signed_tree(client: GgkClient, receiver: Receiver) -> None:
    content, ref, _ = _answers(receiver)["good"]
    result = client._answer(ref, _SIG, _response(content), 0.0)
    old = _old_answer(client, ref, _SIG, _response(content))
    assert result.bv03 == old.bv03
    assert result.signed_parts == old.signed_parts and any(p.endswith("}Body") for p in result.signed_parts)


def test_text_split_by_a_comment_is_read_as_signed(client: GgkClient, receiver: Receiver) -> None:
    """A comment does not change the signed digest (exclusive C14N without comments); the signed
    crossRefnummer is the whole text, so the answer acknowledges our message."""
    content, ref, _ = _answers(receiver)["good"]
    split = content.replace(
        f"crossRefnummer>{ref}<".encode(), f"crossRefnummer>{ref[:5]}<!--x-->{ref[5:]}<".encode()
    )
    assert split != content
    result = client._answer(ref, _SIG, _response(split), 0.0)
    assert result.reference == ref and result.bv03.cross_refnummer == ref
    with pytest.raises(TransientSendError, match=f"hoort bij {ref[:5]},"):  # before: up to the comment
        _old_answer(client, ref, _SIG, _response(split))


def test_a_refused_answer_is_refused_without_a_second_parse(
    client: GgkClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verified path reads the tree the signature check parsed: ``soap_body_element`` (the
    second parse) is not called for an answer that parse accepts."""
    import ieb.transport.client as module

    def no_second_parse(data: bytes) -> Any:
        raise AssertionError("parsed a second time")

    monkeypatch.setattr(module, "soap_body_element", no_second_parse)
    content, ref, _ = _answers(receiver)["good"]
    assert client._answer(ref, _SIG, _response(content), 0.0).reference == ref
    tampered, _, _ = _answers(receiver)["tampered body"]
    with pytest.raises(PermanentSendError, match="handtekening"):
        client._answer(ref, _SIG, _response(tampered), 0.0)
