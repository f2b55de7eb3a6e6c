"""ieb.iwmo stands on the facade's layers and nothing below imports it (DESIGN: service/ report/
conformance/ migration/ iwmo/ import the facade; the facade imports none of them)."""

from __future__ import annotations

import grimp


def test_nothing_below_imports_ieb_iwmo_and_it_imports_no_cli() -> None:
    graph = grimp.build_graph("ieb")
    below = [
        "ieb.exchange",
        "ieb.service",
        "ieb.report",
        "ieb.simulator",
        "ieb.transport",
        "ieb.ledger",
        "ieb.validation",
        "ieb.policy",
        "ieb.ggk",
        "ieb.codec",
        "ieb.messages",
        "ieb.types",
    ]
    for package in below:
        assert not graph.chain_exists(importer=package, imported="ieb.iwmo", as_packages=True), package
    assert not graph.chain_exists(importer="ieb.iwmo", imported="ieb.cli", as_packages=True)
    for module in graph.find_children("ieb.iwmo"):
        direct = graph.find_modules_directly_imported_by(module)
        assert not {m for m in direct if m.startswith(("ieb.testing", "ieb.exchange"))}, module
