"""The parts of ``ieb validate`` that belong to the conformance kit: ``--format rapport``,
``--rapport-dir``, ``--heen`` (retour consistency checks) and ``--dvs`` (the official verdict of a
running DVS merged in). Called from :mod:`ieb.cli.validate`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ieb.types import mask_bsns

__all__ = ["dvs_client", "merge_dvs_rows", "rapport_paths", "validate_conformance"]


def _emit(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def rapport_paths(files: list[Path], rapport_dir: Path) -> list[Path]:
    """Where the rapport of each input goes: ``rapport_dir`` / the input's folder relative to the
    deepest folder holding every input / ``<stem>.rapport.xml``, so the folder structure of the inputs
    is kept and two inputs never share a rapport (a name already taken in this run gets ``-2``,
    ``-3``, ...). A rapport left by an earlier run is replaced."""
    import os

    parents = [str(f.resolve().parent) for f in files]
    common = Path(os.path.commonpath(parents)) if parents else Path()
    taken: set[str] = set()
    out: list[Path] = []
    for f, parent in zip(files, parents, strict=True):
        rel = Path(parent).relative_to(common)
        target = rapport_dir / rel / f"{f.stem}.rapport.xml"
        n = 1
        while str(target).casefold() in taken:
            n += 1
            target = rapport_dir / rel / f"{f.stem}-{n}.rapport.xml"
        taken.add(str(target).casefold())
        out.append(target)
    return out


def dvs_client(url: str, revision: Any = None) -> Any:
    """A :class:`ieb.conformance.dvs.DvsClient` for ``url``; ``revision`` (``--revision``) is sent
    as ``X-Version-Override``."""
    from ieb.conformance.dvs import DvsClient

    version = getattr(revision, "name", revision)
    return DvsClient(url, version=str(version) if version else None)


def _to_issue(d: dict[str, Any]) -> Any:
    from ieb.validation.report import Issue

    return Issue(d["code"], d["retourcode"], d["level"], d["location"], d["message"], d.get("detail"))


def _merged_dicts(issues: list[dict[str, Any]], rapport: Any) -> list[dict[str, Any]]:
    from ieb.conformance.dvs import merge

    merged, sources = merge([_to_issue(d) for d in issues], rapport)
    return [{**i.to_dict(), "source": s} for i, s in zip(merged, sources, strict=True)]


def merge_dvs_rows(rows: list[dict[str, Any]], files: list[Path], client: Any) -> None:
    """Send each file (for an envelope: the iEb file inside) to the DVS and merge its findings into
    the row of ``ieb validate --format json`` in place: every issue gets ``"source"`` (``ieb``,
    ``dvs``, ``ieb+dvs``), ``valid`` is recomputed and ``"dvs"`` says what the DVS did
    (``{"xslt_versie"}``, or ``{"niet_gestuurd": reason}`` for a file that is no XML).
    Raises :class:`ieb.conformance.dvs.DvsError` when the DVS gives no verdict."""
    from ieb.ggk import check_envelope

    for row, f in zip(rows, files, strict=True):
        payload = row.get("payload")
        if "payload" in row:  # an envelope: the DVS judges the iEb file inside
            envelope = check_envelope(f.read_bytes()).envelope
            data = getattr(envelope, "payload", None)
            if payload is None or payload.get("valid") is None or data is None:
                row["issues"] = [{**i, "source": "ieb"} for i in row["issues"]]
                row["dvs"] = {"niet_gestuurd": "geen iEb-bericht in de envelop"}
                continue
            rapport = client.validate(data)
            payload["issues"] = _merged_dicts(payload["issues"], rapport)
            payload["valid"] = not payload["issues"]
            row["issues"] = [{**i, "source": "ieb"} for i in row["issues"]]
            row["valid"] = not row["issues"] and payload["valid"]
        else:
            if any(i["code"] in ("XML", "OP179") for i in row["issues"]) and row.get("bericht") is None:
                row["issues"] = [{**i, "source": "ieb"} for i in row["issues"]]
                row["dvs"] = {"niet_gestuurd": "geen leesbare XML (of te groot)"}
                continue
            rapport = client.validate(f.read_bytes())
            row["issues"] = _merged_dicts(row["issues"], rapport)
            row["valid"] = not row["issues"]
        row["dvs"] = {"xslt_versie": rapport.xslt_versie}


def validate_conformance(
    files: list[Path],
    format: str,
    day: dt.date | None,
    gemeenten: Any,
    registry: Any,
    heen: Path | None,
    rapport_dir: Path | None,
    revision: Any = None,
    dvs: Any = None,
) -> int:
    """Run ``ieb validate --format rapport`` and/or ``--heen``; returns the exit code
    (0 all right, 1 findings, 2 wrong use or no verdict from the DVS). ``dvs``: a
    :class:`ieb.conformance.dvs.DvsClient` whose findings are merged into each rapport."""
    from ieb.conformance.dvs import DvsError, merge
    from ieb.conformance.junit import Case, classname, junit_xml
    from ieb.conformance.rapport import rapport_bytes
    from ieb.conformance.retourcheck import check_pair, pair_files
    from ieb.conformance.verdict import check_bytes
    from ieb.validation import Report, validate_file
    from ieb.xmlsafe import MAX_BYTES

    if heen is not None and not heen.exists():
        sys.stderr.write(f"fout: --heen {heen} bestaat niet\n")
        return 2
    if heen is not None and dvs is not None:
        sys.stderr.write("fout: --dvs gaat niet samen met --heen (de DVS kent geen retourcontrole)\n")
        return 2
    if format == "rapport" and len(files) != 1 and rapport_dir is None:
        sys.stderr.write(
            f"fout: --format rapport schrijft één rapport per bestand; {len(files)} bestanden: "
            "geef --rapport-dir MAP\n"
        )
        return 2
    results: list[tuple[Path, Path | None, Report]] = []
    extra: list[tuple[list[str] | None, str | None]] = []
    if heen is not None:
        for pair in pair_files(heen, files):
            results.append((pair.retour, pair.heen, check_pair(pair)))
            extra.append((None, None))
        if not results:
            sys.stderr.write("fout: geen retouren gevonden om te controleren\n")
            return 2
    else:
        for f in files:
            try:
                if f.stat().st_size > MAX_BYTES:  # OP179 without reading the file whole
                    report = validate_file(f, today=day, gemeenten=gemeenten, registry=registry)
                    payload = None
                else:
                    data = f.read_bytes()
                    verdict = check_bytes(
                        data,
                        name=str(f),
                        today=day,
                        gemeenten=gemeenten,
                        registry=registry,
                        revision=revision,
                    )
                    if revision is not None and _other_release(verdict.report):
                        # --revision is of iEb 1.0 and applies to its files only (docs/cli.md): a
                        # file of another release is checked with its own rules, without a note
                        verdict = check_bytes(
                            data, name=str(f), today=day, gemeenten=gemeenten, registry=registry
                        )
                    report, payload = verdict.report, verdict.payload
            except OSError as exc:
                sys.stderr.write(f"fout: {f} is niet te lezen: {exc.strerror or exc}\n")
                return 2
            sources: list[str] | None = None
            versie: str | None = None
            if dvs is not None and payload is not None and report.root is not None:
                try:
                    answer = dvs.validate(payload)
                except DvsError as exc:
                    sys.stderr.write(f"fout: {f}: {exc.message}; er is niets gerapporteerd\n")
                    dvs.close()
                    return 2
                issues, sources = merge(report.issues, answer)
                report = Report(report.bericht, report.release, issues, report.root)
                versie = answer.xslt_versie
            results.append((f, None, report))
            extra.append((sources, versie))
    if dvs is not None:
        dvs.close()
    invalid = sum(1 for _, _, r in results if not r.valid)
    if format == "rapport":
        targets = rapport_paths([p for p, _, _ in results], rapport_dir) if rapport_dir else None
        for n, (_, _, report) in enumerate(results):
            sources, versie = extra[n]
            data = rapport_bytes(report, today=day, sources=sources, xslt_versie=versie)
            if targets is None:
                _emit(data)
            else:
                targets[n].parent.mkdir(parents=True, exist_ok=True)
                targets[n].write_bytes(data)
        if targets is not None:  # the rapporten are in files: say where, as the text format sums up
            where = mask_bsns(str(rapport_dir))
            print(
                f"{len(results)} rapport(en) geschreven in {where}: {len(results) - invalid} geldig, {invalid} ongeldig"
            )
    elif format == "json":
        rows = [
            {"path": str(p), **({"heen": str(h) if h else None} if heen else {}), **r.to_dict()}
            for p, h, r in results
        ]
        summary = {"files": len(rows), "valid": len(rows) - invalid, "invalid": invalid}
        _emit((json.dumps({"files": rows, "summary": summary}, ensure_ascii=False, indent=2) + "\n").encode())
    elif format == "junit":
        cases = [
            Case(
                name=mask_bsns(str(p)),
                classname=classname("retour", r.bericht or "onbekend"),
                failure=", ".join(i.code for i in r.issues) if r.issues else None,
                details="\n".join(
                    f"{' '.join(filter(None, (i.code, i.location)))}: {mask_bsns(i.message)}"
                    for i in r.issues
                ),
            )
            for p, _, r in results
        ]
        _emit(junit_xml("ieb validate --heen", cases))
    else:
        for p, h, r in results:
            against = f" (heen: {mask_bsns(str(h))})" if h else ""  # a BSN in a name: masked
            print(f"{'GELDIG' if r.valid else 'ONGELDIG':9} {mask_bsns(str(p))}{against}")
            for i in r.issues:
                print(f"    {' '.join(filter(None, (i.code, i.location)))}")
                print(f"        {mask_bsns(i.message)}")
        print(f"{len(results)} bestand(en): {len(results) - invalid} geldig, {invalid} ongeldig")
    return 0 if invalid == 0 else 1


def _other_release(report: Any) -> bool:
    """True when ``report`` carries validate_bytes' ``REVISIE`` finding: the forced revision belongs
    to another release than the file's, whose rules were then not applied."""
    return report.release is not None and any(i.code == "REVISIE" for i in report.issues)
