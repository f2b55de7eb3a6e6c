"""The message table of iEb 4.0, read from the active XSD folder through the binding.

=========  ===========  =========  =======  ========================  ============
bericht    BerichtCode  direction  answers  klasse                    date element
=========  ===========  =========  =======  ========================  ============
WMO405     (from XSD)   heen       WMO406   PeriodeEigenBijdrageAbo   EbStartdatum
WMO406     (from XSD)   retour     WMO405   PeriodeEigenBijdrageAbo   EbStartdatum
WMO407     (from XSD)   heen       WMO408   PeriodeBeschermdWonen*    BwStartdatum
WMO408     (from XSD)   retour     WMO407   PeriodeBeschermdWonen*    BwStartdatum
=========  ===========  =========  =======  ========================  ============

Public (issue 20 facts): the message names, directions and pairs, klasse PeriodeEigenBijdrageAbo,
the elements EbStartNummer/EbStartdatum/EbStopdatum/StatusAanlevering, BwStartdatum/BwStopdatum.
* ASSUMED: the klasse name of WMO407/408 and its key EbStartNummer. BerichtCode, namespace and version
values are not written here: they are read from the XSDs (the stand-in's are assumed; an official
folder registered with ``ieb release check`` brings the real ones). The klasse and its elements
follow the binding's paths, so a changed binding line changes the table too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ieb.releases.ieb_4_0.binding import load_binding
from ieb.releases.ieb_4_0.codec import STAND_IN_DIR, message_schemas
from ieb.releases.ieb_4_0.models import RELEASE
from ieb.releases.ieb_4_0.schema import index_schema
from ieb.releases.pack import Direction, MessageDef, XsdVersions

__all__ = ["NAME", "PAIRS", "VALID_FROM", "Row", "message_table"]

NAME = RELEASE
#: iEb 4.0 is the production release from 7 April 2025 (issue 20, public facts).
VALID_FROM = dt.date(2025, 4, 7)


@dataclass(frozen=True)
class Row:
    """What the table knows of a message without its XSD: direction, partner, the binding field of
    its date element and of its key, and the standard's title (Inlichtingenbureau berichtenlijst)."""

    direction: Direction
    answers: str
    date_field: str
    omschrijving: str
    key_field: str = "eb_start_nummer"


#: name -> (direction, the message it answers / is answered by, date field of its klasse, title)
PAIRS: dict[str, Row] = {
    "WMO405": Row(Direction.HEEN, "WMO406", "eb_startdatum", "Start en stop eigen bijdrage"),
    "WMO406": Row(Direction.RETOUR, "WMO405", "eb_startdatum", "Retour start en stop eigen bijdrage"),
    "WMO407": Row(Direction.HEEN, "WMO408", "bw_startdatum", "Start en stop beschermd wonen"),
    "WMO408": Row(Direction.RETOUR, "WMO407", "bw_startdatum", "Retour start en stop beschermd wonen"),
}


def message_table(folder: Path | None = None) -> dict[str, MessageDef]:
    """The table rows by name, from the XSDs in ``folder`` (default: the stand-in) and the binding.

    Raises :class:`~ieb.errors.ConfigurationError` when a message's XSD is missing or unreadable;
    :class:`KeyError` never (every message of :data:`PAIRS` is bound)."""
    from ieb.errors import ConfigurationError

    folder = folder or STAND_IN_DIR  # the pack is built on an explicit folder (pack_for)
    schemas = message_schemas(folder)
    bindings = load_binding()
    rows: dict[str, MessageDef] = {}
    for name, row in PAIRS.items():
        if name not in schemas:
            raise ConfigurationError(f"{RELEASE}: geen XSD van {name} in {folder}")
        binding = bindings[name]
        index = index_schema(schemas[name], binding.root)
        key = binding.fields[row.key_field].path
        date = binding.fields[row.date_field].path
        klasse_path = (binding.root, *key[:-1])
        klasse_info = index.get(klasse_path)
        klasse_fields: list[tuple[str, ...]] = []
        if klasse_info is not None:
            for child in klasse_info.children:
                info = index.get((*klasse_path, child))
                if info is None or child == "RetourCodes":
                    continue
                if info.builtin is not None:
                    klasse_fields.append((child,))
                else:
                    klasse_fields.extend((child, grandchild) for grandchild in info.children)
        ident = index.get((binding.root, *bindings[name].fields["identificatie"].path))
        versie = binding.fields["bericht_versie"]
        subversie = binding.fields["bericht_subversie"]
        rows[name] = MessageDef(
            release=RELEASE,
            name=name,
            bericht_code=index.fixed_value(binding.full_path(binding.fields["bericht_code"])),
            namespace=index.namespace,
            schema_path=schemas[name],
            root_name=binding.root,
            direction=row.direction,
            answers=row.answers,
            omschrijving=row.omschrijving,
            klasse=key[-2] if len(key) >= 2 else None,
            key_element=key[-1],
            date_element=date[-1],
            klasse_fields=tuple(klasse_fields),
            basis_namespace=ident.namespace if ident is not None else None,
            versions=XsdVersions(
                bericht_versie=int(index.fixed_value(binding.full_path(versie)) or 1),
                bericht_subversie=int(index.fixed_value(binding.full_path(subversie)) or 0),
                basisschema_xsd=index.appinfo.get("BasisschemaXsdVersie", ""),
                bericht_xsd=index.appinfo.get("BerichtXsdVersie", ""),
            ),
        )
    return rows
