"""Shared test fixtures. Module-specific fixtures live in each test folder's own conftest.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.reference import REFERENCE, ROOT

__all__ = ["REFERENCE", "ROOT", "TEST_BSNS"]

# Property tests judge behaviour, never speed: on a loaded 2-core CI machine one example may take
# longer than hypothesis's 200 ms default deadline. Speed is measured in bench/, not here.
settings.register_profile("ieb", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ieb")

#: Test BSNs: 9999xxxxx, passing the 11-proef.
TEST_BSNS = ("999900006", "999900018", "999900031", "999900043", "999900055", "999900067")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (the full suite, as CI runs it); the default run leaves them out",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The default run leaves out the tests marked ``slow`` (listed as deselected); ``--run-slow``
    runs everything, and an explicit ``-m EXPRESSION`` decides by itself (``-m slow``: only those)."""
    if config.getoption("--run-slow") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "ieb-1.0" / "WMO401.xsd").is_file():
        pytest.skip(f"published reference schemas not found at {REFERENCE} (set IEB_REFERENCE_DIR)")
    return REFERENCE


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed (``--no-deps``) into a fresh folder; returns that
    folder (put it first on PYTHONPATH). Built once per test session (worker)."""
    pytest.importorskip("hatchling")
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "w"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    wheel = next((tmp / "w").glob("ieb-*.whl"))
    target = tmp / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    return target
