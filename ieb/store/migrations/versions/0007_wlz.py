"""Wlz-signalen (issue 24): uploads and what they held, signals with proposals, decisions.

The tables are defined in ``ieb.wlz.tables``; this migration creates the same shape.

Revision ID: 0007_wlz
Revises: 0006_iwmo
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_wlz"
down_revision = "0006_iwmo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wlz_uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("peildatum", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bestand", sa.String(500), nullable=False),
        sa.Column("regels", sa.Integer, nullable=False),
        sa.Column("beeindigd", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("verslag_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verslag_geweigerd", sa.Integer, nullable=True),
    )
    op.create_index("ix_wlz_uploads_gemeente", "wlz_uploads", ["gemeente", "id"])
    op.create_table(
        "wlz_uploaded",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "upload_id",
            sa.Integer,
            sa.ForeignKey("wlz_uploads.id", ondelete="CASCADE", name="fk_wlz_uploaded_upload_id_wlz_uploads"),
            nullable=False,
        ),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("productcategorie", sa.String(2), nullable=True),
        sa.Column("begindatum", sa.Date, nullable=False),
        sa.Column("einddatum", sa.Date, nullable=True),
    )
    op.create_index("ix_wlz_uploaded_person", "wlz_uploaded", ["gemeente", "bsn"])
    op.create_index("ix_wlz_uploaded_upload", "wlz_uploaded", ["upload_id"])
    op.create_table(
        "wlz_signals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sleutel", sa.String(64), nullable=False),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("naam", sa.String(200), nullable=True),
        sa.Column("aanvraagdatum", sa.Date, nullable=True),
        sa.Column("afgiftedatum", sa.Date, nullable=True),
        sa.Column("ingangsdatum", sa.Date, nullable=False),
        sa.Column("ontvangen", sa.Date, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bestand", sa.String(500), nullable=False),
        sa.Column("regel", sa.Integer, nullable=False),
        sa.Column("voorstel", sa.String(12), nullable=False),
        sa.Column("voorstel_datum", sa.Date, nullable=True),
        sa.Column("voorstel_reden", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("besluit_id", sa.Integer, nullable=True),
        sa.UniqueConstraint("sleutel", name="uq_wlz_signals_sleutel"),
    )
    op.create_index("ix_wlz_signals_person", "wlz_signals", ["gemeente", "bsn"])
    op.create_index("ix_wlz_signals_status", "wlz_signals", ["status"])
    op.create_table(
        "wlz_besluiten",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("besluit", sa.String(12), nullable=False),
        sa.Column("stopdatum", sa.Date, nullable=True),
        sa.Column("besloten_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bron", sa.String(500), nullable=False),
    )
    op.create_index("ix_wlz_besluiten_person", "wlz_besluiten", ["gemeente", "bsn"])


def downgrade() -> None:
    op.drop_table("wlz_besluiten")
    op.drop_table("wlz_signals")
    op.drop_table("wlz_uploaded")
    op.drop_table("wlz_uploads")
