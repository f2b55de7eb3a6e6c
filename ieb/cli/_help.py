"""Dutch ``--help`` screens and usage errors for every ``ieb`` command, on public APIs only.

The help is written by :class:`IebCommand` / :class:`IebGroup` themselves through click's documented
extension point (``Command.format_help(ctx, formatter)`` with the public ``HelpFormatter.write`` and
``.width``) from the public attributes of each parameter (``opts``, ``metavar``, ``help``,
``default``, ``required``, ``is_flag``, ``show_default``, ``type.choices``). Nothing in typer is
patched and nothing private is used (typer's vendored click module, the constants of its rich
help module, its display-type hook), so the same screens come out of every typer the project allows
(pyproject: ``typer>=0.12``), with or without its vendored click.

Shapes (width = the formatter's, at most 78 columns)::

    Gebruik: ieb reconcile [OPTIES]

      Vergelijk de overdrachtsbestanden van het CAK ...

    Opties:
      --henv BESTAND          HenV-bestand van het CAK. [verplicht]
      --format text|json      Uitvoer op het scherm: text of json. [standaard: text]
      --help                  Toon deze hulp en stop.

      Voorbeeld: ieb reconcile --henv henv.csv ...

A usage error (unknown option, missing value, a ``typer.BadParameter`` from a command) prints the
usage line, a pointer to ``--help`` and ``fout: <Dutch text>`` on stderr, and exits with code 2.
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args, get_origin

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["HELP_OPTION_TEXT", "IebCommand", "IebGroup", "allowed_values", "dutch_message"]

#: the text of ``--help`` on every command
HELP_OPTION_TEXT = "Toon deze hulp en stop."

#: click's UsageError, found from typer's public ``BadParameter`` (typer >= 0.2x vendors click
#: as a private module; older typer uses click itself): the base of every usage error
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")

#: click's English usage messages -> Dutch (the same exit code 2); pattern texts with their flags,
#: compiled on first use by ``re``'s own cache (compiling them at import cost ~10 ms of `ieb --help`)
_DUTCH = (
    (r"^Missing argument (.+?)\.?$", 0, r"Argument \1 ontbreekt."),
    (r"^Missing option (.+?)\.?$", 0, r"Optie \1 ontbreekt."),
    (r"^Missing parameter (.+?)\.?$", 0, r"Waarde \1 ontbreekt."),
    (r"^No such option: (.+?)(?: Did you mean (.+)\?)?$", 0, r"Onbekende optie: \1"),
    (r"^No such command (.+?)\.?$", 0, r"Onbekende opdracht: \1"),
    (r"^Option (.+?) requires an argument\.$", 0, r"Optie \1 heeft een waarde nodig."),
    (r"^Option (.+?) requires (\d+) arguments\.$", 0, r"Optie \1 heeft \2 waarden nodig."),
    (r"^Got unexpected extra arguments?(?:\(s\))? \((.+)\)$", 0, r"Onverwacht extra argument: \1"),
    (r"^Option (.+?) does not take a value\.$", 0, r"Optie \1 neemt geen waarde."),
    (r"^Missing command\.?$", 0, r"Opdracht ontbreekt."),
    (r"^Invalid value for (.+?): (.*)$", re.S, r"Ongeldige waarde voor \1: \2"),
    (r"^Invalid value: (.*)$", re.S, r"Ongeldige waarde: \1"),
)

#: the English text of a value that does not convert to the option's type: click's (typer before
#: 0.2x: "'x' is not a valid integer.", "0 is not in the range 1<=x<=32.", "'x' is not one of ...")
#: or pydantic's (typer 0.2x: "Input should be greater than or equal to 1", "Value error, ...")
_NOT_CONVERTED = (
    r"^(?:Input should be|Value error, |Value .+ is not a valid )"
    r"|is not a valid (?:integer|float|number)|is not in the range|is not one of"
)

#: help texts of the options typer adds itself (English there)
_OWN_HELP = {
    "install_completion": "Installeer tab-aanvulling voor deze shell.",
    "show_completion": "Toon de tab-aanvulling voor deze shell (om te kopiëren of aan te passen).",
}


def dutch_message(text: str) -> str:
    """A usage message of click in Dutch; a text that is not one of click's is returned unchanged."""
    for pattern, flags, replacement in _DUTCH:
        if re.match(pattern, text, flags):
            return re.sub(pattern, replacement, text, count=1, flags=flags)
    return text


# ------------------------------------------------------------------------------------------- screens


def _metavar(param: Any) -> str:
    """What an option takes: its metavar, else its choices (``text|json``), else nothing (a flag,
    or a value whose help says what it is)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return str(param.metavar)
    choices = _choices(param)
    return "|".join(choices) if choices else _placeholder(param)


#: a value's kind in Dutch, by annotation (typer 0.2x) or click type name (older typer)
_PLACEHOLDERS = {"Path": "PAD", "path": "PAD", "int": "GETAL", "integer": "GETAL", "float": "GETAL"}


def _type_name(param: Any) -> str:
    """The name of the value's type: the annotation's (``int``, ``Path``; typer 0.2x) or click's
    type name (``integer``, ``integer range``, ``path``; older typer)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if get_origin(annotation) is list:
        annotation = next(iter(get_args(annotation)), None)
    return str(getattr(annotation, "__name__", None) or getattr(getattr(param, "type", None), "name", None))


