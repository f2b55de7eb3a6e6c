"""``ieb validate``, ``ieb show`` and ``ieb build``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ieb.cli._common import COMMAND, parse_today, print_problems, usage_error
from ieb.conformance.verdict import is_envelope
from ieb.errors import ConfigurationError
from ieb.releases import DEFAULT_RELEASE, get_pack
from ieb.releases.pack import klasse_columns as build_columns_of

#: the release ``ieb build`` writes and ``ieb show`` uses for its examples
_PACK = get_pack(DEFAULT_RELEASE)
_HEEN_METAVAR = "|".join(m.name for m in _PACK.heen())

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    from lxml import etree

    from ieb.releases import Registry
    from ieb.releases.pack import ReleasePack
    from ieb.validation.gemeenten import GemeenteLijst
    from ieb.validation.report import Report
    from ieb.validation.revisions import Revision

__all__ = ["register"]

FORMATS = ("text", "json", "junit", "rapport")
ENVELOPE_RELEASE = "stuf-ggk-0210"


def _collect_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and in folders every ``*.xml`` in any case (``.XML``, ``.Xml``), recursively."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() == ".xml" and q.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise usage_error(f"{p} bestaat niet", "PAD")
    return list(dict.fromkeys(files))


def _junit(results: list[dict[str, Any]]) -> str:
    from xml.sax.saxutils import escape, quoteattr  # (imports urllib: only for this output)

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
        issues = list(r["issues"])
        payload = r.get("payload")
        if payload and payload.get("issues"):
            issues += payload["issues"]
        lines.append(f"    <testcase name={name} classname={classname}>")
        codes = ", ".join(i["code"] for i in issues)
        body = "\n".join(
            f"{i['code']} (retourcode {i['retourcode']}, niveau {i['level']}) {i['location'] or ''}: {i['message']}"
            for i in issues
        )
        lines.append(f'      <failure message={quoteattr(codes)} type="ieb">{escape(body)}</failure>')
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def _envelope_result(
    path: Path,
    data: bytes,
    *,
    today: Any,
    gemeenten: GemeenteLijst | None,
    registry: Registry,
) -> dict[str, Any]:
    """The verdict on a StUF-GGk envelope and, for a Di01/Du01, on the iEb file inside: the one
    verdict of every output (:func:`ieb.conformance.verdict.envelope_result`)."""
    from ieb.conformance.verdict import envelope_result

    return envelope_result(str(path), data, today=today, gemeenten=gemeenten, registry=registry).row


def _issue_lines(issues: list[dict[str, Any]], paint: _Paint, indent: str = "    ") -> list[str]:
    lines = []
    for i in issues:
        rc = f"retourcode {i['retourcode']}" if i["retourcode"] else "geen retourcode"
        source = f", bron {i['source']}" if i.get("source") else ""  # --dvs: ieb, dvs or ieb+dvs
        lines.append(
            f"{indent}{paint.bold(i['code'])} ({rc}, niveau {i['level']}{source}) {i['location'] or ''}"
        )
        lines.append(f"{indent}    {i['message']}")
    return lines


class _Paint:
    """Colour for a terminal (ANSI: green GELDIG, red ONGELDIG, bold rule codes), plain text otherwise
    (a pipe, a file, ``NO_COLOR`` or ``TERM=dumb``); no rich: printing ten thousand results stays cheap."""

    def __init__(self, stream: Any) -> None:
        import os

        isatty = getattr(stream, "isatty", None)
        self.on = bool(
            isatty is not None
            and isatty()
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb"
        )

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)


def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PAD",
            help="Bestanden of mappen (in mappen: alle .xml/.XML, ook in submappen).",
            show_default=False,
        ),
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="text|json|junit|rapport",
            help="Uitvoer: text (mensen), json of junit (CI), rapport (iStandaarden).",
        ),
    ] = "text",
    today: Annotated[
        str | None,
        typer.Option(
            metavar="JJJJ-MM-DD", help="Systeemdatum van de ontvanger voor regel 8848; standaard vandaag."
        ),
    ] = None,
    gemeenten: Annotated[
        Path | None,
        typer.Option(
            metavar="CSV", help="Eigen gemeentelijst (code,naam,ingangsdatum,einddatum) voor CS300."
        ),
    ] = None,
    release_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--release-dir",
            metavar="MAP",
            help="Map met de officiële XSD's van een extra release; mag vaker.",
        ),
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Geen fout als er geen enkel bestand is gevonden."),
    ] = False,
    revision: Annotated[
        str | None,
        typer.Option(help="Revisie van iEb 1.0 (1.0.2, 1.0.3); standaard die op de Dagtekening gold."),
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
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-1.0|ieb-4.0",
            help="Verwachte release: een bestand van een andere release is ongeldig (code RELEASE).",
            show_default=False,
        ),
    ] = None,
    dvs: Annotated[
        str | None,
        typer.Option(
            "--dvs",
            metavar="URL",
            help="Laat elk bestand ook door een draaiende DVS (Decentrale Validatieservice) controleren en voeg "
            "de bevindingen samen, elk met zijn bron (ieb/dvs); standaard dvs_url uit ieb.toml (docs/dvs.md).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Valideer iEb-bestanden zoals het CAK dat doet: XSD en regels, met regelcode en retourcode.

    Een StUF-GGk-envelop (ggk_Di01, ggk_Du01, Fo01, ook in SOAP) wordt herkend: de envelop én het iEb-bestand erin worden gecontroleerd.

    Exitcode 0: alles geldig; 1: minstens één bestand ongeldig, of geen bestanden (zonder --allow-empty); 2: verkeerd gebruik.

    Voorbeeld: ieb validate --format json --today 2026-06-01 berichten/
    """
    if format not in FORMATS:
        raise usage_error(f"kies uit {', '.join(FORMATS)}", "--format")
    day = parse_today(today)
    files = _collect_paths(paths)
    if not release_dir:
        _official_folder()
    registry = _registry(release_dir)
    lijst, forced = _rule_options(gemeenten, revision)
    client = _dvs_client(dvs, forced)
    if heen is not None or format == "rapport":  # the conformance kit (ieb.conformance, docs/conformance.md)
        from ieb.conformance.cli import validate_conformance

        raise typer.Exit(
            validate_conformance(files, format, day, lijst, registry, heen, rapport_dir, forced, client)
        )
    if release is not None and release not in [p.name for p in registry]:
        raise usage_error(
            f"onbekende release {release!r}; bekend: {', '.join(p.name for p in registry)}", "--release"
        )
    results = _validate_files(files, day, lijst, registry, forced)
    if release is not None:
        for r in results:
            if r["release"] not in (None, release, ENVELOPE_RELEASE):
                r["valid"] = False
                r["issues"] = [
                    *r["issues"],
                    {
                        "code": "RELEASE",
                        "retourcode": None,
                        "level": 1,
                        "location": None,
                        "message": f"dit is een {r['bericht']} van release {r['release']}, verwacht: release {release}",
                    },
                ]
    if client is not None:  # --dvs: the DVS's findings merged in, each marked with its source
        _merge_dvs(results, files, client)
    valid = sum(1 for r in results if r["valid"])
    summary = {"files": len(results), "valid": valid, "invalid": len(results) - valid}
    _write_results(format, results, summary)
    if not results and not allow_empty:
        typer.echo(
            "fout: geen bestanden gevonden om te controleren (alleen .xml-bestanden in mappen); "
            "geef --allow-empty als dat de bedoeling is",
            err=True,
        )
        raise typer.Exit(1)
    raise typer.Exit(0 if summary["invalid"] == 0 else 1)


