"""Fixtures of the StUF-GGk tests: the published reference (read from outside the project) and payloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ggk_samples import GGK_REFERENCE, envelope_element
from lxml import etree


def _reference() -> Path:
    if not (GGK_REFERENCE / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd").is_file():
        pytest.skip(f"published StUF-GGk 0210 reference not found at {GGK_REFERENCE} (set IEB_REFERENCE_DIR)")
    return GGK_REFERENCE


@pytest.fixture(scope="session")
def ggk_reference() -> Path:
    return _reference()


@pytest.fixture(scope="session")
def published_schema(ggk_reference: Path) -> etree.XMLSchema:
    xsd = ggk_reference / "ggk0210" / "ggkberichten" / "ggk0210_msg_ggkberichten.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.fixture(scope="session")
def our_schema() -> etree.XMLSchema:
    from ieb.ggk import schema_path

    return etree.XMLSchema(etree.parse(str(schema_path())))


@pytest.fixture(scope="session")
def published_examples(ggk_reference: Path) -> dict[str, bytes]:
    files = sorted((ggk_reference / "examples").glob("*.xml"))
    assert files, "no published examples"
    return {f.name: f.read_bytes() for f in files}


@pytest.fixture(scope="session")
def verdicts(
    published_schema: etree.XMLSchema, our_schema: etree.XMLSchema
) -> Callable[[bytes], tuple[bool, bool]]:
    """(valid under ours, valid under the published schema) of a document."""

    def both(data: bytes) -> tuple[bool, bool]:
        el = envelope_element(data)
        return bool(our_schema.validate(el)), bool(published_schema.validate(el))

    return both
