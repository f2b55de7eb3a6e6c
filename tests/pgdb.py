"""Databases the tests make on a PostgreSQL server, and their removal at the end of the session.

Every test database is made by :func:`create_database`, which notes it; ``pytest_sessionfinish``
(tests/conftest.py) calls :func:`drop_created` in each process, so a shared server given by
``$IEB_TEST_POSTGRES_URL`` keeps no database of a finished run (before, every run left a few
hundred: 2,592 databases and 21 GB on a developer's server). A test may drop its own database
earlier; the drop at the end uses ``IF EXISTS``. The throwaway server of tests/conftest.py is
removed whole, so its databases need no drop (a stopped server is skipped quickly).
"""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

__all__ = ["create_database", "drop_created"]

_CREATED: list[tuple[str, str]] = []
_LOCK = threading.Lock()


def create_database(
    server_url: str, prefix: str = "ieb_test_", *, name: str | None = None, template: str | None = None
) -> str:
    """Make an empty database (or a copy of ``template``) on the server at ``server_url`` (an admin
    URL that may create databases) and return its URL; it is dropped at the end of the session."""
    name = name or prefix + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    with _LOCK:
        _CREATED.append((server_url, name))
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_created() -> list[str]:
    """Drop every database :func:`create_database` made in this process (``WITH (FORCE)``: a
    connection a test left open does not keep it); returns the problems, one line each (a server
    that is gone is no problem: its databases went with it)."""
    with _LOCK:
        created, _CREATED[:] = list(_CREATED), []
    problems: list[str] = []
    by_server: dict[str, list[str]] = {}
    for server_url, name in reversed(created):  # copies before their template
        by_server.setdefault(server_url, []).append(name)
    for server_url, names in by_server.items():
        admin = sa.create_engine(
            server_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        try:
            with admin.connect() as conn:
                for name in names:
                    try:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    except sa.exc.DBAPIError as exc:
                        problems.append(f"{name}: {str(exc.orig).strip().splitlines()[0]}")
        except sa.exc.OperationalError:
            continue  # the server is gone (a throwaway one, stopped): nothing is left on it
        finally:
            admin.dispose()
    return problems
