"""The database schema: every table of an ``ieb`` database (the ledger, the transport's outbox,
inbox and audit, the iWmo voorzieningen, the Wlz-signalen and the logboek).

All tables live on one :data:`metadata` with a naming convention, so constraint names are stable
across SQLite and PostgreSQL and Alembic migrations can refer to them. The schema is created and
upgraded only through the migrations in :mod:`ieb.store.migrations` (see
:func:`ieb.store.db.open_database`); never call ``metadata.create_all`` on a real database.

One database holds the ledger of one party: a municipality's own deliveries (``ieb plan``,
``ieb retour``) or the CAK's view in the simulator (``ieb simulate process``).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "DELIVERY_OUTCOMES",
    "FIRST_RELEASE",
    "INBOX_STATUSES",
    "OUTBOX_STATUSES",
    "audit",
    "counters",
    "deliveries",
    "eb_start_nummers",
    "inbox",
    "iwmo_bestanden",
    "iwmo_producten",
    "logboek",
    "metadata",
    "outbox",
    "wlz_besluiten",
    "wlz_signals",
    "wlz_uploaded",
    "wlz_uploads",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

TZ = sa.DateTime(timezone=True)
NOW = sa.func.current_timestamp()

#: the release of every delivery stored before deliveries recorded theirs (migration 0003)
FIRST_RELEASE = "ieb-1.0"
#: outcome of a delivery (a heenbericht) in the ledger
DELIVERY_OUTCOMES = ("pending", "accepted", "rejected", "not_assessed", "technical")
OUTBOX_STATUSES = ("pending", "sending", "acknowledged", "failed", "dead")
INBOX_STATUSES = ("received", "processed", "failed", "duplicate")

# ------------------------------------------------------------------ ledger

#: Sequences per scope: ``(afzender, "eb_start_nummer")``, ``(afzender, "identificatie")``,
#: ``("cak", "retour")``. Allocation is ``UPDATE ... SET last_value = last_value + 1 RETURNING``,
#: which serialises concurrent writers on both databases.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
)

#: Every EbStartNummer ever used within a gemeente (OP290): the primary key makes a number unique.
eb_start_nummers = sa.Table(
    "eb_start_nummers",
    metadata,
    sa.Column("afzender", sa.String(4), primary_key=True),
    sa.Column("eb_start_nummer", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("bsn", sa.String(9), nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=NOW),
)

#: One row per heenbericht: the delivery it carries, the release pack it was written in
#: (``release``, e.g. ``"ieb-1.0"``), the file itself and the retour outcome. Which berichten exist
#: is the release pack's knowledge (no CHECK here since migration 0003). The full history of a start
#: or stop is the rows with the same (afzender, eb_start_nummer, bericht) in ``id`` order.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("afzender", sa.String(4), nullable=False),
    sa.Column("identificatie", sa.String(12), nullable=False),
    sa.Column("dagtekening", sa.Date, nullable=False),
    sa.Column("bericht", sa.String(16), nullable=False),
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
    sa.Column("release", sa.String(32), nullable=False),
    #: the EbStopdatum of a record that carries start and stop (iEb 4.0; migration 0005)
    sa.Column("stopdatum", sa.Date, nullable=True),
    sa.UniqueConstraint("afzender", "identificatie", "dagtekening"),
    sa.CheckConstraint("status IN ('1', '2', '3')", name="status"),
    sa.CheckConstraint(
        "outcome IN ('pending', 'accepted', 'rejected', 'not_assessed', 'technical')", name="outcome"
    ),
    sa.Index(None, "afzender", "eb_start_nummer"),
    sa.Index(None, "afzender", "bsn"),
    #: the releases a gemeente sent in, read without a scan of its deliveries (migration 0009)
    sa.Index(None, "afzender", "release"),
)

# ------------------------------------------------------------------ transport

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("referentienummer", sa.String(36), nullable=False, unique=True),
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
    sa.CheckConstraint("status IN ('pending', 'sending', 'acknowledged', 'failed', 'dead')", name="status"),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "afzender", "bericht_identificatie"),
    # issue 21 (revision 0004_outbox_order): the person a row is about, for the order per person
    sa.Column("person", sa.String(40), nullable=True),
    sa.Index("ix_outbox_person_id", "person", "id"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("referentienummer", sa.String(36), nullable=False, unique=True),
    sa.Column("cross_ref_nummer", sa.String(36), nullable=True, index=True),
    sa.Column("berichtcode", sa.String(8), nullable=True),
    sa.Column("functie", sa.String(16), nullable=True),
    sa.Column("zender", sa.String(32), nullable=True),
    sa.Column("peer_oin", sa.String(20), nullable=True),
    sa.Column("envelope", sa.LargeBinary, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("received_at", TZ, nullable=False, server_default=NOW),
    sa.Column("processed_at", TZ, nullable=True),
    #: crossRefnummer of the FIRST retour (Du01) for a heenbericht; unique, so a second retour is
    #: detected by the database (race-free), see :func:`ieb.transport.inbox.store_envelope`
    sa.Column("retour_of", sa.String(36), nullable=True),
    sa.CheckConstraint("status IN ('received', 'processed', 'failed', 'duplicate')", name="status"),
    sa.Index("uq_inbox_retour_of", "retour_of", unique=True),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TZ, nullable=False, server_default=NOW),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("referentienummer", sa.String(36), nullable=True),
    sa.Column("cross_ref_nummer", sa.String(36), nullable=True),
    sa.Column("functie", sa.String(16), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
)


# ------------------------------------------------------------------------------ iWmo (ieb.iwmo)
# Created by migration 0006_iwmo. ``iwmo_producten`` holds every product of a WMO301/305/307 that
# was accepted, in reading order (``id``); the current state (toewijzingen, leveringen) is replayed
# from it by :func:`ieb.iwmo.state.replay`, so ``ieb iwmo uitleg`` can always name the messages
# behind a period. ``sleutel`` (sha256 of the canonical message + product position) is unique:
# reading the same message again (bare or in an envelope) stores nothing. ``iwmo_bestanden`` lists
# the files read with their counts. Dates are ``DATE``, no timezones.

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


# -------------------------------------------------------------------------- Wlz-signalen (ieb.wlz)
# Created by migration 0007_wlz.
# * ``wlz_uploads``: one row per upload CSV written (gemeente, peildatum, when, file, rows) and the
#   processing report's outcome once read (``verslag_at``, ``verslag_geweigerd``).
# * ``wlz_uploaded``: what each upload held, per voorziening (gemeente, bsn, productcategorie,
#   begindatum, einddatum): the memory that makes "ended since the last upload" exact.
# * ``wlz_signals``: every signal of samenloop received, once (``sleutel`` is unique: gemeente, bsn
#   and the three Wlz dates), with its proposal (``voorstel`` ``stop``/``doorlopen``/``geen``,
#   ``voorstel_datum``, ``voorstel_reden``) and ``status`` (``open``, ``besloten``, ``geen_actie``).
#   ``naam`` is the only name stored; ``ieb wlz opschonen`` deletes whole rows.
# * ``wlz_besluiten``: the clerk's decisions (``stop`` with ``stopdatum`` or ``doorlopen``); they
#   outlive purged signals because an accepted stop stays part of the desired state.

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


# -------------------------------------------------------------------- logboek (ieb.store.logboek)
# Created by migration 0008_logboek; the columns are described in :mod:`ieb.store.logboek`.

logboek = sa.Table(
    "logboek",
    metadata,
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
    sa.Index("ix_logboek_at", "at"),
)
