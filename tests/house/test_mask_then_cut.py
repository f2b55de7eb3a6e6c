"""Privacy: a text is masked before it is cut, never cut before it is masked. ``mask_bsns`` masks a
stand-alone run of 8-10 digits; a cut through a BSN leaves a shorter run (``...99999999`` of
``999999990``: seven or eight digits at the edge) that it no longer recognises, so
``mask_bsns(text[:300])`` can print most of a BSN while ``mask_bsns(text)[:300]`` cannot (attack
finding, session 6: the DVS's HTTP error snippet, a migration database error, a header value)."""

from __future__ import annotations

import ast

from ieb.types import mask_bsns
from tests.reference import ROOT


def _whole_lines(node: ast.Subscript) -> bool:
    """``text.splitlines()[-6:]``: a slice of whole lines cuts no run of digits."""
    value = node.value
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "splitlines"
    )


def _cuts_inside(call: ast.Call) -> bool:
    return any(
        isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and not _whole_lines(node)
        for arg in call.args
        for node in ast.walk(arg)
    )


def test_no_text_is_cut_before_it_is_masked() -> None:
    offenders = []
    for path in sorted((ROOT / "ieb").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "mask_bsns"
                and _cuts_inside(node)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "mask first, then cut: " + ", ".join(offenders)


def test_why_the_order_matters() -> None:
    text = "x" * 293 + "999999990 en verder"
    assert "9999999" in mask_bsns(text[:300])  # cut first: seven digits of the BSN left
    assert "9999999" not in mask_bsns(text)[:300]
