"""Fixtures of the conformance-kit tests: the published rapport XSD (kept outside the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("IEB_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def rapport_schema() -> etree.XMLSchema:
    path = REFERENCE / "validatie-rapport-1.1" / "rapport.xsd"
    if not path.is_file():
        pytest.skip(f"published rapport XSD not found at {path} (set IEB_REFERENCE_DIR)")
    return etree.XMLSchema(etree.parse(str(path)))


def assert_rapport_valid(schema: etree.XMLSchema, data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    assert schema.validate(root), f"{schema.error_log}\n{data.decode()}"
    return root
