"""`auditor history`, `auditor drift` and `auditor schedule` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import report_factories as rf

from auditor.cli import main
from auditor.history.store import Store
from auditor.model.rundoc import dumps

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"


def store_with(tmp_path: Path, *runs: object) -> Path:
    path = tmp_path / "history.sqlite"
    store = Store(path)
    for run in runs:
        store.save_run(run)  # type: ignore[arg-type]
    return path


def green(i: int) -> object:
    return rf.green_run(run_id=f"g{i}", started_at=f"2026-11-2{i}T01:00:00+00:00")


def findings(i: int) -> object:
    return rf.findings_run(run_id=f"f{i}", started_at=f"2026-11-2{i}T01:00:00+00:00")


def test_history_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = store_with(tmp_path, green(1), findings(2))
    assert main(["history", "--store", str(path)]) == 0
    table = capsys.readouterr().out
    assert "g1" in table and "f2" in table and "compliant" in table and "findings" in table
    assert main(["history", "--store", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["verdict"], r["counts"]["blocked"]) for r in doc] == [
        ("g1", "compliant", 0),
        ("f2", "findings", 3),
    ]
    assert main(["history", "--store", str(path), "--site", "elsewhere", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_drift_against_last_green_exits_1_on_drift_that_matters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store_with(tmp_path, green(1), findings(2))
    assert main(["drift", str(EXAMPLE), "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("drift of support.example.com: baseline g1")
    assert "newly-blocked" in out


def test_drift_with_nothing_that_matters_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store_with(tmp_path, green(1), green(2))
    assert main(["drift", str(EXAMPLE), "--store", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []


def test_drift_against_a_run_id_and_a_run_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store_with(tmp_path, findings(1), green(2))
    assert main(["drift", str(EXAMPLE), "--store", str(path), "--baseline", "f1"]) == 0
    assert "newly-open" in capsys.readouterr().out
    run_file = tmp_path / "run.json"
    run_file.write_text(dumps(rf.findings_run(run_id="from-file")))
    code = main(["drift", str(EXAMPLE), "--store", str(path), "--baseline", str(run_file),
                 "--format", "md"])  # fmt: skip
    assert code == 0
    assert "Baseline `from-file`" in capsys.readouterr().out


def test_drift_without_a_green_baseline_says_so_and_exits_with_the_newest_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The nightly job meets this until the first compliant audit: not bad input (2), but
    # findings (1) while the newest run has findings.
    path = store_with(tmp_path, findings(1))
    assert main(["drift", str(EXAMPLE), "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert "no compliant audit of site support.example.com" in out
    assert "the newest run is findings" in out


def test_drift_without_a_baseline_takes_the_newest_run_s_own_code_from_the_one_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unproven = rf.green_run(run_id="u1", accept_unverified="")  # site2's 4 flows unproven
    path = store_with(tmp_path, unproven)
    assert main(["drift", str(EXAMPLE), "--store", str(path)]) == 4
    assert "the newest run is unproven" in capsys.readouterr().out


def test_drift_with_no_store_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", str(EXAMPLE), "--store", str(tmp_path / "none.sqlite")]) == 2
    assert "no complete audit of site support.example.com" in capsys.readouterr().err


def test_schedule_prints_units_and_a_cron_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--print", "systemd", str(EXAMPLE), "--at", "04:45"]) == 0
    out = capsys.readouterr().out
    assert "OnCalendar=*-*-* 04:45:00" in out
    assert f"audit {EXAMPLE}" in out
    assert main(["schedule", "--print", "cron", str(EXAMPLE), "--user", "auditor"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("30 2 * * * auditor cd ")
    assert main(["schedule", "--print", "cron", str(EXAMPLE), "--at", "25:00"]) == 2
