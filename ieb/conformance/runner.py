"""``ieb conformance run``: run the scenario catalogue (:mod:`ieb.conformance.scenarios`) against a
vendor's sender command and judge what arrived at the simulator.

For every scenario a fresh simulator (GGk + CAK, mutual TLS on loopback) is started; the test PKI
is made once per run. For every step the target command is run with the environment of the target
contract (docs/conformance.md):

============================  ==================================================================
``IEB_ENDPOINT``              the simulator's OntvangAsynchroon URL (https, path ``/ggk0210/OntvangAsynchroon``)
``IEB_CERT``/``IEB_KEY``      the gemeente's certificate chain and private key (PEM)
``IEB_CA``                    the trusted roots for the simulator's certificate (PEM)
``IEB_AFZENDER``/``IEB_OIN``  the gemeentecode and its OIN
``IEB_SCENARIO``/``IEB_STAP`` the scenario's name and the step number (1, 2, ...)
``IEB_DAGTEKENING``           the Dagtekening to use (JJJJ-MM-DD); the CAK's system date
``IEB_GEWENST``               the desired state (CSV ``bsn,start,stop,kostprijs_cent,kostprijs_start``)
``IEB_VERSTUUR``              instead of IEB_GEWENST: an iEb file to send as is
``IEB_STATE``                 a directory kept for all steps of the scenario (the target's own data)
``IEB_RETOUREN``              what came back so far: ``retouren.json`` + the retour files
``IEB_WERK``                  a scratch directory for this step
``IEB_RELEASE``               the release of the scenarios (``ieb-1.0``, ``ieb-4.0``)
============================  ==================================================================

Every failure reason names the answer's code, its cause (the simulator's Fo01 text, the XSD or
rule findings) and the heenbericht's file, kept under the run's folder (``--bewaar``):
``<scenario>/stap-N/ontvangen/NN-<referentienummer>.xml`` with its answer beside it.

Exit code of the target: 0 done, 3 scenario not supported (reported as skipped), anything else a
failure (the last lines of its stderr are the reason).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from ieb.conformance.harness import HarnessError, SimulatorHarness
from ieb.conformance.junit import Case, classname, junit_xml
from ieb.conformance.scenarios import Scenario, Sent, Step, catalogue
from ieb.errors import IebError
from ieb.types import mask_bsns

if TYPE_CHECKING:  # the caller makes the test PKI (ieb.testing.pki sits above this floor)
    from ieb.testing.pki import TestPki

__all__ = ["ScenarioResult", "format_results", "run_suite", "target_command"]

NOT_SUPPORTED = 3


@dataclass
class ScenarioResult:
    """The verdict of one scenario."""

    name: str
    title: str
    passed: bool = False
    skipped: bool = False
    reason: str | None = None
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``name``, ``title``, ``passed``, ``skipped``, ``reason``, ``seconds`` (rounded to ms) and ``log`` (list of lines)."""
        return {
            "name": self.name,
            "title": self.title,
            "passed": self.passed,
            "skipped": self.skipped,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "log": self.log,
        }


def target_command(target: str) -> list[str]:
    """``ieb`` -> ieb's own sender; anything else is split like a shell command line."""
    if target.strip() == "ieb":
        return [sys.executable, "-m", "ieb.conformance.target"]
    parts = shlex.split(target)
    if not parts:
        raise IebError("--target is leeg")
    return parts


def _desired_csv(step: Step) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["bsn", "start", "stop", "kostprijs_cent", "kostprijs_start"])
    for p in step.desired or ():
        w.writerow(
            [
                p.bsn,
                p.start.isoformat(),
                p.stop.isoformat() if p.stop else "",
                "" if p.kostprijs_cent is None else str(p.kostprijs_cent),
                p.kostprijs_start.isoformat() if p.kostprijs_start else "",
            ]
        )
    for bsn in step.remove:
        w.writerow([bsn, "", "", "", ""])
    return out.getvalue()


