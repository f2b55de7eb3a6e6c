"""One rule mechanism: every rule defined anywhere in ieb belongs to a pack that lists it, and every
rule a pack lists is defined (item 2 of issue 19)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import ieb
from ieb.releases import Registry, default_registry, scan_folder
from ieb.releases.pack import ReleasePack, RuleKind
from ieb.releases.rules import Rule

FIXTURE = Path(__file__).parent.parent / "fixtures" / "release-tst-9.9"
#: modules not imported for the census: the CLI entry (runs on import); Alembic scripts (any .migrations)
SKIP = ("ieb.__main__",)


def _modules() -> list[Any]:
    out = []
    for info in pkgutil.walk_packages(ieb.__path__, "ieb."):
        if info.name.startswith(SKIP) or ".migrations" in info.name:
            continue
        out.append(importlib.import_module(info.name))
    return out


def _packs() -> list[ReleasePack]:
    return [*default_registry, scan_folder(FIXTURE)]


def _defined(kind_type: type) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for module in _modules():
        for value in vars(module).values():
            if isinstance(value, kind_type):
                found[id(value)] = value
            elif isinstance(value, tuple) and value and all(isinstance(v, kind_type) for v in value):
                found.update((id(v), v) for v in value)
    return found


def test_every_message_rule_is_listed_by_a_pack() -> None:
    listed = {id(r) for pack in _packs() for r in (*pack.rules.message, *pack.rules.final)}
    orphans = [r.code for key, r in _defined(Rule).items() if key not in listed]
    assert orphans == [], f"regels die geen pack noemt: {orphans}"


def test_every_history_rule_is_listed_and_every_listed_one_defined() -> None:
    from ieb.ledger.history import HistoryRule

    defined = list(_defined(HistoryRule).values())
    assert defined
    listed = {c for pack in _packs() for c in pack.rules.history}
    assert sorted({r.code for r in defined} - listed) == []
    for pack in _packs():
        pack.rules.select(RuleKind.HISTORY, defined)  # raises when a listed code is not defined


def test_every_retour_check_is_listed_and_every_listed_one_defined() -> None:
    from ieb.conformance.retourcheck import RETOURCHECK_CODES

    listed = {c for pack in _packs() for c in pack.rules.retour}
    assert listed == set(RETOURCHECK_CODES)


def test_retourcode_table_names_only_listed_rules() -> None:
    for pack in _packs():
        codes = set(pack.rules.codes())
        for retourcode, rules in pack.retourcodes.rules_of.items():
            assert set(rules) <= codes, (pack.name, retourcode, rules)


def test_an_unlisted_rule_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule belongs to the pack that lists it: a registry whose pack lists no in-message rules
    runs the generic checks only, never another pack's rules."""
    import dataclasses

    from ieb.releases.pack import RuleSet
    from ieb.validation import validate_bytes

    sample = Path(__file__).parent.parent / "core" / "samples" / "invalid" / "cs015-subversie.xml"
    pack = default_registry.get("ieb-1.0")
    bare = dataclasses.replace(pack, rules=RuleSet())
    assert "CS015" in validate_bytes(sample.read_bytes(), registry=Registry([pack])).codes
    assert "CS015" not in validate_bytes(sample.read_bytes(), registry=Registry([bare])).codes
