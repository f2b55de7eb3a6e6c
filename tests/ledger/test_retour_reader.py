"""The tree reader of retours (issue 22, round 6) against the typed model.

``ieb.ledger.retour`` reads the values applying an iEb 1.0 retour needs straight from the tree
``validate_bytes`` validated, instead of building the typed model. That is exact only when every
file the model refuses is refused before (XSD, level-1/2 rules) and every value read is the value the
model holds. The property below mutates retours of both releases (1.0 WMO402/WMO404 and 4.0
WMO406/WMO408: accepted, rejected, technical, with and without Client) element by element (a value
from a list of edge values or drawn text, an element removed, doubled, swapped with its neighbour,
a comment or a tail in its text) and checks that the reader gives what the model path of main
(``tests/ledger/_retour_oracle.py``: ``from_xml`` and the model's attributes) gives: the same values,
or the same error class and text. For every 1.0 retour the model accepts, the tree reader itself must
have read it (no silent fall back to the model).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ieb.codec import _validated_root
from ieb.errors import IebError
from ieb.ledger import retour as fast
from ieb.ledger.errors import RetourInputError
from ieb.ledger.history import message_row
from ieb.releases import default_registry, get_release
from ieb.types import RetourCode, StatusAanlevering
from tests.ledger import _retour_oracle as oracle
from tests.ledger.test_retour_fast import TODAY, _setup

_EDGE = [
    "",
    " ",
    "\t",
    "0",
    "1",
    "2",
    "3",
    "9",
    "470",
    "471",
    "473",
    "0363",
    "363",
    "03630",
    "1.2.0",
    "1.1.0",
    "01.2.0",
    "1.2",
    TODAY.isoformat(),
    (TODAY + dt.timedelta(days=1)).isoformat(),
    TODAY.isoformat() + "Z",
    TODAY.isoformat() + "+01:00",
    f" {TODAY.isoformat()} ",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "-0001-01-01",
    "2025-02-29",
    "2024-02-29",
    "+12",
    "0012",
    "999999999",
    "1000000000",
    "-1",
    "-0",
    "999900006",
    "999900018",
    "999990019",
    "999900007",
    " 999900006",
    "0001",
    "0200",
    "0233",
    "8848",
    "S300",
    "S333",
    "9102",
    "XXXX",
    "R1",
    "R2",
    "B1",
    "a\tb",
    "\u00a0",
    "A" * 12,
    "A" * 13,
    "ZZ999",
    "1\n2",
]
_OPS = ("text", "text", "text", "remove", "duplicate", "swap", "comment", "tail")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    """Every retour of the differential test's pool that the model path accepts, of both releases."""
    where: Path = tmp_path_factory.mktemp("reader")
    ledger, files, _ = _setup("sqlite:///" + str(where / "p.sqlite"), where)
    ledger.close()
    good = []
    for name, data in files:
        try:
            oracle._read(name, data, TODAY)
        except IebError:
            continue
        good.append((name, data))
    return good


def _model_path(name: str, data: bytes) -> tuple[str, Any]:
    """What the model path of main makes of a file: the values of its typed model, or the error."""
    try:
        message = oracle._read(name, data, TODAY)
        return "ok", fast._from_model(message, message_row(str(message.bericht)))
    except RetourInputError as exc:
        return type(exc).__name__, str(exc)


