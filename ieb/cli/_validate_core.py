"""``ieb validate`` without typer: the command's body, its outputs and a quick start (issue 22).

:func:`run` is the whole command once its options are known; the typer command
(:func:`ieb.cli.validate.validate`) and :func:`main_fast` both call it, so both give the same bytes on
stdout and stderr and the same exit code. :func:`main_fast` is what :func:`ieb.cli.main` tries first
for ``ieb validate ...``: it reads the arguments when they use only the plain forms (see
:func:`parse_args`) and runs :func:`run` without importing typer, click or pydantic (typer builds a
pydantic adapter per option, ~0.1 s CPU); anything else (``--help``, an unknown or misspelt option, a
missing value, shell completion) returns None and typer parses the arguments as before, so every usage
error keeps typer's text.

Per file the command reads the bytes once (``os.open``, one ``fstat``, one ``read`` of the file's size
plus one byte: at most ``MAX_BYTES + 1`` bytes, as :func:`ieb.validation.validate_file`) and hands them
to :func:`ieb.validation.validate_bytes`, a batch of files at a time (64 files or 1 MiB: read, then
validated); folders are walked with ``os.scandir``. Outputs are written in large blocks, byte for byte
as one write per file would. ``tests/cli/test_validate_fast.py`` compares all of this with the
previous implementation.

Exit codes: 0 every file valid; 1 a file invalid, or no files (without ``--allow-empty``); 2 wrong use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import datetime as dt

    from ieb.releases import Registry
    from ieb.validation.gemeenten import GemeenteLijst
    from ieb.validation.revisions import Revision

__all__ = ["FORMATS", "Usage", "main_fast", "parse_args", "run"]

FORMATS = ("text", "json", "junit", "rapport")
ENVELOPE_RELEASE = "stuf-ggk-0210"
#: codes of a file refused before it was read (the text output says "niet gelezen")
_UNREAD = frozenset({"OP179", "OP192", "XML"})
#: results written to stdout per write (the bytes are the same as one write per file)
_BLOCK = 512
#: files read before they are validated: at most 64, and no more once they hold 1 MiB (so at most
#: 1 MiB + one file of at most MAX_BYTES are in memory at once)
_READ_AHEAD = 64
_READ_AHEAD_BYTES = 1 << 20
#: ``-`` on the command line (stdin by the usual convention) is refused, exit 2: ``ieb validate``,
#: ``ieb retour`` and ``ieb queue`` name what they report (and ``ieb retour`` keeps a failed retour)
#: by its file name, which stdin has not; a file called ``-`` is given by its full path (``./-`` is
#: ``-`` to pathlib)
NO_STDIN = (
    "- (standaardinvoer) wordt niet gelezen: geef de bestanden bij naam "
    "(een bestand dat - heet: geef het met zijn volledige pad)"
)
#: flags of os.open (binary on Windows)
_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)


class Usage(Exception):
    """Wrong use of ``ieb validate`` (exit 2): printed as ``fout: OPTION: message`` on stderr, BSNs
    masked (:func:`ieb.cli._common.usage_error` for the typer command)."""

    def __init__(self, message: str, option: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option

    def line(self) -> str:
        """The line on stderr (without its newline)."""
        from ieb.types import mask_bsns

        where = f"{self.option}: " if self.option else ""
        return f"fout: {where}{mask_bsns(self.message)}"


def _err(text: str) -> None:
    """One line on stderr, flushed (what ``typer.echo(text, err=True)`` writes)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ------------------------------------------------------------------------------------- the command


