"""Property: the rules, the codec and the PUBLISHED XSD agree on mutated valid messages.

Each example takes a valid sample, changes one value in a way the XSD may or may not accept (a
comment or PI inside it, CDATA, whitespace, ``+`` and leading zeros, a character reference, a date of
any year or with a timezone, other text) and checks:

* the validator's level-1 verdict equals the published XSD's (plus OP179/OP192), computed outside ``ieb``;
* ``from_xml`` parses exactly when the validator finds nothing at level 1 or 2;
* what ``from_xml`` read is what an independent XSD engine (xmlschema) reads from the same bytes;
* nothing but the project's own errors is raised.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache
from pathlib import Path
from typing import Any

import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.codec import from_xml, to_xml
from ieb.errors import MessageInvalidError
from ieb.testing.mutations import mutate_value, reference_verdict
from ieb.validation import validate_bytes

SAMPLES = sorted((Path(__file__).parents[1] / "core" / "samples" / "valid").glob("*.xml"))
TODAY = dt.date(2026, 6, 1)


@cache
def _xmlschema(folder: str, bericht: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(Path(folder) / f"{bericht}.xsd"))


def _local(tree: Any) -> Any:
    """xmlschema's dict without namespace prefixes and xmlns keys."""
    if isinstance(tree, dict):
        return {k.split(":")[-1]: _local(v) for k, v in tree.items() if not k.startswith("@xmlns")}
    if isinstance(tree, list):
        return [_local(v) for v in tree]
    return tree


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 2))
def test_rules_codec_and_published_xsd_agree(
    sample: Path, seed: int, rounds: int, reference_dir: Path
) -> None:
    folder = str(reference_dir / "ieb-1.0")
    rng = random.Random(seed)
    data = sample.read_bytes()
    for _ in range(rounds):
        data = mutate_value(data, rng)
    xsd_ok = reference_verdict(data, folder)
    report = validate_bytes(data, today=TODAY)
    assert (report.level != 1) == xsd_ok, (data, report.issues)
    blocking = [i for i in report.issues if i.level <= 2]
    try:
        message = from_xml(data, today=TODAY)
    except MessageInvalidError:
        assert blocking, (data, report.issues)
        return
    assert not blocking, (data, report.issues)
    # what the codec read is what the XSD reads
    schema = _xmlschema(folder, message.bericht)
    assert _local(schema.to_dict(data.decode())) == _local(schema.to_dict(to_xml(message).decode()))
