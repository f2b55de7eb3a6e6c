"""Attack on ``ieb.types.mask_bsns`` (session 6): its two exceptions (a UUID, a reference word
``letters-<16+ hex>``) let a run through that may be a BSN.

- A UUID's 12-hex group can hold a stand-alone nine-digit run (``...-a123456782bc``): a peer's
  message id, a file name or a URL can carry a valid BSN that way, and it printed whole.
- In a reference word a run of ten digits was left because ten digits never pass the 11-proef,
  yet nine of them may (``bestand-...0123456782...``), and eight digits may be a BSN whose leading
  zero a number format dropped (before the exception all of these were masked).

Rule now: in both exceptions an ASCII run is left only when it cannot hold a BSN."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ieb.types import bsn_is_valid, mask_bsns


def _valid_bsn(first_eight: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(first_eight, range(9, 1, -1), strict=True))
    return None if total % 11 == 10 else first_eight + str(total % 11)


_BSNS = st.text(alphabet="0123456789", min_size=8, max_size=8).map(_valid_bsn).filter(bool)
_HEX = st.text(alphabet="0123456789abcdef", max_size=14)


def test_a_valid_bsn_in_a_uuid_group_is_masked() -> None:
    assert bsn_is_valid("123456782") and bsn_is_valid("999999990")
    assert "123456782" not in mask_bsns("id 1f2e3d4c-0000-4000-8000-a123456782bc")
    assert "999999990" not in mask_bsns("urn:uuid:9c1e2f3a-1b2c-4d5e-8f90-b999999990cd")
    assert "123456782" not in mask_bsns("https://x.example/berichten/1f2e3d4c-0000-4000-8000-123456782abc")


def test_a_valid_bsn_inside_a_ten_digit_run_of_a_reference_word_is_masked() -> None:
    for text in (
        "bestand-abcdef0123456782abcdef0123",  # a digit before
        "bestand-abcdef1234567820abcdef0123",  # a digit after
        "TS-1234567820abcdef0123456789abcdef",
    ):
        assert "123456782" not in mask_bsns(text), text


def test_eight_digits_that_are_a_bsn_without_its_leading_zero_are_masked_in_a_reference() -> None:
    assert bsn_is_valid("012345672")
    assert "12345672" not in mask_bsns("bestand-abcdef12345672abcdef0123ab")


def test_what_cannot_be_a_bsn_stays_whole_in_a_reference_and_a_uuid() -> None:
    ref = "bestand-3f9a123456789bc0e7d1a4f5b6c7"  # 123456789: no 11-proef, nor either window
    assert mask_bsns(ref) == ref
    uid = "1f2e3d4c-0000-4000-8000-a123456789bc"
    assert not any(bsn_is_valid(w) for w in ("123456789", "012345678"))
    assert mask_bsns(uid) == uid


@settings(max_examples=1500, deadline=None)
@given(_BSNS, st.sampled_from(["", "0", "9", "00"]), _HEX, _HEX, st.sampled_from(["uuid", "ref", "plain"]))
@example("123456782", "", "", "bc", "uuid")
@example("123456782", "0", "abcdef", "abcdef0123", "ref")
def test_no_valid_bsn_survives_in_a_uuid_or_a_reference_shape(
    bsn: object, glue: str, before: str, after: str, shape: str
) -> None:
    """A valid BSN, bare or with up to one digit glued on (a run of 9-10) or its leading zero
    dropped, placed in a UUID's last group, a reference word's hex or plain text: never printed
    whole."""
    assert isinstance(bsn, str)
    digits = (glue[:1] + bsn) if len(glue) == 1 else bsn
    shown = bsn.lstrip("0") if glue == "00" and bsn.startswith("0") else digits
    if shape == "uuid":
        room = 12 - len(shown)
        group = ("a" + shown + "bcdefabcdef")[:12] if room >= 1 else shown[:12]
        text = f"uuid 1f2e3d4c-1b2c-4d5e-8f90-{group} klaar"
        run = re.search(r"(?<![0-9])[0-9]+(?![0-9])", group[:12])
        if run is None or run.group(0) != shown:
            return
    elif shape == "ref":
        text = f"fout bij bestand-{before.rstrip('0123456789')}a{shown}b{after}ffffffffffffffff: kapot"
    else:
        text = f"bsn {shown}."
    masked = mask_bsns(text)
    assert bsn.lstrip("0") not in masked if len(bsn.lstrip("0")) >= 8 else True, (text, masked)
