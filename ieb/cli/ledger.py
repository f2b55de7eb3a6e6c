"""``ieb plan``, ``ieb queue``, ``ieb retour``, ``ieb status``, ``ieb requeue``, ``ieb report``:
the ledger and the outbox on the command line, all through :class:`ieb.exchange.Exchange`.

Every command reads the same configuration (``--config``, ``$IEB_CONFIG``, ``./ieb.toml``);
``--db`` overrides its database. ``status`` and ``report`` only read: they refuse a database that
does not exist instead of creating one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ieb.cli._common import COMMAND, claim_outputs, require_files, usage_error
from ieb.cli._common import parse_today as _today
from ieb.cli._exchange import ConfigOption, DbOption, Format, ReleaseOption, exchange_for, fail
from ieb.cli._retour_core import OUTCOME_WORDS  # the clerk's words (shared with `ieb retour`)

TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        metavar="JJJJ-MM-DD",
        help="Dagtekening / datum van vandaag (standaard: vandaag).",
        show_default=False,
    ),
]
GemeenteOption = Annotated[
    str | None,
    typer.Option(
        "--gemeente",
        "--afzender",
        metavar="CODE",
        help="Alleen deze gemeente (4 cijfers).",
        show_default=False,
    ),
]


#: exit codes of ``ieb plan`` (docs/cli.md): done; failed (nothing or not everything planned);
#: wrong use or configuration; done, with rows refused (``--partial``)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

ForceTodayOption = Annotated[
    bool,
    typer.Option(
        "--force-today",
        help="Een --today na vandaag toestaan (oefenen); het CAK weigert zo'n Dagtekening (8848).",
    ),
]


def _refuse_future(day: object, force: bool) -> None:
    """A Dagtekening after today's date is refused (the CAK rejects the whole file: retourcode 8848,
    rule TR135 in iEb 4.0) unless ``force``: a usage error, exit 2."""
    import datetime as dt

    if isinstance(day, dt.date) and day > dt.date.today() and not force:
        raise usage_error(
            f"Dagtekening {day.isoformat()} ligt na vandaag ({dt.date.today().isoformat()}); het CAK "
            "weigert dan het hele bestand (retourcode 8848). Laat --today weg, of geef --force-today "
            "om te oefenen",
            "--today",
        )


def plan_command(
    desired: Annotated[
        Path | None,
        typer.Argument(
            metavar="BESTAND",
            help="Gewenste situatie: CSV, JSON of JSON-lines (zie docs/exchange.md).",
            show_default=False,
        ),
    ] = None,
    iwmo: Annotated[
        bool,
        typer.Option("--iwmo", help="Gewenste situatie uit de gelezen iWmo-berichten (zie docs/iwmo.md)."),
    ] = False,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Vastleggen en in de outbox zetten (per blok van 2000 personen één transactie; "
            "afgebroken: nogmaals draaien gaat verder zonder dubbelen).",
        ),
    ] = False,
    gemeente: GemeenteOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="MAP",
            help="Vastleggen en berichtbestanden in deze map schrijven (handmatig aanleveren).",
        ),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    today: TodayOption = None,
    force_today: ForceTodayOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Alleen tonen (ook met --out).")] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Plan de goede regels; meld de geweigerde met regelnummer (exitcode 3 als er een is).",
        ),
    ] = False,
    release: ReleaseOption = None,
    format: Annotated[
        Format, typer.Option("--format", "-f", help="Uitvoer: text of json (per bericht zijn velden).")
    ] = Format.text,
) -> None:
    """Plan de berichten (in de release van ieb.toml of --release) naar de gewenste situatie; toon ze, of zet ze met --queue klaar.

    Elk probleem van het bestand wordt in één keer gemeld, met regelnummer en regelcode. Exitcode:
    0 klaar; 3 klaar, maar regels geweigerd (--partial); 1 mislukt (niets gepland); 2 verkeerd
    gebruik of configuratie. Elke run staat in het logboek (ieb logboek)."""
    from ieb.errors import IebError
    from ieb.ledger.errors import PlanningError
    from ieb.ledger.planner import plan
    from ieb.tabular import TableError
    from ieb.types import Gemeentecode

    if iwmo:
        if desired is not None:
            raise usage_error("geef geen BESTAND samen met --iwmo", "BESTAND")
        from ieb.cli.iwmo import desired_file_for

        desired = desired_file_for(config, db)
    elif desired is None:
        raise usage_error("geef een BESTAND met de gewenste situatie of --iwmo", "BESTAND")
    if not desired.is_file():
        raise usage_error(f"{desired} bestaat niet of is geen bestand", "BESTAND")
    if gemeente is not None:
        try:
            Gemeentecode(gemeente)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--gemeente") from None
    if queue and out is not None:
        raise typer.BadParameter("kies --queue of --out", param_hint="--queue")
    day = _today(today)
    _refuse_future(day, force_today)
    ex = exchange_for(config, db, needs="gemeenten en database", release=release)
    planned: list[dict[str, object]] = []
    from ieb.wlz import WlzSignalen  # accepted Wlz stops are part of the desired state (docs/wlz.md)

    ex.desired_overlay = lambda records: WlzSignalen.for_exchange(ex).overlay(records)
    opdracht = "plan --queue" if queue else "plan --out" if out is not None else "plan"
    if dry_run:
        opdracht += " --dry-run"
    log = _Logboek(ex, opdracht, [desired], recorded=(queue or out is not None) and not dry_run)
    if queue and not dry_run and format == Format.text:
        _plan_queue_streamed(ex, desired, gemeente, day, partial, log)
        return
    try:
        lines: list[str] = []
        if queue and not dry_run:
            queued = ex.plan_and_queue(desired, gemeente=gemeente, today=day, partial=partial)
            assert queued.preview is not None
            preview = queued.preview
            lines = [
                f"in de wachtrij: {g} {ident} ({ref}): {desc}" for g, ident, ref, desc in queued.messages
            ]
            tail = f"{len(queued)} bericht(en) gepland en in de outbox gezet"
        elif out is not None and not dry_run:
            preview = ex.plan(desired, gemeente=gemeente, today=day, partial=partial)
            written = 0
            for g in preview.plans:
                result = plan(
                    ex.ledger,
                    g,
                    preview.desired[g],
                    today=preview.today,
                    partial=partial,
                    release=ex.config.release,
                    lines=preview.state.lines.get(g) if preview.state else None,
                )
                paths = result.write(out)
                written += len(paths)
                lines += [
                    f"{out / m.filename}: {m.delivery.describe()} - {m.reason}" for m in result.messages
                ]
            tail = f"{written} bericht(en) gepland, {written} bestand(en) in {out}"
        else:
            preview = ex.plan(desired, gemeente=gemeente, today=day, partial=partial)
            lines = [f"{m.filename}: {m.delivery.describe()} - {m.reason}" for m in preview.messages]
            tail = f"{len(preview.messages)} bericht(en) gepland (voorvertoning, niets vastgelegd; --queue om te versturen)"
        planned = [_planned_json(m, ex.config.release) for m in preview.messages]
    except PlanningError as exc:
        log.failed(exc.message, len(exc.issues))
        ex.close()
        fail(exc.message, [str(i) for i in exc.issues])
    except TableError as exc:
        log.failed(exc.message, len(exc.issues))
        ex.close()
        fail(exc.message, [i.describe(exc.name) for i in exc.issues])
    except IebError as exc:
        log.failed(str(exc), 0)
        ex.close()
        fail(str(exc), [str(i) for i in getattr(exc, "issues", ()) or ()])
    refused = len(preview.issues)
    refused_rows = (preview.refused_rows or refused) if refused else 0
    log.done(
        messages=len(preview.messages),
        refused=refused_rows,  # rows, as the streamed plan --queue logs them
        deferred=len(preview.deferred),
        gemeenten=list(preview.plans),
    )
    ex.close()
    code = EXIT_PARTIAL if refused else EXIT_OK
    if format == Format.json:
        typer.echo(
            json.dumps(
                {
                    "release": ex.config.release,
                    "berichten": planned,
                    "niet_gepland": list(preview.problems),
                    "uitgesteld": [d.describe() for d in preview.deferred],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        if code:
            raise typer.Exit(code)
        return
    for line in lines:
        typer.echo(line)
    for problem in preview.problems:
        typer.echo(f"niet gepland: {problem}", err=True)
    for deferred in preview.deferred:
        typer.echo(f"uitgesteld: {deferred.describe()}")
    for late in preview.retroactive:
        typer.echo(f"met terugwerkende kracht (te laat, stapelfactuur): {late}")
    deferred_note = f", {len(preview.deferred)} uitgesteld" if preview.deferred else ""
    if "gepland" in tail and deferred_note:
        tail = tail.replace(" gepland", f" gepland{deferred_note}", 1)
    if refused:
        tail += f"; {refused_rows} regel(s) niet gepland (exitcode 3)"
    typer.echo(tail)
    if code:
        raise typer.Exit(code)


class _Logboek:
    """Writes the one logboek row of a command (:mod:`ieb.store.logboek`); a failure to write it
    is reported on stderr, never hides the command's own outcome."""

    def __init__(self, ex: Any, opdracht: str, files: list[Path], *, recorded: bool) -> None:
        self.ex, self.opdracht, self.files, self.recorded = ex, opdracht, files, recorded
        self.started: int | None = None

    def start(self) -> None:
        """Add the row now, as ``bezig``, for a run that commits as it goes (streamed plan --queue):
        a run killed after some chunks still shows in the logboek; the end completes the row."""
        self._write(gemeenten=list(self.ex.config.gemeenten), vastgelegd=True, uitkomst="bezig")

    def _write(self, **values: Any) -> None:
        from ieb.errors import IebError
        from ieb.store.logboek import finish_log, write_log
        from ieb.types import mask_bsns

        try:
            if self.started is not None:
                finish_log(self.ex.engine, self.started, **values)
                return
            row = write_log(
                self.ex.engine,
                opdracht=self.opdracht,
                bestanden=self.files,
                release=self.ex.config.release,
                **values,
            )
            if values.get("uitkomst") == "bezig":
                self.started = row
        except (IebError, OSError, sa_error()) as exc:
            typer.echo(f"waarschuwing: logboek niet bijgewerkt: {mask_bsns(str(exc))}", err=True)

    def done(self, *, messages: int, refused: int, deferred: int, gemeenten: list[str]) -> None:
        """Log a run that finished (``deels`` when rows or persons were refused)."""
        self._write(
            gemeenten=gemeenten,
            berichten=messages,
            geweigerd=refused,
            uitgesteld=deferred,
            vastgelegd=self.recorded and messages > 0,
            uitkomst="deels" if refused else "ok",
        )

    def failed(self, why: str, refused: int, *, messages: int = 0) -> None:
        """Log a run that failed (``messages`` already committed by earlier chunks)."""
        self._write(
            gemeenten=list(self.ex.config.gemeenten),
            berichten=messages,
            geweigerd=refused,
            vastgelegd=messages > 0,
            uitkomst="mislukt",
            toelichting=why,
        )


