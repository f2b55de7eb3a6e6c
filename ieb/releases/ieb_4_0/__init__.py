"""The ``ieb-4.0`` release pack: iEb 4.0, the production release since 2025-04-07.

WMO405 (Start en stop eigen bijdrage) and its retour WMO406, WMO407 (Start en stop beschermd wonen)
and its retour WMO408. The official 4.0 XSDs are not public here, so the pack ships a STAND-IN
schema (``schemas/``) written from the public facts, and binds its models to element paths through
data (``binding.toml``). ``ieb release check DIR`` compares the binding with the official folder and
registers it; :func:`pack_for` builds the pack on that folder. Every assumption is listed in
docs/ieb-4.0.md.

:data:`PACK` (the stand-in) is what the registry (:mod:`ieb.releases`) loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ieb.releases.ieb_4_0.codec import STAND_IN_DIR, to_xml, validate_xsd
from ieb.releases.ieb_4_0.delivery import IEB_4_0_DELIVERY
from ieb.releases.ieb_4_0.models import RELEASE, Wmo405, Wmo406, Wmo407, Wmo408, build, from_xml, model_class
from ieb.releases.ieb_4_0.retour import write_retour
from ieb.releases.ieb_4_0.rules import FINAL_RULES, HISTORY_RULE_CODES, IEB_4_0_RULES, PARAMETERS
from ieb.releases.ieb_4_0.table import VALID_FROM, message_table
from ieb.releases.pack import ReleasePack, RetourcodeTable, RuleSet

__all__ = [
    "HINTS",
    "PACK",
    "RELEASE",
    "RETOURCODES",
    "STAND_IN_DIR",
    "Wmo405",
    "Wmo406",
    "Wmo407",
    "Wmo408",
    "build",
    "from_xml",
    "pack_for",
    "to_xml",
    "validate_xsd",
]

#: What a clerk does next, per retourcode of iEb 4.0 (Dutch; ``ieb status`` and ``ieb report`` show it
#: per person still wrong). The meaning itself comes from the standard's code list (EB001).
HINTS = {
    "0001": "Draai 'ieb validate' op het heenbericht, herstel de fout en stuur het opnieuw.",
    "0200": "Niets te doen.",
    "0233": "Niet beoordeeld omdat een ander deel is afgekeurd; herstel dat en stuur opnieuw.",
    "8848": "De Dagtekening lag na de systeemdatum van het CAK; plan opnieuw met de datum van vandaag.",
    "9056": "Deze Identificatie is al eens gebruikt voor deze berichtsoort: plan opnieuw, ieb kiest een nieuwe.",
    "9063": "Er is niets om te verwijderen: deze periode is nooit geaccepteerd; haal de verwijdering weg of stuur eerst de start.",
    "9393": "De gewijzigde EbStartdatum ligt meer dan 36 maanden voor de Dagtekening: stop de oude periode en stuur een nieuwe start.",
    "9395": "De gewijzigde BwStartdatum ligt meer dan 36 maanden voor de Dagtekening: corrigeer de datum in de eigen administratie.",
    "S300": "De Afzender is op de datum geen gemeente in de CBS-lijst: controleer de gemeentecode (herindeling?).",
    "S333": "De kostprijs moet hoger zijn dan het nationale tarief: stuur een correctie zonder of met het juiste bedrag.",
}

#: Retourcode (codelist EB001, iEb 4.0, the visible part) -> the rule codes that report it. In 4.0
#: the first letter no longer tells the rule: S300 is TR378, S333 is TR409. ``TR395`` for 9395 is
#: ASSUMED (9395 is "the same as 9393 for BwStartdatum"). 0001/0200/0233 report no single rule; 9103
#: and 9104 are in the list but their 4.0 rules are not public, so no rule reports them.
RETOURCODES = RetourcodeTable(
    {
        "8848": ("TR135",),
        "9056": ("TR056",),
        "9063": ("TR063",),
        "9393": ("TR393",),
        "9395": ("TR395",),
        "S300": ("TR378",),
        "S333": ("TR409",),
    },
    # ASSUMED, as in 1.0: codes about the whole delivery go in the retour's Header
    header_codes=frozenset({"8848", "S300", "9056"}),
    hints=HINTS,
)


def _compiled() -> dict[Any, Any]:
    """The compiled checks of the rules (imported on first use: ``ieb.releases.compiled``)."""
    from ieb.releases.ieb_4_0.compiled import CHECKS

    return CHECKS


def pack_for(folder: Path | None = None) -> ReleasePack:
    """The ieb-4.0 pack on the XSDs in ``folder`` (an official folder that passed ``ieb release
    check``; default: the stand-in). Raises :class:`~ieb.errors.ConfigurationError` when a message's
    XSD is missing or unreadable."""
    messages = {name: row.with_model(model_class(name)) for name, row in message_table(folder).items()}
    basis = next((m.basis_namespace for m in messages.values() if m.basis_namespace), None)
    return ReleasePack(
        name=RELEASE,
        valid_from=VALID_FROM,
        messages=messages,
        basis_namespace=basis,
        folder=folder or STAND_IN_DIR,
        rules=RuleSet(message=IEB_4_0_RULES, final=FINAL_RULES, history=HISTORY_RULE_CODES),
        revisions=(PARAMETERS,),
        retourcodes=RETOURCODES,
        delivery=IEB_4_0_DELIVERY,
        retour_writer=write_retour,
        builtin=True,
        # public fact: the CAK answers a payload that is not XSD-valid with Fo01 IB001 (2025 list)
        level1_fo01="IB001",
        compiled=_compiled,
        stand_in=None
        if folder is not None and folder.resolve() != STAND_IN_DIR.resolve()
        else (
            "stand-in schema: de officiële iEb 4.0-XSD's zijn niet openbaar; namen, codes en "
            "namespaces zijn deels aangenomen (docs/ieb-4.0.md); registreer de officiële map met "
            "`ieb release check MAP`"
        ),
    )


#: The pack on the stand-in XSDs.
PACK = pack_for()
