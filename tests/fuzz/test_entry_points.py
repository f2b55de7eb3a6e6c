"""Fuzz: no input makes a payload entry point raise anything but the project's own errors.

Mutated valid samples (values, structure, encodings, DTDs, truncation, byte flips) and raw bytes go
through ``validate_bytes``, ``from_xml`` in its three modes and ``ieb show``. ``bench/fuzz.py`` runs
the same mutations a million times."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ieb.cli import app
from ieb.codec import from_xml
from ieb.errors import IebError
from ieb.testing.mutations import mutate_bytes
from ieb.validation import validate_bytes

SAMPLES = sorted((Path(__file__).parents[1] / "core" / "samples").glob("*/*.xml"))
TODAY = dt.date(2026, 6, 1)


def _inputs() -> st.SearchStrategy[bytes]:
    mutated = st.builds(
        lambda sample, seed, rounds: _mutated(sample, seed, rounds),
        st.sampled_from(SAMPLES),
        st.integers(0, 2**32 - 1),
        st.integers(1, 3),
    )
    return st.one_of(mutated, mutated, mutated, st.binary(max_size=300))


def _mutated(sample: Path, seed: int, rounds: int) -> bytes:
    rng = random.Random(seed)
    data = sample.read_bytes()
    for _ in range(rounds):
        data = mutate_bytes(data, rng)
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs())
def test_validate_and_from_xml_raise_only_project_errors(data: bytes) -> None:
    report = validate_bytes(data, today=TODAY)  # never raises at all
    assert all(i.code and i.message and i.level in (1, 2, 3) for i in report.issues)
    for mode in ("strict", "lax", "skip"):
        try:
            from_xml(data, today=TODAY, validation=mode)  # type: ignore[arg-type]
        except IebError:
            pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs())
def test_show_never_ends_in_a_traceback(data: bytes, tmp_path_factory: object) -> None:
    path = Path(tmp_path_factory.mktemp("show")) / "in.xml"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["show", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
