"""The iEb 1.0 release pack (``ieb-1.0``): WMO401-WMO404, valid from 2020-01-01.

Everything that is iEb 1.0 lives in this package: the message table (:mod:`.table`), the typed
models, the in-message rules, the revisions, the retourcode <-> rule table, the delivery mapping
(:mod:`.delivery`) and the retour writer (:mod:`.retour`). :data:`PACK` is what the registry
(:mod:`ieb.releases`) loads.
"""

from __future__ import annotations

import functools
from typing import Any

from ieb.releases.ieb_1_0.delivery import IEB_1_0_DELIVERY
from ieb.releases.ieb_1_0.retour import write_retour
from ieb.releases.ieb_1_0.revisions import REVISIONS
from ieb.releases.ieb_1_0.rules import RULES
from ieb.releases.ieb_1_0.table import BASIS_NS, MESSAGES, NAME, SCHEMA_FOLDER, VALID_FROM
from ieb.releases.pack import ReleasePack, RetourcodeTable, RuleSet
from ieb.releases.rules import DATE_RANGE_RULE

__all__ = ["HISTORY_RULE_CODES", "PACK", "RETOURCODES", "RETOUR_CHECK_CODES"]

#: What a clerk does next, per retourcode (the meaning itself comes from the standard's code list).
HINTS = {
    "0001": "Draai 'ieb validate' op het heenbericht, herstel de fout en stuur het opnieuw.",
    "0200": "Niets te doen.",
    "0233": "Niet beoordeeld omdat een ander deel is afgekeurd; herstel dat en stuur opnieuw.",
    "8848": "De Dagtekening lag na de systeemdatum van het CAK; stuur opnieuw met de datum van vandaag.",
    "9071": "Verwijder eerst de stop (WMO403 met status 3) en daarna de start.",
    "9102": "Dit EbStartNummer is al gebruikt: kies een nieuw nummer, of stuur een correctie (status 2).",
    "9103": "Er is geen eerdere eerste aanlevering: stuur eerst een aanlevering met status 1.",
    "9104": "Dit record is verwijderd en kan niet meer gewijzigd worden: stuur een nieuwe start met een nieuw nummer.",
    "9114": "De gewijzigde EbStartdatum ligt te ver terug; kies een datum binnen 12 maanden voor de Dagtekening.",
    "9115": "De gewijzigde EbStartdatum ligt te ver vooruit; kies een datum hoogstens 1 maand na de Dagtekening.",
    "9328": "De EbStopdatum ligt voor de startdatum; stuur de stop met een datum op of na de start.",
    "9329": "Een verwijdering (status 3) moet alle waarden van het huidige record exact herhalen.",
    "9330": "Er is geen actuele start met dit EbStartNummer (nooit gestuurd of verwijderd): controleer het nummer, stuur zo nodig eerst de start.",
    "S300": "De Afzender is op de Dagtekening geen gemeente in de CBS-lijst: controleer de gemeentecode.",
    "S333": "De kostprijs moet hoger zijn dan het nationale tarief: stuur een correctie (status 2) met het juiste bedrag.",
}

#: Retourcode (codelist EB001) -> the rule codes that report it. ``0001`` (technisch afgekeurd),
#: ``0200`` (geen opmerking) and ``0233`` (niet beoordeeld) report no single rule.
RETOURCODES = RetourcodeTable(
    {
        "8848": ("8848",),
        "9071": ("TR071",),
        "9102": ("TR102", "OP291"),
        "9103": ("TR103", "OP325"),
        "9104": ("TR104",),
        "9114": ("TR114",),
        "9115": ("TR115",),
        "9328": ("TR328",),
        "9329": ("TR329",),
        "9330": ("TR330",),
        "S300": ("CS300",),
        "S333": ("CS333",),
    },
    header_codes=frozenset({"8848", "S300"}),
    hints=HINTS,
)


#: The history rules of iEb 1.0 (defined in :mod:`ieb.ledger.history`), in the order they run.
HISTORY_RULE_CODES = (
    "TR071",
    "TR102",
    "TR103",
    "TR104",
    "TR114",
    "TR115",
    "TR328",
    "TR329",
    "TR330",
    "OP291",
    "OP325",
)
#: The retour-consistency checks (defined in :mod:`ieb.conformance.retourcheck`).
RETOUR_CHECK_CODES = tuple(f"RC{n:03d}" for n in range(1, 11))


def _compiled() -> dict[Any, Any]:
    """The compiled checks of the rules (imported on first use: ``ieb.releases.compiled``)."""
    from ieb.releases.ieb_1_0.compiled import CHECKS

    return CHECKS


def _model(bericht: str) -> type[Any]:
    """The typed model of ``bericht`` (imported on first use: pydantic is not needed to validate)."""
    from ieb.releases.ieb_1_0.models import message_class

    return message_class(bericht)


PACK = ReleasePack(
    name=NAME,
    valid_from=VALID_FROM,
    messages={row.name: row.with_model(functools.partial(_model, row.name)) for row in MESSAGES},
    basis_namespace=BASIS_NS,
    folder=SCHEMA_FOLDER,
    rules=RuleSet(
        message=RULES,
        final=(DATE_RANGE_RULE,),
        history=HISTORY_RULE_CODES,
        retour=RETOUR_CHECK_CODES,
    ),
    revisions=REVISIONS,
    retourcodes=RETOURCODES,
    delivery=IEB_1_0_DELIVERY,
    retour_writer=write_retour,
    builtin=True,
    compiled=_compiled,
)
