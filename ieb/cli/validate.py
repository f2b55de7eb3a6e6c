"""``ieb validate``, ``ieb show`` and ``ieb build``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any
from xml.sax.saxutils import escape, quoteattr

import typer

from ieb.cli._common import parse_today as _today

__all__ = ["register"]

FORMATS = ("text", "json", "junit", "rapport")


def _collect_paths(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*.xml") if q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise typer.BadParameter(f"{p} bestaat niet", param_hint="PATH")
    return files


def _junit(results: list[dict[str, Any]]) -> str:
    failures = sum(1 for r in results if not r["valid"])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="ieb validate" tests="{len(results)}" failures="{failures}">',
        f'  <testsuite name="ieb validate" tests="{len(results)}" failures="{failures}" errors="0">',
    ]
    for r in results:
        name = quoteattr(r["path"])
        classname = quoteattr(f"{r['release'] or 'onbekend'}.{r['bericht'] or 'onbekend'}")
        if r["valid"]:
            lines.append(f"    <testcase name={name} classname={classname}/>")
            continue
        lines.append(f"    <testcase name={name} classname={classname}>")
        codes = ", ".join(i["code"] for i in r["issues"])
        body = "\n".join(
            f"{i['code']} (retourcode {i['retourcode']}, niveau {i['level']}) {i['location'] or ''}: {i['message']}"
            for i in r["issues"]
        )
        lines.append(f'      <failure message={quoteattr(codes)} type="ieb">{escape(body)}</failure>')
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Bestanden of mappen (mappen: alle *.xml, recursief).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="Uitvoer: text, json, junit of rapport (iStandaarden).")
    ] = "text",
    today: Annotated[
        str | None,
        typer.Option(help="Systeemdatum van de ontvanger voor regel 8848 (JJJJ-MM-DD); standaard vandaag."),
    ] = None,
    gemeenten: Annotated[
        Path | None,
        typer.Option(help="Eigen gemeentelijst (CSV code,naam,ingangsdatum,einddatum) voor CS300."),
    ] = None,
    release_dir: Annotated[
        list[Path] | None,
        typer.Option("--release-dir", help="Map met de officiële XSD's van een extra release (herhaalbaar)."),
    ] = None,
    heen: Annotated[
        Path | None,
        typer.Option(
            "--heen", help="Heenbericht (of map): controleer de retour(en) erop (docs/conformance.md)."
        ),
    ] = None,
    rapport_dir: Annotated[
        Path | None, typer.Option("--rapport-dir", help="Map voor <naam>.rapport.xml (--format rapport).")
    ] = None,
) -> None:
    """Valideer iEb-bestanden zoals het CAK dat doet: XSD, regels met regelcode en retourcode.

    Exitcode 0: alles geldig; 1: minstens één bestand ongeldig; 2: verkeerd gebruik.
    """
    from ieb.errors import IebError
    from ieb.releases import Registry, default_registry
    from ieb.validation import validate_file
    from ieb.validation.gemeenten import GemeenteLijst

    if format not in FORMATS:
        raise typer.BadParameter(f"kies uit {', '.join(FORMATS)}", param_hint="--format")
    day = _today(today)
    files = _collect_paths(paths)
    registry = Registry.with_builtin() if release_dir else default_registry
    try:
        lijst = GemeenteLijst.from_csv(gemeenten) if gemeenten else None
        for folder in release_dir or []:
            registry.register_folder(folder, replace=True)
    except IebError as exc:
        raise typer.BadParameter(str(exc)) from None
    if heen is not None or format == "rapport":  # the conformance kit (ieb.conformance, docs/conformance.md)
        from ieb.conformance.cli import validate_conformance

        raise typer.Exit(validate_conformance(files, format, day, lijst, registry, heen, rapport_dir))
    results: list[dict[str, Any]] = []
    for f in files:
        report = validate_file(f, today=day, gemeenten=lijst, registry=registry)
        results.append({"path": str(f), **report.to_dict()})
    valid = sum(1 for r in results if r["valid"])
    summary = {"files": len(results), "valid": valid, "invalid": len(results) - valid}
    if format == "json":
        sys.stdout.write(
            json.dumps({"files": results, "summary": summary}, ensure_ascii=False, indent=2) + "\n"
        )
    elif format == "junit":
        sys.stdout.write(_junit(results))
    else:
        from rich.console import Console
        from rich.markup import escape as rich_escape

        console = Console(highlight=False, soft_wrap=True)
        for r in results:
            what = f"{r['bericht'] or '?'} ({r['release'] or 'onbekende release'})"
            if r["valid"]:
                console.print(f"[green]GELDIG[/]    {rich_escape(r['path'])}  {what}")
                continue
            console.print(f"[red]ONGELDIG[/]  {rich_escape(r['path'])}  {what}")
            for i in r["issues"]:
                rc = f"retourcode {i['retourcode']}" if i["retourcode"] else "geen retourcode"
                console.print(
                    f"    [bold]{i['code']}[/] ({rc}, niveau {i['level']}) {rich_escape(i['location'] or '')}"
                )
                console.print(f"        {rich_escape(i['message'])}")
        console.print(
            f"{summary['files']} bestand(en): {summary['valid']} geldig, {summary['invalid']} ongeldig"
        )
    raise typer.Exit(0 if summary["invalid"] == 0 else 1)


def show(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Een iEb-bestand.")]) -> None:
    """Toon een leesbare samenvatting van een iEb-bericht (Bsn gemaskeerd)."""
    from rich.console import Console
    from rich.table import Table

    from ieb.codec import element_to_model
    from ieb.errors import IebError
    from ieb.messages import RetourMessage
    from ieb.validation import validate_file

    console = Console(highlight=False)
    report = validate_file(file)
    if report.root is None or report.bericht is None or any(i.level == 1 for i in report.issues):
        console.print(f"[red]{file}: niet leesbaar als iEb-bericht[/]")
        for i in report.issues:
            console.print(f"  {i.code}: {i.message}")
        raise typer.Exit(1)
    try:
        message = element_to_model(report.root)
    except (IebError, ValueError) as exc:
        console.print(f"[red]{file}: {exc}[/]")
        raise typer.Exit(1) from None
    h = message.header
    table = Table(title=f"{message.bericht} ({message.release})", show_header=False)
    table.add_row("BerichtCode", h.bericht_code)
    table.add_row("Afzender", h.afzender)
    table.add_row("Identificatie", h.bericht_identificatie.identificatie)
    table.add_row("Dagtekening", h.bericht_identificatie.dagtekening.isoformat())
    table.add_row(
        "XSD-versies",
        f"basisschema {h.xsd_versie.basisschema_xsd_versie}, bericht {h.xsd_versie.bericht_xsd_versie}",
    )
    if isinstance(message, RetourMessage):
        rh = message.header
        table.add_row("IdentificatieRetour", rh.identificatie_retour)
        table.add_row("DagtekeningRetour", rh.dagtekening_retour.isoformat())
        table.add_row(
            "RetourCodes (header)", ", ".join(c.value for c in rh.retour_codes) or "geen (geaccepteerd)"
        )
    client = getattr(message, "client", None)
    if client is not None:
        table.add_row("Bsn", client.bsn.masked)
        klasse: Any = getattr(client, "start_eigen_bijdrage", None) or getattr(
            client, "stop_eigen_bijdrage", None
        )
        for name, value in klasse:
            if value is None:
                continue
            if name == "eb_kostprijs":
                value = (
                    f"{value.kostprijs_bedrag / 100:.2f} euro vanaf {value.kostprijs_startdatum.isoformat()}"
                )
            elif name == "retour_codes":
                value = ", ".join(f"{c.value} ({c.omschrijving})" for c in value)
            elif hasattr(value, "omschrijving"):
                value = f"{value.value} ({value.omschrijving})"
            table.add_row(name, str(value.isoformat() if isinstance(value, dt.date) else value))
        if hasattr(client, "retour_codes"):
            table.add_row(
                "RetourCodes (client)",
                ", ".join(f"{c.value} ({c.omschrijving})" for c in client.retour_codes),
            )
    console.print(table)
    if report.issues:
        console.print(f"[yellow]Let op: {len(report.issues)} bevinding(en); draai 'ieb validate {file}'.[/]")


def build(
    input: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV- of JSON-lines-bestand met records.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Map voor de berichten.")] = Path("out"),
    bericht: Annotated[
        str | None, typer.Option(help="WMO401 of WMO403 voor records zonder kolom 'bericht'.")
    ] = None,
    today: Annotated[str | None, typer.Option(help="Systeemdatum voor de controle (JJJJ-MM-DD).")] = None,
) -> None:
    """Schrijf WMO401/WMO403-bestanden uit records; bij één foute regel wordt niets geschreven."""
    from ieb.build import build_files, write_all
    from ieb.errors import IebError

    try:
        files = build_files(input, bericht=bericht, today=_today(today))
        written = write_all(files, out)
    except IebError as exc:
        typer.echo(f"fout in {exc.location or input}: {exc.message}", err=True)
        typer.echo("er is niets geschreven", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(str(path))
    typer.echo(f"{len(written)} bericht(en) geschreven naar {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(show)
    app.command()(build)