def run(
    paths: list[Path],
    *,
    format: str = "text",
    today: str | None = None,
    gemeenten: Path | None = None,
    release_dir: list[Path] | None = None,
    allow_empty: bool = False,
    revision: str | None = None,
    heen: Path | None = None,
    rapport_dir: Path | None = None,
    release: str | None = None,
    dvs: str | None = None,
) -> int:
    """Run ``ieb validate`` with these options (as the command's help describes them) and return its
    exit code; stdout gets the report, stderr the errors. Raises :class:`Usage` for wrong use (before
    anything is written on stdout)."""
    if format not in FORMATS:
        raise Usage(f"kies uit {', '.join(FORMATS)}", "--format")
    day = parse_day(today)
    files = collect_paths(paths)
    if not release_dir:
        official_folder()
    registry = registry_of(release_dir)
    lijst, forced = rule_options(gemeenten, revision)
    client = dvs_client(dvs, forced)
    if heen is not None or format == "rapport":  # the conformance kit (ieb.conformance, docs/conformance.md)
        from ieb.conformance.cli import validate_conformance

        return validate_conformance(
            [Path(f) for f in files], format, day, lijst, registry, heen, rapport_dir, forced, client
        )
    if release is not None and release not in [p.name for p in registry]:
        raise Usage(
            f"onbekende release {release!r}; bekend: {', '.join(p.name for p in registry)}", "--release"
        )
    results = validate_files(files, day, lijst, registry, forced)
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
        code = _merge_dvs(results, files, client)
        if code is not None:
            return code
    valid = sum(1 for r in results if r["valid"])
    summary = {"files": len(results), "valid": valid, "invalid": len(results) - valid}
    write_results(format, results, summary)
    if not results and not allow_empty:
        _err(
            "fout: geen bestanden gevonden om te controleren (alleen .xml-bestanden in mappen); "
            "geef --allow-empty als dat de bedoeling is"
        )
        return 1
    return 0 if summary["invalid"] == 0 else 1


def parse_day(value: str | None, option: str = "--today") -> dt.date | None:
    """A ``JJJJ-MM-DD`` option as a date (None when not given); :class:`Usage` when it is no date
    (the text of :func:`ieb.cli._common.parse_today`)."""
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Usage(f"{value!r} is geen datum JJJJ-MM-DD", option) from None


def collect_paths(paths: list[Path]) -> list[str]:
    """Files as given, and in folders every ``*.xml`` in any case (``.XML``, ``.Xml``), recursively
    (symbolic links to folders are not followed, unreadable subfolders are skipped), each folder's
    files in the order of their path parts; a path given twice counts once. :class:`Usage` for a path
    that does not exist or (given by name) is neither a regular file nor a folder, and for ``-``
    (:data:`NO_STDIN`). The names are ``str(Path)`` of each file (what ``Path.rglob`` gives)."""
    files: list[str] = []
    for p in paths:
        if str(p) == "-":
            raise Usage(NO_STDIN, "PAD")
        if p.is_dir():
            prefix = str(p / "x")[:-1]  # "" for ".", "/" for "/", "map/" for "map" (as Path joins)
            _walk(prefix, prefix or os.curdir, files)
        elif p.is_file():
            files.append(str(p))
        elif os.path.lexists(p):  # a fifo, a device, a socket, a link to nothing
            raise Usage(f"{p} is geen gewoon bestand of map", "PAD")
        else:
            raise Usage(f"{p} bestaat niet", "PAD")
    if os.name == "nt":  # paths are equal there without regard to case (as Path compares them)
        return list({os.path.normcase(f): f for f in reversed(files)}.values())[::-1]
    return list(dict.fromkeys(files))


