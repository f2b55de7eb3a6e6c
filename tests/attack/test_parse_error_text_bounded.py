"""Attack on the Dutch parse-error sentences (ieb.xmltext, session 7): a hostile file with a very
long element, prefix or attribute name made the clerk's sentence quote that name whole, up to three
times (a 60 000-character prefix gave a 180 000-character line in ``ieb validate``), while the
entity sentence already quoted at most 80 characters. A quoted name is now at most 80 characters;
a BSN in it is masked before it is shortened (a cut must not leave seven of its nine digits)."""

from __future__ import annotations

import pytest

from ieb.xmlsafe import XmlProblem, parse_bytes

LONG = 60_000
BSN = "999999990"

HOSTILE = [
    pytest.param(b"<" + b"a" * LONG + b"></" + b"b" * LONG + b">\n", id="tag-mismatch"),
    pytest.param(b"<r><" + b"p" * LONG + b":b/></r>\n", id="undeclared-prefix"),
    pytest.param(b"<r " + b"a" * LONG + b'="1" ' + b"a" * LONG + b'="2"/>\n', id="attribute-twice"),
    pytest.param(b"<r><" + b"a" * LONG + b">\n", id="cut-off-in-open-tag"),
    pytest.param(b"<r>&" + b"e" * LONG + b";</r>\n", id="entity"),
]


def _clerk(data: bytes) -> str:
    with pytest.raises(XmlProblem) as caught:
        parse_bytes(data)
    issue = caught.value.issues[0]
    assert issue.message.startswith("Het bestand is geen welgevormde XML")
    return str(issue.message)


@pytest.mark.parametrize("data", HOSTILE)
def test_the_clerks_sentence_stays_short_whatever_the_names(data: bytes) -> None:
    assert len(_clerk(data)) < 600


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(("<" + "a" * 73 + BSN + "></" + "b" * 73 + BSN + ">\n").encode(), id="tag-mismatch"),
        pytest.param(("<r><" + "p" * 73 + BSN + ":b/></r>\n").encode(), id="undeclared-prefix"),
        pytest.param(
            ("<r " + "a" * 73 + BSN + '="1" ' + "a" * 73 + BSN + '="2"/>\n').encode(), id="attribute-twice"
        ),
    ],
)
def test_a_bsn_at_the_cut_of_a_long_name_is_not_left_half_shown(data: bytes) -> None:
    clerk = _clerk(data)
    assert BSN[:7] not in clerk and BSN[:6] not in clerk


def test_a_short_name_is_still_quoted_whole() -> None:
    clerk = _clerk(b"<a>\n  <" + b"b" * 80 + b"></c></a>")
    assert f"het open element {'b' * 80} van regel 2" in clerk and "eindtag van element c " in clerk


@pytest.mark.parametrize("pad", [63_945, 63_946, 63_948, 63_951])
def test_the_detail_never_ends_in_part_of_a_bsn_where_libxml2_cut_its_text(pad: int) -> None:
    """libxml2 stops its own text at ~64 000 characters, wherever that falls: in a BSN quoted at
    the end of a long name it left the first digits of it (``...bbb9999999``: seven of nine, too
    few for ``mask_bsns``) in ``Issue.detail`` (the JSON key ``detail``, new in session 7). The
    detail now quotes at most 1 000 characters of it (a digit run at the cut dropped)."""
    data = b"<a></" + b"b" * pad + BSN.encode() + b">\n"
    with pytest.raises(XmlProblem) as caught:
        parse_bytes(data)
    detail = caught.value.issues[0].detail
    assert detail is not None and len(detail) <= 1_001
    assert BSN[:4] not in detail and "9999" not in detail


@pytest.mark.parametrize("pad", [63_946, 63_950])
def test_the_technical_message_never_ends_in_part_of_a_bsn_and_its_first_1000_characters_stay(
    pad: int,
) -> None:
    """The same cut of libxml2's in ``XmlProblem.message``, the technical text the receiver answers
    peers with (masked, Fo03 omschrijving ``[:200]``, details ``[:1000]``) and keeps in its audit row
    (whole): seven leading digits of a BSN stayed unmasked there. libxml2's text is now cut at 1 000
    characters in it too (a digit run at the cut dropped), so the first 1 000 characters, all that a
    peer is sent, are what they were."""
    from lxml import etree

    data = b"<a></" + b"b" * pad + BSN.encode() + b">\n"
    with pytest.raises(etree.XMLSyntaxError) as raw:
        etree.fromstring(data, etree.XMLParser(huge_tree=True))
    with pytest.raises(XmlProblem) as caught:
        parse_bytes(data)
    message = caught.value.message
    assert len(message) < 1_200 and "9999" not in message
    line, column = raw.value.position
    before = f"Het bestand is geen welgevormde XML op regel {line}, kolom {column} (libxml2: {raw.value.msg}"
    assert message[:1000] == before[:1000]
