"""An index on deliveries (afzender, release): ``plan()`` asks which releases a gemeente sent in
(a ledger moves forward through releases, never back) with a few index lookups instead of reading
every delivery of the gemeente (issue 22: 0.5 s per ``plan()`` call on a ledger of 100,000 starts).

Revision ID: 0009_afzender_release
Revises: 0008_logboek
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009_afzender_release"
down_revision = "0008_logboek"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_afzender_release", "deliveries", ["afzender", "release"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_afzender_release", table_name="deliveries")
