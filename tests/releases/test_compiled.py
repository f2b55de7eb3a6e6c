"""The compiled checker of a pack (ieb.releases.compiled, issue 22) never changes a verdict.

``validate_bytes`` skips the rule engine when the compiled checker of the message says "certainly no
finding". Property: on mutated iEb 1.0 files (every sample, valid and invalid, with one or two leaf
values changed by ieb.testing.mutations) the report is the same as the full engine's, for several
days ("today") and forced revisions; and whenever the checker says "clean" on an XSD-valid file,
the full engine finds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ieb.validation as validation
from ieb.errors import UnknownMessageError
from ieb.policy.tariffs import NATIONAL_TARIFFS
from ieb.releases import default_registry
from ieb.releases.compiled import checker_of, compile_checker, eleven_proof
from ieb.releases.rules import RuleContext
from ieb.testing.mutations import mutate_value
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import bundled_gemeenten
from ieb.xmlsafe import XmlProblem, parse_bytes

SAMPLES = Path(__file__).parent.parent / "core" / "samples"
FILES = sorted((SAMPLES / "valid").glob("*.xml")) + sorted(
    p for p in (SAMPLES / "invalid").glob("*.xml") if not p.name.startswith(("xml-", "op192"))
)
DATA = [p.read_bytes() for p in FILES]
DAYS = [
    dt.date(2026, 6, 1),
    dt.date(2026, 5, 20),
    dt.date(2026, 5, 19),
    dt.date(2020, 1, 1),
    dt.date(2031, 1, 1),
]
REVISIONS = [None, "1.0.2", "1.0.3"]


def _key(report: validation.Report) -> list[tuple[object, ...]]:
    return [(i.code, i.retourcode, i.level, i.location, i.message) for i in report.issues]


def _engine_only(data: bytes, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> validation.Report:
    with monkeypatch.context() as m:
        m.setattr(validation, "checker_of", lambda *a, **k: None)
        return validate_bytes(data, **kwargs)  # type: ignore[arg-type]


def _checker_says_clean(data: bytes, today: dt.date, revision: str | None) -> bool | None:
    """The checker's answer on an XSD-valid file (None: not parsed, not valid or no checker)."""
    try:
        root = parse_bytes(data)
    except XmlProblem:
        return None
    try:
        release, spec = default_registry.detect(root)
    except UnknownMessageError:
        return None
    if not spec.schema.validate(root):
        return None
    checker = checker_of(release, spec)
    if checker is None:
        return None
    forced = release.revision(revision) if revision else None
    return checker.clean(
        root, today=today, tariffs=NATIONAL_TARIFFS, gemeenten_loader=bundled_gemeenten, revision=forced
    )