def _placeholder(param: Any) -> str:
    """``PAD``, ``GETAL`` or ``TEKST`` for an option without metavar, so every option that takes a
    value shows that it does."""
    return _PLACEHOLDERS.get(_type_name(param).removesuffix(" range"), "TEKST")


def _bound(param: Any, side: Literal["min", "max"]) -> Any:
    """The option's ``min`` or ``max`` (typer 0.2x keeps them on the parameter, older typer on
    click's ``IntRange``/``FloatRange`` type), or None."""
    if hasattr(param, side):
        return getattr(param, side)
    return getattr(getattr(param, "type", None), side, None)


def allowed_values(param: Any) -> str | None:
    """What ``param`` accepts, in Dutch, or None when that is not a number or a choice:
    ``een geheel getal van 1 tot en met 32``, ``een getal (met een punt: 2.5) van minstens 0.1``,
    ``text of json``."""
    choices = _choices(param)
    if choices:
        return " of ".join([", ".join(choices[:-1]), choices[-1]] if len(choices) > 1 else choices)
    kind = _type_name(param).removesuffix(" range")
    if kind in ("int", "integer"):
        what = "een geheel getal"
    elif kind == "float":
        what = "een getal (met een punt: 2.5)"
    else:
        return None
    low, high = _bound(param, "min"), _bound(param, "max")
    if low is not None and high is not None:
        return f"{what} van {low} tot en met {high}"
    if low is not None:
        return f"{what} van minstens {low}"
    if high is not None:
        return f"{what} van hoogstens {high}"
    return what


def _choices(param: Any) -> list[str]:
    """The values an option allows: click's ``type.choices`` (typer before its own parameter types)
    or the Enum / Literal of the annotation (``type_descriptor.annotation``, typer 0.2x)."""
    choices = getattr(getattr(param, "type", None), "choices", None)
    if choices:
        return [str(getattr(c, "value", c)) for c in choices]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(m.value) for m in annotation]
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    return []


def _shown_default(param: Any) -> str | None:
    """The default to show as ``[standaard: ...]``, or None (not shown: no value, a flag, hidden)."""
    show = getattr(param, "show_default", None)
    if show is False or getattr(param, "is_flag", False):
        return None
    if isinstance(show, str):
        return show
    default = param.default
    if callable(default) or default is None or default == "" or default == () or default == []:
        return None
    if isinstance(default, (list, tuple)):
        return ", ".join(str(getattr(d, "value", d)) for d in default)
    return str(getattr(default, "value", default))


def _option_record(param: Any) -> tuple[str, str]:
    names = " / ".join(
        ", ".join(group) for group in (param.opts, getattr(param, "secondary_opts", ())) if group
    )
    metavar = _metavar(param)
    if metavar and getattr(param, "multiple", False):
        metavar += " ..."
    text = _OWN_HELP.get(param.name or "", param.help or "")
    extra = []
    default = _shown_default(param)
    if default is not None:
        extra.append(f"[standaard: {default}]")
    if param.required:
        extra.append("[verplicht]")
    return (f"{names} {metavar}".strip(), " ".join(x for x in (text, *extra) if x))


def _argument_record(param: Any) -> tuple[str, str]:
    name = _argument_name(param)
    text = getattr(param, "help", None) or ""
    extra = " [verplicht]" if param.required else ""
    return name, f"{text}{extra}".strip()


def _argument_name(param: Any) -> str:
    """An argument as help and usage show it: its metavar or NAME in capitals, ``...`` when it
    takes more than one value (one style for every command: ``PAD...``, ``BESTAND``)."""
    name = str(param.metavar or (param.name or "").upper()).strip("{}[]<>").rstrip(".")
    return name + ("..." if getattr(param, "nargs", 1) != 1 else "")


def _usage(command: Any, ctx: Any) -> str:
    """``ieb reconcile [OPTIES]``, ``ieb validate [OPTIES] PAD...``, ``ieb [OPTIES] OPDRACHT ...``."""
    params = command.get_params(ctx)
    pieces = ["[OPTIES]"] if any(p.param_type_name != "argument" for p in params) else []
    for param in params:
        if param.param_type_name == "argument":
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
    if isinstance(command, TyperGroup):
        pieces.append("OPDRACHT [ARGUMENTEN]...")
    return " ".join([ctx.command_path, *pieces])


def _paragraphs(text: str) -> list[str]:
    text = inspect.cleandoc(text).split("\f", 1)[0]
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _wrap(text: str, width: int, indent: int) -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        width=max(20, width),
        initial_indent=" " * indent,
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _definitions(rows: Sequence[tuple[str, str]], width: int) -> list[str]:
    """``  name    text`` rows, the text wrapped in its own column (below the name when it is long)."""
    if not rows:
        return []
    first = min(max(len(name) for name, _ in rows), 30) + 4
    lines: list[str] = []
    for name, text in rows:
        wrapped = _wrap(text, width - first, 0) or [""]
        if len(name) + 4 <= first:
            lines.append(f"  {name.ljust(first - 2)}{wrapped[0]}".rstrip())
            rest = wrapped[1:]
        else:
            lines.append(f"  {name}")
            rest = wrapped
        lines.extend((" " * first + line).rstrip() for line in rest)
    return lines