def _dvs_client(url: str | None, forced: Revision | None) -> Any:
    """The DVS client of ``--dvs URL``, else of ``dvs_url`` in the ieb.toml found (or ``IEB_DVS_URL``);
    None when none is set. A URL that is not http(s) is a usage error (exit 2)."""
    import os

    from ieb.errors import IebError

    if url is None and not (
        os.environ.get("IEB_CONFIG") or os.environ.get("IEB_DVS_URL") or os.path.isfile("ieb.toml")
    ):
        return None  # nothing can name a DVS (and ieb.config is not imported: startup stays lean)
    if url is None:
        try:
            from ieb.config import find_config, load_config

            url = load_config(find_config()).dvs_url  # ieb.toml, else IEB_DVS_URL
        except IebError:
            url = None
    if url is None:
        return None
    from ieb.conformance.cli import dvs_client

    try:
        return dvs_client(url, forced)
    except IebError as exc:
        raise usage_error(exc.message, "--dvs") from None


def _merge_dvs(results: list[dict[str, Any]], files: list[Path], client: Any) -> None:
    """Merge the DVS's findings into ``results``; a DVS without a verdict stops the run (exit 2)."""
    from ieb.conformance.cli import merge_dvs_rows
    from ieb.errors import IebError

    try:
        merge_dvs_rows(results, files, client)
    except IebError as exc:
        typer.echo(f"fout: {exc.message}; er is niets gerapporteerd", err=True)
        raise typer.Exit(2) from None
    finally:
        client.close()


