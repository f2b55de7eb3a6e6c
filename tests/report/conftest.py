"""The ledger tests' database fixtures (SQLite, and PostgreSQL when a server can be had; when none
can be started the PostgreSQL variants skip with a warning, as in tests/ledger)."""

from tests.ledger.conftest import db_url

__all__ = ["db_url"]