def _write_retouren(sim: SimulatorHarness, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    causes = sim.service.app.stats.causes
    for a in sim.answers():
        entry: dict[str, Any] = {
            "referentienummer": a.cross_refnummer,
            "soort": a.kind,
            "bestand": None,
            "functie": a.functie,
            "retourcodes": [],
            "fo01_code": None,
            "fo01_omschrijving": None,
            "oorzaak": causes.get(a.cross_refnummer),
        }
        if a.kind == "Du01":
            name = f"{a.cross_refnummer}.xml"
            (folder / name).write_bytes(a.retour)
            entry.update(bestand=name, retourcodes=list(a.codes))
        else:
            entry.update(fo01_code=a.fo01_code, fo01_omschrijving=a.fo01_omschrijving)
        index.append(entry)
    (folder / "retouren.json").write_text(json.dumps(index, indent=1, ensure_ascii=False), encoding="utf-8")


def _c14n(data: bytes) -> bytes | None:
    from ieb.xmlsafe import XmlProblem, parse_bytes

    try:
        root = parse_bytes(data)
    except (XmlProblem, IebError):
        return None
    for el in root.iter():
        if isinstance(el.tag, str):
            if el.text is not None and not el.text.strip():
                el.text = None
            if el.tail is not None and not el.tail.strip():
                el.tail = None
    return etree.tostring(root, method="c14n")


def _nothing_arrived(resent_after_fo01: int) -> str:
    if resent_after_fo01:
        return (
            f"er kwam niets nieuws aan bij de simulator: {resent_after_fo01} Di01 werd(en) na een Fo01 opnieuw "
            "verstuurd met HETZELFDE referentienummer; na een blijvende Fo01 (zoals IB240) bevestigt de GGk "
            "dat als herlevering en verwerkt het niet opnieuw. Herstel de oorzaak en stuur een NIEUWE Di01 "
            "(nieuw referentienummer) met hetzelfde bestand (docs/conformance.md, 'After a Fo01')"
        )
    return "er kwam niets aan bij de simulator"


def _not_as_is(expected: bytes, arrived: Sequence[Sent]) -> str:
    """Why a send-as-is step failed: how the first file that arrived differs from ``expected``
    (IEB_VERSTUUR), what the CAK answered (code and cause) and the kept file."""
    s = arrived[0]
    if s.payload.startswith(b"\xef\xbb\xbf") and not expected.startswith(b"\xef\xbb\xbf"):
        how = "er is een BOM voor gezet"
    elif expected.startswith(b"\xef\xbb\xbf") and not s.payload.startswith(b"\xef\xbb\xbf"):
        how = "de BOM is weggehaald"
    else:
        how = "de inhoud is anders"
    if s.answer_kind == "Fo01":
        got = f"Fo01 {s.fo01_code or '?'}"
    elif s.answer_kind is None:
        got = "geen antwoord"
    else:
        got = f"{s.answer_kind} {', '.join(s.codes) or 'geaccepteerd'}"
    return (
        f"het opgegeven bestand kwam niet ongewijzigd aan ({how}; IEB_VERSTUUR moet zo verstuurd worden): "
        f"{s.describe()} kreeg {got}{s.explain()}"
    )


def _judge_answers(step: Step, arrived: Sequence[Sent], resent_after_fo01: int = 0) -> str | None:
    if not arrived:
        return _nothing_arrived(resent_after_fo01)
    if step.expect == "fo01":
        wrong = [s for s in arrived if s.answer_kind != "Fo01"]
        return (
            f"verwacht: Fo01 op elk bericht; {wrong[0].describe()} kreeg {wrong[0].answer_kind}{wrong[0].explain()}"
            if wrong
            else None
        )
    if step.expect == "retour":  # a file sent as is; the step's judge checks the retour
        if len(arrived) != 1:
            return f"verwacht: precies één bericht; ontvangen: {len(arrived)}"
        return None
    if step.expect.startswith("Fo01 "):
        if step.send is not None and not any(_c14n(s.payload) == _c14n(step.send) for s in arrived):
            return _not_as_is(step.send, arrived)
        code = step.expect.split()[1]
        wrong = [s for s in arrived if s.answer_kind != "Fo01" or s.fo01_code != code]
        if wrong:
            s = wrong[0]
            got = f"Fo01 {s.fo01_code}" if s.answer_kind == "Fo01" else f"{s.answer_kind} {' '.join(s.codes)}"
            return f"verwacht: Fo01 {code} op het bestand; {s.describe()} kreeg {got.strip()}{s.explain()}"
        return None
    if step.expect == "accepted":
        for s in arrived:
            if s.answer_kind == "Fo01":
                code = f"Fo01 {s.fo01_code or '?'}"
                if s.cause and s.cause.startswith(code):
                    cause = s.cause  # the simulator's text names the code itself
                else:
                    cause = code + (f" - {s.cause}" if s.cause else "")
                return f"{s.describe()} kreeg {cause}" + (f" (bestand: {s.bestand})" if s.bestand else "")
            if s.rejected or s.answer_kind is None:
                codes = [c for c in s.codes if c not in ("0200", "0233")]
                return f"het CAK keurde {s.describe()} af: {', '.join(codes) or 'geen retour'}{s.explain()}"
        return None
    # a specific retourcode on the file that had to be sent as is
    assert step.send is not None
    want = _c14n(step.send)
    same = [s for s in arrived if _c14n(s.payload) == want]
    if not same:
        return _not_as_is(step.send, arrived)
    if len(arrived) != 1:
        return f"verwacht: precies één bericht; ontvangen: {len(arrived)}"
    s = same[0]
    if s.answer_kind != "Du01" or step.expect not in s.codes:
        got = f"Fo01 {s.fo01_code}" if s.answer_kind == "Fo01" else f"{s.answer_kind} {', '.join(s.codes)}"
        return f"verwacht: retour met {step.expect}; kreeg {got.strip()}{s.explain()}"
    return None


def _final_state(sim: SimulatorHarness, scenario: Scenario) -> str | None:
    last = next((s for s in reversed(scenario.steps) if s.desired is not None), None)
    if last is None:
        return None
    want: dict[str, list[tuple[dt.date, dt.date | None, int | None]]] = {}
    for p in last.desired or ():
        want.setdefault(p.bsn, []).append((p.start, p.stop, p.kostprijs_cent))
    bsns = {p.bsn for step in scenario.steps for p in step.desired or ()} | {
        b for s in scenario.steps for b in s.remove
    }
    have = sim.cak_periods()
    for bsn in sorted(bsns):
        got = sorted((start, stop, kp) for _, start, stop, kp in have.get(bsn, []))
        if got != sorted(want.get(bsn, [])):

            def show(items: list[tuple[dt.date, dt.date | None, int | None]]) -> str:
                return (
                    ", ".join(
                        f"{a.isoformat()}..{b.isoformat() if b else 'open'}"
                        + (f" kostprijs {k}" if k else "")
                        for a, b, k in items
                    )
                    or "geen"
                )

            return f"eindstand bij het CAK voor Bsn {mask_bsns(bsn)}: {show(got)}; gewenst: {show(sorted(want.get(bsn, [])))}"
    return None


def _tail(text: str, lines: int = 6) -> str:
    return mask_bsns(" | ".join(line for line in text.strip().splitlines()[-lines:] if line.strip()))


def run_scenario(
    scenario: Scenario,
    command: Sequence[str],
    workdir: Path,
    *,
    pki: TestPki,
    day: dt.date,
    timeout: float,
    afzender: str,
    release: str = "ieb-1.0",
) -> ScenarioResult:
    """Run one scenario: a fresh simulator, then the target ``command`` once per step with the
    IEB_* environment (docs/conformance.md), judging what arrived after each step. Never raises for
    a failing target: the reason is in the result."""
    result = ScenarioResult(scenario.name, scenario.title)
    started = time.monotonic()
    base = workdir / scenario.name
    state = base / "state"
    state.mkdir(parents=True, exist_ok=True)
    sim = SimulatorHarness(base / "simulator", gemeente=afzender, pki=pki, today=day)
    try:
        sim.start()
    except (IebError, OSError) as exc:
        result.reason = f"simulator start niet: {exc}"
        return result
    try:
        sim.set_today(day)
        for payload in scenario.history:
            codes = sim.cak_process(payload)
            if any(c not in ("0200", "0233") for c in codes):  # pragma: no cover - catalogue is checked
                raise IebError(f"geschiedenis van het scenario afgekeurd: {codes}")
        everything: list[Sent] = []
        since = 0
        for n, step in enumerate(scenario.steps, start=1):
            step_day = day + dt.timedelta(days=n - 1 if step.day_offset is None else step.day_offset)
            sim.set_today(step_day)
            sim.set_faults(step.faults)
            work = base / f"stap-{n}"
            work.mkdir(parents=True, exist_ok=True)
            retouren = base / "retouren"
            _write_retouren(sim, retouren)
            env = _step_env(sim, scenario, step, n, step_day, afzender, state, work, retouren)
            env["IEB_RELEASE"] = release
            resent_before = sum(sim.service.app.stats.resent_after_fo01.values())
            try:
                proc = subprocess.run(  # noqa: S603 - the vendor's command, run on purpose
                    list(command), env=env, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                result.reason = f"stap {n}: het doel was na {timeout:.0f} s niet klaar"
                return result
            except OSError as exc:
                result.reason = f"stap {n}: het doel start niet: {exc.strerror or exc}"
                return result
            (work / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
            (work / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
            if proc.returncode == NOT_SUPPORTED:
                result.skipped = True
                result.reason = f"stap {n}: het doel ondersteunt dit scenario niet (exitcode 3)"
                return result
            if proc.returncode != 0:
                result.reason = f"stap {n}: het doel stopte met exitcode {proc.returncode}: {_tail(proc.stderr or proc.stdout)}"
                return result
            try:  # faults stay on until the CAK side answered what this step sent (Fo01 is drawn there)
                answers = {a.cross_refnummer: a for a in sim.wait(timeout=60)}
            except HarnessError as exc:
                result.reason = f"stap {n}: {exc.message}"
                return result
            finally:
                sim.set_faults(None)
            arrived, since = _collect(sim, since, answers, work / "ontvangen", workdir)
            resent = sum(sim.service.app.stats.resent_after_fo01.values()) - resent_before
            result.log.append(
                f"stap {n}: "
                + (
                    "; ".join(
                        f"{s.describe()} -> {s.answer_kind} {' '.join(s.codes)}".rstrip() for s in arrived
                    )
                    or "niets ontvangen"
                )
            )
            everything.extend(arrived)
            reason = _judge_answers(step, arrived, resent)
            if reason is None and step.judge is not None:
                reason = step.judge(arrived, everything)
            if reason:
                result.reason = f"stap {n}: {reason}"
                return result
        reason = _after_all_steps(sim, scenario, everything)
        if reason:
            result.reason = reason
            return result
        result.passed = True
        return result
    finally:
        try:  # the answers to the last step too (kept with --bewaar)
            _write_retouren(sim, base / "retouren")
        except Exception as exc:  # noqa: BLE001 - keeping files must not hide the verdict
            result.log.append(f"retouren niet bewaard: {exc}")
        sim.stop()
        result.seconds = time.monotonic() - started


def _step_env(
    sim: SimulatorHarness,
    scenario: Scenario,
    step: Step,
    n: int,
    step_day: dt.date,
    afzender: str,
    state: Path,
    work: Path,
    retouren: Path,
) -> dict[str, str]:
    """The environment of the target command for step ``n`` (the IEB_* contract of docs/conformance.md),
    after writing its input (``verstuur.xml`` or ``gewenst.csv``) into ``work``."""
    p = sim.pki.party(afzender)
    env = {
        **os.environ,
        "IEB_ENDPOINT": sim.endpoint,
        "IEB_CERT": str(p.chain),
        "IEB_KEY": str(p.key),
        "IEB_CA": str(sim.pki.roots),
        "IEB_AFZENDER": afzender,
        "IEB_OIN": str(p.oin),
        "IEB_SCENARIO": scenario.name,
        "IEB_STAP": str(n),
        "IEB_DAGTEKENING": step_day.isoformat(),
        "IEB_STATE": str(state),
        "IEB_RETOUREN": str(retouren),
        "IEB_WERK": str(work),
    }
    env.pop("IEB_GEWENST", None)
    env.pop("IEB_VERSTUUR", None)
    if step.send is not None:
        (work / "verstuur.xml").write_bytes(step.send)
        env["IEB_VERSTUUR"] = str(work / "verstuur.xml")
    else:
        (work / "gewenst.csv").write_text(_desired_csv(step), encoding="utf-8")
        env["IEB_GEWENST"] = str(work / "gewenst.csv")
    return env


def _collect(
    sim: SimulatorHarness, since: int, answers: dict[str, Any], keep: Path, root: Path
) -> tuple[list[Sent], int]:
    """The heenberichten that arrived after inbox id ``since``, each with the CAK's answer (Du01/Fo01,
    retourcodes, the Fo01 code and the cause the simulator knows) when there is one; and the new
    ``since``. Every heenbericht is written to ``keep`` (``NN-<referentienummer>.xml``) with its
    answer beside it (``.retour.xml`` or ``.fo01.txt``); ``Sent.bestand`` is its path relative to
    ``root``."""
    arrived = []
    causes = sim.service.app.stats.causes
    keep.mkdir(parents=True, exist_ok=True)
    for n, a in enumerate(sim.arrivals(since), start=1):
        sent = Sent.read(a.referentienummer, a.payload)
        name = f"{n:02d}-{a.referentienummer}"
        (keep / f"{name}.xml").write_bytes(a.payload)
        answer = answers.get(a.referentienummer)
        cause = causes.get(a.referentienummer)
        if answer is not None:
            sent = dataclasses.replace(
                sent,
                answer_kind=answer.kind,
                codes=answer.codes,
                fo01_code=answer.fo01_code,
                retour=answer.retour if answer.kind == "Du01" else b"",
            )
            if answer.kind == "Du01":
                (keep / f"{name}.retour.xml").write_bytes(answer.retour)
            else:
                (keep / f"{name}.fo01.txt").write_text(
                    f"Fo01 {answer.fo01_code}: {answer.fo01_omschrijving}\n{cause or ''}\n", encoding="utf-8"
                )
        rel = (keep / f"{name}.xml").relative_to(root).as_posix()
        arrived.append(dataclasses.replace(sent, cause=cause, bestand=rel))
        since = max(since, a.id)
    return arrived, since


def _after_all_steps(
    sim: SimulatorHarness, scenario: Scenario, everything: Sequence[Sent] = ()
) -> str | None:
    """The checks over the whole scenario (no repeated heenbericht, redeliveries after lost
    acknowledgements, the scenario's own check, the final ledger state); the reason it failed, or None."""
    stats = sim.service.app.stats
    if scenario.final_judge is not None:
        reason = scenario.final_judge(everything)
        if reason:
            return reason
    if scenario.no_repeats and stats.cak_duplicates:
        return (
            f"het CAK kreeg {stats.cak_duplicates} heenbericht(en) nogmaals (nieuwe Di01 met hetzelfde bestand "
            "in plaats van herlevering met hetzelfde referentienummer)"
        )
    if stats.redeliveries < scenario.min_redeliveries:
        return (
            f"na verloren bevestigingen werd niets opnieuw afgeleverd met hetzelfde referentienummer "
            f"({stats.redeliveries} herleveringen)"
        )
    if scenario.final_state:
        return _final_state(sim, scenario)
    return None


def run_suite(
    target: str,
    *,
    pki: TestPki,
    workdir: Path,
    today: dt.date | None = None,
    only: Sequence[str] | None = None,
    timeout: float = 120.0,
    afzender: str = "0363",
    progress: Callable[[ScenarioResult], None] | None = None,
    release: str = "ieb-1.0",
) -> list[ScenarioResult]:
    """Run the catalogue (or the scenarios named in ``only``) against ``target``; one result per
    scenario. ``pki``: a test PKI (:func:`ieb.testing.pki.create_test_pki`) holding ``afzender`` and
    ``"GGK"``. Raises :class:`ieb.errors.IebError` for an unknown scenario name, an empty target or
    a PKI without those two parties."""

    day = today or dt.date.today()
    scenarios = catalogue(day, afzender, release)
    if only:
        known = {s.name for s in scenarios}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise IebError(f"onbekend scenario: {', '.join(unknown)}; bekend: {', '.join(sorted(known))}")
        scenarios = tuple(s for s in scenarios if s.name in only)
    command = target_command(target)
    workdir.mkdir(parents=True, exist_ok=True)
    pki.party(afzender), pki.party("GGK")  # ConfigurationError (an IebError) when one is missing
    results = []
    for scenario in scenarios:
        r = run_scenario(
            scenario, command, workdir, pki=pki, day=day, timeout=timeout, afzender=afzender, release=release
        )
        results.append(r)
        if progress is not None:
            progress(r)
    return results


def format_results(
    results: Sequence[ScenarioResult], fmt: str, target: str, *, release: str | None = None
) -> bytes:
    """``text``, ``json`` or ``junit`` (one testcase per scenario). ``release`` (the scenarios'
    release) is named in each: the JSON key ``release``, the JUnit suite name, the text's last line."""
    passed = sum(r.passed for r in results)
    skipped = sum(r.skipped for r in results)
    failed = len(results) - passed - skipped
    if fmt == "json":
        data: dict[str, object] = {
            "target": target,
            **({"release": release} if release is not None else {}),
            "scenarios": [r.to_dict() for r in results],
            "summary": {"scenarios": len(results), "passed": passed, "failed": failed, "skipped": skipped},
        }
        return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
    if fmt == "junit":
        cases = [
            Case(
                name=r.name,
                classname=classname("ieb", "conformance"),
                failure=None if r.passed or r.skipped else (r.reason or "mislukt"),
                details="\n".join([r.title, *r.log, *([r.reason] if r.reason else [])]),
                seconds=r.seconds,
                skipped=r.reason if r.skipped else None,
            )
            for r in results
        ]
        on = f"{target}, {release}" if release is not None else target
        return junit_xml(f"ieb conformance ({on})", cases)
    lines = []
    for r in results:
        mark = "GESLAAGD" if r.passed else ("OVERGESLAGEN" if r.skipped else "MISLUKT")
        lines.append(f"{mark:12} {r.name}  ({r.title}, {r.seconds:.1f} s)")
        if r.reason:
            lines.append(f"             {r.reason}")
    of = f" van {release}" if release is not None else ""
    lines.append(
        f"{len(results)} scenario('s){of}: {passed} geslaagd, {failed} mislukt, {skipped} overgeslagen"
    )
    return ("\n".join(lines) + "\n").encode()
