"""Our XSDs and the published XSD 1.2.0 give the same verdict on every document, under two
independent engines (libxml2 via lxml, and xmlschema)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import xmlschema
from hypothesis import HealthCheck, given, settings
from lxml import etree

from ieb.codec import to_xml
from ieb.resources import schemas_dir
from ieb.testing.strategies import messages

SAMPLES = Path(__file__).parent / "samples"
BERICHTEN = ("WMO401", "WMO402", "WMO403", "WMO404")
BAD_VALUES = [
    "",
    " ",
    "X",
    "-1",
    "0",
    "9",
    "99999999999",
    "2026-01-01Z",
    "2026-13-01",
    "1.01.0",
    "A" * 13,
    "0001",
    "S333",
]


@cache
def _schemas(reference: str) -> dict[str, list]:
    ours = schemas_dir() / "ieb" / "1.0"
    published = Path(reference) / "ieb-1.0"
    out: dict[str, list] = {}
    for b in BERICHTEN:
        out[b] = [
            etree.XMLSchema(etree.parse(str(ours / f"{b}.xsd"))),
            etree.XMLSchema(etree.parse(str(published / f"{b}.xsd"))),
            xmlschema.XMLSchema10(str(ours / f"{b}.xsd")),
            xmlschema.XMLSchema10(str(published / f"{b}.xsd")),
        ]
    return out


def _verdicts(reference: Path, bericht: str, data: bytes) -> list[bool]:
    ours_lx, pub_lx, ours_xs, pub_xs = _schemas(str(reference))[bericht]
    root = etree.fromstring(data)
    return [ours_lx.validate(root), pub_lx.validate(root), ours_xs.is_valid(data), pub_xs.is_valid(data)]


def _mutations(data: bytes) -> list[bytes]:
    """Delete, duplicate or re-value each element in turn."""
    root = etree.fromstring(data)
    out: list[bytes] = []
    count = sum(1 for _ in root.iter())
    for index in range(1, count):
        for op in ("delete", "duplicate", *BAD_VALUES):
            clone = copy.deepcopy(root)
            el = list(clone.iter())[index]
            if op == "delete":
                el.getparent().remove(el)
            elif op == "duplicate":
                el.addnext(copy.deepcopy(el))
            elif len(el):
                continue
            else:
                el.text = op
            out.append(etree.tostring(clone))
    return out


def _corpus() -> list[tuple[str, bytes]]:
    docs = []
    for path in sorted(SAMPLES.rglob("*.xml")):
        data = path.read_bytes()
        try:
            root = etree.fromstring(
                data, etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
            )
        except etree.XMLSyntaxError:
            continue
        if b"<!DOCTYPE" in data:
            continue
        ns = etree.QName(root).namespace or ""
        bericht = next((b for b in BERICHTEN if f"ieb/1_0/{b.lower()}/" in ns), None)
        if bericht:
            docs.append((bericht, data))
    return docs


def test_published_examples_are_valid_under_ours(reference_dir: Path) -> None:
    for b in BERICHTEN:
        data = (reference_dir / "ieb-1.0" / "examples" / f"{b}.xml").read_bytes()
        assert _verdicts(reference_dir, b, data) == [True] * 4


def test_same_verdict_on_samples_and_all_their_mutations(reference_dir: Path) -> None:
    checked = valid = 0
    for bericht, data in _corpus():
        for doc in [data, *_mutations(data)]:
            verdicts = _verdicts(reference_dir, bericht, doc)
            assert len(set(verdicts)) == 1, (bericht, verdicts, doc.decode())
            checked += 1
            valid += verdicts[0]
    assert checked > 2000 and 0 < valid < checked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_generated_messages_valid_under_both(reference_dir: Path, message) -> None:  # type: ignore[no-untyped-def]
    assert _verdicts(reference_dir, message.bericht, to_xml(message)) == [True] * 4


def _appinfo(doc: etree._ElementTree, xs: dict[str, str]) -> dict[str, str | None]:
    return {etree.QName(e).localname: e.text for e in doc.iterfind("xs:annotation/xs:appinfo/*", xs)}


def test_appinfo_versions_match(reference_dir: Path) -> None:
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    for name in (*BERICHTEN, "basisschema"):
        ours = etree.parse(str(schemas_dir() / "ieb" / "1.0" / f"{name}.xsd"))
        pub = etree.parse(str(reference_dir / "ieb-1.0" / f"{name}.xsd"))
        assert _appinfo(ours, xs) == _appinfo(pub, xs), name
        assert ours.getroot().get("targetNamespace") == pub.getroot().get("targetNamespace")