def sa_error() -> type[Exception]:
    """SQLAlchemy's error root, imported when needed (the CLI's startup stays light)."""
    from sqlalchemy.exc import SQLAlchemyError

    return SQLAlchemyError


def _plan_queue_streamed(
    ex: Any, desired: Path, gemeente: str | None, day: Any, partial: bool, log: _Logboek
) -> None:
    """``ieb plan FILE --queue`` in text: streamed in chunks (:meth:`Exchange.plan_and_queue_file`),
    each queued message printed after its chunk is committed; exit 0, 3 (rows refused with
    ``--partial``) or 1."""
    from ieb.errors import IebError
    from ieb.ledger.errors import PlanningError
    from ieb.tabular import TableError

    def show(g: str, plan_: Any, refs: Any) -> None:  # one write per chunk
        text = "\n".join(
            f"in de wachtrij: {g} {m.delivery.identificatie} ({ref}): {m.delivery.describe()}"
            for m, ref in zip(plan_.messages, refs, strict=True)
        )
        if text:
            typer.echo(text)

    log.start()  # commits per chunk: a run killed half-way still shows (bezig)
    try:
        result = ex.plan_and_queue_file(desired, gemeente=gemeente, today=day, partial=partial, on_chunk=show)
    except PlanningError as exc:
        log.failed(exc.message, len(exc.issues), messages=exc.committed)
        ex.close()
        fail(exc.message, [i.describe(str(desired)) for i in exc.issues])
    except TableError as exc:
        log.failed(exc.message, len(exc.issues))
        ex.close()
        fail(exc.message, [i.describe(exc.name) for i in exc.issues])
    except IebError as exc:
        log.failed(str(exc), 0)
        ex.close()
        fail(str(exc), [str(i) for i in getattr(exc, "issues", ()) or ()])
    log.done(
        messages=result.messages,
        refused=result.refused_rows,
        deferred=result.deferred_count,
        gemeenten=result.gemeenten,
    )
    ex.close()
    from ieb.types import mask_bsns

    for issue in result.refused:
        typer.echo(f"niet gepland: {mask_bsns(issue.describe(str(desired)))}", err=True)
    for line in result.deferred:
        typer.echo(f"uitgesteld: {line}")
    for late in result.retroactive:
        typer.echo(f"met terugwerkende kracht (te laat, stapelfactuur): {late}")
    if result.retroactive_count > len(result.retroactive):
        typer.echo(f"met terugwerkende kracht: {result.retroactive_count} start(s) in totaal")
    deferred_note = f", {result.deferred_count} uitgesteld" if result.deferred_count else ""
    tail = f"{result.messages} bericht(en) gepland{deferred_note} en in de outbox gezet"
    if result.refused_rows:
        tail += f"; {result.refused_rows} regel(s) niet gepland (exitcode 3)"
    typer.echo(tail)
    if result.refused_rows:
        raise typer.Exit(EXIT_PARTIAL)