def _rule_options(
    gemeenten: Path | None, revision: str | None
) -> tuple[GemeenteLijst | None, Revision | None]:
    """The gemeentelijst of ``--gemeenten`` (for CS300) and the revision of ``--revision`` (TR112-TR117
    windows), None when not given; a file or name that cannot be used is a usage error (exit 2)."""
    from ieb.errors import IebError
    from ieb.validation.gemeenten import GemeenteLijst
    from ieb.validation.revisions import revision as get_revision

    try:
        lijst = GemeenteLijst.from_csv(gemeenten) if gemeenten else None
    except IebError as exc:
        raise usage_error(exc.message, "--gemeenten") from None
    try:
        forced = get_revision(revision) if revision else None
    except IebError as exc:
        raise usage_error(exc.message, "--revision") from None
    return lijst, forced


def _write_results(format: str, results: list[dict[str, Any]], summary: dict[str, int]) -> None:
    """Write the results on stdout as ``json`` (``{"files": [...], "summary": {...}}``), ``junit``
    (one testcase per file) or ``text`` (the clerk's view, in Dutch)."""
    if format == "json":
        sys.stdout.write(
            json.dumps({"files": results, "summary": summary}, ensure_ascii=False, indent=2) + "\n"
        )
    elif format == "junit":
        sys.stdout.write(_junit(results))
    else:
        _print_text(results, summary)


def _validate_files(
    files: list[Path],
    day: dt.date | None,
    lijst: GemeenteLijst | None,
    registry: Registry,
    forced: Revision | None,
) -> list[dict[str, Any]]:
    """One result per file, in order: ``{"path": ..., **Report.to_dict()}`` or, for a StUF-GGk
    envelope, the envelope's result with the iEb payload inside (:func:`_envelope_result`).

    ``day`` is the receiver's system date (rule 8848), ``lijst`` the gemeentelijst for CS300 and
    ``forced`` a revision chosen with ``--revision``. An unreadable file is a usage error (exit 2).
    """
    from ieb.validation import validate_file

    results: list[dict[str, Any]] = []
    for f in files:
        try:
            report: Report = validate_file(f, today=day, gemeenten=lijst, registry=registry, revision=forced)
        except OSError as exc:
            raise usage_error(f"{f} is niet te lezen: {exc.strerror or exc}", "PAD") from None
        if report.bericht is None and is_envelope(report.root):
            results.append(_envelope_result(f, f.read_bytes(), today=day, gemeenten=lijst, registry=registry))
        else:
            results.append({"path": str(f), **report.to_dict()})
        note = _stand_in(results[-1].get("release"), registry)
        if note:  # only for a pack on a stand-in schema: the 1.0 JSON contract keeps its keys
            results[-1]["stand_in"] = note
    return results


def _stand_in(release: str | None, registry: Registry) -> str | None:
    """The pack's stand-in note (``ReleasePack.stand_in``) for a result of ``release``; None for a
    release on its published XSDs or an unknown one."""
    if not release:
        return None
    try:
        return registry.get(release).stand_in
    except ConfigurationError:  # an unknown release (already reported as such) has no pack note
        return None


