"""Fixtures for the policy tests; builders live in ``policy_builders.py``."""

from __future__ import annotations

import pytest

from ieb.policy import GemeenteParameters


@pytest.fixture
def gemeente() -> GemeenteParameters:
    return GemeenteParameters(gemeentecode="0363")
