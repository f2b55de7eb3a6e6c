"""Fixtures for the ieb-4.0 pack tests: a copy of the stand-in folder to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ieb.releases.ieb_4_0.codec import STAND_IN_DIR


@pytest.fixture
def standin_copy(tmp_path: Path) -> Path:
    """A writable copy of the stand-in XSD folder (an "official" folder to play with)."""
    target = tmp_path / "officieel"
    shutil.copytree(STAND_IN_DIR, target)
    return target
