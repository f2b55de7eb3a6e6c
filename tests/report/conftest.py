"""The ledger tests' database fixtures (SQLite, and PostgreSQL when a server can be had)."""

from tests.ledger.conftest import db_url, postgres_server_url, pytest_terminal_summary

__all__ = ["db_url", "postgres_server_url", "pytest_terminal_summary"]