def test_every_valid_sample_is_clean_for_the_checker() -> None:
    """The fast path is really taken for the valid samples of iEb 1.0 (else it would buy nothing)."""
    for path in sorted((SAMPLES / "valid").glob("*.xml")):
        data = path.read_bytes()
        report = validate_bytes(data, today=dt.date(2026, 6, 1))
        if report.issues:
            continue  # a sample that is valid only for another day
        assert _checker_says_clean(data, dt.date(2026, 6, 1), None) is True, path.name


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_samples_same_report(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    for today in DAYS:
        for revision in REVISIONS:
            fast = validate_bytes(data, today=today, revision=revision)
            full = _engine_only(data, monkeypatch, today=today, revision=revision)
            assert _key(fast) == _key(full), (path.name, today, revision)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    index=st.integers(0, len(DATA) - 1),
    seed=st.integers(0, 2**32 - 1),
    times=st.integers(1, 2),
    today=st.sampled_from(DAYS),
    revision=st.sampled_from(REVISIONS),
)
def test_mutated_files_same_report(
    index: int, seed: int, times: int, today: dt.date, revision: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    data = DATA[index]
    for _ in range(times):
        data = mutate_value(data, rng)
    fast = validate_bytes(data, today=today, revision=revision)
    full = _engine_only(data, monkeypatch, today=today, revision=revision)
    assert _key(fast) == _key(full)
    if _checker_says_clean(data, today, revision):
        assert full.issues == []


def _one(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


VALID = (SAMPLES / "valid" / "wmo401-kostprijs.xml").read_bytes()
TODAY = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    "data",
    [
        # a comment inside a date: the checker does not read it itself
        _one(VALID, b">2026-05-20<", b">2026-05<!--x-->-20<"),
        # whitespace around a date (xs:date collapses it)
        _one(VALID, b">2026-05-20<", b"> 2026-05-20\n<"),
        # a year outside 1000-8999
        _one(VALID, b">2026-05-01</wmo401:EbStartdatum>", b">0999-05-01</wmo401:EbStartdatum>"),
    ],
)
def test_unusual_values_leave_it_to_the_engine(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _checker_says_clean(data, TODAY, None) in (False, None)
    assert _key(validate_bytes(data, today=TODAY)) == _key(_engine_only(data, monkeypatch, today=TODAY))


def test_a_finding_comes_from_the_engine() -> None:
    """A file the checker does not vouch for gets the engine's findings (here CS300 and 8848)."""
    data = _one(VALID, b"<wmo401:Afzender>0363<", b"<wmo401:Afzender>0001<")
    assert _checker_says_clean(data, dt.date(2026, 5, 1), None) is False
    codes = [i.code for i in validate_bytes(data, today=dt.date(2026, 5, 1)).issues]
    assert codes == ["CS300", "8848"]


def test_a_pack_with_an_unknown_rule_is_not_compiled() -> None:
    from ieb.releases.rules import Rule

    release = default_registry.get("ieb-1.0")
    spec = release.message("WMO401")
    extra = Rule("X999", 2, "0001", "a rule the checker does not know", lambda ctx: ())
    factories = release.compiled() if release.compiled else {}
    assert compile_checker(spec, (*release.rules.message, extra), release.rules.final, factories) is None
    assert compile_checker(spec, release.rules.message, release.rules.final, factories) is not None
    # without the pack's factories only the generic rules are known
    assert compile_checker(spec, release.rules.message, release.rules.final, {}) is None


def _checker_on(data: bytes) -> bool:
    """The checker's answer on a parsed tree, XSD or not (to reach what the XSD would refuse)."""
    root = parse_bytes(data)
    release, spec = default_registry.detect(root)
    checker = checker_of(release, spec)
    assert checker is not None
    return checker.clean(
        root, today=TODAY, tariffs=NATIONAL_TARIFFS, gemeenten_loader=bundled_gemeenten, revision=None
    )


def _rules_find(data: bytes, today: dt.date = TODAY) -> list[str]:
    """The codes the engine's rules report on a parsed tree, XSD or not (as validate_bytes runs
    them: message rules, then the final ones when nothing at level 1 or 2 was found)."""
    root = parse_bytes(data)
    release, spec = default_registry.detect(root)
    ctx = RuleContext(root=root, spec=spec, today=today, gemeenten_loader=bundled_gemeenten)
    issues = [i for rule in release.rules.message for i in rule.run(ctx)]
    if not any(i.level <= 2 for i in issues):
        issues += [i for rule in release.rules.final for i in rule.run(ctx)]
    return [i.code for i in issues]


def test_the_checker_reads_as_the_engine_finds() -> None:
    assert _checker_on(VALID) is True
    # an element in another namespace on a rule's path: the engine's find() does not take it, and
    # neither does the checker (CS300 is not checked: no Afzender in the message's namespace)
    other_ns = _one(VALID, b"<wmo401:Afzender>0363</wmo401:Afzender>", b"<ieb:Afzender>0001</ieb:Afzender>")
    assert _rules_find(other_ns) == []
    assert _checker_on(other_ns) is True
    # two elements of one name on a typed path: the checker declines ("every element")
    twice = _one(VALID, b"<wmo401:Bsn>999900006</wmo401:Bsn>", b"<wmo401:Bsn>999900006</wmo401:Bsn>" * 2)
    assert _checker_on(twice) is False
    # the engine's find() takes the first of two Header elements; so does the checker
    header = _one(
        VALID,
        b"<wmo401:Client>",
        b"<wmo401:Header><wmo401:BerichtCode>999</wmo401:BerichtCode></wmo401:Header><wmo401:Client>",
    )
    assert _rules_find(header) == []
    assert _checker_on(header) is True
    second_first = _one(
        VALID,
        b"<wmo401:Header>",
        b"<wmo401:Header><wmo401:BerichtCode>999</wmo401:BerichtCode></wmo401:Header><wmo401:Header>",
    )
    assert _rules_find(second_first) == ["CS126"]
    assert _checker_on(second_first) is False
    # an integer of more digits than the fast reader takes: read by the engine's reader
    long = _one(VALID, b"<ieb:KostprijsBedrag>57000<", b"<ieb:KostprijsBedrag>" + b"0" * 30 + b"57000<")
    assert _checker_on(long) is True
    # a comment inside a value the checks read: the checker declines
    comment = _one(VALID, b">0363<", b">03<!-- x -->63<")
    assert _checker_on(comment) is False
    # comments and processing instructions elsewhere change the layout, not the verdict
    elsewhere = _one(VALID, b"<wmo401:Client>", b"<!-- x --><?pi y?><wmo401:Client><!-- z -->")
    assert _checker_on(elsewhere) is True


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_the_checkers_eleven_proof_is_the_bsn_rule(value: str) -> None:
    from ieb.types import bsn_is_valid

    assert eleven_proof(value) is bsn_is_valid(value)


def test_the_checkers_eleven_proof_on_known_numbers() -> None:
    from ieb.types import bsn_is_valid

    for n in range(999_900_000, 999_910_000):
        assert eleven_proof(str(n)) is bsn_is_valid(str(n))
    assert eleven_proof("000000000") is bsn_is_valid("000000000") is True


# ------------------------------------------------------------------------------ iEb 4.0 and mixed


def _built(bericht: str, **values: object) -> bytes:
    from ieb.codec import to_xml
    from ieb.ledger.history import Delivery

    fields: dict[str, object] = {
        "afzender": "0363",
        "identificatie": "B-7",
        "dagtekening": dt.date(2026, 5, 20),
        "bsn": "999900006",
        "eb_start_nummer": 17,
        "status": "1",
        "datum": dt.date(2026, 5, 1),
        "kostprijs_bedrag": None,
        "kostprijs_startdatum": None,
        "stopdatum": None,
    }
    fields.update(values)
    return to_xml(Delivery(bericht, **fields).to_message())  # type: ignore[arg-type]


#: planner-built files of iEb 4.0 (start/stop and beschermd wonen; kostprijs, stop, other statuses)
#: and of iEb 1.0 (a stop), next to the 1.0 samples above
BUILT = [
    _built("WMO405"),
    _built("WMO405", kostprijs_bedrag=57_000, kostprijs_startdatum=dt.date(2026, 5, 1)),
    _built("WMO405", status="2", stopdatum=dt.date(2026, 12, 31)),
    _built("WMO405", status="2", datum=dt.date(2022, 1, 1), stopdatum=dt.date(2022, 3, 1)),
    _built("WMO405", afzender="0003", kostprijs_bedrag=100, kostprijs_startdatum=dt.date(2026, 5, 1)),
    _built("WMO407"),
    _built("WMO407", status="3", stopdatum=dt.date(2027, 1, 31)),
    _built("WMO407", afzender="0005", dagtekening=dt.date(2026, 7, 1)),
    _built("WMO403", status="2", datum=dt.date(2025, 1, 31)),
]
ALL_DATA = DATA + BUILT


def _revisions_of(data: bytes) -> list[str | None]:
    try:
        release, _ = default_registry.detect(parse_bytes(data))
    except (XmlProblem, UnknownMessageError):
        return [None]
    return [None, *(r.name for r in release.revisions)]


def test_the_built_40_files_take_the_fast_path() -> None:
    for data in BUILT[:2] + BUILT[5:7]:
        assert validate_bytes(data, today=TODAY).issues == []
        assert _checker_says_clean(data, TODAY, None) is True


@pytest.mark.parametrize("index", range(len(BUILT)))
def test_built_files_same_report(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = BUILT[index]
    for today in DAYS:
        for revision in _revisions_of(data):
            fast = validate_bytes(data, today=today, revision=revision)
            full = _engine_only(data, monkeypatch, today=today, revision=revision)
            assert _key(fast) == _key(full), (index, today, revision)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    index=st.integers(0, len(ALL_DATA) - 1),
    seed=st.integers(0, 2**32 - 1),
    times=st.integers(1, 3),
    structural=st.booleans(),
    today=st.sampled_from(DAYS),
    pick=st.integers(0, 3),
)
def test_mutated_files_of_both_releases_same_report(
    index: int,
    seed: int,
    times: int,
    structural: bool,
    today: dt.date,
    pick: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Value mutations and structural ones (a leaf duplicated or dropped, hostile inserts, bytes
    flipped) of files of iEb 1.0 and 4.0: the report equals the engine's, for any forced revision
    of the file's own release."""
    from ieb.testing.mutations import mutate_bytes

    rng = random.Random(seed)
    data = ALL_DATA[index]
    for _ in range(times):
        data = (mutate_bytes if structural else mutate_value)(data, rng)
    revisions = _revisions_of(data)
    revision = revisions[pick % len(revisions)]
    fast = validate_bytes(data, today=today, revision=revision)
    full = _engine_only(data, monkeypatch, today=today, revision=revision)
    assert _key(fast) == _key(full)
    if _checker_says_clean(data, today, revision):
        assert full.issues == []


def test_the_checker_and_the_engine_agree_on_each_rule_of_40() -> None:
    """Each 4.0 rule fails in the checker exactly when the engine reports it (failing())."""
    from ieb.releases.compiled import Env

    cases = {
        "TR394": _built("WMO405", status="2", datum=dt.date(2020, 1, 1), stopdatum=dt.date(2021, 1, 1)),
        "TR378": _built("WMO405", afzender="0005"),
        "TR409": _built("WMO405", kostprijs_bedrag=100, kostprijs_startdatum=dt.date(2026, 5, 1)),
        "TR135": _built("WMO407", dagtekening=dt.date(2026, 7, 1)),
    }
    for code, data in cases.items():
        root = parse_bytes(data)
        release, spec = default_registry.detect(root)
        checker = checker_of(release, spec)
        assert checker is not None
        values = checker.values(root)
        assert values is not None
        failing = checker.failing(values, Env(TODAY, NATIONAL_TARIFFS, bundled_gemeenten))
        assert failing is not None
        engine = [i.code for i in validate_bytes(data, today=TODAY).issues]
        assert [r.code for r in failing] == engine == [code]
