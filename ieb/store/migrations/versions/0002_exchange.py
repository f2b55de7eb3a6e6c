"""Exchange: a race-free duplicate-retour check in the inbox and a join index outbox -> deliveries.

``inbox.retour_of`` holds the crossRefnummer of the first retour (Du01) stored for a heenbericht;
its unique index makes "is this the second retour?" a constraint, not a SELECT-then-INSERT.

Revision ID: 0002_exchange
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_exchange"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbox", sa.Column("retour_of", sa.String(36), nullable=True))
    op.create_index("uq_inbox_retour_of", "inbox", ["retour_of"], unique=True)
    op.create_index(
        "ix_outbox_afzender_bericht_identificatie", "outbox", ["afzender", "bericht_identificatie"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_afzender_bericht_identificatie", table_name="outbox")
    op.drop_index("uq_inbox_retour_of", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("retour_of")
