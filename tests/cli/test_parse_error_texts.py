"""XML that is not well-formed is explained to a clerk in Dutch (the trial's leftover: the texts
ended in libxml2's English, "Opening and ending tag mismatch: ..."). One place,
:func:`ieb.xmltext.dutch_parse_error`, keyed on libxml2's error type; every command that reports a
parse error to a clerk shows its sentence; libxml2's text stays as ``detail`` in JSON. The StUF-GGk
receiver's answers to peers (Fo01/Fo03 omschrijving) keep their text."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from ieb import ggk
from ieb.cli import _retour_core as core
from ieb.cli import app
from ieb.validation import validate_bytes
from ieb.xmlsafe import XmlProblem, parse_bytes

#: (bytes, libxml2's error type, a piece of the Dutch sentence)
KINDS = [
    (
        b"<a>\n  <b></c></a>",
        "ERR_TAG_NAME_MISMATCH",
        "de eindtag van element c past niet bij het open element b van regel 2",
    ),
    (b"<a>\n<b>\n", "ERR_TAG_NOT_FINISHED", "het bestand houdt op terwijl element b (regel 2) nog open is"),
    (b"<a><b></b>", "ERR_TAG_NOT_FINISHED", "het bestand houdt op terwijl element a (regel 1) nog open is"),
    (b"<a></a", "ERR_GT_REQUIRED", "het bestand houdt op voordat de XML af is"),
    (b"", "ERR_DOCUMENT_EMPTY", "het bestand is leeg"),
    (b"tekst", "ERR_DOCUMENT_EMPTY", "er staat geen XML in"),
    (b"<a>\x01</a>", "ERR_INVALID_CHAR", "een teken in dat in XML niet mag (tekencode 1)"),
    (b"<a>&#1;</a>", "ERR_INVALID_CHAR", "een teken in dat in XML niet mag (tekencode 1)"),
    (b"<a>&foo;</a>", "ERR_UNDECLARED_ENTITY", "de entiteit &foo; is niet toegestaan"),
    (b"<a>b & c</a>", "ERR_NAME_REQUIRED", "een losse '&'"),
    (b"<p:a/>", "NS_ERR_UNDEFINED_NAMESPACE", "het voorvoegsel 'p' van <p:a> is niet gedeclareerd"),
    (b"<a x=1/>", "ERR_ATTRIBUTE_NOT_STARTED", "niet tussen aanhalingstekens"),
    (b"<a x='1' x='2'/>", "ERR_ATTRIBUTE_REDEFINED", "het attribuut x staat twee keer"),
    (b"<a/><b/>", "ERR_DOCUMENT_END", "na het einde van het hoofdelement staat nog inhoud"),
    (b"<a><!-- x --></a><!-- y", "ERR_COMMENT_NOT_FINISHED", "het bestand houdt op voordat de XML af is"),
    (b"<a>\n<?xml version='1.0'?></a>", "ERR_RESERVED_XML_NAME", "de XML-declaratie"),
]


def _type(data: bytes) -> str:
    try:
        etree.fromstring(data, etree.XMLParser(encoding="utf-8", resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return str(etree.ErrorTypes._getName(exc.code))  # type: ignore[attr-defined]
    raise AssertionError("well-formed")


@pytest.mark.parametrize(("data", "kind", "sentence"), KINDS, ids=[k for _, k, _ in KINDS])
def test_each_common_kind_gets_its_dutch_sentence(data: bytes, kind: str, sentence: str) -> None:
    assert _type(data) == kind  # the case really is of this libxml2 type
    [issue] = validate_bytes(data).issues
    assert issue.code == "XML" and sentence in issue.message, issue.message
    assert issue.message.startswith("Het bestand is geen welgevormde XML op regel ")
    assert "libxml2" not in issue.message and issue.detail and issue.detail not in issue.message
    assert issue.message.endswith("."), issue.message


def test_a_kind_without_a_sentence_keeps_libxml2s_words() -> None:
    from ieb.xmltext import dutch_parse_error

    text = dutch_parse_error(etree.ErrorTypes.ERR_SPACE_REQUIRED, "Space required", 2, 5)
    assert text == "Het bestand is geen welgevormde XML op regel 2, kolom 5 (libxml2: Space required)."


def test_the_receivers_answer_texts_do_not_change() -> None:
    """HostileXmlError (RIN001, the Fo01 omschrijving) and XmlProblem.message keep libxml2's text."""
    with pytest.raises(ggk.HostileXmlError) as caught:
        ggk.parse_xml(b"<a>\n<b></c></a>")
    assert caught.value.message == (
        "geen goedgevormde XML op regel 2, kolom 8 (libxml2: Opening and ending tag mismatch: b line 2 and c)"
    )
    with pytest.raises(XmlProblem) as problem:
        parse_bytes(b"<a>\n<b></c></a>")
    assert problem.value.message.endswith("(libxml2: Opening and ending tag mismatch: b line 2 and c)")
    assert "de eindtag van element c" in problem.value.issues[0].message


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.upper().startswith("IEB_")]:
        monkeypatch.delenv(name)
    (tmp_path / "kapot.xml").write_bytes(b'<?xml version="1.0"?>\n<a>\n<b></a>\n')
    return tmp_path


SENTENCE = "de eindtag van element a past niet bij het open element b van regel 3"


def test_every_command_that_reports_it_says_it_in_dutch(here: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(app, ["validate", "kapot.xml"]).stdout
    assert SENTENCE in text and "libxml2" not in text and "mismatch" not in text, text
    data = json.loads(runner.invoke(app, ["validate", "-f", "json", "kapot.xml"]).stdout)
    [issue] = data["files"][0]["issues"]
    assert (
        SENTENCE in issue["message"] and issue["detail"] == "Opening and ending tag mismatch: b line 3 and a"
    )
    junit = etree.fromstring(runner.invoke(app, ["validate", "-f", "junit", "kapot.xml"]).stdout_bytes)
    failure = "".join(junit.xpath("//failure/text()"))
    assert SENTENCE in failure and "libxml2" not in failure, failure

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert core.run(["kapot.xml"], db=str(here / "g.sqlite")) == 1
    assert SENTENCE in err.getvalue() and "libxml2" not in err.getvalue(), err.getvalue()

    result = runner.invoke(app, ["simulate", "process", "--state", "cak.sqlite", "--out", "uit", "kapot.xml"])
    assert SENTENCE in result.output and "libxml2" not in result.output, result.output

    result = runner.invoke(app, ["show", "kapot.xml"])
    assert SENTENCE in result.output and "libxml2" not in result.output, result.output


def test_a_prefixed_element_is_named_as_libxml2_names_it_without_pretending_a_quote() -> None:
    """The trial: ``</wmo401:Bsy>`` was shown as ``</Bsy>`` (libxml2 drops the prefix), text a clerk
    searched the file for in vain; the sentence now names the elements, without tag brackets."""
    from lxml import etree

    from ieb.xmltext import dutch_parse_error

    try:
        etree.fromstring(b'<w:a xmlns:w="urn:x">\n<w:Bsx></w:Bsy></w:a>')
    except etree.XMLSyntaxError as exc:
        text = dutch_parse_error(exc.code, exc.msg, exc.lineno, exc.offset)
    assert "de eindtag van element Bsy past niet bij het open element Bsx van regel 2" in text, text
    assert "</Bsy>" not in text and "<Bsx>" not in text
