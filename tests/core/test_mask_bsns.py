"""``ieb.types.mask_bsns`` masks a BSN written in any script's decimal digits (Unicode Nd), not only
ASCII ones: ``int("٩٩٩٩٠٠٠٠٦")`` is 999900006, so a log line or error quoting it leaks the BSN."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ieb.types import _CANDIDATE, _CANDIDATE_ASCII, bsn_is_valid, mask_bsn, mask_bsns

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
    if _UUID.search(text) is None and _HASH_WORD.search(text) is None:  # (left as they are on purpose)
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


# --- precise: ieb's own hash references print unchanged; every valid BSN is still masked ---------

#: a hash word as :data:`ieb.types._HEX_WORD` defines it (the one exception besides a UUID)
_HASH_WORD = re.compile(r"(?<!\w)(?=[0-9a-f]*[a-f])[0-9a-f]{16,}(?!\w)")


def _valid_bsn(first_eight: str) -> str | None:
    """The nine-digit number passing the 11-proef that starts with ``first_eight``, if any."""
    total = sum(int(d) * w for d, w in zip(first_eight, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last == 10 else first_eight + str(last)


_BSNS = st.text(alphabet="0123456789", min_size=8, max_size=8).map(_valid_bsn).filter(bool)
_SCRIPTS = st.sampled_from([0x30, 0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE, 0x9E6])  # Nd blocks of 10


@settings(max_examples=500, deadline=None)
@given(_BSNS, _SCRIPTS, st.text(max_size=20), st.text(max_size=20))
@example("999999990", 0x30, "bestand-", "")  # a BSN where a hash reference starts
@example("999999990", 0x30, "ab", "cd")  # next to hex letters, but no hash word
@example("999999990", 0x660, "bestand-abcdef", "abcdef0123")  # Arabic-Indic digits: no hash word
def test_every_valid_bsn_in_any_digits_and_any_text_is_masked(
    bsn: object, zero: int, before: str, after: str
) -> None:
    assert isinstance(bsn, str) and bsn_is_valid(bsn)
    digits = "".join(chr(zero + int(d)) for d in bsn)
    text = before + digits + after
    start = len(before)
    if (before and before[-1].isdecimal()) or (after and after[0].isdecimal()):
        return  # part of a longer number: not a stand-alone nine-digit run
    if zero == 0x30 and any(m.start() <= start < m.end() for m in _HASH_WORD.finditer(text)):
        return  # inside a hash word (16+ lower-case hex with a letter, a whole word): the exception
    masked = mask_bsns(text)
    assert digits not in masked, (text, masked)
    assert "******" + digits[-3:] in masked


_HEX = st.text(alphabet="0123456789abcdef", min_size=1, max_size=64)


@settings(max_examples=500, deadline=None)
@given(
    st.binary(max_size=64),
    st.sampled_from(["", "gemeld: ", "  ", "fout bij "]),
    st.sampled_from(["", ": x", "\n"]),
)
@example(b"", "", "")
def test_ieb_own_references_print_unchanged(data: bytes, before: str, after: str) -> None:
    """``bestand-<28 hex>`` (ieb/exchange/retours.py), outbox keys ``<OIN>:<24 hex>``, WS-Security ids
    ``<kind>-<32 hex>`` and uuid4 references are shown as they are, in any line."""
    digest = hashlib.sha256(data).hexdigest()
    refs = [
        "bestand-" + digest[:28],
        "00000099000000000001:" + digest[:24],
        "TS-" + digest[:32],
        str(uuid.UUID(bytes=hashlib.md5(data).digest(), version=4)),
    ]
    for ref in refs:
        assert mask_bsns(before + ref + after) == before + ref + after


def test_the_status_example_from_the_trial_prints_its_reference() -> None:
    ref = "bestand-3f9a123456782bc0e7d1a4f5b6c7"  # nine digits in a row, passing the 11-proef
    assert bsn_is_valid("123456782") and len(ref) == len("bestand-") + 28
    assert mask_bsns(f"  {ref}: kapot.retour.xml: geen geldige retour") == (
        f"  {ref}: kapot.retour.xml: geen geldige retour"
    )
    # the same nine digits anywhere else are a BSN
    assert mask_bsns("bestand 123456782 kapot") == "bestand ******782 kapot"
    assert mask_bsns("ab123456782cd") == "ab******782cd"  # hex letters, but no hash word
    assert mask_bsns("BESTAND-3F9A123456782BC0E7D1A4F5B6C7") == "BESTAND-3F9A******782BC0E7D1A4F5B6C7"


@settings(max_examples=300, deadline=None)
@given(_HEX)
def test_a_hash_word_is_all_or_nothing(word: str) -> None:
    """Inside a whole hash word nothing is masked; a shorter or all-digit word is masked as before."""
    text = f"ref {word} ."
    if _HASH_WORD.search(text):
        assert mask_bsns(text) == text
    else:
        assert mask_bsns(text) == text.replace(
            word, re.sub(r"(?<!\d)\d{8,10}(?!\d)", lambda m: mask_bsn(m.group(0)), word)
        )
