"""Initial schema: ledger (counters, eb_start_nummers, deliveries) and transport (outbox, inbox, audit).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
NOW = sa.func.current_timestamp()


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("scope", "kind", name="pk_counters"),
    )
    op.create_table(
        "eb_start_nummers",
        sa.Column("afzender", sa.String(4), nullable=False),
        sa.Column("eb_start_nummer", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("afzender", "eb_start_nummer", name="pk_eb_start_nummers"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("afzender", sa.String(4), nullable=False),
        sa.Column("identificatie", sa.String(12), nullable=False),
        sa.Column("dagtekening", sa.Date, nullable=False),
        sa.Column("bericht", sa.String(6), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("eb_start_nummer", sa.Integer, nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("datum", sa.Date, nullable=False),
        sa.Column("kostprijs_bedrag", sa.Integer, nullable=True),
        sa.Column("kostprijs_startdatum", sa.Date, nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("source", sa.String(255), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("retour_codes", sa.String(200), nullable=True),
        sa.Column("retour_identificatie", sa.String(12), nullable=True),
        sa.Column("retour_dagtekening", sa.Date, nullable=True),
        sa.Column("retour_payload", sa.LargeBinary, nullable=True),
        sa.Column("retour_source", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.Column("retour_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint(
            "afzender",
            "identificatie",
            "dagtekening",
            name="uq_deliveries_afzender_identificatie_dagtekening",
        ),
        sa.CheckConstraint("bericht IN ('WMO401', 'WMO403')", name="ck_deliveries_bericht"),
        sa.CheckConstraint("status IN ('1', '2', '3')", name="ck_deliveries_status"),
        sa.CheckConstraint(
            "outcome IN ('pending', 'accepted', 'rejected', 'not_assessed', 'technical')",
            name="ck_deliveries_outcome",
        ),
    )
    op.create_index("ix_deliveries_afzender_eb_start_nummer", "deliveries", ["afzender", "eb_start_nummer"])
    op.create_index("ix_deliveries_afzender_bsn", "deliveries", ["afzender", "bsn"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("referentienummer", sa.String(36), nullable=False),
        sa.Column("afzender", sa.String(4), nullable=True),
        sa.Column("functie", sa.String(16), nullable=True),
        sa.Column("bericht_identificatie", sa.String(12), nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=True),
        sa.Column("envelope", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False, server_default=NOW),
        sa.Column("updated_at", TZ, nullable=False, server_default=NOW),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("referentienummer", name="uq_outbox_referentienummer"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'acknowledged', 'failed', 'dead')", name="ck_outbox_status"
        ),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("referentienummer", sa.String(36), nullable=False),
        sa.Column("cross_ref_nummer", sa.String(36), nullable=True),
        sa.Column("berichtcode", sa.String(8), nullable=True),
        sa.Column("functie", sa.String(16), nullable=True),
        sa.Column("zender", sa.String(32), nullable=True),
        sa.Column("peer_oin", sa.String(20), nullable=True),
        sa.Column("envelope", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("received_at", TZ, nullable=False, server_default=NOW),
        sa.Column("processed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("referentienummer", name="uq_inbox_referentienummer"),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'failed', 'duplicate')", name="ck_inbox_status"
        ),
    )
    op.create_index("ix_inbox_cross_ref_nummer", "inbox", ["cross_ref_nummer"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("at", TZ, nullable=False, server_default=NOW),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("referentienummer", sa.String(36), nullable=True),
        sa.Column("cross_ref_nummer", sa.String(36), nullable=True),
        sa.Column("functie", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_audit_direction"),
    )


def downgrade() -> None:
    for table in ("audit", "inbox", "outbox", "deliveries", "eb_start_nummers", "counters"):
        op.drop_table(table)
