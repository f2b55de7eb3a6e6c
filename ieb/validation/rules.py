"""The in-message rules as addressable checks, by code: the rule engine (:mod:`ieb.releases.rules`)
and the rules the registered packs list.

``rule_by_code("CS002")`` finds a rule in the packs of a registry (the default one unless given);
rules are defined with :func:`ieb.releases.rules.define_rule` and listed by their pack.
"""

from __future__ import annotations

from ieb.dates import IEB_START, add_months
from ieb.errors import ConfigurationError
from ieb.releases import Registry, default_registry
from ieb.releases.rules import DATE_RANGE_RULE, GENERIC_RULES, Rule, RuleContext

__all__ = [
    "DATE_RANGE_RULE",
    "GENERIC_RULES",
    "IEB_START",
    "Rule",
    "RuleContext",
    "add_months",
    "rule_by_code",
]


def rule_by_code(code: str, *, registry: Registry | None = None, release: str | None = None) -> Rule:
    """The in-message rule with this code (``CS002``, ``TR112``, ...) as listed by a pack of
    ``registry`` (``release``: only that pack), else a generic rule. Raises ConfigurationError
    naming the known codes when no pack lists it."""
    registry = registry or default_registry
    known: dict[str, Rule] = {}
    packs = [registry.get(release)] if release is not None else list(registry)
    for pack in packs:
        for rule in (*pack.rules.message, *pack.rules.final):
            known.setdefault(rule.code, rule)
    for rule in (*GENERIC_RULES, DATE_RANGE_RULE):
        known.setdefault(rule.code, rule)
    try:
        return known[code]
    except KeyError:
        raise ConfigurationError(
            f"onbekende regelcode {code!r}; bekend: {', '.join(sorted(known))}"
        ) from None
