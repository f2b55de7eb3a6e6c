"""The voorzieningen store: tables of ``ieb.iwmo`` on a MetaData of its own.

``iwmo_producten`` holds every product of a WMO301/305/307 that was accepted, in reading order
(``id``); the current state (toewijzingen, leveringen) is replayed from it by
:func:`ieb.iwmo.state.replay`, so ``ieb iwmo uitleg`` can always name the messages behind a
period. ``sleutel`` (sha256 of the canonical message + product position) is unique: reading the
same message again (bare or in an envelope) stores nothing. ``iwmo_bestanden`` lists the files read
with their counts. Created by the Alembic migration ``0006_iwmo``; dates are ``DATE``, no timezones.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["iwmo_bestanden", "iwmo_producten", "metadata"]

metadata = sa.MetaData()

iwmo_producten = sa.Table(
    "iwmo_producten",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
    sa.UniqueConstraint("sleutel"),
    sa.Index("ix_iwmo_producten_toewijzing", "gemeente", "toewijzing_nummer"),
    sa.Index("ix_iwmo_producten_bsn", "bsn"),
)

iwmo_bestanden = sa.Table(
    "iwmo_bestanden",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bron", sa.String(500), nullable=False),
    sa.Column("bericht", sa.String(6), nullable=True),
    sa.Column("identificatie", sa.String(12), nullable=True),
    sa.Column("dagtekening", sa.Date, nullable=True),
    sa.Column("opgeslagen", sa.Integer, nullable=False),
    sa.Column("al_gelezen", sa.Integer, nullable=False),
    sa.Column("geweigerd", sa.Integer, nullable=False),
    sa.Column("gelezen_op", sa.DateTime(timezone=True), nullable=False),
)
