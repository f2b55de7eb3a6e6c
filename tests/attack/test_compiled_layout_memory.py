"""The compiled checker (ieb.releases.compiled.Checker) remembers tree layouts (tags and child
counts of every node) per message, at most 256 of them. A layout's key is as long as the tree: an
XSD-valid file may carry any number of comments, so 256 files with a different number of comments
each (25 MB allows millions) kept hundreds of MB to GB alive after they were validated. Only small
layouts (an iEb message has some tens of nodes) are remembered now; the verdict is the engine's."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
from pathlib import Path

import pytest

import ieb.validation as validation
from ieb.validation import validate_bytes

SAMPLE = Path(__file__).resolve().parent.parent / "core" / "samples" / "valid" / "wmo401-start.xml"
TODAY = dt.date(2026, 6, 1)


def _with_comments(n: int) -> bytes:
    data = SAMPLE.read_bytes()
    at = data.index(b"<", data.index(b"?>") + 2)  # the root
    at = data.index(b">", at) + 1  # after its start tag
    return data[:at] + b"<!--c-->" * n + data[at:]


@pytest.mark.slow  # ~6-18 s: the default run stays under 5 minutes on 2 cores
def test_files_with_many_comments_are_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    files = [_with_comments(20_000 + k) for k in range(30)]
    validate_bytes(_with_comments(0), today=TODAY)  # the checker compiled before counting
    gc.collect()
    tracemalloc.start()
    try:
        reports = [validate_bytes(data, today=TODAY) for data in files]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert all(r.issues == [] and r.bericht == "WMO401" for r in reports)
    assert held < 1_000_000, held  # 30 layouts of 40,000 entries each were ~10 MB
    with monkeypatch.context() as m:  # the same verdict as the engine alone
        m.setattr(validation, "checker_of", lambda *a, **k: None)
        assert validate_bytes(files[0], today=TODAY).issues == reports[0].issues == []


def test_a_plain_file_still_takes_the_remembered_layout() -> None:
    from ieb.releases import default_registry
    from ieb.releases.compiled import checker_of
    from ieb.xmlsafe import parse_bytes

    root = parse_bytes(SAMPLE.read_bytes())
    release, spec = default_registry.detect(root)
    checker = checker_of(release, spec)
    assert checker is not None
    layout = checker.layout(root)[1]
    assert checker.layout(root)[1] is layout  # remembered
    big = parse_bytes(_with_comments(5_000))
    assert checker.layout(big)[1] is not checker.layout(big)[1]  # worked out each time, not kept
