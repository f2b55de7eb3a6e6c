#!/usr/bin/env python3
"""A deliberately wrong sender for ``ieb conformance run``: it deletes a start before its stop.

It is ieb's own reference target with one change in the order of sending: every deletion of a
start (WMO401 status 3) goes first. The CAK refuses such a deletion while the start still has a
stop (TR071, retourcode 9071), so the scenario ``stop-en-start-verwijderen`` must fail; the
scenarios without deletions of a start with a stop pass. That is iEb 1.0: in iEb 4.0 a period and
its stop are one record and every scenario passes. Run::

    ieb conformance run --release ieb-1.0 --target "python examples/wrong-sender/wrong_sender.py" --format junit
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ieb.conformance.target import main


def start_deletions_first(messages: Sequence[Any]) -> list[Any]:
    """The wrong order: WMO401 status 3 before everything else (so before the stop's deletion)."""
    return sorted(messages, key=lambda m: not (m.delivery.bericht == "WMO401" and m.delivery.status == "3"))


if __name__ == "__main__":
    raise SystemExit(main(order=start_deletions_first))
