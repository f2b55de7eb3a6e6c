"""Migration and reconciliation: the CAK's HenV/ZA transfer files against the gemeente's own
administration, the remaining kostprijzen (RESTBEDRAG) and the initial delivery. See docs/migration.md.

Typical use::

    henv = read_henv("henv.csv"); za = read_za("za.csv"); adm = read_administratie("administratie.csv")
    result = reconcile(henv, za, adm, dt.date(2020, 1, 1))
    write_reports(result, "uit/")          # HTML + CSV + eerste-levering.csv (desired state)
    plan_initial(result, ledger, "0363")   # or queue_initial(result, "ieb.sqlite", "0363")
"""

from __future__ import annotations

from ieb.migration.delivery import Queued, desired_state, plan_initial, queue_initial
from ieb.migration.files import (
    ADMINISTRATIE_KOLOMMEN,
    DEFAULT_GROEPEN,
    HENV_KOLOMMEN,
    ZA_KOLOMMEN,
    AdministratieRegel,
    Fout,
    Gelezen,
    HenvRegel,
    Persoon,
    ZaRegel,
    read_administratie,
    read_henv,
    read_za,
)
from ieb.migration.reconcile import (
    Afstemming,
    CakRegel,
    Categorie,
    Groep,
    PersoonUitkomst,
    ReconcileError,
    Restbedrag,
    Verschil,
    cak_rest,
    counted_between,
    gemeente_rest,
    reconcile,
)
from ieb.migration.report import REPORT_FILES, render_html, write_reports
from ieb.migration.values import CakPeriode, PeriodeWeek, periode_of

__all__ = [
    "ADMINISTRATIE_KOLOMMEN",
    "DEFAULT_GROEPEN",
    "HENV_KOLOMMEN",
    "REPORT_FILES",
    "ZA_KOLOMMEN",
    "AdministratieRegel",
    "Afstemming",
    "CakPeriode",
    "CakRegel",
    "Categorie",
    "Fout",
    "Gelezen",
    "Groep",
    "HenvRegel",
    "PeriodeWeek",
    "Persoon",
    "PersoonUitkomst",
    "Queued",
    "ReconcileError",
    "Restbedrag",
    "Verschil",
    "ZaRegel",
    "cak_rest",
    "counted_between",
    "desired_state",
    "gemeente_rest",
    "periode_of",
    "plan_initial",
    "queue_initial",
    "read_administratie",
    "read_henv",
    "read_za",
    "reconcile",
    "render_html",
    "write_reports",
]
