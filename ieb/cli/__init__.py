"""The ``ieb`` command. Each module in this package adds its commands through ``register(app)``.

The modules are loaded lazily (:mod:`ieb.cli._lazy`): :data:`COMMANDS` names every command, the
modules that register it and its summary, so ``ieb --help`` imports no command module and ``ieb
validate`` only :mod:`ieb.cli.validate`; a plain ``ieb validate ...`` does not even import typer
(:mod:`ieb.cli._validate_core`). ``app`` and ``LOADER`` are made on first use (:mod:`ieb.cli._app`). Heavy dependencies (zeep, SQLAlchemy, ...) are imported inside
the command functions as well. A new command: add it to :data:`COMMANDS` (``tests/cli/
test_lazy_commands.py`` prints the table to paste when it is out of date).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_V = "ieb.cli.validate"
_T = "ieb.cli.transport"
_L = "ieb.cli.ledger"

#: command name -> (modules that register it, its summary in ``ieb --help``), in the order typer
#: lists them when every module registers in name order: the commands, then the groups.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "beleidsinformatie": (
        ("ieb.cli.beleidsinformatie",),
        "Beleidsinformatie uit de iWmo-berichten: per maand en gemeente, GMSD-export, HTML met grafieken.",
    ),
    "bijdrage": (
        ("ieb.cli.bijdrage",),
        "Schat per maand de eigen bijdrage (abonnementstarief) van een huishouden, met de reden.",
    ),
    "certs": (
        ("ieb.cli.certs",),
        "Maak een TEST-PKI voor mutual TLS en WS-Security (nooit voor productie); --status: certificaten en CRL's van ieb.toml.",
    ),
    "serve-validation": (
        ("ieb.cli.conformance",),
        "Valideer over HTTP: POST /validatie (rapport of JSON), GET /status; ook de API van de "
        "DVS-container (Content-Type application/x-www-form-urlencoded, Content-Length, "
        "X-Version-Override), zie docs/dvs.md.",
    ),
    "plan": (
        ("ieb.cli.ledger",),
        "Plan de berichten (in de release van ieb.toml of --release) naar de gewenste situatie; toon ze, "
        "of zet ze met --queue klaar.",
    ),
    "queue": (
        ("ieb.cli.ledger",),
        "Zet bestaande berichtbestanden (ieb build, eigen software) in grootboek en outbox: alles of niets.",
    ),
    "retour": (
        ("ieb.cli.ledger",),
        "Verwerk retouren in het grootboek; een onleesbare retour houdt de rest niet tegen.",
    ),
    "status": (
        ("ieb.cli.ledger",),
        "Samenvatting op één scherm: berichten per uitkomst, afwijzingen open en opgelost, wie nog fout "
        "staat en wat te doen, wachtrij, te laat.",
    ),
    "requeue": (("ieb.cli.ledger",), "Zet berichten terug in de outbox nadat de oorzaak is verholpen."),
    "report": (
        ("ieb.cli.ledger",),
        "Schrijf één zelfstandige HTML-pagina (zonder netwerk) met de stand van zaken voor een teamleider.",
    ),
    "logboek": (
        ("ieb.cli.ledger",),
        "Het logboek: wie wanneer welk bestand plande, klaarzette of opnieuw verstuurde (ieb plan, "
        "queue, requeue).",
    ),
    "opschonen": (
        ("ieb.cli.opschonen",),
        "Verwijder berichtinhoud en logregels ouder dan de bewaartermijn; het grootboek blijft compleet.",
    ),
    "reconcile": (
        ("ieb.cli.reconcile",),
        "Vergelijk de overdrachtsbestanden van het CAK (HenV, ZA) met de eigen administratie op BSN.",
    ),
    "init": (
        ("ieb.cli.transport",),
        "Schrijf een becommentarieerde ieb.toml (met --simulator ook test-PKI en simulator.toml).",
    ),
    "demo": (
        ("ieb.cli.transport",),
        "Start simulator en ieb serve op loopback, verstuur N startberichten en wacht op alle retouren.",
    ),
    "send": (
        ("ieb.cli.transport",),
        "Verstuur wat in de outbox staat tot die leeg is; een blijvende fout stopt meteen (exit 1).",
    ),
    "serve": (
        ("ieb.cli.transport",),
        "Verzender + ontvanger als één dienst (SIGTERM = netjes stoppen, /health, /metrics).",
    ),
    "receive": (
        ("ieb.cli.transport",),
        "Alleen de ontvanger (retouren en Fo01) over mutual TLS, zoals ingesteld in ieb.toml.",
    ),
    "validate": (
        ("ieb.cli.validate",),
        "Valideer iEb-bestanden zoals het CAK dat doet: XSD en regels, met regelcode en retourcode.",
    ),
    "show": (
        ("ieb.cli.validate",),
        "Toon een iEb-bericht leesbaar: elk element met de naam uit de standaard, Bsn gemaskeerd, bedragen "
        "in euro. Bij een retour per berichtklasse: geaccepteerd, afgekeurd of niet beoordeeld, met de "
        "betekenis van elke code en wat u nu doet. Een bericht dat niet aan de regels voldoet wordt ook "
        "getoond, met de bevindingen per regelcode.",
    ),
    "build": (
        ("ieb.cli.validate",),
        "Schrijf heenberichten van een release uit een tabel; bij één foute regel wordt niets geschreven.",
    ),
    "conformance": (
        ("ieb.cli.conformance",),
        "Conformiteitstoetsen voor leveranciers: scenario's tegen uw eigen verzender.",
    ),
    "iwmo": (
        ("ieb.cli.iwmo",),
        "iWmo-berichten (WMO301/305/307) lezen en er de eigen bijdrage uit afleiden.",
    ),
    "release": (
        ("ieb.cli.release",),
        "iEb-releases: de officiële XSD's van een release controleren en registreren.",
    ),
    "simulate": (
        ("ieb.cli.simulate", "ieb.cli.transport"),
        "De andere kant van de uitwisseling (CAK), om tegen te testen.",
    ),
    "wlz": (
        ("ieb.cli.wlz",),
        "Wlz-signalen: upload naar het Inlichtingenbureau, signalen van samenloop, voorstellen en besluiten.",
    ),
}


_BUILD_LOCK = threading.Lock()
#: commands whose plain command lines run without typer: command -> module with ``main_fast(args)``
#: (the exit code, or None when typer must read the arguments)
_FAST = {"validate": "ieb.cli._validate_core", "retour": "ieb.cli._retour_core"}


def __getattr__(name: str) -> Any:
    """``app`` (the typer application) and ``LOADER`` (its lazy command modules), made once on first
    use (:func:`ieb.cli._app.build`): importing :mod:`ieb.cli` imports no typer."""
    if name not in ("app", "LOADER"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _BUILD_LOCK:
        if "app" not in globals():
            from ieb.cli._app import build

            globals()["app"], globals()["LOADER"] = build(__name__, list(__path__), COMMANDS)
    return globals()[name]


def main() -> None:
    """Entry point of the ``ieb`` console script.

    A plain ``ieb validate ...`` or ``ieb retour ...`` runs without typer (:data:`_FAST`:
    :func:`ieb.cli._validate_core.main_fast`, :func:`ieb.cli._retour_core.main_fast`: the same output
    and exit code, a faster start); every other command line goes to typer (:data:`app`).
    """
    args = sys.argv[1:]
    try:
        fast = _FAST.get(args[0]) if args else None
        if fast is not None:
            from importlib import import_module

            code = import_module(fast).main_fast(args[1:])
            if code is not None:
                raise SystemExit(code)
        __getattr__("app")()
    except Exception as exc:  # issue 21: a full disk or broken database is a clear error, not a traceback
        text = _storage_error(exc)
        if text is None:
            raise
        sys.stderr.write(f"fout: {text}\n")  # (what typer.echo(..., err=True) writes)
        sys.stderr.flush()
        raise SystemExit(2) from None


def _storage_error(exc: BaseException) -> str | None:
    """A Dutch line for a database or disk that cannot be written (full, I/O error, read-only), or
    None for any other error (then the traceback shows as before)."""
    orig = getattr(exc, "orig", None) or exc
    name = type(exc).__name__
    if not (
        isinstance(exc, OSError)
        or (type(exc).__module__.startswith("sqlalchemy") and name == "OperationalError")
    ):
        return None
    cause = " ".join(str(orig).split())[:200]
    lowered = cause.lower()
    if not any(
        k in lowered for k in ("disk", "i/o", "full", "no space", "read-only", "readonly", "too large")
    ):
        return None
    if isinstance(exc, OSError):
        return (
            f"een bestand kon niet worden geschreven ({cause}). Oplossing: maak ruimte vrij op de schijf of "
            "controleer de rechten, en probeer het opnieuw"
        )
    return (
        f"de database kon niet worden geschreven ({cause}); de transactie is teruggedraaid, er is niets "
        "vastgelegd. Oplossing: maak ruimte vrij op de schijf of controleer de rechten, en probeer het opnieuw"
    )
