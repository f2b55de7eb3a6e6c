"""The ledger tests' database fixtures (SQLite, and PostgreSQL when a server can be had; when none
can be started the PostgreSQL variants skip with a warning, as in tests/ledger), and the soak year
shared by the report and opschonen tests."""

import pytest

from tests.ledger.conftest import db_url, ledger_db_url
from tests.report import soak

__all__ = ["db_url", "ledger_db_url"]


@pytest.fixture(scope="session")
def soak_year(tmp_path_factory: pytest.TempPathFactory) -> soak.Soak:
    """The soak year (tests/report/soak.py, ~6 s), run once per session; each module that uses it
    takes its own copy (:func:`soak.copy`), as it took its own run before."""
    return soak.run(tmp_path_factory.mktemp("soak-year"))
