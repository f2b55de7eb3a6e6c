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
from typer.core import TyperCommand, TyperGroup

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
    "require_files",
    "usage_error",
]


def _dutch_help_screens() -> None:
    """The help and error screens are for clerks: Dutch words around our Dutch help texts.

    Done when a help or usage error is about to be shown (importing typer's rich support costs
    0.2 s, which ``ieb validate`` should not pay on every run)."""
    import typer.rich_utils as rich_utils

    rich_utils.DEFAULT_STRING = "[standaard: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[verplicht]"
    rich_utils.ARGUMENTS_PANEL_TITLE = "Argumenten"
    rich_utils.OPTIONS_PANEL_TITLE = "Opties"
    rich_utils.COMMANDS_PANEL_TITLE = "Opdrachten"
    rich_utils.ERRORS_PANEL_TITLE = "Fout"
    rich_utils.ABORTED_TEXT = "Afgebroken."
    rich_utils.RICH_HELP = "Zie [blue]'{command_path} {help_option}'[/] voor hulp."


_CLICK_DUTCH = (
    (re.compile(r"^Missing argument (.+?)\.$"), r"Argument \1 ontbreekt."),
    (re.compile(r"^Missing option (.+?)\.$"), r"Optie \1 ontbreekt."),
    (re.compile(r"^No such option: (.+)$"), r"Onbekende optie: \1"),
    (re.compile(r"^Option (.+?) requires an argument\.$"), r"Optie \1 heeft een waarde nodig."),
    (re.compile(r"^Got unexpected extra arguments? \((.+)\)$"), r"Onverwacht extra argument: \1"),
    (re.compile(r"^Invalid value for (.+?): (.*)$", re.S), r"Ongeldige waarde voor \1: \2"),
)


def _dutch_usage(exc: Exception) -> Exception:
    """Click's usage error in Dutch (same exit code 2), or ``exc`` unchanged when not recognised."""
    from typer._click.exceptions import UsageError

    if not isinstance(exc, UsageError):
        return exc
    text = exc.format_message()
    for pattern, replacement in _CLICK_DUTCH:
        if pattern.match(text):
            return UsageError(pattern.sub(replacement, text), ctx=exc.ctx)
    return exc


def mask_bsns(text: str) -> str:
    """``text`` with every BSN-like 9-digit number masked (:func:`ieb.types.mask_bsns`, imported late)."""
    from ieb.types import mask_bsns as _mask

    return _mask(text)


_OIN = re.compile(r"[0-9]{20}")
_GEMEENTECODE = re.compile(r"[0-9]{4}")


def _plain_types(params: Iterable[Any]) -> None:
    """Show a parameter's ``metavar`` (or nothing) instead of typer's ``<list[Path]>`` / ``<bool>``."""
    from typer.core import TyperArgument

    for param in params:
        shown = param.metavar or ""
        if not shown and hasattr(param, "display_type_rich"):
            try:
                current = param.display_type_rich(None)
            except (TypeError, AttributeError):
                current = None
            if current and "|" in current:
                shown = current.strip("<>")  # a choice keeps its choices visible: text|json
        if getattr(param, "is_flag", False) or isinstance(param, TyperArgument):
            shown = ""  # an argument's name column already shows its metavar
        param.display_type_rich = lambda ctx, _shown=shown: _shown


class IebCommand(TyperCommand):
    """A command whose help shows metavars (``JJJJ-MM-DD``, ``MAP``) and a Dutch ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_types(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        """click's ``--help`` option with the Dutch text "Toon deze hulp en stop." and no type placeholder."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "Toon deze hulp en stop."
            _plain_types([option])
        return option

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args`` as click does; a usage error is re-raised with a Dutch text (exit 2)."""
        if any(a in ctx.help_option_names for a in args):
            _dutch_help_screens()
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            _dutch_help_screens()
            dutch = _dutch_usage(exc)
            if dutch is exc:
                raise
            raise dutch from None


class IebGroup(TyperGroup):
    """A command group with a Dutch ``--help``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args`` as click does, with the help screens in Dutch when help is asked for."""
        if not args or any(a in ctx.help_option_names for a in args):
            _dutch_help_screens()
        return super().parse_args(ctx, args)

    def get_help_option(self, ctx: Any) -> Any:
        """click's ``--help`` option with the Dutch text "Toon deze hulp en stop." and no type placeholder."""
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
        raise usage_error(f"{value!r} is geen datum JJJJ-MM-DD", option) from None


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


def usage_error(message: str, option: str | None = None) -> typer.Exit:
    """Print ``fout: OPTION: message`` on stderr (Dutch, unlike click's "Invalid value for") and
    return the :class:`typer.Exit` with code 2 (wrong usage) to raise."""
    where = f"{option}: " if option else ""
    typer.echo(f"fout: {where}{mask_bsns(message)}", err=True)
    return typer.Exit(2)


def require_files(paths: Sequence[Path], name: str) -> None:
    """Usage error (exit 2, like every command) when one of the input ``paths`` does not exist or
    is not a file; ``name`` is the argument's name (``FILES``)."""
    missing = [p for p in paths if str(p) != "-" and not p.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:5]) + (
            f" (en nog {len(missing) - 5})" if len(missing) > 5 else ""
        )
        raise usage_error(f"bestaat niet of is geen bestand: {shown}", name)


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
        raise usage_error(
            f"{value!r} is geen OIN: een OIN bestaat uit precies 20 cijfers (bv. 00000099000000363000)",
            option,
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
        raise usage_error(
            f"{organisatie!r} is geen gemeentecode: precies 4 cijfers (CBS-code, bv. 0363)", option
        )
    try:
        oin = oin_from_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise usage_error(f"certificaat {cert} is niet te lezen: {exc}", "--cert") from None
    if oin is None:
        raise usage_error(
            f"certificaat {cert} heeft geen OIN (subject serialNumber van 20 cijfers)", "--cert"
        )
    if oin.startswith(TEST_OIN_PREFIX) and oin[8:13] == "00000":
        from_cert = oin[13:17]
        if organisatie is None:
            return from_cert
        if oin_for(organisatie.strip()) != oin:
            raise usage_error(
                f"gemeente {organisatie} past niet bij het certificaat (OIN {oin} hoort bij gemeente {from_cert})",
                option,
            )
        return organisatie.strip()
    if organisatie is None:
        raise usage_error(f"het certificaat (OIN {oin}) noemt geen gemeentecode; geef {option}", option)
    return organisatie.strip()
