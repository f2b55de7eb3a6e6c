"""The other side of the exchange, for testing: the CAK (offline, :mod:`ieb.simulator.cak`)."""

from __future__ import annotations

from ieb.simulator.cak import CakConfig, CakResult, CakSimulator

__all__ = ["CakConfig", "CakResult", "CakSimulator"]
