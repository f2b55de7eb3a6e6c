"""``ieb.types.mask_bsns`` masks a BSN written in any script's decimal digits (Unicode Nd), not only
ASCII ones: ``int("٩٩٩٩٠٠٠٠٦")`` is 999900006, so a log line or error quoting it leaks the BSN."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ieb.types import _CANDIDATE, _CANDIDATE_ASCII, mask_bsn, mask_bsns

#: a stand-alone run of exactly nine decimal digits of any script (what must not survive)
_NINE = re.compile(r"(?<!\d)\d{9}(?!\d)")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

_DIGITS = st.characters(categories=["Nd"])
_PIECES = st.one_of(
    st.text(alphabet=_DIGITS, min_size=1, max_size=12),
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.sampled_from(["-", " ", "a", "bsn ", "\n", "\u0663", "\uff11", "\u0969"]),
    st.text(max_size=6),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
@example("\u0669\u0669\u0669\u0669\u0660\u0660\u0660\u0660\u0666")  # Arabic-Indic 999900006
@example("\uff19\uff19\uff19\uff19\uff10\uff10\uff10\uff10\uff16")  # fullwidth 999900006
@example("bsn 9999\u0660\u0660\u0660\u0660\u0666.")  # ASCII and Arabic-Indic in one run
def test_no_nine_digit_run_of_any_script_survives(text: str) -> None:
    masked = mask_bsns(text)
    if _UUID.search(text) is None:  # (a UUID, ASCII hex, is left as it is on purpose)
        assert _NINE.search(masked) is None, (text, masked)
    # only the runs are touched: what is not a digit stays as it was
    assert [c for c in masked if not c.isdecimal() and c != "*"] == [
        c for c in text if not c.isdecimal() and c != "*"
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Nd"])))
def test_text_without_digits_is_returned_as_it_is_after_the_quick_scan(text: str) -> None:
    assert _CANDIDATE.search(text) is None and _CANDIDATE_ASCII.search(text) is None
    assert mask_bsns(text) is text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789-ab \u0660\uff11"), max_size=30))
def test_the_ascii_quick_scan_finds_what_the_unicode_one_finds_in_ascii_text(text: str) -> None:
    ascii_text = text.encode("ascii", "ignore").decode()
    assert (_CANDIDATE_ASCII.search(ascii_text) is None) == (_CANDIDATE.search(ascii_text) is None)


def test_the_last_three_digits_stay_readable_in_their_own_script() -> None:
    arabic = "".join(chr(0x0660 + int(d)) for d in "999900006")
    assert int(arabic) == 999900006
    assert all(unicodedata.category(c) == "Nd" for c in arabic)
    assert mask_bsns(f"bsn {arabic} onbekend") == f"bsn ******{arabic[-3:]} onbekend"
    assert mask_bsn(arabic) == "******" + arabic[-3:]
    assert mask_bsns("oin 00000099000000000001") == "oin 00000099000000000001"  # 20 digits: no BSN
    assert mask_bsn("²" * 9) == "*" * 9  # superscripts are no decimal digits: masked whole
