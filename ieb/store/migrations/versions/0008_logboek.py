"""The logboek of every plan / queue / requeue (issue 26 item 3); see ``ieb.store.logboek``.

Revision ID: 0008_logboek
Revises: 0007_wlz
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_logboek"
down_revision = "0007_wlz"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logboek",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opdracht", sa.String(40), nullable=False),
        sa.Column("gebruiker", sa.String(100), nullable=False),
        sa.Column("bestand", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("release", sa.String(20), nullable=False),
        sa.Column("gemeenten", sa.String(200), nullable=False),
        sa.Column("berichten", sa.Integer, nullable=False),
        sa.Column("geweigerd", sa.Integer, nullable=False),
        sa.Column("uitgesteld", sa.Integer, nullable=False),
        sa.Column("vastgelegd", sa.Boolean, nullable=False),
        sa.Column("uitkomst", sa.String(10), nullable=False),
        sa.Column("toelichting", sa.String(500), nullable=False),
    )
    op.create_index("ix_logboek_at", "logboek", ["at"])


def downgrade() -> None:
    op.drop_index("ix_logboek_at", table_name="logboek")
    op.drop_table("logboek")