def _walk(prefix: str, folder: str, out: list[str]) -> None:
    """Append the ``.xml`` files under ``folder`` (named ``prefix`` + relative path) to ``out``: names
    in sorted order at each level, so the order is that of sorting the paths' parts."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except PermissionError:
        return
    if os.name == "nt":
        entries.sort(key=lambda e: e.name.lower())
    else:
        entries.sort(key=lambda e: e.name)
    for entry in entries:
        name = entry.name
        try:
            is_xml = len(name) > 4 and name[-4:].lower() == ".xml" and entry.is_file()
        except OSError:  # a link that loops: no file (as Path.is_file says; tests/attack)
            is_xml = False
        if is_xml:
            out.append(prefix + name)
        elif entry.is_dir(follow_symlinks=False):
            _walk(prefix + name + os.sep, entry.path, out)


def official_folder() -> None:
    """When the ieb.toml found registers official XSDs (``release_xsd``, by ``ieb release check``),
    build and validate with them: the release's pack is rebuilt on that folder. :class:`Usage` when
    that folder cannot be used."""
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
            raise Usage(exc.message, "release_xsd") from None


def registry_of(release_dirs: list[Path] | None) -> Registry:
    """The built-in releases plus the ``--release-dir`` folders (:class:`Usage` when one is not a release)."""
    from ieb.errors import IebError
    from ieb.releases import Registry, default_registry

    if not release_dirs:
        return default_registry
    registry = Registry.with_builtin()
    try:
        for folder in release_dirs:
            registry.register_folder(folder, replace=True)
    except IebError as exc:
        raise Usage(exc.message, "--release-dir") from None
    return registry


def rule_options(
    gemeenten: Path | None, revision: str | None
) -> tuple[GemeenteLijst | None, Revision | None]:
    """The gemeentelijst of ``--gemeenten`` (for CS300) and the revision of ``--revision`` (TR112-TR117
    windows), None when not given; :class:`Usage` for a file or name that cannot be used."""
    from ieb.errors import IebError
    from ieb.validation.gemeenten import GemeenteLijst

    try:
        lijst = GemeenteLijst.from_csv(gemeenten) if gemeenten else None
    except IebError as exc:
        raise Usage(exc.message, "--gemeenten") from None
    if not revision:
        return lijst, None
    from ieb.validation.revisions import revision as get_revision

    try:
        forced = get_revision(revision)
    except IebError as exc:
        raise Usage(exc.message, "--revision") from None
    return lijst, forced


def dvs_client(url: str | None, forced: Revision | None) -> Any:
    """The DVS client of ``--dvs URL``, else of ``dvs_url`` in the ieb.toml found (or ``IEB_DVS_URL``);
    None when none is set. :class:`Usage` for a URL that is not http(s)."""
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
    from ieb.conformance.cli import dvs_client as make_client

    try:
        return make_client(url, forced)
    except IebError as exc:
        raise Usage(exc.message, "--dvs") from None


def _merge_dvs(results: list[dict[str, Any]], files: list[str], client: Any) -> int | None:
    """Merge the DVS's findings into ``results``; a DVS without a verdict stops the run (returns 2,
    nothing is reported)."""
    from ieb.conformance.cli import merge_dvs_rows
    from ieb.errors import IebError

    try:
        merge_dvs_rows(results, [Path(f) for f in files], client)
    except IebError as exc:
        _err(f"fout: {exc.message}; er is niets gerapporteerd")
        return 2
    finally:
        client.close()
    return None


def _read(path: str, max_bytes: int) -> bytes | None:
    """The bytes of the file ``path`` (at most ``max_bytes + 1``), or None when it is larger than
    ``max_bytes`` (not read). Raises OSError when it cannot be read."""
    fd = os.open(path, _O_READ)
    try:
        st = os.fstat(fd)
        size = st.st_size
        if size > max_bytes:
            return None
        if size:
            first = os.read(fd, size + 1)
            if len(first) == size:  # the whole file (it did not grow or shrink since the fstat)
                return first
        else:
            first = b""
        chunks = [first]
        total = len(first)
        while total <= max_bytes:  # a file that changed, or one without a size (a pipe)
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def validate_files(
    files: list[str],
    day: dt.date | None,
    lijst: GemeenteLijst | None,
    registry: Registry,
    forced: Revision | None,
) -> list[dict[str, Any]]:
    """One result per file, in order: ``{"path": ..., **Report.to_dict()}`` or, for a StUF-GGk
    envelope, the envelope's result with the iEb payload inside
    (:func:`ieb.conformance.verdict.envelope_result`); a pack on a stand-in schema adds ``stand_in``.

    ``day`` is the receiver's system date (rule 8848), ``lijst`` the gemeentelijst for CS300 and
    ``forced`` a revision chosen with ``--revision``. :class:`Usage` for a file that cannot be read.
    """
    from ieb.validation import validate_bytes, validate_file
    from ieb.xmlsafe import MAX_BYTES

    results: list[dict[str, Any]] = []
    append = results.append
    notes: dict[str | None, str | None] = {}
    i, n = 0, len(files)
    while i < n:
        batch: list[str] = []
        blobs: list[bytes | None] = []
        size = 0
        while i < n and len(batch) < _READ_AHEAD and size < _READ_AHEAD_BYTES:
            f = files[i]  # read a batch, then validate it: ~10 us less per file than alternating
            i += 1
            try:
                data = _read(f, MAX_BYTES)
            except OSError as exc:
                raise Usage(f"{f} is niet te lezen: {exc.strerror or exc}", "PAD") from None
            batch.append(f)
            blobs.append(data)
            size += len(data) if data is not None else 0
        for f, data in zip(batch, blobs, strict=True):
            if data is None:  # too large: validate_file reports OP179 without reading it
                try:
                    report = validate_file(f, today=day, gemeenten=lijst, registry=registry, revision=forced)
                    if forced is not None and _other_release(report):  # see below
                        report = validate_file(f, today=day, gemeenten=lijst, registry=registry)
                except OSError as exc:
                    raise Usage(f"{f} is niet te lezen: {exc.strerror or exc}", "PAD") from None
            else:
                report = validate_bytes(data, today=day, gemeenten=lijst, registry=registry, revision=forced)
                if forced is not None and _other_release(report):
                    # --revision is a revision of iEb 1.0 and applies to its files only: a file of
                    # another release is checked with its own release's rules, without a note
                    # (docs/cli.md; validate_bytes itself reports REVISIE for it)
                    report = validate_bytes(data, today=day, gemeenten=lijst, registry=registry)
            row: dict[str, Any] | None = None
            if not report.issues and report.bericht is not None:  # valid: Report.to_dict's keys
                row = {
                    "path": f,
                    "bericht": report.bericht,
                    "release": report.release,
                    "valid": True,
                    "issues": [],
                }
            elif report.bericht is None and data is not None and report.root is not None:
                from ieb.conformance.verdict import envelope_result, is_envelope

                if is_envelope(report.root):  # a StUF-GGk envelope: its verdict and the iEb file's
                    row = envelope_result(f, data, today=day, gemeenten=lijst, registry=registry).row
            if row is None:
                row = {"path": f, **report.to_dict()}
            release = row.get("release")
            if release not in notes:
                notes[release] = _stand_in(release, registry)
            note = notes[release]
            if note:  # only for a pack on a stand-in schema: the 1.0 JSON contract keeps its keys
                row["stand_in"] = note
            append(row)
    return results


def _other_release(report: Any) -> bool:
    """True when ``report`` is validate_bytes' answer for a file of another release than the forced
    revision's: the level-1 ``REVISIE`` finding, and the rules not applied."""
    return report.release is not None and any(i.code == "REVISIE" for i in report.issues)