def _print_text(results: list[dict[str, Any]], summary: dict[str, int]) -> None:
    """The clerk's view on stdout: one line per file (GELDIG / ONGELDIG), its findings below it,
    then the totals; written per file as plain text (colour only on a terminal)."""
    out = sys.stdout
    paint = _Paint(out)
    for r in results:
        release = r["release"] or "onbekende release"
        what = f"{r['bericht'] or '?'} ({release})"
        unread = {"OP179", "OP192", "XML"}  # refused before it was read: naming no release is no news
        if r["bericht"] is None and r["issues"] and {i["code"] for i in r["issues"]} <= unread:
            what = "niet gelezen"
        label = paint.green("GELDIG") + "  " if r["valid"] else paint.red("ONGELDIG")
        lines = [f"{label}  {r['path']}  {what}"]
        if r.get("stand_in"):
            lines.append(f"    let op: {r['stand_in']}")
        lines.extend(_issue_lines(r["issues"], paint))
        payload = r.get("payload")
        if payload is not None:
            if payload["valid"] is None:
                lines.append(f"    inhoud: {payload['note']}")
            else:
                state = "geldig" if payload["valid"] else "ONGELDIG"
                inner = f"{payload['bericht'] or '?'} ({payload['release'] or 'onbekende release'})"
                lines.append(f"    inhoud: {inner} {state}")
                lines.extend(_issue_lines(payload["issues"], paint, indent="      "))
        out.write("\n".join(lines) + "\n")
    out.write(
        f"{summary['files']} bestand(en) gecontroleerd: {summary['valid']} geldig, {summary['invalid']} ongeldig\n"
    )
    out.flush()


# --------------------------------------------------------------------------------------------- show

_RULE_TITLES: dict[str, str] = {}


def _meaning(code: str, pack: ReleasePack | None) -> str:
    """The meaning of a retourcode: the code list's text, for a history rule's code (``9nnn`` in
    iEb 1.0) that rule's title; which rule a code reports comes from the release's table."""
    from ieb.types import RetourCode

    try:
        rc = RetourCode(code)
    except ValueError:
        return "onbekende retourcode"
    rule = pack.retourcodes.rule(code) if pack is not None else None
    if rule and rule.startswith("TR"):
        if not _RULE_TITLES:
            from ieb.ledger.history import HISTORY_RULES

            _RULE_TITLES.update({r.code: r.title for r in HISTORY_RULES})
        title = _RULE_TITLES.get(rule)
        if title:
            return f"regel {rule} niet voldaan: {title}"
    return rc.omschrijving


def _value(el: etree._Element) -> str:
    """An element's value as the XSD reads it: text without comments/PIs, whitespace collapsed."""
    return " ".join("".join(str(t) for t in el.itertext()).split())


def _euro(cents: str) -> str:
    try:
        amount = int(cents)
    except ValueError:
        return cents
    sign = "-" if amount < 0 else ""
    euros, rest = divmod(abs(amount), 100)
    return f"€ {sign}{euros:,}".replace(",", ".") + f",{rest:02d}"


def _local(el: etree._Element) -> str:
    from lxml import etree as _et

    return _et.QName(el).localname


def _codes_of(el: etree._Element) -> list[str]:
    block = [c for c in el if isinstance(c.tag, str) and _local(c) == "RetourCodes"]
    return [_value(code) for b in block for code in b if isinstance(code.tag, str)]


def _render_tree(el: etree._Element, depth: int, lines: list[str]) -> None:
    from ieb.types import mask_bsn

    for child in el:
        if not isinstance(child.tag, str):
            continue
        name = _local(child)
        children = [c for c in child if isinstance(c.tag, str)]
        if name == "RetourCodes":
            for code in children:
                value = _value(code)
                lines.append(f"{'  ' * depth}RetourCode: {value}")
            continue
        if children:
            lines.append(f"{'  ' * depth}{name}")
            _render_tree(child, depth + 1, lines)
            continue
        value = _value(child)
        if name == "Bsn":
            value = mask_bsn(value)
        elif name == "KostprijsBedrag":
            value = _euro(value)
        lines.append(f"{'  ' * depth}{name}: {value}")


