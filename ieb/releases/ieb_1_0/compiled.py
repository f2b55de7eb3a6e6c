"""The compiled checks of the iEb 1.0 rules (:mod:`.rules`), for :mod:`ieb.releases.compiled`.

One factory per rule of :data:`.rules.RULES` besides the generic CS002/CS125 (whose checks are
generic). Each check reads the same values as its rule, with the same parameters (the revision in
force on the Dagtekening or the forced one, the CBS list, the national tariffs), and answers True
(no finding) or False (a finding); it raises :class:`~ieb.releases.compiled.Unsure` through the
plain readers for a value they do not read. ``tests/releases/test_compiled.py`` checks that the
verdicts equal the engine's. Loaded on first use (``PACK.compiled``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ieb.dates import IEB_START, add_months
from ieb.releases.compiled import Check, CheckFactory, Compiler, Env, Values, date_of, integer_of, passes
from ieb.releases.ieb_1_0.revisions import Revision, revision_on
from ieb.releases.ieb_1_0.rules import RULES
from ieb.releases.ieb_1_0.table import VERSIONS
from ieb.releases.rules import Rule

__all__ = ["CHECKS"]

_DAGTEKENING = "m:Header/m:BerichtIdentificatie/b:Dagtekening"
_BOTH = ("StartEigenBijdrage", "StopEigenBijdrage")
_FOUR_DIGITS = frozenset("0123456789")

#: the revision in force per Dagtekening, and shifted Dagtekeningen: pure functions of a few values
#: that repeat from file to file, remembered (bounded: emptied when full)
_IN_FORCE: dict[dt.date | None, Revision] = {}
#: (id of revision, rule, Dagtekening) -> (the revision, kept so no id is reused; months; limit)
_LIMITS: dict[tuple[int, str, dt.date], tuple[Revision, int, dt.date]] = {}
_MAX = 4096


def _revision(env: Env, dagtekening: dt.date | None) -> Revision:
    """The forced revision, or the one in force on the Dagtekening (as the rules' ``_revision``)."""
    forced = env.revision
    if isinstance(forced, Revision):
        return forced
    rev = _IN_FORCE.get(dagtekening)
    if rev is None:
        if len(_IN_FORCE) >= _MAX:
            _IN_FORCE.clear()
        rev = _IN_FORCE[dagtekening] = revision_on(dagtekening)
    return rev


def _limit(rev: Revision, code: str, back: bool, dagtekening: dt.date) -> tuple[int, dt.date]:
    """The window of ``code`` in ``rev``: months (negative: back) and the Dagtekening shifted by
    them (``add_months``), remembered per revision, rule and Dagtekening."""
    key = (id(rev), code, dagtekening)
    hit = _LIMITS.get(key)
    if hit is None or hit[0] is not rev:
        months = -rev.months_back(code) if back else rev.months_ahead(code)
        if len(_LIMITS) >= _MAX:
            _LIMITS.clear()
        hit = _LIMITS[key] = (rev, months, add_months(dagtekening, months))
    return hit[1], hit[2]


def _header(element: str, expected: Callable[[Compiler], str | int | None]) -> CheckFactory:
    """CS015 / CS025 / CS126: a Header value, when present, equals the table's."""

    def build(c: Compiler) -> Check:
        want = expected(c)
        if want is None or want == "":
            return passes
        k = c.at(f"m:Header/m:{element}")
        if isinstance(want, int):
            plain = str(want)  # the usual text: no integer reading (integer_of(plain) == want)
            return lambda v, env: (t := v[k]) == plain or (n := integer_of(t)) is None or n == want
        return lambda v, env: v[k] is None or v[k] == want

    return build


def _cs300_check(c: Compiler) -> Check:
    afzender, dag = c.at("m:Header/m:Afzender"), c.at(_DAGTEKENING)

    def check(v: Values, env: Env) -> bool:
        code = v[afzender]
        if code is None or len(code) != 4 or not _FOUR_DIGITS.issuperset(code):
            return True
        dagtekening = date_of(v[dag])
        return env.gemeente_valid(code, dagtekening if dagtekening is not None else env.today)

    return check


def _datum(c: Compiler) -> int:
    return c.at(f"m:Client/m:{c.spec.klasse or ''}/m:{c.spec.date_element or ''}")


def _cs332_check(c: Compiler) -> Check:
    k = _datum(c)
    return lambda v, env: (day := date_of(v[k])) is None or not day < IEB_START


def _cs333_check(c: Compiler) -> Check:
    base = "m:Client/m:StartEigenBijdrage/m:EbKostprijs"
    bedrag_k, start_k = c.at(f"{base}/b:KostprijsBedrag"), c.at(f"{base}/b:KostprijsStartdatum")

    def check(v: Values, env: Env) -> bool:
        bedrag, start = integer_of(v[bedrag_k]), date_of(v[start_k])
        return bedrag is None or start is None or bedrag < 0 or not env.tariff_fails(bedrag, start)

    return check


def _cs334_check(c: Compiler) -> Check:
    start_k = c.at("m:Client/m:StartEigenBijdrage/m:EbStartdatum")
    kstart_k = c.at("m:Client/m:StartEigenBijdrage/m:EbKostprijs/b:KostprijsStartdatum")

    def check(v: Values, env: Env) -> bool:
        start, kstart = date_of(v[start_k]), date_of(v[kstart_k])
        return start is None or kstart is None or not kstart < start

    return check


def _window_check(
    code: str, status: str, back: bool, klassen: tuple[str, ...], tr112: bool = False
) -> CheckFactory:
    """TR112 / TR113 / TR116 / TR117: the klasse's date within the revision's window (months back
    or ahead of the Dagtekening, from the revision's ``months_back`` / ``months_ahead``)."""

    def build(c: Compiler) -> Check:
        klasse = c.spec.klasse or ""
        if klasse not in klassen:
            return passes
        datum_k, dag_k = _datum(c), c.at(_DAGTEKENING)
        status_k = c.at(f"m:Client/m:{klasse}/m:StatusAanlevering")
        name = c.spec.name

        def check(v: Values, env: Env) -> bool:
            dagtekening = date_of(v[dag_k])
            rev = _revision(env, dagtekening)
            if tr112 and name not in rev.tr112_messages:
                return True
            if v[status_k] != status:
                return True
            day = date_of(v[datum_k])
            if dagtekening is None or day is None:
                return True
            months, limit = _limit(rev, code, back, dagtekening)
            return not ((months < 0 and day < limit) or (months > 0 and day > limit))

        return check

    return build


def _r8848_check(c: Compiler) -> Check:
    k = c.at(_DAGTEKENING)
    return lambda v, env: (d := date_of(v[k])) is None or not d > env.today


_BY_CODE = {rule.code: rule for rule in RULES}
_FACTORIES: dict[str, CheckFactory] = {
    "CS015": _header("BerichtSubversie", lambda c: VERSIONS.bericht_subversie),
    "CS025": _header("BerichtVersie", lambda c: VERSIONS.bericht_versie),
    "CS126": _header("BerichtCode", lambda c: c.spec.bericht_code),
    "CS300": _cs300_check,
    "CS332": _cs332_check,
    "CS333": _cs333_check,
    "CS334": _cs334_check,
    "TR112": _window_check("TR112", "1", True, _BOTH, tr112=True),
    "TR113": _window_check("TR113", "1", False, _BOTH),
    "TR116": _window_check("TR116", "2", True, ("StopEigenBijdrage",)),
    "TR117": _window_check("TR117", "2", False, ("StopEigenBijdrage",)),
    "8848": _r8848_check,
}
#: rule -> check factory (the generic CS002 and CS125 have theirs in ieb.releases.compiled)
CHECKS: dict[Rule, CheckFactory] = {_BY_CODE[code]: factory for code, factory in _FACTORIES.items()}
