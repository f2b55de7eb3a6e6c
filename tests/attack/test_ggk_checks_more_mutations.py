"""Attack on RECV round 7 (the ``{*}`` child filters, the one-walk ``envelope_head``, base64
whitespace by ``translate``, IB240 from the parsed payload): more hostile envelopes against the
frozen oracle of ``tests/ggk`` (``_frozen_checks.py``, the code before the round): other prefixes
and a default namespace for the same names, CDATA and character references in reference numbers,
reordered stuurgegevens, attributes and empty elements, both payload kinds, form feeds and odd
padding in the base64, payloads in other namespaces or with their Header twice, other digits.
Findings, head, zender key and envelope model must equal the oracle's under every setting."""

from __future__ import annotations

import base64
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ggk"))  # the oracle's own folder

from test_ggk_checks_one_walk import _HAND, REF, SAMPLES, SETTINGS, _same

from ieb.testing.hostile import mutate

_STUF = b"http://www.egem.nl/StUF/StUF0301"
_B64 = re.compile(rb"(<GGK:xmlBestand>)([A-Za-z0-9+/=]{40,})(<)")


def _payload(body: bytes) -> Callable[[bytes, random.Random], bytes]:
    return lambda d, r: _B64.sub(lambda m: m.group(1) + base64.b64encode(body) + m.group(3), d, count=1)


def _b64(change: Callable[[bytes], bytes]) -> Callable[[bytes, random.Random], bytes]:
    return lambda d, r: _B64.sub(lambda m: m.group(1) + change(m.group(2)) + m.group(3), d, count=1)


