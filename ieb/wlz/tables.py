"""The Wlz-signalen tables (own MetaData; created by the Alembic migration ``0007_wlz``).

* ``wlz_uploads``: one row per upload CSV written (gemeente, peildatum, when, file, rows) and the
  processing report's outcome once read (``verslag_at``, ``verslag_geweigerd``).
* ``wlz_uploaded``: what each upload held, per voorziening (gemeente, bsn, productcategorie,
  begindatum, einddatum): the memory that makes "ended since the last upload" exact.
* ``wlz_signals``: every signal of samenloop received, once (``sleutel`` is unique: gemeente, bsn
  and the three Wlz dates), with its proposal (``voorstel`` ``stop``/``doorlopen``/``geen``,
  ``voorstel_datum``, ``voorstel_reden``) and ``status`` (``open``, ``besloten``, ``geen_actie``).
  ``naam`` is the only name stored; ``ieb wlz opschonen`` deletes whole rows.
* ``wlz_besluiten``: the clerk's decisions (``stop`` with ``stopdatum`` or ``doorlopen``); they
  outlive purged signals because an accepted stop stays part of the desired state.
"""

from __future__ import annotations

import sqlalchemy as sa

from ieb.store.schema import NAMING_CONVENTION

__all__ = ["metadata", "wlz_besluiten", "wlz_signals", "wlz_uploaded", "wlz_uploads"]

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

wlz_uploads = sa.Table(
    "wlz_uploads",
    metadata,
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
    sa.Index("ix_wlz_uploads_gemeente", "gemeente", "id"),
)

wlz_uploaded = sa.Table(
    "wlz_uploaded",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("wlz_uploads.id", ondelete="CASCADE"), nullable=False),
    sa.Column("gemeente", sa.String(4), nullable=False),
    sa.Column("bsn", sa.String(9), nullable=False),
    sa.Column("productcategorie", sa.String(2), nullable=True),
    sa.Column("begindatum", sa.Date, nullable=False),
    sa.Column("einddatum", sa.Date, nullable=True),
    sa.Index("ix_wlz_uploaded_person", "gemeente", "bsn"),
    sa.Index("ix_wlz_uploaded_upload", "upload_id"),
)

wlz_signals = sa.Table(
    "wlz_signals",
    metadata,
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
    sa.Index("ix_wlz_signals_person", "gemeente", "bsn"),
    sa.Index("ix_wlz_signals_status", "status"),
)

wlz_besluiten = sa.Table(
    "wlz_besluiten",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("gemeente", sa.String(4), nullable=False),
    sa.Column("bsn", sa.String(9), nullable=False),
    sa.Column("besluit", sa.String(12), nullable=False),
    sa.Column("stopdatum", sa.Date, nullable=True),
    sa.Column("besloten_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bron", sa.String(500), nullable=False),
    sa.Index("ix_wlz_besluiten_person", "gemeente", "bsn"),
)
