"""`auditor history`, `auditor drift` and `auditor schedule` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import report_factories as rf
from support.cli import auditor

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


def test_history_table_and_json(tmp_path: Path) -> None:
    path = store_with(tmp_path, green(1), findings(2))
    result = auditor("history", "--store", str(path))
    assert result.returncode == 0
    table = result.stdout
    assert "g1" in table and "f2" in table and "compliant" in table and "findings" in table
    result = auditor("history", "--store", str(path), "--format", "json")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert [(r["run_id"], r["verdict"], r["counts"]["blocked"]) for r in doc] == [
        ("g1", "compliant", 0),
        ("f2", "findings", 3),
    ]
    result = auditor("history", "--store", str(path), "--site", "elsewhere", "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_drift_against_last_green_exits_1_on_drift_that_matters(tmp_path: Path) -> None:
    path = store_with(tmp_path, green(1), findings(2))
    result = auditor("drift", str(EXAMPLE), "--store", str(path))
    assert result.returncode == 1
    out = result.stdout
    assert out.startswith("drift of support.example.com: baseline g1")
    assert "newly-blocked" in out


def test_drift_with_nothing_that_matters_exits_0(tmp_path: Path) -> None:
    path = store_with(tmp_path, green(1), green(2))
    result = auditor("drift", str(EXAMPLE), "--store", str(path), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["items"] == []


def test_drift_against_a_run_id_and_a_run_file(tmp_path: Path) -> None:
    path = store_with(tmp_path, findings(1), green(2))
    result = auditor("drift", str(EXAMPLE), "--store", str(path), "--baseline", "f1")
    assert result.returncode == 0
    assert "newly-open" in result.stdout
    run_file = tmp_path / "run.json"
    run_file.write_text(dumps(rf.findings_run(run_id="from-file")))
    result = auditor("drift", EXAMPLE, "--store", path, "--baseline", run_file, "--format", "md")
    assert result.returncode == 0
    assert "Baseline `from-file`" in result.stdout


def test_drift_without_a_green_baseline_says_so_and_exits_with_the_newest_verdict(
    tmp_path: Path,
) -> None:
    # The nightly job meets this until the first compliant audit: not bad input (2), but
    # findings (1) while the newest run has findings.
    path = store_with(tmp_path, findings(1))
    result = auditor("drift", str(EXAMPLE), "--store", str(path))
    assert result.returncode == 1
    out = result.stdout
    assert "no earlier audit of site support.example.com" in out
    assert "the newest run is findings" in out


def test_drift_without_a_baseline_takes_the_newest_run_s_own_code_from_the_one_table(
    tmp_path: Path,
) -> None:
    unproven = rf.green_run(run_id="u1", accept_unverified="")  # site2's 4 flows unproven
    path = store_with(tmp_path, unproven)
    result = auditor("drift", str(EXAMPLE), "--store", str(path))
    assert result.returncode == 4
    assert "the newest run is unproven" in result.stdout


def test_drift_with_no_store_is_bad_input(tmp_path: Path) -> None:
    result = auditor("drift", str(EXAMPLE), "--store", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2
    assert "no complete audit of site support.example.com" in result.stderr


def test_schedule_prints_units_and_a_cron_line() -> None:
    result = auditor("schedule", "--print", "systemd", str(EXAMPLE), "--at", "04:45")
    assert result.returncode == 0
    out = result.stdout
    assert "OnCalendar=*-*-* 04:45:00" in out
    assert f"audit {EXAMPLE}" in out
    result = auditor("schedule", "--print", "cron", str(EXAMPLE), "--user", "auditor")
    assert result.returncode == 0
    line = result.stdout.splitlines()[-1]
    assert line.startswith("30 2 * * * auditor cd ")
    result = auditor("schedule", "--print", "cron", str(EXAMPLE), "--at", "25:00")
    assert result.returncode == 2