def _planned_json(message: object, release: str) -> dict[str, object]:
    """One planned message as the JSON contract of ``ieb plan --format json``: bericht,
    status_aanlevering, eb_start_nummer, eb_startdatum, eb_stopdatum (ISO dates or null), ... (the
    Bsn masked)."""
    from ieb.ledger.history import roles
    from ieb.types import mask_bsn

    d = message.delivery  # type: ignore[attr-defined]
    start_record = d.is_start
    stop_role = roles(d.bericht).stop
    return {
        "bericht": d.bericht,
        "release": release,
        "afzender": d.afzender,
        "identificatie": d.identificatie,
        "dagtekening": d.dagtekening.isoformat(),
        "bsn": mask_bsn(d.bsn),
        "status_aanlevering": d.status,
        "eb_start_nummer": d.eb_start_nummer,
        "eb_startdatum": d.datum.isoformat() if start_record else None,
        "eb_stopdatum": (
            (d.stopdatum.isoformat() if d.stopdatum else None)
            if start_record
            else (d.datum.isoformat() if d.bericht == stop_role else None)
        ),
        "kostprijs_bedrag": d.kostprijs_bedrag,
        "kostprijs_startdatum": d.kostprijs_startdatum.isoformat() if d.kostprijs_startdatum else None,
        "reden": message.reason,  # type: ignore[attr-defined]
        "bestand": message.filename,  # type: ignore[attr-defined]
    }


