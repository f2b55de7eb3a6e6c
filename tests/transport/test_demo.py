"""``ieb demo``: simulator + receiver on loopback, real mutual TLS, SQLite; with and without faults."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ieb.cli import app
from ieb.cli.transport import demo_bsns, run_demo
from ieb.simulator.faults import FaultConfig
from ieb.types import bsn_is_valid

KEYS = ["sent", "acknowledged", "retours", "accepted", "rejected", "lost", "duplicates", "seconds"]


def test_demo_without_faults() -> None:
    summary = run_demo(50)
    assert (summary.sent, summary.acknowledged, summary.retours, summary.accepted) == (50, 50, 50, 50)
    assert (summary.rejected, summary.lost, summary.duplicates) == (0, 0, 0)


def test_demo_with_faults_loses_and_duplicates_nothing() -> None:
    faults = FaultConfig(
        seed=11, latency=0.2, http503=0.15, lost_ack=0.15, drop=0.15, duplicate=0.3, latency_max=0.05
    )
    summary = run_demo(50, faults=faults)
    assert (summary.sent, summary.acknowledged, summary.retours) == (50, 50, 50)
    assert (summary.lost, summary.duplicates) == (0, 0)
    injected = summary.details["faults_injected"]
    assert injected.get("http503") and injected.get("lost_ack") and injected.get("duplicate")
    assert summary.details["simulator_redeliveries"] > 0  # lost acknowledgements were resent...
    assert summary.details["callbacks_duplicated"] > 0  # ...and callbacks delivered twice, all absorbed


def test_demo_json_contract_is_the_last_line() -> None:
    result = CliRunner().invoke(app, ["demo", "--count", "5", "--json", "--faults"])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    assert list(data) == KEYS
    assert all(isinstance(data[k], int) for k in KEYS[:-1]) and isinstance(data["seconds"], float)
    assert data["sent"] == data["retours"] == 5 and data["lost"] == 0 and data["duplicates"] == 0


def test_test_bsns_pass_the_11_proef_and_stay_in_the_test_range() -> None:
    bsns = demo_bsns(200)
    assert len(set(bsns)) == 200
    assert all(b.startswith("9999") and bsn_is_valid(b) for b in bsns)