def _stand_in(release: str | None, registry: Registry) -> str | None:
    """The pack's stand-in note (``ReleasePack.stand_in``) for a result of ``release``; None for a
    release on its published XSDs or an unknown one."""
    from ieb.errors import ConfigurationError

    if not release:
        return None
    try:
        return registry.get(release).stand_in
    except ConfigurationError:  # an unknown release (already reported as such) has no pack note
        return None


# ---------------------------------------------------------------------------------------- outputs


def write_results(format: str, results: list[dict[str, Any]], summary: dict[str, int]) -> None:
    """Write the results on stdout as ``json`` (``{"files": [...], "summary": {...}}``), ``junit``
    (one testcase per file) or ``text`` (the clerk's view, in Dutch)."""
    if format == "json":
        import json

        text = json.dumps({"files": results, "summary": summary}, ensure_ascii=False, indent=2)
        sys.stdout.write(json_safe(text) + "\n")
    elif format == "junit":
        sys.stdout.write(junit(results))
    else:
        print_text(results, summary)


def json_safe(text: str) -> str:
    """``text`` (JSON from ``json.dumps(..., ensure_ascii=False)``) with every lone surrogate
    written as its JSON escape (``\\udcff``): a file name whose bytes are not UTF-8 reaches Python as
    such a surrogate (``surrogateescape``), which a strict UTF-8 stdout cannot encode (a traceback
    and no report) and a lenient one writes as a raw byte (a document that is not UTF-8, refused by
    JSON parsers). Escaped, the report is valid UTF-8 JSON and the name stays exact:
    ``os.fsencode(json.loads(out)["files"][i]["path"])`` gives the name's bytes. A surrogate can only
    occur inside a JSON string, so the escape is always in place."""
    import re  # (already loaded by json)

    surrogate = re.compile("[\udc80-\udcff]")
    if surrogate.search(text) is None:
        return text
    return surrogate.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown_path(path: str) -> str:
    """``path`` as the text and JUnit reports show it: as is when every character is printable, else
    with line breaks and other control characters escaped (``\\n``, ``\\x01``) and bytes that are not
    UTF-8 (``surrogateescape``, as the system gave the name) as ``\\xff``: always one line, always
    encodable (a name could forge a report line, or stop the report on a strict stdout; JSON keeps
    the name exactly)."""
    if path.isprintable():
        return path
    out = []
    for c in path:
        n = ord(c)
        if c.isprintable():
            out.append(c)
        elif 0xDC80 <= n <= 0xDCFF:
            out.append(f"\\x{n - 0xDC00:02x}")
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def junit(results: list[dict[str, Any]]) -> str:
    """The results as one JUnit XML suite (a testcase per file, a failure per invalid file)."""
    from xml.sax.saxutils import escape, quoteattr  # (imports urllib: only for this output)

    from ieb.conformance.junit import classname as junit_classname  # (only for this output)
    from ieb.types import mask_bsns

    failures = sum(1 for r in results if not r["valid"])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="ieb validate" tests="{len(results)}" failures="{failures}">',
        f'  <testsuite name="ieb validate" tests="{len(results)}" failures="{failures}" errors="0">',
    ]
    for r in results:
        name = quoteattr(mask_bsns(shown_path(r["path"])))  # a report for CI dashboards: no full BSN
        classname = quoteattr(junit_classname(r["release"] or "onbekend", r["bericht"] or "onbekend"))
        if r["valid"]:
            lines.append(f"    <testcase name={name} classname={classname}/>")
            continue
        issues = list(r["issues"])
        payload = r.get("payload")
        if payload and payload.get("issues"):
            issues += payload["issues"]
        lines.append(f"    <testcase name={name} classname={classname}>")
        codes = ", ".join(i["code"] for i in issues)
        body = "\n".join(f"{_issue_head(i)}: {mask_bsns(i['message'])}" for i in issues)
        lines.append(f'      <failure message={quoteattr(codes)} type="ieb">{escape(body)}</failure>')
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


