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
    if _UUID.search(text) is None and _REF_WORD.search(text) is None:  # (see below: on purpose)
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


# --- precise: ieb's own references print whole; every valid BSN is still masked ---------------------

#: a reference word as ``ieb.types._reference_span`` defines it: letters, ``-``, 16+ lower-case hex
_REF_WORD = re.compile(r"(?<![\w-])[A-Za-z]+-[0-9a-f]{16,}(?![\w-])")


def _valid_bsn(first_eight: str) -> str | None:
    """The nine-digit number passing the 11-proef that starts with ``first_eight``, if any."""
    total = sum(int(d) * w for d, w in zip(first_eight, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last == 10 else first_eight + str(last)


_BSNS = st.text(alphabet="0123456789", min_size=8, max_size=8).map(_valid_bsn).filter(bool)
_SCRIPTS = st.sampled_from([0x30, 0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE, 0x9E6])  # Nd blocks of 10


@settings(max_examples=1000, deadline=None)
@given(_BSNS, _SCRIPTS, st.text(max_size=20), st.text(max_size=20))
@example("999999990", 0x30, "bestand-", "")  # a BSN where a reference's hex starts
@example("999999990", 0x30, "bestand-abcdef", "abcdef0123")  # inside a reference word
@example("999999990", 0x30, "ab", "cd")  # next to hex letters
@example("123456782", 0x30, "1f2e3d4c-0000-4000-8000-a", "bc")  # in a UUID
@example("999999990", 0x660, "bestand-abcdef", "abcdef0123")  # Arabic-Indic digits
def test_every_valid_bsn_in_any_digits_and_any_text_is_masked(
    bsn: object, zero: int, before: str, after: str
) -> None:
    """Privacy wins: a valid BSN is masked in ANY text, also inside a reference word and inside a
    UUID (whose 12-hex group can hold nine digits alone: ``...-a123456782bc``)."""
    assert isinstance(bsn, str) and bsn_is_valid(bsn)
    digits = "".join(chr(zero + int(d)) for d in bsn)
    text = before + digits + after
    if (before and before[-1].isdecimal()) or (after and after[0].isdecimal()):
        return  # part of a longer number: not a stand-alone nine-digit run
    masked = mask_bsns(text)
    assert digits not in masked, (text, masked)
    assert "******" + digits[-3:] in masked


@settings(max_examples=1000, deadline=None)
@given(
    st.binary(max_size=64),
    st.sampled_from(["", "gemeld: ", "  ", "fout bij "]),
    st.sampled_from(["", ": x", "\n"]),
)
@example(b"", "", "")
def test_ieb_own_references_print_unchanged(data: bytes, before: str, after: str) -> None:
    """``bestand-<28 hex>`` (ieb/exchange/retours.py), WS-Security ids ``<kind>-<32 hex>`` and uuid4
    references are shown as they are, in any line; the one exception (privacy wins): a stand-alone
    run of 8-10 digits in them that may hold a BSN (nine in a row passing the 11-proef, also with a
    leading zero put back), of which exactly that run is masked (tests/attack/
    test_mask_bsns_no_exception_leaks.py; 15 % of bestand references had a run masked before the
    exception)."""
    digest = hashlib.sha256(data).hexdigest()
    uid = str(uuid.UUID(bytes=hashlib.md5(data).digest(), version=4))
    for ref in ("bestand-" + digest[:28], "TS-" + digest[:32], uid):
        line = before + ref + after
        runs = [m for m in _RUN.finditer(ref) if _holds_valid_nine(m.group(0))]
        expected = ref
        for m in reversed(runs):
            expected = expected[: m.start()] + mask_bsn(m.group(0)) + expected[m.end() :]
        assert mask_bsns(line) == before + expected + after


#: a stand-alone run of 8 to 10 ASCII digits
_RUN = re.compile(r"(?<![0-9])[0-9]{8,10}(?![0-9])")


def _holds_valid_nine(run: str) -> bool:
    """Nine digits of ``run`` (8: with the leading zero put back; 10: either nine) pass the 11-proef."""
    candidates = {8: ["0" + run], 9: [run], 10: [run[:9], run[1:]]}[len(run)]
    return any(bsn_is_valid(c) for c in candidates)


def test_the_status_example_from_the_trial_prints_its_reference() -> None:
    ref = "bestand-3f9a123456789bc0e7d1a4f5b6c7"  # nine digits in a row, no 11-proef: no BSN
    assert not bsn_is_valid("123456789") and len(ref) == len("bestand-") + 28
    line = f"  {ref}: kapot.retour.xml: geen geldige retour"
    assert mask_bsns(line) == line
    # nine digits passing the 11-proef may be a BSN: masked, also there (privacy wins)
    assert bsn_is_valid("123456782")
    assert mask_bsns("bestand-3f9a123456782bc0e7d1a4f5b6c7") == "bestand-3f9a******782bc0e7d1a4f5b6c7"
    # the same nine digits outside a reference word are masked as before (a typo of a BSN too)
    assert mask_bsns("bestand 123456789 kapot") == "bestand ******789 kapot"
    assert mask_bsns("ab123456789cd") == "ab******789cd"  # hex letters, but no reference word
    assert mask_bsns("BESTAND-3F9A123456789BC0E7D1A4F5B6C7") == "BESTAND-3F9A******789BC0E7D1A4F5B6C7"
    assert mask_bsns("x-bestand-3f9a123456789bc0e7d1a4f5b6c7") == "x-bestand-3f9a******789bc0e7d1a4f5b6c7"
    # found by bench/fuzz_transport.py: a UUID with digits glued on is no UUID and no reference
    glued = "'db9d6def-85e8-4610-93c0-997107a023409971'"
    assert mask_bsns(glued) == "'db9d6def-85e8-4610-93c0-997107a******971'"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789abcdef", min_size=1, max_size=40), st.sampled_from(["bestand-", "", "x"]))
@example("0000001030a00000", "bestand-")  # ten digits, nine of which pass the 11-proef: masked
def test_in_a_reference_word_only_a_run_that_can_be_a_bsn_is_masked(word: str, prefix: str) -> None:
    text = f"ref {prefix}{word} ."
    plain = re.sub(r"(?<!\d)\d{8,10}(?!\d)", lambda m: mask_bsn(m.group(0)), text)
    if _REF_WORD.search(text):
        only_valid = re.sub(
            r"(?<!\d)\d{8,10}(?!\d)",
            lambda m: mask_bsn(m.group(0)) if _holds_valid_nine(m.group(0)) else m.group(0),
            text,
        )
        assert mask_bsns(text) == only_valid
    else:
        assert mask_bsns(text) == plain