def queue_command(
    files: Annotated[
        list[Path], typer.Argument(metavar="BESTANDEN", help="Heenberichten, in verzendvolgorde.")
    ],
    config: ConfigOption = None,
    db: DbOption = None,
    today: TodayOption = None,
    force_today: ForceTodayOption = False,
    release: ReleaseOption = None,
) -> None:
    """Zet bestaande berichtbestanden (ieb build, eigen software) in grootboek en outbox: alles of niets.

    Een bestand van een andere release dan die van ieb.toml (of --release) wordt geweigerd. Elke
    run staat in het logboek (ieb logboek)."""
    from ieb.errors import IebError

    require_files(files, "BESTANDEN")
    day = _today(today)
    _refuse_future(day, force_today)
    ex = exchange_for(config, db, needs="gemeenten en database", release=release)
    log = _Logboek(ex, "queue", list(files), recorded=True)
    try:
        queued = ex.queue_files(files, today=day)
        log.done(
            messages=len(queued), refused=0, deferred=0, gemeenten=sorted({m[0] for m in queued.messages})
        )
    except IebError as exc:
        log.failed(str(exc), len(getattr(exc, "issues", ()) or ()))
        ex.close()
        fail(str(exc), list(getattr(exc, "issues", ()) or ()))
    finally:
        ex.close()
    for g, ident, ref, desc in queued.messages:
        typer.echo(f"in de wachtrij: {g} {ident} ({ref}): {desc}")
    typer.echo(f"{len(queued)} bericht(en) in de outbox gezet")


