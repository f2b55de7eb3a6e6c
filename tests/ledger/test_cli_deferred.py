"""`ieb plan` shows what is deferred because its date is too far ahead, and plans the rest."""

from pathlib import Path

from typer.testing import CliRunner

from ieb.cli import app


def test_plan_prints_deferred_steps(tmp_path: Path) -> None:
    desired = tmp_path / "d.csv"
    desired.write_text("bsn,start,stop\n999900006,2024-05-01,2024-12-31\n")
    args = [
        "plan",
        str(desired),
        "--afzender",
        "0363",
        "--out",
        str(tmp_path / "out"),
        "--db",
        f"sqlite:///{tmp_path / 'g.sqlite'}",
    ]
    result = CliRunner().invoke(app, [*args, "--today", "2024-06-15"])
    assert result.exit_code == 0, result.output
    assert "uitgesteld: Bsn ******006: stop 2024-12-31 uitgesteld tot 2024-12-01" in result.stdout
    assert "1 bericht(en) gepland, 1 uitgesteld" in result.stdout
    assert "999900006" not in result.stdout
