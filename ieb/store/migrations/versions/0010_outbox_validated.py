"""outbox.validated_sha256: the SHA-256 of the envelope bytes ieb checked against the StUF-GGk
schema when it enqueued them. The client posts a claimed row without checking it again only while
its bytes still have that digest (issue 22: the re-check was a tenth of a send's own CPU); NULL
(rows from before, hand-made envelopes) keeps the check. Additive.

Revision ID: 0010_outbox_validated
Revises: 0009_afzender_release
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_outbox_validated"
down_revision = "0009_afzender_release"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("validated_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("validated_sha256")
