"""The ledger: what was sent to (or, on the CAK side, received by) the CAK, and with what outcome.

* :func:`open_database` - engine on SQLite (default) or PostgreSQL, schema migrated in place
  (the storage floor :mod:`ieb.store`; re-exported here).
* :mod:`ieb.store.schema` - the tables, including the transport's ``outbox``/``inbox``/``audit``.
"""

from __future__ import annotations

from ieb.store.db import open_database

__all__ = ["open_database"]