def _retour_verdict(root: etree._Element, pack: ReleasePack | None) -> list[str]:
    """Per berichtklasse of a retour: geaccepteerd / afgekeurd / niet beoordeeld, with meaning and next step."""
    header = next((c for c in root if isinstance(c.tag, str) and _local(c) == "Header"), None)
    client = next((c for c in root if isinstance(c.tag, str) and _local(c) == "Client"), None)
    classes: list[tuple[str, list[str]]] = []
    if header is not None:
        classes.append(("Header", _codes_of(header)))
    if client is not None:
        classes.append(("Client", _codes_of(client)))
        for child in client:
            if isinstance(child.tag, str) and any(
                _local(c) == "RetourCodes" for c in child if isinstance(c.tag, str)
            ):
                classes.append((_local(child), _codes_of(child)))
    all_codes = [c for _, codes in classes for c in codes]
    lines = []
    if not all_codes:
        lines.append(
            "Uitkomst: geaccepteerd (geen RetourCodes: het CAK heeft niets op te merken). Niets te doen."
        )
        return lines
    if "0001" in all_codes:
        outcome = "technisch afgekeurd"
    elif any(c not in ("0200", "0233") for c in all_codes):
        outcome = "afgekeurd"
    elif "0233" in all_codes:
        outcome = "niet beoordeeld"
    else:
        outcome = "geaccepteerd"
    lines.append(f"Uitkomst: {outcome}")
    for name, codes in classes:
        if not codes:
            lines.append(f"  {name}: geen opmerking (geen RetourCodes)")
            continue
        if set(codes) == {"0200"}:
            state = "geaccepteerd"
        elif set(codes) == {"0233"}:
            state = "niet beoordeeld"
        elif set(codes) <= {"0200", "0233"}:
            state = "geaccepteerd / niet beoordeeld"
        else:
            state = "afgekeurd"
        lines.append(f"  {name}: {state}")
        for code in codes:
            lines.append(f"    {code}: {_meaning(code, pack)}")
            step = pack.retourcodes.hints.get(code) if pack is not None else None
            if step and code not in ("0200",):
                lines.append(f"      Wat nu: {step}")
    return lines


def show(
    file: Annotated[
        Path,
        typer.Argument(metavar="BESTAND", help="Een iEb-bestand of StUF-GGk-envelop."),
    ],
    today: Annotated[
        str | None,
        typer.Option(metavar="JJJJ-MM-DD", help="Systeemdatum voor regel 8848; standaard vandaag."),
    ] = None,
    release_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--release-dir",
            metavar="MAP",
            help="Map met de officiële XSD's van een extra release; mag vaker.",
        ),
    ] = None,
) -> None:
    """Toon een iEb-bericht leesbaar: elk element met de naam uit de standaard, Bsn gemaskeerd, bedragen in euro. Bij een retour per berichtklasse: geaccepteerd, afgekeurd of niet beoordeeld, met de betekenis van elke code en wat u nu doet. Een bericht dat niet aan de regels voldoet wordt ook getoond, met de bevindingen per regelcode.

    Exitcode 0: getoond; 1: niet leesbaar als iEb-bericht of envelop.

    Voorbeeld: ieb show retour/{retour}_0363_AMS-0001.xml
    """
    from ieb.types import mask_bsns
    from ieb.validation import validate_bytes, validate_file

    if not file.is_file():
        raise usage_error(f"{file} bestaat niet of is geen bestand", "BESTAND")
    day = parse_today(today)
    registry = _registry(release_dir)
    try:
        report = validate_file(file, today=day, registry=registry)
        data = file.read_bytes() if report.bericht is None and is_envelope(report.root) else None
    except OSError as exc:
        raise usage_error(f"{file} is niet te lezen: {exc.strerror or exc}", "BESTAND") from None
    lines: list[str] = []
    if data is not None:
        result = _envelope_result(file, data, today=day, gemeenten=None, registry=registry)
        lines.append(f"{result['bericht'] or 'StUF-GGk-envelop'} ({ENVELOPE_RELEASE})")
        _render_envelope(data, lines)
        for i in result["issues"]:
            lines.append(f"  {i['code']}: {mask_bsns(i['message'])}")
        payload = result["payload"]
        if payload is None or payload["valid"] is None:
            if payload is not None:
                lines.append(f"Inhoud: {payload['note']}")
            typer.echo("\n".join(mask_bsns(line) for line in lines))
            return
        from ieb.ggk import Di01, Du01, check_envelope

        envelope = check_envelope(data).envelope
        assert isinstance(envelope, Di01 | Du01)
        lines.append("")
        lines.append("Inhoud:")
        report = validate_bytes(envelope.payload, today=day, registry=registry)
    if report.root is None or report.bericht is None:
        for line in lines:
            typer.echo(mask_bsns(line))
        typer.echo(f"fout: {file}: niet leesbaar als iEb-bericht", err=True)
        for i in report.issues:
            typer.echo(f"  {i.code}: {mask_bsns(i.message)}", err=True)
        raise typer.Exit(1)
    lines.append(f"{report.bericht} ({report.release})")
    _render_tree(report.root, 1, lines)
    pack = registry.get(report.release) if report.release is not None else None
    row = pack.message(report.bericht) if pack is not None else None
    if (row is not None and row.is_retour) or any(
        _local(c) == "IdentificatieRetour" for c in report.root.iter() if isinstance(c.tag, str)
    ):
        lines.append("")
        lines += _retour_verdict(report.root, pack)
    if report.issues:
        lines.append("")
        lines.append(f"Bevindingen ({len(report.issues)}): dit bericht voldoet niet aan de regels")
        for i in report.issues:
            rc = f", retourcode {i.retourcode}" if i.retourcode else ""
            lines.append(f"  {i.code} (niveau {i.level}{rc}): {i.message}")
    typer.echo("\n".join(mask_bsns(line) for line in lines))