_MORE: list[Callable[[bytes, random.Random], bytes]] = [
    # the same names under another prefix, or the default namespace
    lambda d, r: d.replace(b"StUF:", b"s:").replace(b"xmlns:StUF=", b"xmlns:s="),
    lambda d, r: d.replace(b"<StUF:", b"<").replace(b"</StUF:", b"</").replace(b"xmlns:StUF=", b"xmlns="),
    lambda d, r: d.replace(b"<GGK:stuurgegevens>", b'<GGK:stuurgegevens xmlns:StUF="urn:niet-stuf">', 1),
    lambda d, r: d.replace(b"<StUF:referentienummer>", b'<StUF:referentienummer xmlns:StUF="urn:x">', 1),
    # CDATA, character references, empty and attributed reference numbers
    lambda d, r: d.replace(REF.encode(), b"<![CDATA[" + REF.encode() + b"]]>", 1),
    lambda d, r: d.replace(REF.encode(), b"<![CDATA[" + REF[:8].encode() + b"]]>" + REF[8:].encode(), 1),
    lambda d, r: d.replace(REF.encode(), b"&#x39;" + REF[1:].encode(), 1),
    lambda d, r: re.sub(
        rb"<StUF:referentienummer>[^<]*</StUF:referentienummer>", b"<StUF:referentienummer/>", d, count=1
    ),
    lambda d, r: d.replace(
        b"<StUF:referentienummer>", b'<StUF:referentienummer StUF:noValue="geenWaarde">', 1
    ),
    lambda d, r: d.replace(b"<StUF:organisatie>0363", b"<StUF:organisatie> 0363\n", 1),
    lambda d, r: d.replace(b"<StUF:organisatie>0363", "<StUF:organisatie>٠٣٦٣".encode(), 1),
    lambda d, r: d.replace(b"<StUF:organisatie>0363", b"<StUF:organisatie>&#48;363", 1),
    # the stuurgegevens reordered, a field moved out, the whole block after the parameters
    lambda d, r: re.sub(
        rb"(<StUF:zender>.*?</StUF:zender>)(<StUF:ontvanger>.*?</StUF:ontvanger>)",
        rb"\2\1",
        d,
        count=1,
        flags=re.S,
    ),
    lambda d, r: re.sub(
        rb"(<StUF:referentienummer>.*?</StUF:referentienummer>)(.*?)(</GGK:stuurgegevens>)",
        rb"\2\1\3",
        d,
        count=1,
        flags=re.S,
    ),
    lambda d, r: re.sub(
        rb"(<StUF:functie>[^<]*</StUF:functie>)(.*?)(</GGK:stuurgegevens>)", rb"\2\3", d, count=1, flags=re.S
    ),
    lambda d, r: re.sub(
        rb"(<GGK:stuurgegevens>.*?</GGK:stuurgegevens>)(<GGK:parameters>.*</GGK:parameters>)",
        rb"\2\1",
        d,
        count=1,
        flags=re.S,
    ),
    lambda d, r: d.replace(b"<StUF:zender>", b"<StUF:zender><StUF:organisatie>9999</StUF:organisatie>", 1),
    # base64: form feed, vertical tab, CR only, odd padding, url-safe letters, both payload kinds
    _b64(lambda t: t[:12] + b"\x0c" + t[12:]),
    _b64(lambda t: t[:12] + b"&#13;" + t[12:]),
    _b64(lambda t: t[:12] + b"&#x20;&#9;" + t[12:]),
    _b64(lambda t: t.rstrip(b"=")),
    _b64(lambda t: t + b"="),
    _b64(lambda t: t + b"===="),
    _b64(lambda t: t[:16] + b"==" + t[16:]),
    _b64(lambda t: t.replace(b"+", b"-").replace(b"/", b"_")),
    _b64(lambda t: b"<![CDATA[" + t + b"]]>"),
    _b64(lambda t: b""),
    lambda d, r: d.replace(
        b"</GGK:xmlBestand>", b"</GGK:xmlBestand><GGK:tekstBestand>YQ==</GGK:tekstBestand>", 1
    ),
    # payloads in other namespaces / without one, the Header twice, a BerichtCode with children
    _payload(
        b'<m:Bericht xmlns:m="urn:x"><m:Header><m:BerichtCode>470</m:BerichtCode></m:Header></m:Bericht>'
    ),
    _payload(b"<Bericht><Header><BerichtCode> 470 </BerichtCode></Header></Bericht>"),
    _payload(
        b"<Bericht><Header><BerichtCode>472</BerichtCode></Header><Header><BerichtCode>470</BerichtCode></Header></Bericht>"
    ),
    _payload(b"<Bericht><Header/><Header><BerichtCode>470</BerichtCode></Header></Bericht>"),
    _payload(b"<Bericht><Header><BerichtCode><x>4</x>70</BerichtCode></Header></Bericht>"),
    _payload(b"<Bericht><Header><BerichtCode><![CDATA[470]]></BerichtCode></Header></Bericht>"),
    _payload(
        b'<?xml version="1.0" encoding="ISO-8859-1"?><Bericht><Header><BerichtCode>470</BerichtCode></Header></Bericht>'
    ),
    _payload(
        "<?xml version='1.0' encoding='UTF-16'?><Bericht><Header><BerichtCode>470</BerichtCode></Header></Bericht>".encode(
            "utf-16"
        )
    ),
    _payload(
        b"<Bericht><Header><BerichtCode>470</BerichtCode></Header>" + b"<x>" + b"a" * 3000 + b"</x></Bericht>"
    ),
]


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(0, len(SAMPLES) - 1),
    more=st.lists(st.integers(0, len(_MORE) - 1), min_size=1, max_size=3),
    hand=st.lists(st.integers(0, len(_HAND) - 1), max_size=1),
    seed=st.integers(0, 2**32 - 1),
    random_too=st.booleans(),
)
def test_more_mutations_equal_the_frozen_checks(
    which: int, more: list[int], hand: list[int], seed: int, random_too: bool
) -> None:
    rnd = random.Random(seed)
    data = SAMPLES[which]
    for i in more:
        data = _MORE[i](data, rnd)
    for i in hand:
        data = _HAND[i](data, rnd)
    if random_too:
        data = mutate(data, rnd)
    for checks in SETTINGS:
        _same(checks, data)


def test_each_mutation_alone() -> None:
    heads = 0
    codes: set[str] = set()
    for data in SAMPLES:
        for i, change in enumerate(_MORE):
            mutated = change(data, random.Random(i))
            for checks in SETTINGS:
                result = _same(checks, mutated)
                heads += result.head is not None
                codes.update(result.codes)
    assert heads > 100
    assert {"IB009", "RIN001", "IB240", "StUF055"} <= codes
