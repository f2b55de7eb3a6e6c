"""A file that is not well-formed XML gets a Dutch lead naming libxml2's line and column, then
(for the clerk's finding) a Dutch sentence chosen by libxml2's error type, with libxml2's own text
kept as the finding's ``detail`` (``XmlProblem.message`` keeps the lead + libxml2's text: the
StUF-GGk receiver answers peers with it, unchanged).

Differential: for damaged files of both releases, the report's ``XML`` finding is built from what
lxml itself reports for the same bytes (same line, column and text), on the fast and on the counted
parse path, and the StUF-GGk parser still maps it to its own wording.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb import ggk
from ieb.testing.mutations import mutate_bytes
from ieb.types import mask_bsns
from ieb.validation import validate_bytes
from ieb.validation.report import Issue
from ieb.xmlsafe import XmlProblem, parse_bytes, parse_untrusted
from tests.validation.test_revision_of_other_release import _wmo405

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
VALID = sorted((SAMPLES / "valid").glob("*.xml"))
#: the iEb 1.0 samples and a planner-built iEb 4.0 file
CORPUS = [p.read_bytes() for p in VALID] + [_wmo405()]
LEAD = re.compile(
    r"Het bestand is geen welgevormde XML op regel (\d+), kolom (\d+)"
    r"(?:, aan het einde: het bestand houdt op voordat de XML af is \(afgebroken\?\))? \(libxml2: (.*)\)\Z",
    re.S,
)


#: the clerk's finding: the lead with libxml2's position, then a Dutch sentence (ieb.xmltext)
CLERK = re.compile(r"Het bestand is geen welgevormde XML op regel (\d+), kolom (\d+)[:( ]", re.S)


def _assert_finding_as_lxml(data: bytes, issue: Issue) -> None:
    """The clerk's finding: libxml2's position in the Dutch lead, libxml2's text as its detail."""
    exc = _lxml_error(data)
    assert exc is not None, issue.message
    found = CLERK.match(issue.message)
    assert found, issue.message
    line, column = exc.position
    assert (int(found.group(1)), int(found.group(2))) == (line, column)
    assert mask_bsns(exc.msg) == f"{issue.detail}, line {line}, column {column}"
    assert issue.to_dict()["detail"] == issue.detail


def _lxml_error(data: bytes) -> etree.XMLSyntaxError | None:
    """What a plain lxml parse (UTF-8 forced, as parse_bytes parses) says about ``data``."""
    try:
        etree.fromstring(data, etree.XMLParser(encoding="utf-8", huge_tree=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return exc
    return None


def _assert_same_as_lxml(data: bytes, message: str) -> None:
    exc = _lxml_error(data)
    assert exc is not None, message
    found = LEAD.match(message)
    assert found, message
    line, column = exc.position
    assert (int(found.group(1)), int(found.group(2))) == (line, column)
    # libxml2's text may quote the file (a CDATA section, a tag): a BSN in it is masked (privacy)
    assert mask_bsns(exc.msg) == f"{found.group(3)}, line {line}, column {column}"


def test_tag_mismatch_names_line_and_column() -> None:
    data = (VALID[0]).read_bytes().replace(b"</wmo401:Client>", b"", 1)
    report = validate_bytes(data)
    [issue] = report.issues
    assert (issue.code, issue.level) == ("XML", 1)
    assert issue.message.startswith("Het bestand is geen welgevormde XML op regel ")
    assert "de eindtag van element Bericht past niet bij het open element Client van regel " in issue.message
    assert "libxml2" not in issue.message and "mismatch" not in issue.message  # Dutch only
    assert (issue.detail or "").startswith("Opening and ending tag mismatch: Client line ")
    assert ", line " not in (issue.detail or "")  # the position is said once, in Dutch
    _assert_finding_as_lxml(data, issue)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<a",
        b"<a>\n  <b></c></a>",
        b"<a x=1/>",
        b"<a>&foo;</a>",
        b'<?xml version="1.0"?>\n<a></a><b/>',
        b"<a>" + b"<b/>" * 300 + b"</c>",  # more '<' than the depth limit: the counted path
    ],
    ids=["empty", "open", "mismatch", "attribute", "entity", "extra", "counted-path"],
)
def test_parse_bytes_reports_lxml_position_and_text(data: bytes) -> None:
    with pytest.raises(XmlProblem) as caught:
        parse_bytes(data)
    assert caught.value.code == "XML"
    assert caught.value.line == _lxml_error(data).position[0]  # type: ignore[union-attr]
    _assert_same_as_lxml(data, caught.value.message)


def test_stuf_ggk_parser_keeps_its_wording() -> None:
    with pytest.raises(ggk.HostileXmlError) as caught:
        ggk.parse_xml(b"<a>\n<b></c></a>")
    assert str(caught.value.message).startswith("geen goedgevormde XML op regel 2, kolom 8 (libxml2: ")
    with pytest.raises(XmlProblem, match=r"op regel 2, kolom 8 \(libxml2: Opening and ending tag mismatch"):
        parse_untrusted(b"<a>\n<b></c></a>")


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(CORPUS) - 1), seed=st.integers(0, 2**32 - 1), times=st.integers(1, 3))
def test_damaged_files_report_lxml_position_and_text(index: int, seed: int, times: int) -> None:
    rng = random.Random(seed)
    data = CORPUS[index]
    for _ in range(times):
        data = mutate_bytes(data, rng)
    for issue in validate_bytes(data).issues:
        if issue.code == "XML" and issue.message.startswith("Het bestand is geen welgevormde XML"):
            _assert_finding_as_lxml(data, issue)


@pytest.mark.parametrize("cut", [-3, -20, -60, 30])
def test_a_file_cut_off_says_it_stops_before_the_xml_is_complete(cut: int) -> None:
    """A file cut off in a download or a copy (newcomer trial: ``regel 7, kolom 40 (libxml2: expected
    '>')`` did not say that the file simply stops); an error in the middle does not say so."""
    whole = VALID[0].read_bytes()
    data = whole[:cut]
    [issue] = validate_bytes(data).issues
    assert "het bestand houdt op" in issue.message and "afgebroken" in issue.message, issue.message
    _assert_finding_as_lxml(data, issue)


def test_an_error_in_the_middle_does_not_say_the_file_stops() -> None:
    data = VALID[0].read_bytes().replace(b"</wmo401:Client>", b"", 1)
    [issue] = validate_bytes(data).issues
    assert "houdt op" not in issue.message
