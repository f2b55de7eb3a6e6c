"""The compiled checks of the iEb 4.0 rules (:mod:`.rules`), for :mod:`ieb.releases.compiled`.

TR394, TR378, TR409 and TR135 read their values through the binding (``binding.toml``: model field
-> element path), as the rules do: the first element at the bound path. The generic CS002, CS125,
XSD-DATUM and the final IEB-DATUM have their checks in :mod:`ieb.releases.compiled`.
``tests/releases/test_compiled.py`` checks that the verdicts equal the engine's. Loaded on first use
(``PACK.compiled``).
"""

from __future__ import annotations

from ieb.dates import add_months
from ieb.releases.compiled import (
    GENERIC_FACTORIES,
    Check,
    CheckFactory,
    Compiler,
    Env,
    Values,
    date_of,
    integer_of,
    passes,
)
from ieb.releases.ieb_4_0.binding import load_binding
from ieb.releases.ieb_4_0.rules import FINAL_RULES, PARAMETERS, Parameters40, tr135, tr378, tr394, tr409
from ieb.releases.rules import DATE_RANGE_RULE, Rule

__all__ = ["CHECKS"]


def _slot(c: Compiler, field: str) -> int | None:
    """The slot of the element bound to model ``field`` in this message (None: not bound), as
    :func:`.rules.element` finds it."""
    binding = load_binding().get(c.spec.name)
    bound = binding.fields.get(field) if binding is not None else None
    if binding is None or bound is None:
        return None
    return c.first(binding.full_path(bound))


def _value(v: Values, slot: int | None) -> str | None:
    return None if slot is None else v[slot]


def _months(env: Env) -> int:
    forced = env.revision
    return (forced if isinstance(forced, Parameters40) else PARAMETERS).revision_term_months


def _tr394(c: Compiler) -> Check:
    status_k, stop_k, dag_k = (
        _slot(c, "status_aanlevering"),
        _slot(c, "eb_stopdatum"),
        _slot(c, "dagtekening"),
    )

    def check(v: Values, env: Env) -> bool:
        if _value(v, status_k) != "2":
            return True
        stop, dagtekening = date_of(_value(v, stop_k)), date_of(_value(v, dag_k))
        if stop is None or dagtekening is None:
            return True
        return not stop < add_months(dagtekening, -_months(env))

    return check


def _tr378(c: Compiler) -> Check:
    afzender_k, dag_k = _slot(c, "afzender"), _slot(c, "dagtekening")
    # the period's start: EbStartdatum in the message that carries it, else BwStartdatum (as the rule)
    start_k = _slot(c, "eb_startdatum" if c.spec.name == "WMO405" else "bw_startdatum")

    def check(v: Values, env: Env) -> bool:
        code = _value(v, afzender_k)
        if code is None or len(code) != 4 or not code.isdigit():
            return True
        dagtekening = date_of(_value(v, dag_k))
        day = dagtekening if dagtekening is not None else env.today
        start = date_of(_value(v, start_k))
        return env.gemeente_valid(code, day) or (start is not None and env.gemeente_valid(code, start))

    return check


def _tr409(c: Compiler) -> Check:
    bedrag_k, start_k = _slot(c, "kostprijs_bedrag"), _slot(c, "kostprijs_startdatum")

    def check(v: Values, env: Env) -> bool:
        bedrag, start = integer_of(_value(v, bedrag_k)), date_of(_value(v, start_k))
        return bedrag is None or start is None or bedrag < 0 or not env.tariff_fails(bedrag, start)

    return check


def _tr135(c: Compiler) -> Check:
    dag_k = _slot(c, "dagtekening")
    if dag_k is None:
        return passes
    return lambda v, env: (d := date_of(v[dag_k])) is None or not d > env.today


#: rule -> check factory (CS002, CS125 and XSD-DATUM are generic; the final rule is a copy of
#: IEB-DATUM for every message)
CHECKS: dict[Rule, CheckFactory] = {
    tr394: _tr394,
    tr378: _tr378,
    tr409: _tr409,
    tr135: _tr135,
    **{rule: GENERIC_FACTORIES[DATE_RANGE_RULE] for rule in FINAL_RULES},
}
