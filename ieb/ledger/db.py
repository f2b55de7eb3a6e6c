"""Moved to :mod:`ieb.store.db` (the storage floor); this name stays for one release."""

from __future__ import annotations

from ieb.store.db import DEFAULT_DB, database_url, head_revision, open_database, schema_revision

__all__ = ["DEFAULT_DB", "database_url", "head_revision", "open_database", "schema_revision"]