class Paint:
    """Colour for a terminal (ANSI: green GELDIG, red ONGELDIG, bold rule codes), plain text otherwise
    (a pipe, a file, ``NO_COLOR`` or ``TERM=dumb``); no rich: printing ten thousand results stays cheap."""

    def __init__(self, stream: Any) -> None:
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


def _issue_head(i: dict[str, Any], paint: Paint | None = None) -> str:
    """``CODE (retourcode R, niveau N[, bron B])[ LOCATION]`` of one finding: "geen retourcode" for
    a code without one, nothing after the bracket when it has no location."""
    rc = f"retourcode {i['retourcode']}" if i["retourcode"] else "geen retourcode"
    source = f", bron {i['source']}" if i.get("source") else ""  # --dvs: ieb, dvs or ieb+dvs
    code = paint.bold(i["code"]) if paint is not None else i["code"]
    where = f" {i['location']}" if i["location"] else ""
    return f"{code} ({rc}, niveau {i['level']}{source}){where}"


def _issue_lines(issues: list[dict[str, Any]], paint: Paint, indent: str = "    ") -> list[str]:
    lines = []
    for i in issues:
        lines.append(f"{indent}{_issue_head(i, paint)}")
        lines.append(f"{indent}    {i['message']}")
    return lines


def text_of(r: dict[str, Any], paint: Paint, ok: str, bad: str) -> str:
    """One result in the clerk's view: its line (GELDIG / ONGELDIG, path, bericht and release), its
    findings below it; ends with a newline. ``ok``/``bad`` are the painted labels. A stand-in note
    is not repeated here: :func:`print_text` shows each one once, above the totals. A BSN in the
    path is masked, as in every text for people (JSON and JUnit keep the name exactly)."""
    from ieb.types import mask_bsns

    issues = r["issues"]
    release = r["release"] or "onbekende release"
    what = f"{r['bericht'] or '?'} ({release})"
    if r["bericht"] is None and issues and {i["code"] for i in issues} <= _UNREAD:
        what = "niet gelezen"  # refused before it was read: naming no release is no news
    first = f"{ok if r['valid'] else bad}  {mask_bsns(shown_path(r['path']))}  {what}"
    payload = r.get("payload")
    if not issues and payload is None:
        return first + "\n"
    lines = [first]
    lines.extend(_issue_lines(issues, paint))
    if payload is not None:
        if payload["valid"] is None:
            lines.append(f"    inhoud: {payload['note']}")
        else:
            state = "geldig" if payload["valid"] else "ONGELDIG"
            inner = f"{payload['bericht'] or '?'} ({payload['release'] or 'onbekende release'})"
            lines.append(f"    inhoud: {inner} {state}")
            lines.extend(_issue_lines(payload["issues"], paint, indent="      "))
    return "\n".join(lines) + "\n"


