"""Periods: a delivery whose one record carries start and stop (iEb 4.0) keeps its stop date.

``deliveries.stopdatum`` is the EbStopdatum of such a record (NULL for every delivery of iEb 1.0,
where the stop is a delivery of its own with the date in ``datum``).

Revision ID: 0005_stopdatum
Revises: 0004_outbox_order
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_stopdatum"
down_revision = "0004_outbox_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("stopdatum", sa.Date, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("stopdatum")
