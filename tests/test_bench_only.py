"""``python bench/run.py --only NAMES``: a name it does not know is wrong use (exit 2, naming the
names it takes), not a silent run of nothing with an empty table and exit 0 (trial, session 7:
``--only recv`` worked, ``--only RECIEVE`` printed an empty table). No benchmark runs here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_only_check", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unknown_name_is_refused_with_the_names_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    run = _run_module()
    with pytest.raises(SystemExit) as exc:
        run.main(["--quick", "--only", "RECIEVE,nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--only: unknown NOPE, RECIEVE; choose from B1,B2,B3,RECV,B4,B5,VAL,CLI,E2E" in err, err
    with pytest.raises(SystemExit) as exc:
        run.main(["--help"])
    assert exc.value.code == 0
    assert "B1,B2,B3,RECV,B4,B5,VAL,CLI,E2E" in " ".join(capsys.readouterr().out.split())
