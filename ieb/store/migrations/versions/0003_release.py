"""Releases: a delivery records the release it was written in; the 1.0 list of berichten goes.

``deliveries.release`` names the release pack of each delivery (rows stored before this revision
were all written in ``ieb-1.0``). The CHECK on ``deliveries.bericht`` listed the two heenberichten
of iEb 1.0; which berichten exist is now the release pack's knowledge, not the database's, and
``bericht`` is widened from 6 to 16 characters for releases with longer names.

It also gives the CHECK constraints the names the schema declares: revisions 0001/0002 passed
full names through the naming convention, so the databases hold ``ck_deliveries_ck_deliveries_status``
where :mod:`ieb.store.schema` says ``ck_deliveries_status`` (found by the live-schema test).

Revision ID: 0003_release
Revises: 0002_exchange
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_release"
down_revision = "0002_exchange"
branch_labels = None
depends_on = None

#: the release of every delivery stored before this revision
_FIRST_RELEASE = "ieb-1.0"
#: the CHECK of revision 0001, restored by the downgrade (a fact of the 1.0 database)
_OLD_CHECK = "bericht IN ('WMO401', 'WMO403')"
#: (table, short name, condition) of the CHECKs whose stored name was doubled by 0001
_CHECKS = (
    ("deliveries", "status", "status IN ('1', '2', '3')"),
    ("deliveries", "outcome", "outcome IN ('pending', 'accepted', 'rejected', 'not_assessed', 'technical')"),
    ("outbox", "status", "status IN ('pending', 'sending', 'acknowledged', 'failed', 'dead')"),
    ("inbox", "status", "status IN ('received', 'processed', 'failed', 'duplicate')"),
    ("audit", "direction", "direction IN ('in', 'out')"),
)


def _doubled(table: str, short: str) -> str:
    return f"ck_{table}_ck_{table}_{short}"


def _rename_checks(*, to_schema: bool) -> None:
    for table in ("deliveries", "outbox", "inbox", "audit"):
        with op.batch_alter_table(table) as batch:
            for name, short, condition in _CHECKS:
                if name != table:
                    continue
                right, doubled = f"ck_{table}_{short}", _doubled(table, short)
                old, new = (doubled, right) if to_schema else (right, doubled)
                batch.drop_constraint(op.f(old), type_="check")
                batch.create_check_constraint(op.f(new), condition)


def upgrade() -> None:
    _rename_checks(to_schema=True)
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(op.f(_doubled("deliveries", "bericht")), type_="check")
        batch.alter_column(
            "bericht", existing_type=sa.String(6), type_=sa.String(16), existing_nullable=False
        )
        batch.add_column(
            sa.Column("release", sa.String(32), nullable=False, server_default=sa.text(f"'{_FIRST_RELEASE}'"))
        )
    # the default only fills the existing rows: every new delivery names its release
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column(
            "release", existing_type=sa.String(32), existing_nullable=False, server_default=None
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("release")
        batch.alter_column(
            "bericht", existing_type=sa.String(16), type_=sa.String(6), existing_nullable=False
        )
        batch.create_check_constraint(op.f(_doubled("deliveries", "bericht")), _OLD_CHECK)
    _rename_checks(to_schema=False)
