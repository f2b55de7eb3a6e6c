"""Issue 22 (RECV, round 6): cheaper steps of the receiver must give exactly what the slower ones
gave. :func:`ieb.types.mask_bsns` answers a text without a run of 8-10 digits after one quick
scan (the receiver masks two audit details per message); the Bv03 template skips escaping a
value with nothing to escape. Differential property tests against the previous code."""

from __future__ import annotations

from xml.sax.saxutils import escape as xml_escape

from hypothesis import given, settings
from hypothesis import strategies as st

from ieb.transport.server import _CR, _escaped
from ieb.types import _BSN_LIKE, _masked, mask_bsns


def _full(text: str) -> str:
    """The full substitution, without the quick scan (the previous implementation)."""
    if not any(ch.isdigit() for ch in text):
        return text
    return _BSN_LIKE.sub(_masked, text)


_PIECES = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=22),
    st.sampled_from(["-", " ", "a", "F", "peer OIN ", "\u0663", "\uff11", "\n"]),
    st.uuids().map(str),
    st.text(max_size=6),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_quick_scan_masks_exactly_what_the_full_substitution_masks(text: str) -> None:
    assert mask_bsns(text) == _full(text)


def test_the_receivers_audit_details_and_a_quoted_bsn() -> None:
    oin = "peer OIN 00000099000000000001"
    assert mask_bsns(oin) == oin  # a 20-digit OIN is no BSN
    assert mask_bsns("verwerkt") == "verwerkt"
    assert mask_bsns("bsn 999900006, ref 2a984b6a-2d9b-43bb-851d-123456789012") == (
        "bsn ******006, ref 2a984b6a-2d9b-43bb-851d-123456789012"
    )
    assert (
        mask_bsns("\u0669" * 9) == "******" + "\u0669" * 3
    )  # any script's digits (tests/core/test_mask_bsns.py)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab09-&<>\r\n\"'é\u2028 ")) | st.uuids().map(str) | st.text())
def test_an_answer_value_is_escaped_exactly_as_before(text: str) -> None:
    assert _escaped(text) == xml_escape(text, _CR).encode()


def test_the_answer_template_key_tells_apart_zenders_that_differ_only_in_a_comment_or_order() -> None:
    """The Bv03 template is kept per the request's zender children as they are (tag, text); a
    field holding a comment falls back to the fields as read. Each answer is the model's bytes."""
    from ieb.ggk import Systeem, build, new_di01
    from ieb.ggk._xml import parse_xml
    from ieb.ggk.codec import envelope_head
    from ieb.transport.server import _BV03_TEMPLATES, _bv03_of, _soap_bv03

    plain = build(new_di01(b"<x/>", "WMO401", "0363"), validate=False)
    variants = [
        plain,
        plain.replace(b"<StUF:organisatie>0363<", b"<StUF:organisatie>03<!--c-->63<", 1),
        plain.replace(b"<StUF:organisatie>0363<", b"<StUF:organisatie>0364<", 1),
        plain.replace(b"<StUF:organisatie>0363<", b"<StUF:organisatie><!--c-->0599<", 1),
    ]
    assert len(set(variants)) == len(variants)
    own = Systeem(organisatie="CAK", applicatie="GGk")
    answers = []
    for data in variants + variants:  # the second time from the kept templates
        head = envelope_head(parse_xml(data))
        assert head is not None
        ref, tijdstip = "0b9e2e8a-5b4c-4d2e-9f00-1a2b3c4d5e6f", "20261206173000"
        expected = _soap_bv03(_bv03_of(own, head, ref, tijdstip))
        assert _BV03_TEMPLATES.answer(own, head, ref, tijdstip) == expected
        answers.append(expected)
    assert answers[0] == answers[1] != answers[2]  # a comment changes nothing; another zender does
