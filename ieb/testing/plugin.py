"""The ``ieb`` pytest plugin: the GGk + CAK simulator as fixtures for a vendor's own tests.

Installed with ``ieb`` (entry point ``pytest11``), so it is active in every pytest run once ``ieb``
is installed; without the install, load it with ``pytest -p ieb.testing.plugin``.

Fixtures:

``ieb_pki`` (session)
    A test PKI (:class:`ieb.testing.pki.TestPki`) with the gemeente (ini option ``ieb_gemeente``,
    default ``0363``) and the GGk as parties: ``ieb_pki.party("0363").chain / .key / .oin``,
    ``ieb_pki.roots``.
``ieb_simulator`` (function)
    A started :class:`ieb.conformance.harness.SimulatorHarness`: the simulator on loopback with
    mutual TLS (``.endpoint``, ``.tls``), stopped after the test. Configure it with the marker
    ``@pytest.mark.ieb_simulator(faults="fo01=1.0", level1="none", today="2026-06-01")``.
``ieb_retours`` (function)
    The answers the simulator sent to the gemeente (:class:`RetourCollector`):
    ``ieb_retours.wait()`` waits for the Du01/Fo01 of everything sent and returns them (in order of
    arrival); ``ieb_retours.answer_to(referentienummer)`` waits for the answer to one Di01.

Assertion helpers (messages in Dutch, with rule codes): :func:`assert_accepted`,
:func:`assert_rejected` and :func:`explain`.

Loading the plugin imports nothing heavy (issue 25 item 7): the simulator, the PKI and the validator
are imported inside the fixtures and helpers that use them, so a pytest run that uses no ``ieb_*``
fixture pays only for this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

if TYPE_CHECKING:  # pragma: no cover - imported inside the fixtures (a lean plugin)
    from ieb.conformance.harness import Answer, SimulatorHarness
    from ieb.testing.pki import TestPki

__all__ = [
    "RetourCollector",
    "assert_accepted",
    "assert_rejected",
    "explain",
    "ieb_pki",
    "ieb_retours",
    "ieb_simulator",
]

GGK = "GGK"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("ieb_gemeente", "gemeentecode of the test PKI's gemeente (ieb plugin)", default="0363")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ieb_simulator(faults=None, level1='retour', today=None): configure the ieb_simulator fixture",
    )


@pytest.fixture(scope="session")
def ieb_pki(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> TestPki:
    """A test PKI with the gemeente and the GGk (``GGK``) as parties."""
    from ieb.testing.pki import create_test_pki

    gemeente = str(pytestconfig.getini("ieb_gemeente"))
    return create_test_pki(tmp_path_factory.mktemp("ieb-pki"), [gemeente, GGK])


@pytest.fixture
def ieb_simulator(
    ieb_pki: TestPki, tmp_path: Path, request: pytest.FixtureRequest, pytestconfig: pytest.Config
) -> Iterator[SimulatorHarness]:
    """The GGk + CAK simulator on loopback with mutual TLS; torn down after the test."""
    from ieb.conformance.harness import SimulatorHarness

    marker = request.node.get_closest_marker("ieb_simulator")
    options = dict(marker.kwargs) if marker is not None else {}
    today = options.get("today")
    level1: Literal["retour", "none"] = "none" if options.get("level1") == "none" else "retour"
    harness = SimulatorHarness(
        tmp_path / "ieb-simulator",
        gemeente=str(pytestconfig.getini("ieb_gemeente")),
        pki=ieb_pki,
        faults=options.get("faults"),
        level1=level1,
        today=dt.date.fromisoformat(today) if isinstance(today, str) else today,
    )
    harness.start()
    try:
        yield harness
    finally:
        harness.stop()


class RetourCollector:
    """What the simulator answered the gemeente (Du01 with the retour, or Fo01)."""

    def __init__(self, simulator: SimulatorHarness) -> None:
        self.simulator = simulator

    def wait(self, count: int | None = None, *, timeout: float = 30.0) -> list[Answer]:
        """Wait for the answers to everything the simulator received (at least ``count`` when given)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            answers = self.simulator.wait(timeout=max(0.1, deadline - time.monotonic()))
            if count is None or len(answers) >= count:
                return answers
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(answers)} antwoord(en) van de simulator, {count} verwacht")
            time.sleep(0.05)

    def answer_to(self, referentienummer: str, *, timeout: float = 30.0) -> Answer:
        """The answer to the Di01 with this referentienummer (waits for it)."""
        for answer in self.simulator.wait({referentienummer}, timeout=timeout):
            if answer.cross_refnummer == referentienummer:
                return answer
        raise AssertionError(f"geen antwoord op referentienummer {referentienummer}")  # pragma: no cover

    def all(self) -> list[Answer]:
        """The answers that arrived so far (no waiting)."""
        return self.simulator.answers()

    def __iter__(self) -> Iterator[Answer]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self.all())


@pytest.fixture
def ieb_retours(ieb_simulator: SimulatorHarness) -> RetourCollector:
    """The answers of ``ieb_simulator`` to what was sent to it."""
    return RetourCollector(ieb_simulator)


def explain(answer: Answer) -> str:
    """A Dutch explanation of an answer: accepted, or rejected with every rule code, retourcode and
    reason (for a 0001 retour the heenbericht is validated again to name the rules it breaks)."""
    from ieb.types import RetourCode, mask_bsns
    from ieb.validation import validate_bytes

    if answer.kind == "Fo01":
        return (
            f"Foutbericht Fo01 van de GGk op referentienummer {answer.cross_refnummer}: "
            f"{answer.fo01_code} {mask_bsns(answer.fo01_omschrijving or '')}. Het iEb-bericht is niet "
            "bij het CAK verwerkt; verstuur het opnieuw (nieuw referentienummer) zodra de oorzaak is verholpen."
        )
    codes = answer.codes
    if answer.accepted:
        return f"Het CAK heeft het bericht geaccepteerd (retour {answer.functie}, {', '.join(codes) or 'geen codes'})."
    lines = [f"Het CAK heeft het bericht afgekeurd (retour {answer.functie}):"]
    for code in codes:
        if code in ("0200", "0233"):
            continue
        try:
            member = RetourCode(code)
            lines.append(f"  retourcode {code} ({member.rule or 'technisch'}): {member.omschrijving}")
        except ValueError:
            lines.append(f"  retourcode {code}: onbekende code")
    if answer.heen is not None:
        report = validate_bytes(answer.heen)
        for issue in report.issues:
            lines.append(
                f"  regel {issue.code} (retourcode {issue.retourcode or '-'}) {issue.location or ''}: "
                f"{mask_bsns(issue.message)}"
            )
        if "0001" in codes and not report.issues:
            lines.append("  (de eigen controle van ieb vindt geen fout in het heenbericht)")
    return "\n".join(lines)


def assert_accepted(answer: Answer) -> None:
    """Fail with the Dutch explanation (rule codes, retourcodes) unless the CAK accepted."""
    __tracebackhide__ = True
    if not answer.accepted:
        raise AssertionError(explain(answer))


def assert_rejected(answer: Answer, *retourcodes: str) -> None:
    """Fail unless the CAK rejected with (at least) these retourcodes, explaining what came back."""
    __tracebackhide__ = True
    if answer.accepted:
        raise AssertionError("verwacht: afgekeurd met " + ", ".join(retourcodes) + "\n" + explain(answer))
    missing = [c for c in retourcodes if c not in answer.codes]
    if missing:
        raise AssertionError(f"retourcode(s) {', '.join(missing)} ontbreken\n" + explain(answer))
