"""Small helpers shared by the command modules (not a command module itself).

* :func:`parse_today` - the ``--today`` option;
* :class:`IebCommand` / :data:`COMMAND` - Dutch ``--help`` without type placeholders (``<bool>``),
  made in :mod:`ieb.cli._help`;
* :func:`print_problems` - every problem of an :class:`~ieb.errors.IebError` (``.issues``), BSNs masked;
* :func:`claim_outputs` - output files never overwrite each other or existing files unless ``--force``;
* :func:`check_oin`, :func:`check_organisatie` - options that identify an organisation, checked
  against the format (OIN = 20 digits, gemeentecode = 4 digits) and the certificate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from ieb.cli._help import IebCommand, IebGroup  # Dutch --help on public APIs only
from ieb.types import mask_bsns

__all__ = [
    "COMMAND",
    "GROUP",
    "IebCommand",
    "IebGroup",
    "check_oin",
    "check_organisatie",
    "claim_outputs",
    "configured_release",
    "fail",
    "parse_today",
    "print_problems",
    "require_files",
    "usage_error",
]


_OIN = re.compile(r"[0-9]{20}")
_GEMEENTECODE = re.compile(r"[0-9]{4}")


#: ``app.command(cls=COMMAND)``
COMMAND = IebCommand
#: ``typer.Typer(cls=GROUP)``
GROUP = IebGroup


def parse_today(value: str | None, option: str = "--today") -> dt.date | None:
    """Parse a ``--today`` style option (``JJJJ-MM-DD``); a usage error (exit 2) when it is no date
    (:func:`ieb.cli._validate_core.parse_day`, which the typer-free ``ieb validate`` uses too)."""
    from ieb.cli._validate_core import Usage, parse_day

    try:
        return parse_day(value, option)
    except Usage as exc:
        raise usage_error(exc.message, option) from None


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
    is no regular file (a folder, FIFO or device: "is geen gewoon bestand"); ``name`` is the
    argument's name (``BESTANDEN``). :func:`ieb.cli._retour_core.check_files`, which the typer-free
    ``ieb retour`` uses too."""
    from ieb.cli._retour_core import check_files
    from ieb.cli._validate_core import Usage

    try:
        check_files(paths, name)
    except Usage as exc:
        raise usage_error(exc.message, exc.option) from None


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``fout: message`` on stderr and return the :class:`typer.Exit` to raise."""
    typer.echo(f"fout: {mask_bsns(message)}", err=True)
    return typer.Exit(code)


def configured_release(option: str | None, config: Path | None = None) -> tuple[str, str]:
    """The iEb release a command works in and where that came from (Dutch, for the line that says
    so): ``option`` (``--release``), else the ``release`` of the configured settings (the ieb.toml
    found by :func:`ieb.config.find_config` from ``config``, with ``IEB_RELEASE``), else
    ``ieb-1.0``, the release the settings default to (a BSN in the path of ieb.toml masked). An ieb.toml that cannot be read is a usage
    error (exit 2) naming the file and ``--release``; nothing is chosen behind the clerk's back."""
    import os

    from ieb.config import find_config, load_config
    from ieb.errors import IebError

    if option is not None:
        return option, "--release"
    try:
        found = find_config(config)
        release = load_config(config).release
    except IebError as exc:
        raise fail(f"{exc}; of kies de release met --release", code=2) from None
    if os.environ.get("IEB_RELEASE"):
        return release, "IEB_RELEASE"
    if found is not None:
        return release, mask_bsns(f"uit {found}")  # a folder named after a client: masked, as ieb status does
    return release, "standaard: geen ieb.toml gevonden"


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
    from ieb.testing.pki import TEST_OIN_PREFIX, oin_for, oin_from_certificate

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