def _epilog(text: str, width: int) -> list[str]:
    """The epilog (examples): lines of commands are kept as written, so they can be copied; other
    lines are wrapped."""
    lines: list[str] = []
    for raw in inspect.cleandoc(text).splitlines():
        stripped = raw.strip()
        if not stripped:
            lines.append("")
        elif len(raw) + 2 <= width or stripped.startswith(("ieb ", "$ ", "python")):
            lines.append(f"  {raw}")
        else:
            lines.extend(_wrap(raw, width, 2))
    return lines


def _screen(command: Any, ctx: Any, width: int, commands: Iterable[tuple[str, str]] = ()) -> str:
    lines = [f"Gebruik: {_usage(command, ctx)}", ""]
    for paragraph in _paragraphs(command.help or ""):
        lines.extend(_wrap(paragraph, width, 2))
        lines.append("")
    params = command.get_params(ctx)
    arguments = [_argument_record(p) for p in params if p.param_type_name == "argument"]
    options = [
        _option_record(p)
        for p in params
        if p.param_type_name != "argument" and not getattr(p, "hidden", False)
    ]
    for title, rows in (("Argumenten", arguments), ("Opties", options), ("Opdrachten", list(commands))):
        if rows:
            lines.append(f"{title}:")
            lines.extend(_definitions(rows, width))
            lines.append("")
    if command.epilog:
        lines.extend(_epilog(command.epilog, width))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _usage_failed(exc: Exception) -> typer.Exit:
    """Print a usage error in Dutch on stderr (usage line, pointer to --help, ``fout: ...``)."""
    from ieb.types import mask_bsns

    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        typer.echo(f"Gebruik: {_usage(ctx.command, ctx)}", err=True)
        help_names = getattr(ctx, "help_option_names", None) or ["--help"]
        typer.echo(f"Zie '{ctx.command_path} {help_names[0]}' voor hulp.", err=True)
        typer.echo("", err=True)
    param = getattr(exc, "param", None)
    if param is not None and re.search(_NOT_CONVERTED, str(getattr(exc, "message", "")), re.S):
        allowed = allowed_values(param)  # click's or pydantic's English -> what the option takes
        if allowed is not None:
            exc.message = f"{'kies' if _choices(param) else 'geef'} {allowed}"  # type: ignore[attr-defined]
    typer.echo(f"fout: {mask_bsns(dutch_message(exc.format_message()))}", err=True)  # type: ignore[attr-defined]
    return typer.Exit(2)


class _DutchHelp:
    """What :class:`IebCommand` and :class:`IebGroup` share (mixed in before the typer class)."""

    def get_help_option(self, ctx: Any) -> Any:
        """click's ``--help`` option with the Dutch text of :data:`HELP_OPTION_TEXT`."""
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args`` as click does; a usage error is printed in Dutch (exit 2)."""
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc, no-any-return]
        except _USAGE_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group called without a command
                typer.echo(ctx.get_help())
                raise typer.Exit(2) from None
            raise _usage_failed(exc) from None

    def invoke(self, ctx: Any) -> Any:
        """Run the command as click does; a usage error raised while it runs (a
        ``typer.BadParameter`` of the command, an unknown subcommand) is printed in Dutch (exit 2)."""
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except _USAGE_ERROR as exc:
            raise _usage_failed(exc) from None


class IebCommand(_DutchHelp, TyperCommand):
    """A command with a Dutch ``--help``: metavars (``JJJJ-MM-DD``, ``MAP``) or choices
    (``tekst|json``) instead of Python types, ``[standaard: ...]``, ``[verplicht]``, the epilog's
    examples kept as written."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Write the Dutch help screen into click's ``formatter`` (plain text, no rich panels)."""
        formatter.write(_screen(self, ctx, formatter.width or 78))


class IebGroup(_DutchHelp, TyperGroup):
    """A command group with a Dutch ``--help`` listing its commands (``Opdrachten``)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Write the Dutch help screen, with one line per visible command, into ``formatter``."""
        width = formatter.width or 78
        rows = []
        for name in self.list_commands(ctx):
            found = self.summary(ctx, name)
            if found is None or found[1]:
                continue
            rows.append((name, found[0]))
        formatter.write(_screen(self, ctx, width, rows))

    def summary(self, ctx: Any, name: str) -> tuple[str, bool] | None:
        """(the one-line summary, hidden) of the command ``name`` for the listing, or None when
        there is no such command (a lazy group answers without loading the command's module)."""
        command = self.get_command(ctx, name)
        if command is None:
            return None
        return command.short_help or next(iter(_paragraphs(command.help or "")), ""), bool(command.hidden)
