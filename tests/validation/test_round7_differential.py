"""Round 7 of issue 22 (VAL) made ``parse_bytes`` and the compiled checks cheaper; nothing a caller
sees may change. Differential tests against a frozen copy of ``parse_bytes`` as it was before
(main at f1422cc): on mutated files of iEb 1.0 and 4.0 (``ieb.testing.mutations``), on files
around the counts where the parse leaves its fast path (small :class:`Limits`), and on encoding
declarations, the outcome is the same (the tree, or the problem's code, kind, line and text), and
``validate_bytes`` gives the same report (codes, order, locations, texts) as with the old parse
and the rule engine alone (no compiled checker).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import ieb.validation as validation
import ieb.xmlsafe as xmlsafe
from ieb.testing.mutations import mutate_bytes, mutate_value
from ieb.validation import validate_bytes
from ieb.xmlsafe import DEFAULT_LIMITS, MAX_BYTES, Limits, XmlProblem, parse_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "core" / "samples"
TODAY = dt.date(2026, 6, 1)


def _wmo405(**values: object) -> bytes:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    fields: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "B-7",
        "dagtekening": dt.date(2026, 5, 20),
        "bsn": "999900006",
        "eb_start_nummer": 17,
        "status": "1",
        "datum": dt.date(2026, 5, 1),
        "kostprijs_bedrag": 57_000,
        "kostprijs_startdatum": dt.date(2026, 5, 1),
        "stopdatum": None,
    }
    fields.update(values)
    return to_xml(Delivery("WMO405", **fields).to_message())  # type: ignore[arg-type]


VALID = [p.read_bytes() for p in sorted((SAMPLES / "valid").glob("*.xml"))] + [
    _wmo405(),
    _wmo405(status="2", stopdatum=dt.date(2026, 12, 31), kostprijs_bedrag=None, kostprijs_startdatum=None),
]

# ------------------------------------------------------------------ the frozen oracle (f1422cc)

_BOMS = xmlsafe._BOMS
_BOM_STARTS = xmlsafe._BOM_STARTS
_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,40})[\"']")
_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b")


def _old_parse_bytes(data: bytes, *, max_bytes: int = MAX_BYTES, limits: Limits = DEFAULT_LIMITS) -> Any:
    """``ieb.xmlsafe.parse_bytes`` as it was at f1422cc (every pre-check in its order, then
    ``safe_fromstring``, which round 7 did not change)."""
    if len(data) > max_bytes:
        raise XmlProblem(
            "OP179",
            f"Het bestand is {len(data) / 1_048_576:.1f} MB; een iEb-bestand mag hoogstens "
            f"{max_bytes // 1_048_576} MB zijn. Splits de aanlevering in kleinere bestanden.",
            kind="size",
        )
    for bom, name in _BOMS if data[:1] in _BOM_STARTS else ():
        if data.startswith(bom):
            raise xmlsafe._not_utf8(
                f"Het bestand begint met een byte order mark ({name}); een iEb-bestand moet UTF-8 "
                "zonder BOM zijn. Sla het op als 'UTF-8 zonder BOM'."
            )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise xmlsafe._not_utf8(
            "Het bestand bevat NUL-bytes: het is geen UTF-8 (maar bijvoorbeeld UTF-16 of UTF-32); "
            "een iEb-bestand moet UTF-8 zonder BOM zijn.",
            data[:nul].count(b"\n") + 1,
        )
    decl = _DECL.match(data)
    if decl:
        declared = decl.group(1).decode("ascii", "replace")
        if declared.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise xmlsafe._not_utf8(
                f"Het bestand is gecodeerd als {declared!r}; een iEb-bestand moet UTF-8 zijn."
            )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise xmlsafe._not_utf8(
            f"Het bestand bevat bytes die geen geldige UTF-8 zijn (regel {line}).", line
        ) from None
    has_decl = b"<!" in data
    prolog = xmlsafe._prolog(data) if has_decl else b""
    forbidden = _FORBIDDEN.search(prolog)
    if forbidden:
        line = prolog[: forbidden.start()].count(b"\n") + 1
        raise XmlProblem(
            "XML",
            f"Het bestand bevat een verboden XML-constructie (<!{forbidden.group(1).decode()}>); "
            "DTD's en entiteiten zijn in iEb niet toegestaan.",
            line,
            kind="declaration",
        )
    root = xmlsafe.safe_fromstring(data, huge_text=True, limits=limits, encoding="utf-8")
    if has_decl:
        docinfo: Any = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise XmlProblem(
                "XML", "Het bestand bevat een DTD; dat is in iEb niet toegestaan.", 1, kind="declaration"
            )
    return root


def _outcome(parse: Any, data: bytes, **kwargs: Any) -> tuple[object, ...]:
    try:
        root = parse(data, **kwargs)
    except XmlProblem as problem:
        return ("problem", problem.code, problem.kind, problem.line, problem.message)
    return ("tree", etree.tostring(root.getroottree()))


def _same_parse(data: bytes, **kwargs: Any) -> None:
    assert _outcome(parse_bytes, data, **kwargs) == _outcome(_old_parse_bytes, data, **kwargs)


def _key(report: validation.Report) -> list[tuple[object, ...]]:
    return [(i.code, i.retourcode, i.level, i.location, i.message) for i in report.issues]


def _same_report(data: bytes, **kwargs: Any) -> None:
    new = validate_bytes(data, today=TODAY, **kwargs)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(validation, "parse_bytes", _old_parse_bytes)
        m.setattr(validation, "checker_of", lambda *a, **k: None)
        old = validate_bytes(data, today=TODAY, **kwargs)
    assert (new.bericht, new.release, _key(new)) == (old.bericht, old.release, _key(old))


# ------------------------------------------------------------------ the tests


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(VALID) - 1), seed=st.integers(0, 2**32 - 1), twice=st.booleans())
def test_mutated_files_of_both_releases_parse_and_report_as_before(
    index: int, seed: int, twice: bool
) -> None:
    rng = random.Random(seed)
    data = mutate_bytes(VALID[index], rng)
    if twice:
        data = mutate_value(data, rng)
    _same_parse(data)
    _same_report(data)


LIMITS = [
    Limits(elements=20, depth=4, namespaces=2, attributes=3),
    Limits(elements=10_000, depth=30, namespaces=1, attributes=1),
    Limits(elements=5, depth=256, namespaces=1_000, attributes=10_000),
    Limits(elements=10_000, depth=256, namespaces=1, attributes=10_000),
    Limits(elements=10_000, depth=256, namespaces=1_000, attributes=2),
]


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("index", range(len(VALID)))
def test_around_the_fast_path_counts_the_parse_is_as_before(index: int, limits: Limits) -> None:
    data = VALID[index]
    _same_parse(data, limits=limits)
    # more '=' (attributes, namespace declarations) and more '<' (elements, depth)
    for extra in (
        b' a="1"',
        b' b="1" c="2" d="3" e="4"',
        b' xmlns:x="urn:x" xmlns:y="urn:y" xmlns:z="urn:z"',
    ):
        _same_parse(data.replace(b"Bericht ", b"Bericht" + extra + b" ", 1), limits=limits)
    nested = b"<x>" * 6 + b"</x>" * 6
    _same_parse(data.replace(b"</", nested + b"</", 1), limits=limits)


DECLARATIONS = [
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="utf-8"?>',
    b"<?xml version='1.0' encoding='UTF-8'?>",
    b'<?xml version="1.0" encoding="UTF8"?>',
    b'<?xml version="1.0" encoding="utf_8"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
    b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE a [<!ENTITY e "x">]>',
    b'<?xml version="1.0" encoding="UTF-8"?>\x00',
    b'<?xml version="1.0"?>',
    b"",
]


@pytest.mark.parametrize("declaration", DECLARATIONS)
def test_declarations_and_encodings_are_read_as_before(declaration: bytes) -> None:
    for body in (VALID[0], VALID[-1]):
        rest = body.split(b"?>", 1)[1] if body.startswith(b"<?xml") else body
        data = declaration + rest
        _same_parse(data)
        _same_report(data)
        # non-ASCII: valid UTF-8 (an e acute in a value), and bytes that are not UTF-8
        for value in ("é".encode(), b"\xe9", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80"):
            changed = data.replace(b"</", value + b"</", 1)
            _same_parse(changed)
            _same_report(changed)


@pytest.mark.parametrize("index", range(len(VALID)))
def test_every_valid_file_reports_as_before(index: int) -> None:
    _same_parse(VALID[index])
    _same_report(VALID[index])
    for revision in (None, "1.0.2", "1.0.3", "4.0"):
        _same_report(VALID[index], revision=revision)