def _reader(name: str, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", fast._read(name, data, TODAY)
    except RetourInputError as exc:
        return type(exc).__name__, str(exc)


def _mutate(data: bytes, draw: Any) -> bytes:
    root = etree.fromstring(data)
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for _ in range(draw(st.integers(1, 3))):
        el = elements[draw(st.integers(0, len(elements) - 1))]
        op = draw(st.sampled_from(_OPS))
        parent = el.getparent()
        if op == "text":
            value = draw(st.sampled_from(_EDGE) | st.text(max_size=14))
            el.text = "".join(ch for ch in value if ch in "\t\n\r" or ch >= " ")  # XML characters only
        elif op == "remove" and parent is not None:
            parent.remove(el)
        elif op == "duplicate" and parent is not None:
            el.addnext(copy.deepcopy(el))
        elif op == "swap" and parent is not None and el.getnext() is not None:
            el.addprevious(el.getnext())
        elif op == "comment" and len(el) == 0 and el.text:
            cut = draw(st.integers(0, len(el.text)))
            text = el.text
            el.text = text[:cut]
            comment = etree.Comment("x")
            comment.tail = text[cut:]
            el.append(comment)
        elif op == "tail":
            el.tail = draw(st.sampled_from([" ", "x", "\n  "]))
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_the_tree_reader_reads_what_the_model_holds(pool: list[tuple[str, bytes]]) -> None:
    assert {n.split("-")[1] for n, _ in pool} == {"1.0", "4.0"} and len(pool) >= 12
    seen = {"tree": 0, "refused": 0}

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(pick=st.integers(0, len(pool) - 1), mutate=st.booleans(), data=st.data())
    def check(pick: int, mutate: bool, data: st.DataObject) -> None:
        name, doc = pool[pick]
        if mutate:
            doc = _mutate(doc, data.draw)
        expected = _model_path(name, doc)
        assert _reader(name, doc) == expected
        if expected[0] != "ok":
            seen["refused"] += 1
            return
        root = _validated_root(doc, today=TODAY, worst=2, registry=None)
        pack, row = default_registry.detect(root)
        paths = fast._paths(pack.name, row)
        if pack.name == "ieb-1.0":  # read from the tree, not by falling back to the model
            assert paths is not None
            assert fast._from_tree(root, row, paths) == expected[1]
            seen["tree"] += 1
        else:
            assert paths is None

    check()
    assert seen["tree"] >= 40 and seen["refused"] >= 40, seen


def test_the_model_and_the_xsd_know_the_same_codes() -> None:
    """Two facts the tree reader relies on (see ``ieb.ledger.retour``): the iEb 1.0 XSD's
    enumeration of LDT_RetourCode is the model's RetourCode, and of LDT_StatusAanlevering the
    model's StatusAanlevering (of which CS125 refuses 9, as the model does)."""
    schema = get_release("ieb-1.0").message("WMO402").schema_path.parent / "basisschema.xsd"
    tree = etree.parse(str(schema))
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}

    def enumeration(name: str) -> set[str]:
        return {
            str(v)
            for v in tree.xpath(f"//xs:simpleType[@name='{name}']//xs:enumeration/@value", namespaces=ns)
        }

    assert enumeration("LDT_RetourCode") == {c.value for c in RetourCode}
    assert enumeration("LDT_StatusAanlevering") == {s.value for s in StatusAanlevering}


def test_an_unusual_model_falls_back_to_the_model() -> None:
    """A release not listed in ``_READ_FROM_TREE`` (here 4.0, whose binding codec reads its model)
    and a heenbericht are never read from the tree."""
    for release in ("ieb-1.0", "ieb-4.0"):
        pack = get_release(release)
        for row in pack.messages.values():
            paths = fast._paths(pack.name, row)
            assert (paths is not None) == (release == "ieb-1.0" and row.is_retour), row.name


_DATE_TEXT = st.one_of(
    st.from_regex(r"\A-?[0-9]{4,5}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?\Z"),
    st.dates().map(dt.date.isoformat),
    st.sampled_from(["0000-01-01", "2024-02-29", "2025-02-29", "2025-13-01", "2025-00-10", "2025-04-31"]),
    st.text(alphabet="0123456789-: \t\nZ+\u0663\uff10", max_size=14),
)


@settings(max_examples=500, deadline=None)
@given(
    text=_DATE_TEXT,
    pad=st.sampled_from(["", " ", "\n "]),
    comment=st.booleans(),
    cut=st.integers(0, 14),
    tail=st.sampled_from(["", "1", " "]),
)
def test_a_day_is_read_as_read_date_reads_it(text: str, pad: str, comment: bool, cut: int, tail: str) -> None:
    """``_day`` (plain ``YYYY-MM-DD`` through ``date.fromisoformat``) equals ``read_date`` +
    ``to_date`` in 0001-9999 (None otherwise) for any text, padded or split by a comment."""
    from ieb.values import read_date

    el = etree.Element("Dagtekening")
    el.text = pad + text + pad
    if comment:
        el.text = pad + text[:cut]
        el.append(etree.Comment("c"))
        el[0].tail = text[cut:] + tail + pad
    day = read_date(el)
    assert fast._day(el) == (day.to_date() if day is not None and day.in_python_range else None)
