"""Shared test fixtures. Module-specific fixtures live in each test folder's own conftest.py."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.reference import REFERENCE, ROOT

__all__ = ["REFERENCE", "ROOT", "TEST_BSNS"]

# Property tests judge behaviour, never speed: on a loaded 2-core CI machine one example may take
# longer than hypothesis's 200 ms default deadline. Speed is measured in bench/, not here.
settings.register_profile("ieb", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ieb")

#: Test BSNs: 9999xxxxx, passing the 11-proef.
TEST_BSNS = ("999900006", "999900018", "999900031", "999900043", "999900055", "999900067")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (the full suite, as CI runs it); the default run leaves them out",
    )


#: Tests that are slow by nature (whole processes, servers, corpora, wheels), marked ``slow`` here
#: in one place besides the ``@pytest.mark.slow`` in the files. Chosen from ``pytest --run-slow -n 2
#: --durations=60`` on the shared 2-core machine (2026-12-06; the full run took 27.5 min there):
#: everything that took 7 s or more, except the documentation snippets. ``file::function`` covers
#: every parameter of the function.
SLOW_TESTS = (
    "tests/conformance/test_scenarios.py::test_wrong_sender_fails_the_deletion_order_scenario_only",  # 110 s
    "tests/conformance/test_plugin.py::test_fixtures_in_a_vendor_test_run",  # 41 s
    "tests/conformance/test_plugin.py::test_sample_vendor_project_runs_with_the_plugin",  # 29 s
    "tests/core/test_equivalence.py::test_same_verdict_on_samples_and_all_their_mutations",  # 273 s
    "tests/core/test_equivalence.py::test_published_examples_are_valid_under_ours",  # 8 s
    "tests/core/test_exactness.py::test_cli_never_prints_a_traceback_for_strange_dates",  # 81 s
    "tests/core/test_exactness.py::test_field_big_trailing_whitespace_is_valid",  # 18 s
    "tests/core/test_exactness.py::test_field_dagtekening_0001_is_tr113_as_json",  # 11 s
    "tests/core/test_exactness.py::test_field_whitespace_dagtekening_reads_and_shows",  # 8 s
    "tests/core/test_reference_codes.py::test_11proef_equals_the_official_engine",  # 33 s
    "tests/core/test_codec.py::test_generated_messages_are_valid_and_round_trip",  # 16 s
    "tests/core/test_parsers.py::test_wide_payload_is_refused_and_judged_in_bounded_memory",  # 12 s
    "tests/core/test_revisions.py::test_planner_windows_equal_the_validator",  # 9 s
    "tests/core/test_cli.py::test_console_script_runs",  # 8 s
    "tests/exchange/test_cli.py::test_status_says_why_a_pending_message_is_stuck_and_when_it_is_tried_again",  # 69 s
    "tests/exchange/test_cli.py::test_send_to_a_ggk_that_is_down_stops_after_one_round_and_says_why",  # 39 s
    "tests/exchange/test_cli.py::test_ctrl_c_stops_send_and_releases_its_leases",  # 37 s
    "tests/exchange/test_cli.py::test_without_ieb_toml_the_commands_point_to_ieb_init_and_config_errors_are_precise",  # 8 s
    "tests/fuzz/test_entry_points.py::test_show_never_ends_in_a_traceback",  # 22 s
    "tests/fuzz/test_entry_points.py::test_validate_and_from_xml_raise_only_project_errors",  # 9 s
    "tests/fuzz/test_xsd_agreement.py::test_rules_codec_and_published_xsd_agree",  # 21 s
    "tests/ggk/test_ggk_schemas.py::test_mutated_corpus_gets_the_same_verdict_under_both_schemas_with_xmlschema",  # 35 s
    "tests/ggk/test_ggk_schemas.py::test_mutated_corpus_gets_the_same_verdict_under_both_schemas",  # 10 s
    "tests/ggk/test_ggk_schemas.py::test_parse_agrees_with_the_published_schema_on_the_corpus",  # 9 s
    "tests/ggk/test_ggk_codec.py::test_round_trip_build_parse_is_identity",  # 19 s
    "tests/ggk/test_ggk_codec.py::test_an_envelope_just_under_25_mb_parses",  # 10 s
    "tests/ledger/test_planner_moves.py::test_a_moved_period_is_never_planned_longer_than_its_changes",  # 85 s
    "tests/ledger/test_planner_property.py::test_planned_messages_are_accepted_sqlite",  # 66 s
    "tests/ledger/test_planner_property.py::test_planned_messages_are_accepted_postgresql",  # 29 s
    "tests/ledger/test_concurrency.py::test_processes_allocate_unique_numbers",  # 2 x 31 s
    "tests/ledger/test_cak_and_retour.py::test_cli_plan_simulate_retour_status",  # 11 s
    "tests/simulator/test_cak_retour.py::test_every_heenbericht_gets_one_valid_retour",  # 100 s
    "tests/simulator/test_cak_retour.py::test_valid_heenberichten_are_answered_with_their_own_header",  # 74 s
    "tests/simulator/test_faults.py::test_any_spec_parses_or_raises_our_error",  # 9 s
    "tests/transport/test_demo.py::test_demo_with_faults_loses_and_duplicates_nothing",  # 38 s
    "tests/transport/test_demo.py::test_demo_without_faults",  # 15 s
    "tests/transport/test_demo.py::test_demo_json_contract_is_the_last_line",  # 9 s
    "tests/transport/test_outbox.py::test_kill_9_mid_run_then_restart_loses_nothing_and_sends_nothing_twice",  # 29 s
    "tests/transport/test_enqueue_batch.py::test_batch_keeps_order_content_and_audit",  # 8 s
    "tests/transport/test_client_server.py::test_receiver_answers_every_hostile_body_without_internal_errors_or_bsns",  # 8 s
    "tests/cli/test_receive_options.py::test_receive_takes_the_gemeente_from_a_test_certificate",  # 10 s
    "tests/cli/test_receive_options.py::test_receive_with_a_matching_organisatie",  # 10 s
    # 2026-12-07: the default run took 5 min 40 s on 2 cores (2864 tests); everything of 3 s or more
    # that is a whole exchange, a property over many cases or a race between processes
    "tests/ledger/test_retour_fast.py::test_fast_paths_leave_the_ledger_as_the_old_path",  # 4.5 + 1.5 s
    "tests/exchange/test_service.py::test_an_idle_simulator_does_not_poll",  # 4.3 s
    "tests/conformance/test_scenarios.py::test_broken_targets_fail_with_their_reason",  # 4.1 s
    "tests/conformance/test_scenarios.py::test_every_rejection_scenario_gets_exactly_its_code",  # 3 x 3.5 s
    "tests/transport/test_client_server.py::test_413_names_the_sizes_in_mb_and_chunked_gets_411",  # 4.0 s
    "tests/transport/test_client_server.py::test_huge_header_gets_431_at_once",  # 4.0 s
    "tests/ledger/test_fastcheck.py::test_planner_built_messages_get_the_engines_verdict",  # 3.9 s
    "tests/ledger/test_fastcheck.py::test_mutated_messages_get_the_engines_verdict_or_none",  # 3.7 s
    "tests/attack/test_retour_killed_run.py::test_a_run_killed_after_a_chunk_resumes_without_loss_or_doubles",  # 3.7 s
    "tests/transport/test_order.py::test_order_holds_across_three_senders_on_one_postgresql",  # 3.6 s
    "tests/iwmo/test_state_property.py::test_the_replayed_state_keeps_its_invariants",  # 3.3 s
    "tests/attack/test_retour_race.py::test_a_second_different_retour_at_once_is_refused_not_written_over",  # 3.3 s
    "tests/attack/test_retour_race.py::test_the_same_retour_twice_at_once_is_applied_once",  # 3.3 s
)


def pytest_configure(config: pytest.Config) -> None:
    """A renamed or removed test in :data:`SLOW_TESTS` is an error, not a silent slow test in the
    default run."""
    stale = []
    for entry in SLOW_TESTS:
        path, _, name = entry.partition("::")
        file = ROOT / path
        if not file.is_file() or f"def {name}(" not in file.read_text(encoding="utf-8"):
            stale.append(entry)
    if stale:
        raise pytest.UsageError(
            "tests/conftest.py SLOW_TESTS names tests that do not exist: " + ", ".join(stale)
        )


_SLOW = frozenset(SLOW_TESTS)


def _is_slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None or item.nodeid.split("[", 1)[0] in _SLOW


@pytest.hookimpl(tryfirst=True)  # before -m selects: "-m slow" must see these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark :data:`SLOW_TESTS` slow. The default run leaves out the tests marked ``slow`` (listed as
    deselected); ``--run-slow`` runs everything, and an explicit ``-m EXPRESSION`` decides by itself
    (``-m slow``: only those)."""
    for item in items:
        if _is_slow(item):
            item.add_marker(pytest.mark.slow)
    if config.getoption("--run-slow") or config.getoption("markexpr"):
        return
    slow = [item for item in items if _is_slow(item)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not _is_slow(item)]


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "ieb-1.0" / "WMO401.xsd").is_file():
        pytest.skip(f"published reference schemas not found at {REFERENCE} (set IEB_REFERENCE_DIR)")
    return REFERENCE


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed (``--no-deps``) into a fresh folder; returns that
    folder (put it first on PYTHONPATH). Built once per test session (worker)."""
    pytest.importorskip("hatchling")
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "w"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    wheel = next((tmp / "w").glob("ieb-*.whl"))
    target = tmp / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    return target


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own Ctrl-C handler for the test, whatever pytest was started with: a shell starts a
    background job (``pytest ... &``, ``nohup``) with SIGINT ignored, and ieb rightly leaves an
    ignored Ctrl-C alone (``ieb retour`` installs its handler only over Python's default). Tests
    that press Ctrl-C need the default; the previous handler is put back after."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


# ------------------------------------------------------------------ PostgreSQL (one server per session)

_PG_SKIP_REASON: list[str] = []
#: the processes removing stopped servers' folders (kept, so none is reported as left running)
_REMOVERS: list[subprocess.Popen[bytes]] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    return []


class _PgServer:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not bins:
            raise RuntimeError("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="ieb-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.prefix = _as_user()
        if self.prefix:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def stop(self) -> None:
        """Stop the server and remove its folder. The folder holds every test's database (~8 MB
        each, hundreds of MB after a session): a process of its own removes it, so the session
        does not wait for the disk (its teardown took ~2 s after 415 tests, and 11-14 s at the
        end of each worker of a default run)."""
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            remover = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
            _REMOVERS.append(
                subprocess.Popen(
                    [sys.executable, "-c", remover, str(self.dir)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The admin URL of a PostgreSQL server: ``$IEB_TEST_POSTGRES_URL`` when set; otherwise ONE
    throwaway server per test session (per xdist worker), started from Debian's binaries
    (``/usr/lib/postgresql/*/bin``) on a temporary directory and a free port, run as the ``postgres``
    user when the tests run as root, shared by every folder (each test makes its own database in it,
    tests/ledger/conftest.py ``fresh_pg_database``). Defined here, once: a folder's conftest that
    imported it made a session fixture of its own, and so a server of its own (5 per worker, ~3 s
    each). When no server can be started the PostgreSQL tests are skipped, with a warning and a line
    in the terminal summary saying why."""
    given = os.environ.get("IEB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        server = _PgServer()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        reason = f"PostgreSQL tests SKIPPED: no server could be started ({exc})"
        _PG_SKIP_REASON.append(reason)
        warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
        pytest.skip(reason)
    try:
        yield server.url
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in _PG_SKIP_REASON:
        terminalreporter.write_line("!" * 20 + " " + reason + " " + "!" * 20, red=True, bold=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the PostgreSQL databases this process made (tests/pgdb.py): a shared server given by
    ``$IEB_TEST_POSTGRES_URL`` keeps nothing of the run. Problems are warnings, not failures."""
    from tests.pgdb import drop_created

    for problem in drop_created():
        warnings.warn(f"test database not dropped: {problem}", pytest.PytestWarning, stacklevel=1)


@pytest.fixture(autouse=True)
def _service_log_handler_removed() -> Iterator[None]:
    """A command run in-process (CliRunner: ``ieb send``, ``serve``, ...) puts ieb's service log
    handler on the root logger (:func:`ieb.service.logs.setup_logging`); it stayed after the test,
    so server threads of later tests printed their log lines (TLS handshakes) into pytest's
    progress output. It is taken off again after each test."""
    import logging

    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in before and getattr(handler, "_ieb", False):
            root.removeHandler(handler)
