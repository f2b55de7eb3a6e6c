"""Retours read without their pydantic model (issue 22, B2 round 5): soundness of the checks.

``ieb.ledger.retour`` skips the model of an iEb 1.0 retour when every value the codec read passes
the check made from its field's type (:func:`ieb.ledger.retour._value_check`); otherwise the model is
built, as before, and gives the retour or its error. What must hold: whatever passes the checks is
accepted by the model, and the read retour has the model's values. Hypothesis draws the collected
values (valid, near-valid and wrong ones, of the kinds the codec produces, fields left out) for
WMO402 and WMO404; the end-to-end equality with the old code is tests/ledger/test_retour_fast.py.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ieb.ledger import retour
from ieb.releases.ieb_1_0.models import Wmo402, Wmo404
from ieb.releases.models import InvalidModelError, validated
from ieb.types import RetourCode

_CODES = [c.value for c in RetourCode]
_TEXTS = st.one_of(
    st.text(max_size=14),
    st.sampled_from(
        ["0363", "363", "03630", "R1", " ", "\t", "\u00a0", "1", "2", "3", "9", "0", "471", "473"]
    ),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
    st.from_regex(r"[0-9]{9}", fullmatch=True),
    st.sampled_from(["999900006", "999900018", "999900007", "000000000", "999990019"]),
    st.from_regex(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]?)\.(0|[0-9]{1,2})", fullmatch=True),
    st.from_regex(r"[ -~]{1,13}", fullmatch=True),
)
_INTS = st.one_of(
    st.integers(-3, 12),
    st.integers(-(10**10), 10**10),
    st.sampled_from([999_999_999, 10**9, 99_999_999]),
    st.booleans(),
    _TEXTS,
)
_DATES = st.one_of(st.dates(), st.datetimes(), _TEXTS)
_TUPLES = st.lists(st.one_of(st.sampled_from(_CODES), _TEXTS), max_size=3).map(tuple)


def _values(plan: tuple[Any, ...], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts as ``_collect_planned`` gives them for ``plan`` (some fields left out)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for f in plan:
        if f.kind == retour._NESTED:
            value: st.SearchStrategy[Any] = _values(f.nested, depth + 1)
        elif f.kind == retour._TUPLE:
            value = _TUPLES
        elif f.kind == retour._INT:
            value = _INTS
        elif f.kind == retour._DATE:
            value = _DATES
        else:
            value = _TEXTS
        # mostly present (a retour has most of them); sometimes left out
        parts[f.name] = st.one_of(value, value, value, st.just(_ABSENT))
    return st.fixed_dictionaries(parts).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT})


_ABSENT = object()


def _same(read: Any, model: Any, plan: tuple[Any, ...]) -> None:
    for f in plan:
        if not hasattr(read, f.name):
            continue
        got, want = getattr(read, f.name), getattr(model, f.name)
        if f.kind == retour._NESTED and got is not None:
            _same(got, want, f.nested)
            continue
        assert got == want, f.name
        if isinstance(want, Enum) or (isinstance(want, tuple) and want and isinstance(want[0], Enum)):
            assert type(got) is type(want) and all(type(a) is type(b) for a, b in zip(got, want, strict=True))
        if isinstance(want, dt.date):
            assert type(got) is type(want)


def _fast(cls: type[Any], values: dict[str, Any], plan: tuple[Any, ...]) -> bool:
    header = values.get("header")
    return (
        retour._model_checks_known(cls)
        and type(header) is dict
        and header.get("bericht_code") == cls.bericht_code
        and retour._accepted(values, plan)
    )


def _plan(cls: type[Any]) -> tuple[Any, ...]:
    return retour._plan(cls, cls.namespace(), cls.basis_namespace)


def _valid(cls: type[Any], **client: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "header": {
            "bericht_code": cls.bericht_code,
            "bericht_versie": 1,
            "bericht_subversie": 0,
            "afzender": "0363",
            "bericht_identificatie": {"identificatie": "B1", "dagtekening": dt.date(2024, 6, 1)},
            "xsd_versie": {"basisschema_xsd_versie": "1.2.0", "bericht_xsd_versie": "1.2.0"},
            "identificatie_retour": "R1",
            "dagtekening_retour": dt.date(2024, 6, 2),
            "xsd_versie_retour": {"basisschema_xsd_versie": "1.2.0", "bericht_xsd_versie": "1.2.0"},
        }
    }
    if client:
        values["client"] = client
    return values


@pytest.mark.parametrize("cls", [Wmo402, Wmo404])
def test_what_passes_the_checks_is_what_the_model_accepts(cls: type[Any]) -> None:
    plan = _plan(cls)
    seen = {"fast": 0, "model": 0}

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        values=_values(plan), code=st.sampled_from([cls.bericht_code, cls.bericht_code, "471", "473", "47"])
    )
    def check(values: dict[str, Any], code: str) -> None:
        if isinstance(values.get("header"), dict):
            values["header"]["bericht_code"] = code
        if not _fast(cls, values, plan):
            seen["model"] += 1
            return
        seen["fast"] += 1
        model = cls.model_validate(values)  # must not raise
        read = retour._as_read(values, plan)
        _same(read, model, plan)

    check()
    assert seen["model"] > 0


@pytest.mark.parametrize("cls", [Wmo402, Wmo404])
def test_valid_values_take_the_fast_path_and_equal_the_model(cls: type[Any]) -> None:
    plan = _plan(cls)
    klasse = "start_eigen_bijdrage" if cls is Wmo402 else "stop_eigen_bijdrage"
    datum = "eb_startdatum" if cls is Wmo402 else "eb_stopdatum"

    @settings(max_examples=60, deadline=None)
    @given(
        bsn=st.sampled_from(["999900006", "999900018", "999900031", "999990019"]),
        nummer=st.integers(0, 999_999_999),
        day=st.dates(),
        status=st.sampled_from(["1", "2", "3"]),
        codes=st.lists(st.sampled_from(_CODES), min_size=1, max_size=3).map(tuple),
        header_codes=st.lists(st.sampled_from(_CODES), max_size=2).map(tuple),
        ident=st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True),
    )
    def check(
        bsn: str,
        nummer: int,
        day: dt.date,
        status: str,
        codes: tuple[str, ...],
        header_codes: tuple[str, ...],
        ident: str,
    ) -> None:
        values = _valid(
            cls,
            bsn=bsn,
            retour_codes=codes,
            **{
                klasse: {
                    "eb_start_nummer": nummer,
                    datum: day,
                    "status_aanlevering": status,
                    "retour_codes": codes,
                }
            },
        )
        values["header"]["identificatie_retour"] = ident
        if header_codes:
            values["header"]["retour_codes"] = header_codes
        assert _fast(cls, values, plan)
        read = retour._as_read(values, plan)
        model = cls.model_validate(values)
        _same(read, model, plan)
        assert retour._klasse(read, _row(cls)) is not None

    check()


def _row(cls: type[Any]) -> Any:
    from ieb.releases import get_release

    return get_release("ieb-1.0").message(cls.bericht)


@pytest.mark.parametrize(
    ("where", "value", "rule"),
    [
        ("bsn", "999900007", "CS002"),  # 9 digits, fails the 11-proef
        ("status", "9", "CS125"),  # XSD-valid, not allowed in iEb
        ("versie", 2, "XSD"),  # BerichtVersie 2: XSD 0..99, the model only 1
        ("code", "473", "CS126"),  # another message's BerichtCode
        ("codes", (), "XSD"),  # RetourCodes without a code
    ],
)
def test_what_only_the_model_refuses_takes_the_model_path(where: str, value: Any, rule: str) -> None:
    cls = Wmo402
    plan = _plan(cls)
    klasse = {
        "eb_start_nummer": 7,
        "eb_startdatum": dt.date(2024, 3, 1),
        "status_aanlevering": "1",
        "retour_codes": ("0200",),
    }
    values = _valid(cls, bsn="999900006", retour_codes=("0200",), start_eigen_bijdrage=klasse)
    assert _fast(cls, values, plan)
    if where == "bsn":
        values["client"]["bsn"] = value
    elif where == "status":
        klasse["status_aanlevering"] = value
    elif where == "versie":
        values["header"]["bericht_versie"] = value
    elif where == "code":
        values["header"]["bericht_code"] = value
    else:
        values["client"]["retour_codes"] = value
    assert not _fast(cls, values, plan)
    with pytest.raises(InvalidModelError) as caught:
        validated(cls, values)
    assert {i.code for i in caught.value.issues} == {rule}