def _registry(release_dirs: list[Path] | None) -> Registry:
    """The built-in releases plus the ``--release-dir`` folders (a usage error when one is not a release)."""
    from ieb.errors import IebError
    from ieb.releases import Registry, default_registry

    if not release_dirs:
        return default_registry
    registry = Registry.with_builtin()
    try:
        for folder in release_dirs:
            registry.register_folder(folder, replace=True)
    except IebError as exc:
        raise usage_error(exc.message, "--release-dir") from None
    return registry


def _render_envelope(data: bytes, lines: list[str]) -> None:
    from ieb.ggk import check_envelope
    from ieb.types import mask_bsns

    envelope = check_envelope(data).envelope
    if envelope is None:
        return
    sg = envelope.stuurgegevens
    lines.append(f"  zender: {sg.zender.organisatie} / {sg.zender.applicatie}")
    lines.append(f"  ontvanger: {sg.ontvanger.organisatie} / {sg.ontvanger.applicatie}")
    lines.append(f"  referentienummer: {sg.referentienummer}")
    if sg.cross_refnummer:
        lines.append(f"  crossRefnummer: {sg.cross_refnummer}")
    lines.append(f"  tijdstipBericht: {sg.tijdstip_bericht}")
    functie = getattr(sg, "functie", None)
    if functie:
        lines.append(f"  functie: {functie}")
    body = getattr(envelope, "body", None)
    if body is not None:  # Fo01 / Fo03: the GGk's error about an earlier message
        from ieb.ggk import FoutCode

        try:
            meaning = f" ({FoutCode(body.code).omschrijving})"
        except ValueError:
            meaning = ""
        lines.append(f"  foutcode: {body.code}{meaning}")
        lines.append(f"  plek: {body.plek}")
        lines.append(f"  omschrijving: {mask_bsns(body.omschrijving)}")


# -------------------------------------------------------------------------------------------- build


