"""``verify_envelope`` given a tree instead of bytes (round 8, the leftover attack note of round 7).

A tree skips the hardened parse, so it is trusted to come from :func:`parse_soap_envelope`; what
that parse never leaves in a tree is refused. The attack: a comment inside signed text. Exclusive
C14N without comments skips it, so the signature verifies, while ``.text`` reads only the part
before the comment - the application would act on other data than was signed.
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from lxml import etree
from test_wssec_fast import NOW, SOAP, Signer

from ieb.transport import wssec


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def _signed(signer: Signer, amount: str) -> bytes:
    data = wssec.add_addressing(
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body><m:pay xmlns:m="urn:m">'
        f"<m:amount>{amount}</m:amount></m:pay></s:Body></s:Envelope>".encode(),
        to="urn:to",
        action="urn:a",
    )
    return wssec.sign_envelope(data, key_pem=signer.key, cert_pem=signer.cert, now=NOW)


def _verify(envelope: bytes | etree._Element, signer: Signer) -> wssec.VerifiedEnvelope:
    return wssec.verify_envelope(
        envelope, trusted_roots=signer.roots, intermediates=signer.intermediates, now=NOW
    )


def _amount(root: etree._Element) -> str | None:
    return root.findtext(".//{urn:m}amount")


def test_a_comment_splitting_signed_text_in_a_given_tree_is_refused(signer: Signer) -> None:
    signed = _signed(signer, "1000")
    tampered = signed.replace(b"<m:amount>1000</m:amount>", b"<m:amount>1<!--x-->000</m:amount>")
    # a tree from a parser that keeps comments: the digests still match, .text reads "1"
    tree = etree.fromstring(tampered)
    assert _amount(tree) == "1"
    with pytest.raises(wssec.UnsafeEnvelopeError, match="commentaar") as caught:
        _verify(tree, signer)
    assert caught.value.location is not None and caught.value.location.endswith("/amount")
    # without the check the signature verifies and the reported Body reads "1" (the attack)
    with mock.patch.object(wssec, "_given_tree", lambda root: root):
        assert _amount(_verify(tree, signer).body) == "1"
    # the same bytes through the hardened parse: comments dropped, the whole signed text read
    result = _verify(tampered, signer)
    assert _amount(result.body) == "1000"
    assert _amount(_verify(wssec.parse_soap_envelope(tampered), signer).body) == "1000"


def test_an_unexpanded_entity_or_a_dtd_in_a_given_tree_is_refused(signer: Signer) -> None:
    signed = _signed(signer, "1000")
    head, _, rest = signed.partition(b"?>")
    doc = head + b'?><!DOCTYPE s:Envelope [<!ENTITY z "000">]>' + rest
    with pytest.raises(wssec.UnsafeEnvelopeError, match="DTD"):
        _verify(etree.fromstring(doc, etree.XMLParser(resolve_entities=False)), signer)
    # an entity reference node without a DTD (put there by the caller's code)
    tree = wssec.parse_soap_envelope(signed)
    amount = tree.find(".//{urn:m}amount")
    assert amount is not None
    amount.append(etree.Entity("z"))
    with pytest.raises(wssec.UnsafeEnvelopeError, match="entiteitsverwijzing"):
        _verify(tree, signer)
    with pytest.raises(wssec.UnsafeEnvelopeError):  # as bytes the hardened parse refuses the DTD
        _verify(doc, signer)


def test_a_tree_from_parse_soap_envelope_verifies_as_its_bytes_do(signer: Signer) -> None:
    signed = _signed(signer, "1000")
    from_tree = _verify(wssec.parse_soap_envelope(signed), signer)
    from_bytes = _verify(signed, signer)
    assert from_tree.signed_parts == from_bytes.signed_parts
    assert etree.tostring(from_tree.envelope) == etree.tostring(from_bytes.envelope)
    assert from_tree.created == NOW.replace(microsecond=123000) and isinstance(from_tree.expires, dt.datetime)
    # a processing instruction (kept by that parse; here outside the signed parts) is not refused
    with_pi = signed.replace(b"?>", b"?><?pi x?>", 1)
    assert _verify(wssec.parse_soap_envelope(with_pi), signer).signed_parts == from_bytes.signed_parts