def print_text(results: list[dict[str, Any]], summary: dict[str, int]) -> None:
    """The clerk's view on stdout: one line per file (GELDIG / ONGELDIG), its findings below it,
    then each stand-in note once (``let op: <note> (<release>: <n> bestand(en))``, in the order the
    releases first occur), then the totals; plain text (colour only on a terminal), written in
    blocks of results."""
    out = sys.stdout
    paint = Paint(out)
    ok = paint.green("GELDIG") + "  "
    bad = paint.red("ONGELDIG")
    block: list[str] = []
    stand_in: dict[tuple[str, str], int] = {}  # (note, release) -> files
    for r in results:
        block.append(text_of(r, paint, ok, bad))
        note = r.get("stand_in")
        if note:
            key = (note, r["release"] or "onbekende release")
            stand_in[key] = stand_in.get(key, 0) + 1
        if len(block) >= _BLOCK:
            out.write("".join(block))
            block.clear()
    for (note, release), count in stand_in.items():
        block.append(f"let op: {note} ({release}: {count} bestand(en))\n")
    block.append(
        f"{summary['files']} bestand(en) gecontroleerd: {summary['valid']} geldig, {summary['invalid']} ongeldig\n"
    )
    out.write("".join(block))
    out.flush()


# ------------------------------------------------------------------------------- the quick start

