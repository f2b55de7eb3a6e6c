"""``ieb certs``: create a PKIoverheid-like TEST PKI (root -> domain -> TSP -> service certificates).

Every service certificate carries a test OIN (prefix 00000099) in its subject serialNumber and
serves both as TLS server and client certificate (SAN localhost and 127.0.0.1). See
:mod:`ieb.testing.pki` for the OIN rule and the files written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ieb.cli._common import COMMAND, fail

if TYPE_CHECKING:
    from ieb.testing.pki import TestPki

__all__ = ["register"]


def certs(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="MAP", help="Nieuwe map waarin de test-PKI wordt geschreven."),
    ],
    gemeente: Annotated[
        list[str] | None,
        typer.Option(
            "--gemeente",
            "-g",
            metavar="CODE",
            help="CBS-gemeentecode (4 cijfers); mag vaker. Standaard 0363.",
        ),
    ] = None,
    party: Annotated[
        list[str] | None,
        typer.Option(
            "--party",
            "-p",
            metavar="CODE",
            help="Vaste organisatiecode (CAK, GGK, ...); mag vaker. Standaard CAK en GGK.",
        ),
    ] = None,
    dns: Annotated[
        list[str] | None,
        typer.Option(
            "--dns", metavar="NAAM", help="Extra DNS-naam in elk servicecertificaat (naast localhost)."
        ),
    ] = None,
    key: Annotated[
        str, typer.Option("--key", metavar="rsa|ec", help="Sleuteltype van de servicecertificaten.")
    ] = "rsa",
    json_out: Annotated[bool, typer.Option("--json", help="Schrijf een JSON-overzicht op stdout.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Een bestaande, niet-lege map overschrijven (ook de root-sleutel!)."),
    ] = False,
) -> None:
    """Maak een TEST-PKI voor mutual TLS en WS-Security (nooit voor productie).

    Een bestaande map met bestanden wordt geweigerd: overschrijven vervangt de root-CA en maakt alle eerder uitgegeven certificaten onbruikbaar. Geef daarvoor --force.

    Exitcode 0: geschreven; 1: fout (map bestaat al, ...); 2: verkeerd gebruik.

    Voorbeeld: ieb certs --out pki/ --gemeente 0363 --gemeente 0599
    """
    import json

    from ieb.errors import IebError
    from ieb.testing.pki import create_test_pki

    gemeenten = _check_arguments(out, gemeente, key, force)
    parties = party if party is not None else ["CAK", "GGK"]
    codes = list(dict.fromkeys([*parties, *gemeenten]))
    try:
        pki = create_test_pki(
            out,
            codes,
            dns_names=["localhost", *(dns or [])],
            service_key="rsa" if key == "rsa" else "ec",
        )
    except (IebError, OSError, ValueError) as exc:
        typer.echo(f"fout: {exc}", err=True)
        raise typer.Exit(1) from None

    if json_out:
        typer.echo(json.dumps(_summary(pki), sort_keys=True))
        return
    typer.echo(f"TEST-PKI geschreven in {pki.directory} (niet voor productie)")
    typer.echo(f"  CA-bundel (root + domein + TSP): {pki.ca_bundle}")
    typer.echo(f"  root alleen:                     {pki.roots}")
    for p in pki.parties.values():
        typer.echo(f"  {p.code:<6} OIN {p.oin}  {p.organization_identifier:<15} {p.name}")
        typer.echo(f"         certificaat {p.cert}")
        typer.echo(f"         sleutel     {p.key}")
        typer.echo(f"         keten       {p.chain}")


def _check_arguments(out: Path, gemeente: list[str] | None, key: str, force: bool) -> list[str]:
    """The gemeentecodes to issue for (default ``0363``), after checking the arguments.

    Exits 1 when ``out`` is a file or a non-empty folder without ``force`` (overwriting replaces the
    root CA) or a code is not 4 digits; exits 2 for a ``key`` other than ``rsa``/``ec``.
    """
    import re

    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        what = "een bestand" if not out.is_dir() else "een map met bestanden"
        raise fail(f"{out} is al {what}; kies een nieuwe map of geef --force om de PKI te vervangen")
    gemeenten = gemeente or ["0363"]
    for code in gemeenten:
        if not re.fullmatch(r"[0-9]{4}", code):
            typer.echo(f"fout: gemeentecode {code!r} moet uit precies 4 cijfers bestaan", err=True)
            raise typer.Exit(1)
    if key not in ("rsa", "ec"):
        typer.echo(f"fout: --key moet rsa of ec zijn, niet {key!r}", err=True)
        raise typer.Exit(2)
    return gemeenten


def _summary(pki: TestPki) -> dict[str, Any]:
    """The ``--json`` overview: the folder, the CA bundle, the roots and per party its OIN and files."""
    return {
        "directory": str(pki.directory),
        "ca_bundle": str(pki.ca_bundle),
        "roots": str(pki.roots),
        "parties": [
            {
                "code": p.code,
                "name": p.name,
                "oin": p.oin,
                "organization_identifier": p.organization_identifier,
                "cert": str(p.cert),
                "key": str(p.key),
                "chain": str(p.chain),
            }
            for p in pki.parties.values()
        ],
    }


def register(app: typer.Typer) -> None:
    """Add ``ieb certs`` to the CLI."""
    app.command("certs", cls=COMMAND)(certs)
