"""``ieb validate``, ``ieb show`` and ``ieb build``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ieb.cli._common import COMMAND, parse_today, print_problems, usage_error
from ieb.conformance.verdict import is_envelope
from ieb.releases import DEFAULT_RELEASE, default_registry, get_pack
from ieb.releases.pack import klasse_columns as build_columns_of

#: the release ``ieb build`` writes and ``ieb show`` uses for its examples
_PACK = get_pack(DEFAULT_RELEASE)
#: the releases ``ieb build --release`` writes (those with a delivery), default release first
_BUILD_PACKS = [_PACK, *(p for p in default_registry if p.delivery is not None and p is not _PACK)]
_HEEN_METAVAR = "|".join(m.name for p in _BUILD_PACKS for m in p.heen())

if TYPE_CHECKING:  # pragma: no cover
    from lxml import etree

    from ieb.releases import Registry
    from ieb.releases.pack import ReleasePack

__all__ = ["register"]

ENVELOPE_RELEASE = "stuf-ggk-0210"  # (ieb.cli._validate_core.ENVELOPE_RELEASE)


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
        typer.Option(
            help="Revisie van iEb 1.0 (1.0.2, 1.0.3), alleen voor iEb 1.0-bestanden; standaard die op de Dagtekening gold."
        ),
    ] = None,
    heen: Annotated[
        Path | None,
        typer.Option(
            "--heen", help="Heenbericht (of map): controleer de retour(en) erop (docs/conformance.md)."
        ),
    ] = None,
    rapport_dir: Annotated[
        Path | None,
        typer.Option("--rapport-dir", metavar="MAP", help="Map voor <naam>.rapport.xml (--format rapport)."),
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
    from ieb.cli._validate_core import Usage, run

    try:
        code = run(
            paths,
            format=format,
            today=today,
            gemeenten=gemeenten,
            release_dir=release_dir,
            allow_empty=allow_empty,
            revision=revision,
            heen=heen,
            rapport_dir=rapport_dir,
            release=release,
            dvs=dvs,
        )
    except Usage as exc:
        raise usage_error(exc.message, exc.option) from None
    raise typer.Exit(code)


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
        from ieb.conformance.verdict import envelope_result

        result = envelope_result(str(file), data, today=day, gemeenten=None, registry=registry).row
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
        typer.echo(
            mask_bsns(f"fout: {file}: niet leesbaar als iEb-bericht"), err=True
        )  # a Bsn in the name too
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
    from ieb.cli._validate_core import Usage, registry_of

    try:
        return registry_of(release_dirs)
    except Usage as exc:
        raise usage_error(exc.message, exc.option) from None


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
        typer.Option(
            metavar=_HEEN_METAVAR,
            help="Soort bericht (van de release) voor regels zonder kolom 'bericht'.",
        ),
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

    Berichten: {releases}; de release komt uit --release, anders uit ieb.toml, anders {default}. Kolommen: bericht, afzender, identificatie, dagtekening (JJJJ-MM-DD), bsn, eb_start_nummer, status (1, 2 of 3; standaard 1); {columns}. Excel-CSV (Windows-1252, ;) wordt herkend. Alle foute regels worden in één keer gemeld, met regelnummer en kolom.

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
    """``--release``, else the ``release`` of the configured settings (the ieb.toml found, with
    ``IEB_RELEASE``), else ``ieb-1.0`` (:func:`ieb.cli._common.configured_release`); a usage error
    (exit 2) for an ieb.toml that cannot be read (it was ieb-1.0 without a word, so a 4.0 gemeente
    with a typo in its ieb.toml got 1.0 files) and for a release that cannot build files."""
    from ieb.cli._common import configured_release
    from ieb.releases import default_registry

    _official_folder()
    if release is None:
        release = configured_release(None)[0]
    known = [p.name for p in default_registry if p.builtin and p.delivery is not None]
    if release not in known:
        raise usage_error(f"onbekende release {release!r}; kies uit {', '.join(known)}", "--release")
    return release


def _official_folder() -> None:
    """When the ieb.toml found registers official XSDs (``release_xsd``, by ``ieb release check``),
    build and validate with them (:func:`ieb.cli._validate_core.official_folder`); a usage error
    when that folder cannot be used."""
    from ieb.cli._validate_core import Usage, official_folder

    try:
        official_folder()
    except Usage as exc:
        raise usage_error(exc.message, exc.option) from None


def _heen_names(release: str) -> list[str]:
    from ieb.releases import get_pack

    return [m.name for m in get_pack(release).heen()]


def _columns_text() -> str:
    """Per heenbericht of every release ``ieb build`` writes its own columns (``ieb build --help``)."""
    parts = []
    for row in (m for p in _BUILD_PACKS for m in p.heen()):
        own = [c for c in build_columns_of(row) if c]
        shown = ", ".join(f"{c} (eurocent)" if c.endswith("_bedrag") else c for c in own)
        parts.append(f"{row.name}: {shown}")
    return "; ".join(parts)


build.__doc__ = (build.__doc__ or "").format(
    releases=" of ".join(f"{'/'.join(m.name for m in p.heen())} ({p.name})" for p in _BUILD_PACKS),
    default=_PACK.name,
    columns=_columns_text(),
)
show.__doc__ = (show.__doc__ or "").format(retour=_PACK.retours()[-1].name)


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``show`` and ``build`` to the ``ieb`` app (called once by :mod:`ieb.cli`)."""
    app.command(cls=COMMAND)(validate)
    app.command(cls=COMMAND)(show)
    app.command(cls=COMMAND)(build)
