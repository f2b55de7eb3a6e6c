"""Hostile envelopes (issue 13): the envelope readers raise nothing but the project's own errors, and
no message they produce quotes a BSN."""

from __future__ import annotations

import random
import re

import pytest
from ggk_samples import WMO401
from hypothesis import given, settings
from hypothesis import strategies as st

import ieb.ggk as ggk
from ieb.errors import IebError
from ieb.testing.hostile import mutate, utf16_dtd, utf32_dtd, wide_namespaces

BSN_RUN = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")


def _samples() -> list[bytes]:
    di01 = ggk.new_di01(WMO401, "WMO401", "0363")
    du01 = ggk.du01_for(di01, WMO401.replace(b"wmo401", b"wmo402"))
    fo03 = ggk.fo03_for(di01, "IB009", "referentienummer 999900006 is geen UUID")
    return [ggk.wrap_soap(di01), ggk.wrap_soap(du01), ggk.soap_fault(fo03), ggk.build(di01)]


SAMPLES = _samples()
CHECKS = ggk.EnvelopeChecks(known_ontvangers=None, functie_berichtcode=None)


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(SAMPLES) - 1), seed=st.integers(0, 2**32 - 1))
def test_envelope_readers_raise_only_project_errors(which: int, seed: int) -> None:
    data = mutate(SAMPLES[which], random.Random(seed))
    for read in (ggk.unwrap_soap, ggk.parse):
        try:
            read(data)
        except IebError as exc:
            assert not BSN_RUN.search(str(exc)), str(exc)
    result = CHECKS.check(data)  # findings are internal; what leaves is the Fo03 built from them
    if not result.ok and result.first is not None:
        fo03 = ggk.fo03_for(None, result.first.code.value, str(result.first.omschrijving))
        assert not BSN_RUN.search(str(fo03.body.omschrijving) + str(fo03.body.details or ""))


@pytest.mark.parametrize("encode", [utf16_dtd, utf32_dtd])
def test_a_dtd_in_utf16_or_utf32_is_refused_the_same_for_existing_and_missing_files(encode: object) -> None:
    answers = set()
    for target in ("/etc/hostname", "/nonexistent/x.dtd"):
        with pytest.raises(ggk.HostileXmlError) as err:
            ggk.unwrap_soap(encode(target))  # type: ignore[operator]
        answers.add(str(err.value))
    assert len(answers) == 1


def test_300k_namespaces_are_refused_before_parsing() -> None:
    import time

    data = wide_namespaces(300_000)
    started = time.monotonic()
    with pytest.raises(ggk.HostileXmlError, match="namespace"):
        ggk.unwrap_soap(data)
    result = CHECKS.check(data)
    assert not result.ok
    assert time.monotonic() - started < 1.0


def test_a_bsn_glued_to_a_uuid_is_masked_in_a_fo03() -> None:
    """Found by bench/fuzz_transport.py: a UUID with extra digits is not a UUID."""
    fo03 = ggk.fo03_for(None, "IB009", "referentienummer 'db9d6def-85e8-4610-93c0-997107a023409971' is fout")
    assert not BSN_RUN.search(str(fo03.body.omschrijving))
    assert "db9d6def-85e8-4610-93c0" in str(fo03.body.omschrijving)
