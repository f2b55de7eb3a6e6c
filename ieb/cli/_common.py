"""Small helpers shared by the command modules (not a command module itself).

* :func:`parse_today` - the ``--today`` option;
* :class:`IebCommand` / :data:`COMMAND` - Dutch ``--help`` without type placeholders (``<bool>``);
* :func:`print_problems` - every problem of an :class:`~ieb.errors.IebError` (``.issues``), BSNs masked;
* :func:`claim_outputs` - output files never overwrite each other or existing files unless ``--force``;
* :func:`check_oin`, :func:`check_organisatie` - options that identify an organisation, checked
  against the format (OIN = 20 digits, gemeentecode = 4 digits) and the certificate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import typer
import typer.rich_utils as _rich
from typer.core import TyperCommand, TyperGroup

from ieb.types import mask_bsns

__all__ = [
    "COMMAND",
    "GROUP",
    "IebCommand",
    "IebGroup",
    "check_oin",
    "check_organisatie",
    "claim_outputs",
    "fail",
    "parse_today",
    "print_problems",
]

# The help screens are for clerks: Dutch words around our Dutch help texts.
_rich.DEFAULT_STRING = "[standaard: {}]"
_rich.REQUIRED_LONG_STRING = "[verplicht]"
_rich.ARGUMENTS_PANEL_TITLE = "Argumenten"
_rich.OPTIONS_PANEL_TITLE = "Opties"
_rich.COMMANDS_PANEL_TITLE = "Opdrachten"
_rich.ERRORS_PANEL_TITLE = "Fout"
_rich.ABORTED_TEXT = "Afgebroken."

_OIN = re.compile(r"[0-9]{20}")
_GEMEENTECODE = re.compile(r"[0-9]{4}")


def _plain_types(params: Iterable[Any]) -> None:
    """Show a parameter's ``metavar`` (or nothing) instead of typer's ``<list[Path]>`` / ``<bool>``."""
    from typer.core import TyperArgument

    for param in params:
        shown = param.metavar or ""
        if getattr(param, "is_flag", False) or isinstance(param, TyperArgument):
            shown = ""  # an argument's name column already shows its metavar
        param.display_type_rich = lambda ctx, _shown=shown: _shown


class IebCommand(TyperCommand):
    """A command whose help shows metavars (``JJJJ-MM-DD``, ``MAP``) and a Dutch ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_types(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "Toon deze hulp en stop."
            _plain_types([option])
        return option


class IebGroup(TyperGroup):
    """A command group with a Dutch ``--help``."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "Toon deze hulp en stop."
            _plain_types([option])
        return option


#: ``app.command(cls=COMMAND)``
COMMAND = IebCommand
#: ``typer.Typer(cls=GROUP)``
GROUP = IebGroup


def parse_today(value: str | None, option: str = "--today") -> dt.date | None:
    """Parse a ``--today`` style option (``JJJJ-MM-DD``); a usage error (exit 2) when it is no date."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is geen datum JJJJ-MM-DD", param_hint=option) from None


def print_problems(exc: Exception, *, footer: str | None = None) -> None:
    """Print an error and every one of its ``issues`` on stderr (BSNs masked), then ``footer``."""
    issues: Sequence[Any] = getattr(exc, "issues", ()) or ()
    describe = getattr(exc, "name", None)
    if issues and all(hasattr(i, "describe") for i in issues) and describe is not None:
        typer.echo(f"fout: {mask_bsns(getattr(exc, 'message', str(exc)))}", err=True)
        for issue in issues:
            typer.echo(f"  {mask_bsns(issue.describe(describe))}", err=True)
    elif issues:
        message = getattr(exc, "message", str(exc))
        typer.echo(f"fout: {mask_bsns(message)}", err=True)
        for issue in issues:
            code = getattr(issue, "code", None)
            text = getattr(issue, "message", str(issue))
            typer.echo(f"  {code + ': ' if code else ''}{mask_bsns(text)}", err=True)
    else:
        message = getattr(exc, "message", str(exc))
        location = getattr(exc, "location", None)
        where = f"{location}: " if location else ""
        typer.echo(f"fout: {where}{mask_bsns(message)}", err=True)
    if footer:
        typer.echo(footer, err=True)


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``fout: message`` on stderr and return the :class:`typer.Exit` to raise."""
    typer.echo(f"fout: {mask_bsns(message)}", err=True)
    return typer.Exit(code)


def claim_outputs(targets: Sequence[Path], *, force: bool, option: str = "--force") -> None:
    """Refuse (exit 1, nothing written) when two outputs share a path or one already exists.

    With ``force`` an existing file may be replaced, but two outputs of one run never share a path.
    """
    seen: dict[Path, int] = {}
    clashes: list[str] = []
    for n, target in enumerate(targets):
        key = target.resolve()
        if key in seen:
            clashes.append(f"{target}: twee uitvoerbestanden krijgen dezelfde naam")
        seen[key] = n
    if not force:
        clashes += [f"{t}: bestaat al (geef {option} om te overschrijven)" for t in targets if t.exists()]
    if clashes:
        typer.echo("fout: uitvoer zou bestanden overschrijven; er is niets geschreven", err=True)
        for line in dict.fromkeys(clashes):
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(1)


def check_oin(value: str, option: str = "--allow-oin") -> str:
    """An OIN (Organisatie-identificatienummer): exactly 20 digits; a usage error (exit 2) otherwise."""
    value = value.strip()
    if not _OIN.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r} is geen OIN: een OIN bestaat uit precies 20 cijfers (bv. 00000099000000363000)",
            param_hint=option,
        )
    return value


def check_organisatie(organisatie: str | None, cert: Path, option: str = "--organisatie") -> str:
    """The own gemeentecode, checked against the certificate ``cert`` (PEM).

    ``organisatie`` must be 4 digits (CBS gemeentecode). The certificate must carry an OIN
    (subject serialNumber). For a test OIN (prefix ``00000099``) the gemeentecode is part of the OIN,
    so it must match (and is taken from the certificate when ``organisatie`` is None); a production
    OIN does not contain the gemeentecode, so then ``organisatie`` is required. Usage error (exit 2).
    """
    from ieb.transport.pki import TEST_OIN_PREFIX, oin_for, oin_from_certificate

    if organisatie is not None and not _GEMEENTECODE.fullmatch(organisatie.strip()):
        raise typer.BadParameter(
            f"{organisatie!r} is geen gemeentecode: precies 4 cijfers (CBS-code, bv. 0363)", param_hint=option
        )
    try:
        oin = oin_from_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"certificaat {cert} is niet te lezen: {exc}", param_hint="--cert") from None
    if oin is None:
        raise typer.BadParameter(
            f"certificaat {cert} heeft geen OIN (subject serialNumber van 20 cijfers)", param_hint="--cert"
        )
    if oin.startswith(TEST_OIN_PREFIX) and oin[8:13] == "00000":
        from_cert = oin[13:17]
        if organisatie is None:
            return from_cert
        if oin_for(organisatie.strip()) != oin:
            raise typer.BadParameter(
                f"gemeente {organisatie} past niet bij het certificaat (OIN {oin} hoort bij gemeente {from_cert})",
                param_hint=option,
            )
        return organisatie.strip()
    if organisatie is None:
        raise typer.BadParameter(
            f"het certificaat (OIN {oin}) noemt geen gemeentecode; geef {option}", param_hint=option
        )
    return organisatie.strip()
