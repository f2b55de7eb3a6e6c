"""Attack on ``ieb.types.mask_bsns`` (session 6): the reference-word exception walked the whole hex
span around EVERY digit run it checked, so a long hex text with many runs (``x-1234567890a`` times
N: a value a peer or a file chooses, quoted in an error or log line, masked before it is cut to
length) cost N times the text: 44 kB took 19 s of CPU, 176 kB 281 s. Now the span is looked at
once and its answer used for every run in it: linear, with the same masks as before."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ieb.types as types
from ieb.types import _BSN_LIKE, _masked, mask_bsns


def _slow(text: str) -> str:
    """The masks of one span check per run (``_masked`` without the span memo): the oracle."""
    return _BSN_LIKE.sub(_masked, text)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789abcdef", min_size=1, max_size=24),
            st.sampled_from(["-", "bestand-", "TS-", " ", "_", "x", "G", "\u0663", "ff-"]),
        ),
        max_size=16,
    ).map("".join)
)
def test_the_span_memo_gives_the_masks_of_a_check_per_run(text: str) -> None:
    assert mask_bsns(text) == _slow(text)


def test_a_long_hex_text_is_looked_at_once_per_span(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real = types._reference_span

    def counted(text: str, start: int, end: int) -> tuple[int, int, bool]:
        calls.append((start, end))
        return real(text, start, end)

    monkeypatch.setattr(types, "_reference_span", counted)
    # 200 runs per span: enough to tell one look per span from one per run; the per-run oracle is
    # quadratic itself (2000 per span took it 11 s), so the text stays this size
    text = "fout: x-" + "1234567890a" * 200 + " en y-" + "0987654321b" * 200 + " klaar"
    masked = mask_bsns(text)
    monkeypatch.undo()
    assert len(calls) == 2  # one per hex span, not one per run (400)
    assert masked == _slow(text)
    assert len(re.findall(r"[0-9]{10}", masked)) + masked.count("*********") == 400
