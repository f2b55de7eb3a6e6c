"""The parts of ``ieb validate`` that belong to the conformance kit: ``--format rapport`` and
``--heen`` (retour consistency checks). Called from :mod:`ieb.cli.validate`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ieb.types import mask_bsns

__all__ = ["validate_conformance"]


def _emit(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def validate_conformance(
    files: list[Path],
    format: str,
    day: dt.date | None,
    gemeenten: Any,
    registry: Any,
    heen: Path | None,
    rapport_dir: Path | None,
    revision: Any = None,
) -> int:
    """Run ``ieb validate --format rapport`` and/or ``--heen``; returns the exit code
    (0 all right, 1 findings, 2 wrong use)."""
    from ieb.conformance.junit import Case, junit_xml
    from ieb.conformance.rapport import rapport_bytes
    from ieb.conformance.retourcheck import check_pair, pair_files
    from ieb.validation import Report, validate_file

    if heen is not None and not heen.exists():
        sys.stderr.write(f"fout: --heen {heen} bestaat niet\n")
        return 2
    if format == "rapport" and len(files) != 1 and rapport_dir is None:
        sys.stderr.write(
            f"fout: --format rapport schrijft één rapport per bestand; {len(files)} bestanden: "
            "geef --rapport-dir MAP\n"
        )
        return 2
    results: list[tuple[Path, Path | None, Report]] = []
    if heen is not None:
        for pair in pair_files(heen, files):
            results.append((pair.retour, pair.heen, check_pair(pair)))
        if not results:
            sys.stderr.write("fout: geen retouren gevonden om te controleren\n")
            return 2
    else:
        for f in files:
            try:
                report = validate_file(
                    f, today=day, gemeenten=gemeenten, registry=registry, revision=revision
                )
            except OSError as exc:
                sys.stderr.write(f"fout: {f} is niet te lezen: {exc.strerror or exc}\n")
                return 2
            results.append((f, None, report))
    invalid = sum(1 for _, _, r in results if not r.valid)
    if format == "rapport":
        for path, _, report in results:
            data = rapport_bytes(report, today=day)
            if rapport_dir is None:
                _emit(data)
            else:
                rapport_dir.mkdir(parents=True, exist_ok=True)
                (rapport_dir / f"{path.stem}.rapport.xml").write_bytes(data)
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
                name=str(p),
                classname=f"retour.{r.bericht or 'onbekend'}",
                failure=", ".join(i.code for i in r.issues) if r.issues else None,
                details="\n".join(f"{i.code} {i.location or ''}: {mask_bsns(i.message)}" for i in r.issues),
            )
            for p, _, r in results
        ]
        _emit(junit_xml("ieb validate --heen", cases))
    else:
        for p, h, r in results:
            against = f" (heen: {h})" if h else ""
            print(f"{'GELDIG' if r.valid else 'ONGELDIG':9} {p}{against}")
            for i in r.issues:
                print(f"    {i.code} {i.location or ''}")
                print(f"        {mask_bsns(i.message)}")
        print(f"{len(results)} bestand(en): {len(results) - invalid} geldig, {invalid} ongeldig")
    return 0 if invalid == 0 else 1
