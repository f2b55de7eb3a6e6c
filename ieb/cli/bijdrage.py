"""``ieb bijdrage``: the monthly estimate of the abonnementstarief for one household (JSON contract).

See :mod:`ieb.policy.contract` for the request and response shape. Exit codes: 0 success, 1 bad
input (the error names the field, on stderr), 2 usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ieb.cli._common import COMMAND

if TYPE_CHECKING:
    from ieb.policy.household import Estimate, Household, Role

__all__ = ["register"]

FORMATS = ("text", "json")


def bijdrage(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="BESTAND",
            help="JSON-bestand met gemeente, huishouden, voorzieningen, van en tot ('-' leest stdin).",
        ),
    ],
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="text|json", help="Uitvoer: text of json.")
    ] = "text",
) -> None:
    """Schat per maand de eigen bijdrage (abonnementstarief) van een huishouden, met de reden.

    Het landelijk tarief kan worden aangevuld via de omgevingsvariabele IEB_TARIEVEN (JSON-tekst of
    een pad naar een JSON-bestand met [{"vanaf": "JJJJ-MM-DD", "bedrag_cent": n}]).
    """
    import json

    from ieb.policy.contract import render_response

    if format not in FORMATS:
        raise typer.BadParameter(f"kies uit {', '.join(FORMATS)}", param_hint="--format")
    schatting, huishouden, roles = _estimate(_read_request(file))
    if format == "json":
        typer.echo(json.dumps(render_response(schatting), ensure_ascii=False, indent=2))
        return
    _print_text(schatting, huishouden, roles)


def _read_request(file: Path) -> str:
    """The request text of ``file`` (``-``: stdin), at most ``MAX_REQUEST_BYTES``, UTF-8 (BOM allowed).

    Exits 1 (message on stderr) when the input is too large or not UTF-8; a missing file is a usage
    error (exit 2).
    """
    from ieb.policy.contract import MAX_REQUEST_BYTES

    if str(file) == "-":
        raw = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    else:
        if not file.is_file():
            raise typer.BadParameter(f"{file} bestaat niet of is geen bestand", param_hint="BESTAND")
        with file.open("rb") as handle:
            raw = handle.read(MAX_REQUEST_BYTES + 1)
    if len(raw) > MAX_REQUEST_BYTES:
        typer.echo(
            f"fout: invoer: het bestand is groter dan {MAX_REQUEST_BYTES} bytes; dit is geen huishouden",
            err=True,
        )
        raise typer.Exit(1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        typer.echo(f"fout: invoer: geen UTF-8 (byte {exc.start})", err=True)
        raise typer.Exit(1) from None


def _estimate(text: str) -> tuple[Estimate, Household, tuple[Role, ...]]:
    """The estimate of the request ``text``, with the household and the roles of its members.

    The national tariffs are extended with ``IEB_TARIEVEN`` (JSON text, or a path to a JSON file).
    Every error (invalid JSON, an unreadable tariff file, any :class:`~ieb.errors.IebError`) is
    printed on stderr in Dutch and exits 1.
    """
    from ieb.errors import IebError
    from ieb.policy.contract import estimate_request, parse_request
    from ieb.policy.errors import PolicyInputError
    from ieb.policy.household import member_roles
    from ieb.policy.tariffs import ENV_VAR, table_from_environ
    from ieb.tabular import JsonTextError, loads_json
    from ieb.types import mask_bsns

    try:
        environ = dict(os.environ)
        setting = environ.get(ENV_VAR, "").strip()
        if setting and not setting.startswith("["):
            environ[ENV_VAR] = Path(setting).read_text(encoding="utf-8")
        table = table_from_environ(environ)
        try:
            data = loads_json(text)
        except JsonTextError as exc:
            typer.echo(f"fout: invoer: {exc}", err=True)
            raise typer.Exit(1) from None
        schatting = estimate_request(data, table)
        _, huishouden, _, van, _ = parse_request(data, table)
        return schatting, huishouden, member_roles(huishouden, van.first_day)
    except OSError as exc:
        typer.echo(f"fout: {ENV_VAR}: bestand niet te lezen ({exc.strerror})", err=True)
        raise typer.Exit(1) from None
    except PolicyInputError as exc:
        code = f"[{exc.code}] " if exc.code else ""
        typer.echo(mask_bsns(f"fout: {code}{exc.message}"), err=True)
        raise typer.Exit(1) from None
    except IebError as exc:
        typer.echo(mask_bsns(f"fout: {exc}"), err=True)
        raise typer.Exit(1) from None


def _print_text(schatting: Estimate, huishouden: Household, roles: tuple[Role, ...]) -> None:
    """The clerk's view: the members (roles, BSNs masked), a table per month in euro, the kostprijs."""
    from rich.console import Console
    from rich.table import Table

    def euro(cent: int) -> str:
        return f"€ {cent // 100},{cent % 100:02d}"

    table_out = Table(title="Eigen bijdrage per maand (abonnementstarief)")
    table_out.add_column("maand")
    table_out.add_column("bedrag", justify="right")
    table_out.add_column("reden")
    for m in schatting.maanden:
        table_out.add_row(str(m.maand), euro(m.bedrag_cent), m.reden.omschrijving)
    console = Console()
    leden = ", ".join(
        f"{rol.value} {lid.bsn.masked}" for lid, rol in zip(huishouden.leden, roles, strict=True)
    )
    console.print(f"huishouden: {leden}")
    console.print(table_out)
    console.print(f"totaal: {euro(schatting.totaal_cent)}")
    for k in schatting.kostprijs:
        einde = k.virtuele_einddatum.isoformat() if k.virtuele_einddatum else "niet bereikt"
        stop = str(k.stop_maand) if k.stop_maand else "geen kostprijs-stop nodig"
        console.print(
            f"kostprijs {k.bsn.masked}: resterend {euro(k.resterend_cent)}, "
            f"virtuele einddatum {einde}, stop: {stop}"
        )


_EPILOG = """Voorbeeld:

  ieb bijdrage --format json huishouden.json
"""


def register(app: typer.Typer) -> None:
    """Add the ``bijdrage`` command to the ``ieb`` app (called once by :mod:`ieb.cli`)."""
    app.command("bijdrage", cls=COMMAND, epilog=_EPILOG)(bijdrage)
