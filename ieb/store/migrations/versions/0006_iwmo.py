"""iWmo voorzieningen store (constraint names by the store's naming convention): iwmo_producten (every accepted WMO301/305/307 product, in reading
order, unique sleutel) and iwmo_bestanden (the files read). See ieb/iwmo/tables.py.

Revision ID: 0006_iwmo
Revises: 0005_stopdatum
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_iwmo"
down_revision = "0005_stopdatum"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iwmo_producten",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("sleutel", sa.String(80), nullable=False),
        sa.Column("bron", sa.String(500), nullable=False),
        sa.Column("regel", sa.Integer, nullable=False),
        sa.Column("bericht", sa.String(6), nullable=False),
        sa.Column("identificatie", sa.String(12), nullable=False),
        sa.Column("dagtekening", sa.Date, nullable=False),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("aanbieder", sa.String(8), nullable=False),
        sa.Column("bsn", sa.String(9), nullable=False),
        sa.Column("geboortedatum", sa.Date, nullable=True),
        sa.Column("geslacht", sa.String(1), nullable=True),
        sa.Column("toewijzing_nummer", sa.BigInteger, nullable=False),
        sa.Column("categorie", sa.String(2), nullable=True),
        sa.Column("productcode", sa.String(5), nullable=True),
        sa.Column("status", sa.String(1), nullable=True),
        sa.Column("begindatum", sa.Date, nullable=False),
        sa.Column("einddatum", sa.Date, nullable=True),
        sa.Column("reden", sa.String(2), nullable=True),
        sa.Column("volume", sa.BigInteger, nullable=True),
        sa.Column("eenheid", sa.String(2), nullable=True),
        sa.Column("frequentie", sa.String(1), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_iwmo_producten"),
        sa.UniqueConstraint("sleutel", name="uq_iwmo_producten_sleutel"),
    )
    op.create_index("ix_iwmo_producten_toewijzing", "iwmo_producten", ["gemeente", "toewijzing_nummer"])
    op.create_index("ix_iwmo_producten_bsn", "iwmo_producten", ["bsn"])
    op.create_table(
        "iwmo_bestanden",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("bron", sa.String(500), nullable=False),
        sa.Column("bericht", sa.String(6), nullable=True),
        sa.Column("identificatie", sa.String(12), nullable=True),
        sa.Column("dagtekening", sa.Date, nullable=True),
        sa.Column("opgeslagen", sa.Integer, nullable=False),
        sa.Column("al_gelezen", sa.Integer, nullable=False),
        sa.Column("geweigerd", sa.Integer, nullable=False),
        sa.Column("gelezen_op", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iwmo_bestanden"),
    )


def downgrade() -> None:
    op.drop_table("iwmo_bestanden")
    op.drop_index("ix_iwmo_producten_bsn", table_name="iwmo_producten")
    op.drop_index("ix_iwmo_producten_toewijzing", table_name="iwmo_producten")
    op.drop_table("iwmo_producten")
