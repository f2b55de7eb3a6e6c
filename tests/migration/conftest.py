"""The ledger suite's database fixtures (SQLite and PostgreSQL) for the initial delivery tests."""

from __future__ import annotations

from tests.ledger.conftest import db_url, ledger_db_url

__all__ = ["db_url", "ledger_db_url"]
