"""One addressable check per rule code: each shown firing and not firing, on its own."""

import datetime as dt
from pathlib import Path

import pytest

from ieb.errors import ConfigurationError
from ieb.policy.tariffs import NATIONAL_TARIFFS, Tariff
from ieb.releases import get_release
from ieb.validation import validate_bytes
from ieb.validation.gemeenten import GemeenteLijst, bundled_gemeenten
from ieb.validation.rules import RuleContext, add_months, rule_by_code
from ieb.xmlsafe import parse_bytes

SAMPLES = Path(__file__).parent / "samples"
TODAY = dt.date(2026, 6, 1)

# rule code -> (sample where it fires, sample where it does not)
CASES = {
    "CS002": ("invalid/cs002-bsn-11proef.xml", "valid/wmo401-start.xml"),
    "CS015": ("invalid/cs015-subversie.xml", "valid/wmo401-start.xml"),
    "CS025": ("invalid/cs025-versie.xml", "valid/wmo403-stop.xml"),
    "CS125": ("invalid/cs125-status-9.xml", "valid/wmo401-delete.xml"),
    "CS126": ("invalid/cs126-berichtcode.xml", "valid/wmo401-start.xml"),
    "CS300": ("invalid/cs300-ended-gemeente.xml", "valid/wmo401-start.xml"),
    "CS332": ("invalid/cs332-before-2020.xml", "valid/wmo401-window-edges.xml"),
    "CS333": ("invalid/cs333-kostprijs-below-tariff.xml", "valid/wmo401-kostprijs.xml"),
    "CS334": ("invalid/cs334-kostprijs-before-start.xml", "valid/wmo401-kostprijs.xml"),
    "TR112": ("invalid/tr112-start-too-old.xml", "valid/wmo401-window-edges.xml"),
    "TR113": ("invalid/tr113-stop-too-far.xml", "valid/wmo401-future-month.xml"),
    "TR116": ("invalid/tr116-stop-change-too-old.xml", "valid/wmo403-change.xml"),
    "TR117": ("invalid/tr117-stop-change-too-far.xml", "valid/wmo403-change.xml"),
    "8848": ("invalid/8848-dagtekening-future.xml", "valid/wmo401-start.xml"),
}


def _run(code: str, name: str) -> list[str]:
    root = parse_bytes((SAMPLES / name).read_bytes())
    _, spec = __import__("ieb.releases", fromlist=["default_registry"]).default_registry.detect(root)
    ctx = RuleContext(root=root, spec=spec, today=TODAY, gemeenten_loader=bundled_gemeenten)
    return [i.code for i in rule_by_code(code).run(ctx)]


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fires_and_does_not_fire(code: str) -> None:
    fires, quiet = CASES[code]
    assert _run(code, fires) == [code]
    assert _run(code, quiet) == []


def test_every_ieb_rule_has_a_case() -> None:
    codes = {r.code for r in get_release("ieb-1.0").rules}
    assert codes - set(CASES) == set(), "every rule needs a firing/not-firing case"


def test_unknown_rule_code() -> None:
    with pytest.raises(ConfigurationError, match="onbekende regelcode"):
        rule_by_code("TR999")


def test_tr113_does_not_apply_to_changes() -> None:
    data = (
        (SAMPLES / "invalid/tr113-start-too-far.xml")
        .read_bytes()
        .replace(b"<wmo401:StatusAanlevering>1<", b"<wmo401:StatusAanlevering>2<")
    )
    assert validate_bytes(data, today=TODAY).codes == []


def test_window_arithmetic_clamps_month_ends() -> None:
    assert add_months(dt.date(2026, 3, 31), -1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2024, 2, 29), -12) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)


def test_cs300_uses_the_date_and_a_user_list() -> None:
    lijst = bundled_gemeenten()
    assert lijst.is_valid("0363", dt.date(2026, 1, 1))
    assert lijst.is_valid("0501", dt.date(2022, 12, 31))  # Brielle, until Voorne aan Zee
    assert not lijst.is_valid("0501", dt.date(2023, 1, 1))
    assert len(lijst.valid_on(dt.date(2020, 1, 1))) >= 355
    data = (SAMPLES / "valid/wmo401-start.xml").read_bytes()
    own = GemeenteLijst.from_text("code,naam,ingangsdatum,einddatum\n0599,Rotterdam,,\n")
    assert validate_bytes(data, today=TODAY, gemeenten=own).codes == ["CS300"]
    with pytest.raises(ConfigurationError):
        GemeenteLijst.from_text("code;naam\n0363;Amsterdam\n")


def test_cs333_uses_the_date_effective_tariff() -> None:
    data = (SAMPLES / "valid/wmo401-kostprijs.xml").read_bytes().replace(b">57000<", b">2181<")
    assert validate_bytes(data, today=TODAY).codes == []  # one cent above the 2026 tariff is enough
    equal = data.replace(b">2181<", b">2180<")  # S333 "niet groter dan nationaal tarief": equal fails
    assert validate_bytes(equal, today=TODAY).codes == ["CS333"]
    raised = NATIONAL_TARIFFS.extended([Tariff(dt.date(2026, 5, 1), 2500)])
    assert validate_bytes(data, today=TODAY, tariffs=raised).codes == ["CS333"]