def build(
    input: Annotated[
        Path,
        typer.Argument(
            metavar="INVOER",
            help="CSV (, of ;), JSON-lijst of JSON-regels met één bericht per regel.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="MAP", help="Map voor de berichten.")] = Path(
        "out"
    ),
    bericht: Annotated[
        str | None,
        typer.Option(metavar=_HEEN_METAVAR, help="Soort bericht voor regels zonder kolom 'bericht'."),
    ] = None,
    today: Annotated[
        str | None,
        typer.Option(metavar="JJJJ-MM-DD", help="Systeemdatum voor de controle; standaard vandaag."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Bestaande bestanden in MAP overschrijven.")] = False,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="ieb-1.0|ieb-4.0",
            help="iEb-release van de berichten; standaard die uit ieb.toml, anders ieb-1.0.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Schrijf heenberichten van een release uit een tabel; bij één foute regel wordt niets geschreven.

    Standaard {heen_slash} (ieb-1.0; andere release: --release). Kolommen: bericht, afzender, identificatie, dagtekening (JJJJ-MM-DD), bsn, eb_start_nummer, status (1, 2 of 3; standaard 1); {columns}. Excel-CSV (Windows-1252, ;) wordt herkend. Alle foute regels worden in één keer gemeld, met regelnummer en kolom.

    Exitcode 0: geschreven; 1: fouten in de invoer (niets geschreven); 2: verkeerd gebruik.

    Voorbeeld: ieb build docs/examples/build.csv --out berichten/ --today 2026-06-01
    """
    from ieb.build import build as build_all
    from ieb.errors import IebError

    if not input.is_file():
        raise usage_error(f"{input} bestaat niet of is geen bestand", "INVOER")
    chosen = _build_release(release)
    heen = _heen_names(chosen)
    if bericht is not None and bericht.upper() not in heen:
        raise usage_error(f"kies {' of '.join(heen)} ({chosen})", "--bericht")
    day = parse_today(today)
    try:
        plan, written = build_all(
            input,
            out,
            name=str(input),
            bericht=bericht.upper() if bericht else None,
            today=day,
            force=force,
            release=chosen,
        )
    except IebError as exc:
        for warning in getattr(exc, "warnings", ()):
            typer.echo(f"let op: {warning}", err=True)
        print_problems(exc, footer="Er is niets geschreven.")
        raise typer.Exit(1) from None
    for warning in plan.table.warnings:
        typer.echo(f"let op: {warning}", err=True)
    for path in written:
        typer.echo(str(path))
    typer.echo(
        f"{len(written)} bericht(en) geschreven naar {out} (invoer: {plan.table.dialect}, {len(plan.table)} regels)",
        err=True,
    )


def _build_release(release: str | None) -> str:
    """``--release``, else the ``release`` of the ieb.toml found (--config rules of every command),
    else ``ieb-1.0``; a usage error for a release that cannot build files."""
    from ieb.errors import IebError
    from ieb.releases import default_registry

    _official_folder()
    if release is None:
        try:
            from ieb.config import find_config, load_config

            found = find_config()
            release = load_config(found).release if found is not None else "ieb-1.0"
        except IebError:
            release = "ieb-1.0"
    known = [p.name for p in default_registry if p.builtin and p.delivery is not None]
    if release not in known:
        raise usage_error(f"onbekende release {release!r}; kies uit {', '.join(known)}", "--release")
    return release


def _official_folder() -> None:
    """When the ieb.toml found registers official XSDs (``release_xsd``, by ``ieb release check``),
    build and validate with them: the release's pack is rebuilt on that folder."""
    import os

    if not os.environ.get("IEB_CONFIG") and not os.path.isfile("ieb.toml"):
        return  # what find_config() finds in this case: nothing (and ieb.config is not imported)
    from ieb.config import find_config, load_config
    from ieb.errors import IebError
    from ieb.releases import use_official_folder

    try:
        found = find_config()
        config = load_config(found) if found is not None else None
    except IebError:
        return
    if config is not None and config.release_xsd is not None:
        try:
            use_official_folder(config.release, config.resolve(config.release_xsd) or config.release_xsd)
        except IebError as exc:
            raise usage_error(exc.message, "release_xsd") from None


def _heen_names(release: str) -> list[str]:
    from ieb.releases import get_pack

    return [m.name for m in get_pack(release).heen()]


def _columns_text() -> str:
    """Per heenbericht of the default release its own columns (``ieb build --help``)."""
    parts = []
    for row in _PACK.heen():
        own = [c for c in build_columns_of(row) if c]
        shown = ", ".join(f"{c} (eurocent)" if c.endswith("_bedrag") else c for c in own)
        parts.append(f"{row.name}: {shown}")
    return "; ".join(parts)


build.__doc__ = (build.__doc__ or "").format(
    heen_slash="/".join(m.name for m in _PACK.heen()), columns=_columns_text()
)
show.__doc__ = (show.__doc__ or "").format(retour=_PACK.retours()[-1].name)


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``show`` and ``build`` to the ``ieb`` app (called once by :mod:`ieb.cli`)."""
    app.command(cls=COMMAND)(validate)
    app.command(cls=COMMAND)(show)
    app.command(cls=COMMAND)(build)