#: long options taking a value -> the parameter of :func:`run` (``--release-dir`` may come again)
_VALUE_OPTIONS = {
    "--format": "format",
    "--today": "today",
    "--gemeenten": "gemeenten",
    "--release-dir": "release_dir",
    "--revision": "revision",
    "--heen": "heen",
    "--rapport-dir": "rapport_dir",
    "--release": "release",
    "--dvs": "dvs",
}
_PATH_OPTIONS = frozenset({"gemeenten", "heen", "rapport_dir"})


def parse_args(args: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of :func:`run` for ``ieb validate ARGS``, as typer would give them, or
    None when ``args`` use anything but the plain forms: ``PAD`` arguments (at least one), the
    options of the command as ``--option VALUE``, ``--option=VALUE``, ``-f VALUE`` or ``-fVALUE``
    (a value not empty and not starting with ``-``), the flag ``--allow-empty`` and ``--``. Then typer
    reads them (``--help``, unknown options, missing values: its usage errors, unchanged)."""
    kwargs: dict[str, Any] = {}
    paths: list[Path] = []
    release_dirs: list[Path] = []
    i, n = 0, len(args)
    only_paths = False
    while i < n:
        arg = args[i]
        i += 1
        if not arg or "\x00" in arg:
            return None
        if only_paths or arg[0] != "-" or arg == "-":  # (a lone -: a path to click; refused in run)
            paths.append(Path(arg))
            continue
        if arg == "--":
            only_paths = True
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name == "--allow-empty" and not eq:
                kwargs["allow_empty"] = True
                continue
            dest = _VALUE_OPTIONS.get(name)
            if dest is None:
                return None
        elif arg.startswith("-f"):
            dest, eq, value = "format", arg[2:], arg[2:]
        else:
            return None
        if not eq:
            if i >= n:
                return None
            value = args[i]
            i += 1
        if not value or value[0] == "-" or "\x00" in value:
            return None
        if dest == "release_dir":
            release_dirs.append(Path(value))
        elif dest in _PATH_OPTIONS:
            kwargs[dest] = Path(value)
        else:
            kwargs[dest] = value
    if not paths:
        return None
    if release_dirs:
        kwargs["release_dir"] = release_dirs
    return {"paths": paths, **kwargs}


def main_fast(args: list[str]) -> int | None:
    """Run ``ieb validate ARGS`` without typer and return its exit code, or None (nothing done) when
    typer must read ``args`` (see :func:`parse_args` and :func:`quick_main`)."""

    def prepare() -> None:
        import gc

        import ieb.validation  # noqa: F401  (what every run needs, imported before the freeze)

        gc.freeze()  # the start-up's objects live to the end: the collector need not walk them again

    return quick_main(args, parse_args, run, prepare=prepare)


def quick_main(
    args: list[str],
    parse: Callable[[list[str]], dict[str, Any] | None],
    body: Callable[..., int],
    *,
    prepare: Callable[[], None] | None = None,
) -> int | None:
    """The typer-free start of a command (``ieb validate``, ``ieb retour``): ``body(**parse(args))``
    and its exit code, handled as click's standalone mode would (a :class:`Usage` error: its line,
    exit 2; EOF or Ctrl-C before the body handles it: ``Aborted!``, exit 1; the reader of stdout gone
    (``| head``): exit 1 without a traceback). None (nothing done) when ``parse`` gives None (typer
    must read ``args``: its texts stay), when the shell asks for completions, or on Windows (where
    click expands ``~``, variables and wildcards in the arguments itself). ``prepare`` runs after a
    successful parse, before the body."""
    if os.name == "nt" or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None
    kwargs = parse(args)
    if kwargs is None:
        return None
    if prepare is not None:
        prepare()
    try:
        return body(**kwargs)
    except Usage as exc:
        _err(exc.line())
        return 2
    except (EOFError, KeyboardInterrupt):  # as click's standalone mode
        _err("")
        _err("Aborted!")
        return 1
    except BrokenPipeError:  # the reader went away (``| head``): no traceback, exit 1 as click
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
