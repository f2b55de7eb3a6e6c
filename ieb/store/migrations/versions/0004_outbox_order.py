"""Outbox order per person: ``outbox.person`` names the person a row is about, so the sender can
keep one person's messages in order with one indexed lookup (issue 21).

``person`` is ``<afzender>:<first 24 hex digits of sha256("<afzender>:<bsn>")>`` (no BSN in the
outbox's own columns), NULL for rows without a ledger delivery (hand-made envelopes, the
simulator's callbacks). The index ``(person, id)`` serves the claim's "is an earlier message of
this person still open" check. Existing rows are filled from their deliveries.

Revision ID: 0004_outbox_order
Revises: 0003_release
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox_order"
down_revision = "0003_release"
branch_labels = None
depends_on = None


def _person(afzender: str, bsn: str) -> str:
    """The same formula as :func:`ieb.transport.outbox.person_key` (kept here: a migration never changes)."""
    return f"{afzender}:{hashlib.sha256(f'{afzender}:{bsn}'.encode()).hexdigest()[:24]}"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("person", sa.String(40), nullable=True))
        batch.create_index("ix_outbox_person_id", ["person", "id"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT o.id, o.afzender, d.bsn FROM outbox o JOIN deliveries d "
            "ON d.afzender = o.afzender AND d.identificatie = o.bericht_identificatie"
        )
    ).all()
    for row_id, afzender, bsn in rows:
        conn.execute(
            sa.text("UPDATE outbox SET person = :p WHERE id = :i"), {"p": _person(afzender, bsn), "i": row_id}
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_person_id")
        batch.drop_column("person")