def retour_command(
    files: Annotated[
        list[str] | None, typer.Argument(metavar="BESTANDEN", help="Retourbestanden.", show_default=False)
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Mislukte inbox-berichten opnieuw verwerken.")
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    drop_failed: Annotated[
        list[str] | None,
        typer.Option(
            "--drop-failed",
            metavar="REF",
            help="Een mislukte retour (referentienummer uit ieb status) voorgoed uit de inbox halen; "
            "herhaalbaar. Wordt gemeld en in het auditlog gezet.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Verwerk retouren in het grootboek; een onleesbare retour houdt de rest niet tegen.

    Exitcode 0: alles verwerkt (ook dubbel ontvangen); 1: minstens één bestand niet verwerkt
    (bewaard voor --retry-failed) of een REF van --drop-failed niet weggehaald; 2: verkeerd gebruik; 130: onderbroken (Ctrl-C): wat al verwerkt
    is blijft, dezelfde opdracht opnieuw meldt dat als dubbel en verwerkt de rest.
    """
    from ieb.cli._retour_core import run
    from ieb.cli._validate_core import Usage

    if not files and not retry_failed and not drop_failed:  # nothing given: no "Ongeldige waarde"
        raise usage_error("ontbreekt: geef retourbestanden, --retry-failed of --drop-failed REF", "BESTANDEN")
    # issue 22: the body is ieb.cli._retour_core.run, which a plain `ieb retour BESTANDEN` runs without
    # typer (the same output and exit code); BESTANDEN are read as text (typer builds a pydantic
    # TypeAdapter per Path argument, 0.2 ms per file)
    try:
        code = run(
            files or [], retry_failed=retry_failed, config=config, db=db, drop_failed=drop_failed or ()
        )
    except Usage as exc:
        raise usage_error(exc.message, exc.option) from None
    if code:
        raise typer.Exit(code)


#: a heenbericht's outcome in the clerk's words (``ieb status --detail``: one line per message)
_OUTCOME_TEXT = dict(OUTCOME_WORDS)
#: the outbox states in the clerk's words
OUTBOX_WORDS = {
    "pending": "klaar om te versturen",
    "sending": "wordt verstuurd",
    "acknowledged": "afgeleverd bij de GGk",
    "failed": "geweigerd door de ontvanger",
    "dead": "opgegeven na herhaalde fouten",
}
LATE_WORDS = {
    "sent_late": "te laat verstuurd",
    "queued_late": "te laat klaargezet",
    "unsent": "nog niet verstuurd",
}
#: how many persons still wrong ``ieb status`` shows without ``--detail``
TOP = 10


def status_lines(data: dict[str, Any], detail: bool) -> list[str]:
    """``ieb status`` as text lines (BSNs masked by the caller). Without ``detail`` at most 40
    lines: the counts, open and resolved rejections, the first :data:`TOP` persons still wrong, the
    codes with what to do, short lists and a pointer to ``--detail``; with it every list in full
    and a line per message."""
    names: dict[str, str] = data.get("gemeente_namen") or {}
    d = data["deliveries"]
    o = data["outbox"]
    cut = None if detail else 2

    def g(code: str) -> str:
        return f"{code} {names[code]}" if names.get(code) else code

    lines = [
        f"Release: {data.get('release') or '-'}",
        f"Gemeenten: {', '.join(g(c) for c in data['gemeenten']) or '-'}",
        "Berichten: " + ", ".join(f"{label} {d.get(k, 0)}" for k, label in OUTCOME_WORDS),
    ]
    rej = data.get("rejections") or {"open": 0, "resolved": 0}
    wrong: list[dict[str, Any]] = data.get("still_wrong") or []
    lines.append(
        f"Afwijzingen: {rej['open']} nog open ({len(wrong)} persoon/personen), "
        f"{rej['resolved']} opgelost (later bericht geaccepteerd)"
    )
    age = data.get("oldest_open_seconds")
    lines.append(
        "Wachtrij: "
        + ", ".join(f"{OUTBOX_WORDS.get(k, k)} {v}" for k, v in o.items())
        + (f" (oudste open: {age:.0f} s)" if isinstance(age, int | float) else "")
    )
    if wrong:
        shown = wrong if detail else wrong[:TOP]
        lines.append(
            f"Nog fout ({len(wrong)} persoon/personen"
            + ("" if len(shown) == len(wrong) else f"; de nieuwste {len(shown)}")
            + "):"
        )
        for w in shown:
            onderweg = " (herstel verstuurd, wacht op retour)" if w.get("fix_pending") else ""
            lines.append(
                f"  {g(w['gemeente'])} Bsn {w['bsn']} {w['bericht']} {w['dagtekening']}: {w['code']}{onderweg}"
            )
        if len(shown) < len(wrong):
            lines.append(f"  ... en {len(wrong) - len(shown)} meer: ieb status --detail of ieb report")
        by_code: dict[str, list[dict[str, Any]]] = {}
        for w in wrong:
            by_code.setdefault(w["code"], []).append(w)
        ranked = sorted(by_code.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        lines.append("Wat te doen per code:")
        for code, ws in ranked if detail else ranked[:5]:
            lines.append(f"  {code} ({len(ws)}x) {ws[0]['meaning'] or '-'} -> {ws[0]['advice']}")
        if not detail and len(ranked) > 5:
            lines.append(f"  ... en {len(ranked) - 5} code(s) meer: ieb status --detail")
    if detail:
        codes = data["retourcodes"]
        texts = data.get("retourcode_text") or {}
        if codes:
            lines.append("Retourcodes (alle retouren):")
            lines += [f"  {c} x{n}: {texts.get(c, '')}" for c, n in codes.items()]
    for title, key in (
        ("Niet afgeleverd (opgegeven of geweigerd door de ontvanger)", "dead_letters"),
        ("Mislukte retouren (inbox)", "failed_inbox"),
    ):
        items: list[dict[str, Any]] = data.get(key) or []
        if items:
            lines.append(f"{title} ({len(items)}):")
            for item in items[:cut]:
                word = OUTBOX_WORDS.get(item.get("status", ""), "")  # an inbox entry has none: no " :"
                lines.append(
                    f"  {item.get('referentienummer')}{' ' + word if word else ''}: {item.get('reason')}"
                )
            if cut is not None and len(items) > cut:
                lines.append(f"  ... en {len(items) - cut} meer: ieb status --detail")
            if key == "failed_inbox":  # what the clerk does next (docs/ledger.md)
                lines.append(
                    "  opnieuw: ieb retour --retry-failed; een retour die nooit kan slagen (kapotte XML) "
                    "weghalen: ieb retour --drop-failed REFERENTIENUMMER"
                )
    retrying: list[dict[str, Any]] = data.get("retrying") or []
    if retrying:
        lines.append(f"Wacht op een nieuwe poging ({len(retrying)}):")
        for item in retrying[:cut]:
            due = item.get("next_attempt_in_seconds")
            when = f"over {due} s ({item.get('next_attempt_at')})" if due is not None else "onbekend"
            lines.append(
                f"  {item.get('referentienummer')} {OUTBOX_WORDS.get(item.get('status', ''), '')}, "
                f"{item.get('attempts')} poging(en): "
                f"laatste fout: {item.get('reason') or '-'}; volgende poging {when}"
            )
        if cut is not None and len(retrying) > cut:
            lines.append(f"  ... en {len(retrying) - cut} meer: ieb status --detail")
    overdue: list[dict[str, Any]] = data.get("overdue_list") or []
    kinds: dict[str, int] = {}
    for item in overdue:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    lines.append(
        f"Te laat (meer dan een maand na EbStartdatum, naar Dagtekening): {len(overdue)}"
        + (
            " (" + ", ".join(f"{LATE_WORDS.get(k, k)} {n}" for k, n in sorted(kinds.items())) + ")"
            if kinds
            else ""
        )
    )
    if detail:
        for item in overdue:
            lines.append(
                f"  {g(item['gemeente'])} {item['identificatie']} Bsn {item['bsn']}: start {item['eb_startdatum']}, "
                f"uiterlijk {item['deadline']}: {LATE_WORDS.get(item['kind'], item['kind'])}"
            )
        rows = data.get("detail") or []
        lines.append(f"Per bericht ({len(rows)}):")
        for r in rows:
            solved = "" if r.get("resolved") is None else (" (opgelost)" if r["resolved"] else " (open)")
            codes = " ".join(r["retour_codes"])
            lines.append(
                f"  {r['bericht']} {r['gemeente']}/{r['identificatie']}/{r['dagtekening']} Bsn {r['bsn']} "
                f"nr {r['eb_start_nummer']} status {r['status']} {r['datum']}: "
                f"{_OUTCOME_TEXT.get(r['outcome'], r['outcome'])}{solved}{' ' + codes if codes else ''}; "
                f"wachtrij: {OUTBOX_WORDS.get(r['outbox'], r['outbox']) if r['outbox'] else '-'}"
            )
    else:
        lines.append("Alles per persoon en per bericht: ieb status --detail; voor de teamleider: ieb report")
    return lines


def _print_status(data: dict[str, Any], detail: bool) -> None:
    from ieb.types import mask_bsns

    for line in status_lines(data, detail):
        typer.echo(mask_bsns(line))


def status_command(
    gemeente: GemeenteOption = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="Uitvoer voor mensen (text) of programma's (json).")
    ] = Format.text,
    detail: Annotated[
        bool, typer.Option("--detail", help="Ook een regel per bericht (Bsn gemaskeerd).")
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    today: TodayOption = None,
) -> None:
    """Samenvatting op één scherm: berichten per uitkomst, afwijzingen open en opgelost, wie nog fout staat en wat te doen, wachtrij, te laat."""
    from ieb.errors import IebError
    from ieb.wlz import WlzSignalen, wlz_status_line

    ex = exchange_for(config, db, must_exist=True, needs="database")
    try:
        status = ex.status(gemeente=gemeente, today=_today(today), detail=detail)
        wlz = WlzSignalen.for_exchange(ex).summary(today=_today(today), gemeente=gemeente)
    except IebError as exc:
        fail(str(exc))
    finally:
        ex.close()
    if fmt == Format.json:
        data = status.as_dict(detail=detail) | {"wlz": wlz}
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    _print_status(json.loads(status.as_json(detail=detail)), detail)
    line = wlz_status_line(wlz)
    if line:
        typer.echo(line)


def requeue_command(
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="REFERENTIES", help="Referentienummers om opnieuw te versturen.", show_default=False
        ),
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Alle dead letters opnieuw.")] = False,
    failed: Annotated[
        bool, typer.Option("--failed", help="Alle door de ontvanger geweigerde (Fo03).")
    ] = False,
    zonder_retour: Annotated[
        str | None,
        typer.Option(
            "--zonder-retour",
            metavar="OUDER_DAN",
            help="Bevestigde berichten zonder retour, bevestigd langer dan OUDER_DAN geleden (30d, 12h), "
            "opnieuw versturen (hetzelfde bericht; het CAK antwoordt dan opnieuw).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Zet berichten terug in de outbox nadat de oorzaak is verholpen."""
    from ieb.errors import IebError

    ex = exchange_for(config, db, must_exist=True)
    log = _Logboek(ex, "requeue", [], recorded=True)
    try:
        if zonder_retour is not None:  # issue 21: recover a message whose retour never came
            from ieb.transport.outbox import parse_age

            age = parse_age(zonder_retour)
            done = ex.outbox().resend_without_retour(age)
            if refs or dead or failed:
                done += ex.requeue(refs or [], dead=dead, failed=failed)
        else:
            done = ex.requeue(refs or [], dead=dead, failed=failed)
        how = [*(["--dead"] if dead else []), *(["--failed"] if failed else [])]
        how += [f"--zonder-retour {zonder_retour}"] if zonder_retour is not None else []
        log.opdracht = " ".join(["requeue", *how, *(refs or [])])
        log.done(messages=len(done), refused=0, deferred=0, gemeenten=[])
    except IebError as exc:
        log.failed(str(exc), 0)
        ex.close()
        fail(str(exc), list(getattr(exc, "issues", ()) or ()))
    finally:
        ex.close()
    for ref in done:
        typer.echo(f"opnieuw in de wachtrij: {ref}")
    typer.echo(f"{len(done)} bericht(en) opnieuw in de wachtrij")


def report_command(
    out: Annotated[Path, typer.Option("--out", metavar="BESTAND", help="HTML-bestand om te schrijven.")],
    gemeente: GemeenteOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
    today: TodayOption = None,
    force: Annotated[bool, typer.Option("--force", help="Een bestaand HTML-bestand overschrijven.")] = False,
) -> None:
    """Schrijf één zelfstandige HTML-pagina (zonder netwerk) met de stand van zaken voor een teamleider."""
    from ieb.errors import IebError
    from ieb.report import write_report
    from ieb.wlz import WlzSignalen
    from ieb.wlz.html import render_section

    claim_outputs([out], force=force)
    ex = exchange_for(config, db, must_exist=True)
    try:
        wlz = WlzSignalen.for_exchange(ex).summary(today=_today(today), gemeente=gemeente)
        path = write_report(
            ex, Path(out), gemeente=gemeente, today=_today(today), sections=[render_section(wlz)]
        )
    except IebError as exc:
        fail(str(exc))
    finally:
        ex.close()
    typer.echo(f"rapport geschreven: {path}")


def logboek_command(
    limit: Annotated[
        int, typer.Option("--aantal", "-n", help="Hoeveel regels (nieuwste eerst).", min=1)
    ] = 20,
    gemeente: GemeenteOption = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="Uitvoer voor mensen (text) of programma's (json).")
    ] = Format.text,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Het logboek: wie wanneer welk bestand plande, klaarzette of opnieuw verstuurde (ieb plan, queue, requeue).

    Per run: tijd (UTC), opdracht, gebruiker, bestand met SHA-256, release, gemeente(n), aantal
    berichten, geweigerd, uitgesteld en de uitkomst (ok, deels, mislukt)."""
    from ieb.errors import IebError
    from ieb.store.logboek import read_log

    ex = exchange_for(config, db, must_exist=True, needs="database")
    try:
        entries = read_log(ex.engine, limit=limit, gemeente=gemeente)
    except IebError as exc:
        fail(str(exc))
    finally:
        ex.close()
    if fmt == Format.json:
        typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        typer.echo("het logboek is leeg (nog niets gepland, klaargezet of opnieuw verstuurd)")
        return
    for e in entries:
        bestand = f" {e.bestand} (sha256 {e.sha256[:16]}...)" if e.bestand else ""
        typer.echo(
            f"{e.at.strftime('%Y-%m-%d %H:%M:%S')} UTC {e.gebruiker}: ieb {e.opdracht}{bestand} "
            f"[{e.release or '-'}; gemeente(n) {e.gemeenten or '-'}]: {e.berichten} bericht(en)"
            + (" vastgelegd" if e.vastgelegd else "")
            + f", {e.geweigerd} geweigerd, {e.uitgesteld} uitgesteld: {e.uitkomst}"
            + (f" - {e.toelichting}" if e.toelichting else "")
        )


#: the examples at the end of each command's --help
_EXAMPLES = {
    "plan": "Voorbeeld:\n\n  ieb plan gewenst.csv\n  ieb plan gewenst.csv --queue\n  ieb plan gewenst.csv --queue --partial   # exitcode 3: regels geweigerd\n  ieb plan gewenst.csv --out berichten/\n",
    "queue": "Voorbeeld:\n\n  ieb queue berichten/*.xml\n",
    "retour": (
        "Voorbeeld:\n\n  ieb retour retouren/*.xml\n  ieb retour --retry-failed\n"
        "  ieb retour --drop-failed bestand-0a1b2c...   # een retour die nooit kan slagen\n"
    ),
    "status": "Voorbeeld:\n\n  ieb status\n  ieb status --detail\n  ieb status --format json --gemeente 0363\n",
    "requeue": "Voorbeeld:\n\n  ieb requeue --dead\n",
    "report": "Voorbeeld:\n\n  ieb report --out rapport-2026-12.html\n",
    "logboek": "Voorbeeld:\n\n  ieb logboek\n  ieb logboek -n 100 --gemeente 0363\n  ieb logboek --format json\n",
}


def register(app: typer.Typer) -> None:
    """Add plan, queue, retour, status, requeue, report and logboek to the ``ieb`` command."""
    for name, command in (
        ("plan", plan_command),
        ("queue", queue_command),
        ("retour", retour_command),
        ("status", status_command),
        ("requeue", requeue_command),
        ("report", report_command),
        ("logboek", logboek_command),
    ):
        app.command(name, cls=COMMAND, epilog=_EXAMPLES[name])(command)
