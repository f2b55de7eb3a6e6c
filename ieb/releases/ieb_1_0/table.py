"""The message table of iEb 1.0: the one place that names its messages, codes and namespaces.

=========  ===========  =========  ==========================  ==================  ============
bericht    BerichtCode  direction  answers                     klasse              date element
=========  ===========  =========  ==========================  ==================  ============
WMO401     470          heen       WMO402 (its retour)         StartEigenBijdrage  EbStartdatum
WMO402     471          retour     WMO401                      StartEigenBijdrage  EbStartdatum
WMO403     472          heen       WMO404 (its retour)         StopEigenBijdrage   EbStopdatum
WMO404     473          retour     WMO403                      StopEigenBijdrage   EbStopdatum
=========  ===========  =========  ==========================  ==================  ============

Source: iEb 1.0 specification (spec/ieb.md), XSD 1.2.0. The key of every klasse is EbStartNummer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ieb.releases.pack import Direction, MessageDef, XsdVersions
from ieb.resources import schemas_dir

__all__ = [
    "BASIS_NS",
    "MESSAGES",
    "NAME",
    "SCHEMA_FOLDER",
    "START",
    "START_RETOUR",
    "STOP",
    "STOP_RETOUR",
    "VALID_FROM",
    "VERSIONS",
    "XSD_VERSIE",
    "namespace",
]

NAME = "ieb-1.0"
#: iEb 1.0 applies from 1 January 2020 (the abonnementstarief and the iEb exchange).
VALID_FROM = dt.date(2020, 1, 1)
#: The basisschema namespace of iEb 1.0 (the CDT_* children and LDT_* types).
BASIS_NS = "http://www.istandaarden.nl/ieb/1_0/basisschema/schema"
#: The XSD version this library writes (the newest of release 1.0).
XSD_VERSIE = "1.2.0"
VERSIONS = XsdVersions(
    bericht_versie=1, bericht_subversie=0, basisschema_xsd=XSD_VERSIE, bericht_xsd=XSD_VERSIE
)


def namespace(bericht: str) -> str:
    """The target namespace of an iEb 1.0 message (``wmo401`` -> ``http://.../ieb/1_0/wmo401/schema``)."""
    return f"http://www.istandaarden.nl/ieb/1_0/{bericht.lower()}/schema"


def _folder() -> Path:
    return schemas_dir() / "ieb" / "1.0"


SCHEMA_FOLDER = _folder()

_START_FIELDS = (
    ("EbStartNummer",),
    ("EbStartdatum",),
    ("EbKostprijs", "KostprijsBedrag"),
    ("EbKostprijs", "KostprijsStartdatum"),
    ("StatusAanlevering",),
)
_STOP_FIELDS = (("EbStartNummer",), ("EbStopdatum",), ("StatusAanlevering",))


def _row(
    name: str,
    code: str,
    direction: Direction,
    answers: str,
    klasse: str,
    date: str,
    fields: tuple[tuple[str, ...], ...],
    omschrijving: str,
) -> MessageDef:
    return MessageDef(
        release=NAME,
        name=name,
        bericht_code=code,
        namespace=namespace(name),
        schema_path=SCHEMA_FOLDER / f"{name}.xsd",
        direction=direction,
        answers=answers,
        klasse=klasse,
        key_element="EbStartNummer",
        date_element=date,
        klasse_fields=fields,
        basis_namespace=BASIS_NS,
        versions=VERSIONS,
        omschrijving=omschrijving,
    )


START = _row(
    "WMO401",
    "470",
    Direction.HEEN,
    "WMO402",
    "StartEigenBijdrage",
    "EbStartdatum",
    _START_FIELDS,
    "Start eigen bijdrage",
)
START_RETOUR = _row(
    "WMO402",
    "471",
    Direction.RETOUR,
    "WMO401",
    "StartEigenBijdrage",
    "EbStartdatum",
    _START_FIELDS,
    "Retour start eigen bijdrage",
)
STOP = _row(
    "WMO403",
    "472",
    Direction.HEEN,
    "WMO404",
    "StopEigenBijdrage",
    "EbStopdatum",
    _STOP_FIELDS,
    "Stop eigen bijdrage",
)
STOP_RETOUR = _row(
    "WMO404",
    "473",
    Direction.RETOUR,
    "WMO403",
    "StopEigenBijdrage",
    "EbStopdatum",
    _STOP_FIELDS,
    "Retour stop eigen bijdrage",
)

#: The table, without models (the pack attaches them: :data:`ieb.releases.ieb_1_0.PACK`).
MESSAGES: tuple[MessageDef, ...] = (START, START_RETOUR, STOP, STOP_RETOUR)
