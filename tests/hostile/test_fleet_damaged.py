"""One damaged run in the store stops only its own pair: `fleet report` and `fleet run` count
that pair incomplete (exit 3) with the store and the run named, and report (and record) the
rest of the fleet. A record row deleted from a run is damage too. Single-pair commands keep
one line and exit 2 (tests/hostile/test_hostile_history.py)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import report_factories as rf
from fleet_support import PAIR, next_second, results_for
from hostile_support import cli
from junitparser import JUnitXml

from auditor.history.store import Store

ALPHA, BETA = "alpha.example.com", "beta.example.com"


def sql(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(statement)
        conn.commit()
        conn.execute("PRAGMA journal_mode = DELETE")  # the command finds a settled file
    finally:
        conn.close()


def store_of_two(path: Path, nights: int = 3) -> Path:
    """alpha and beta, each green every night."""
    store = Store(path)
    for n in range(nights):
        at = f"2026-11-{n + 1:02d}T01:00:00Z"
        for pair in (ALPHA, BETA):
            store.save_run(replace(rf.green_run(run_id=f"{pair}-{n}", started_at=at), site=pair))
    store.dispose()
    return path


def report_of(path: Path, out: Path, *more: object) -> tuple[int, dict[str, dict], str]:
    result = cli("fleet", "report", *more, "--store", path, "-o", out, "--max-age", "none")
    doc = json.loads((out / "fleet.json").read_text())
    return result.code, {p["pair"]: p for p in doc["pairs"]}, result.out + result.err


STORE_DAMAGE = [
    ("start", f"UPDATE runs SET started_at = 'zzz' WHERE run_id = '{ALPHA}-0'", 0),
    ("old-verdict", f"UPDATE runs SET verdict = 'great' WHERE run_id = '{ALPHA}-0'", 0),
    ("counts", f"UPDATE runs SET counts = '[1' WHERE run_id = '{ALPHA}-2'", 2),
    ("drift", f"UPDATE runs SET drift = '{{' WHERE run_id = '{ALPHA}-2'", 2),
    ("record-deleted", f"DELETE FROM records WHERE run_id = '{ALPHA}-2' AND seq = 3", 2),
]


@pytest.mark.parametrize(("sql_", "night"), [c[1:] for c in STORE_DAMAGE],
                         ids=[c[0] for c in STORE_DAMAGE])  # fmt: skip
def test_fleet_report_counts_only_the_damaged_pair_incomplete(tmp_path, sql_, night) -> None:
    path = store_of_two(tmp_path / "h.sqlite")
    sql(path, sql_)
    code, pairs, shown = report_of(path, tmp_path / "r")
    assert code == 3, shown
    alpha, beta = pairs[ALPHA], pairs[BETA]
    assert alpha["verdict"] == "incomplete"
    assert str(path) in alpha["unreadable"] and f"runs['{ALPHA}-{night}']" in alpha["unreadable"]
    # the rest of the fleet is read as before: beta's own history, whole
    assert (beta["verdict"], beta["runs"], beta["unreadable"]) == ("compliant", 3, None)
    suites = {s.name: s for s in JUnitXml.fromfile(str(tmp_path / "r" / "junit.xml"))}
    assert suites[ALPHA].errors == 1 and suites[BETA].errors == suites[BETA].failures == 0
    page = (tmp_path / "r" / "index.html").read_text()
    assert f"runs[&#39;{ALPHA}-{night}&#39;]" in page


def test_a_damaged_verdict_beyond_the_newest_runs_is_found_by_the_store(tmp_path) -> None:
    """The page reads a pair's newest 30 runs; its `since` and last green are aggregated over
    all of them: a damaged verdict 40 runs back would move them without a word."""
    path = store_of_two(tmp_path / "h.sqlite", nights=1)
    store = Store(path)
    for n in range(1, 41):
        run = rf.findings_run(run_id=f"{ALPHA}-{n}", started_at=f"2026-11-02T01:{n:02d}:00Z")
        store.save_run(replace(run, site=ALPHA))
    store.dispose()
    sql(path, f"UPDATE runs SET verdict = 'compliant ' WHERE run_id = '{ALPHA}-2'")
    code, pairs, _ = report_of(path, tmp_path / "r")
    assert code == 3
    assert f"runs['{ALPHA}-2']" in pairs[ALPHA]["unreadable"]
    assert "is not a verdict" in pairs[ALPHA]["unreadable"]
    assert pairs[BETA]["verdict"] == "compliant"


def test_a_deleted_record_is_damage_for_drift_and_trend(tmp_path) -> None:
    path = tmp_path / "h.sqlite"
    store = Store(path)
    store.save_run(rf.green_run(run_id="g1", started_at="2026-11-21T01:00:00Z"))
    store.save_run(rf.findings_run(run_id="f2", started_at="2026-11-22T01:00:00Z"))
    store.dispose()
    sql(path, "DELETE FROM records WHERE run_id = 'g1' AND seq = 0")
    for args in (("drift", PAIR), ("trend", PAIR)):
        result = cli(*args, "--store", path)
        assert result.code == 2, (args, result)
        assert len(result.errors) == 1 and str(path) in result.errors[0]
        assert "runs['g1']" in result.errors[0] and "a record row was deleted" in result.errors[0]


# ---- fleet run ----------------------------------------------------------------------------


def two_pair_fleet(tmp_path: Path) -> tuple[Path, Path]:
    text = PAIR.read_text()
    for name, pair in (("a", ALPHA), ("b", BETA)):
        (tmp_path / f"{name}.yaml").write_text(
            text.replace("name: support.example.com", f"name: {pair}")
        )
        results_for(tmp_path / f"{name}.yaml", tmp_path / f"{name}.json", rf.everywhere_good)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "sites:\n"
        "  - name: east\n    pairs:\n      - inventory: a.yaml\n        evidence: a.json\n"
        "  - name: west\n    pairs:\n      - inventory: b.yaml\n        evidence: b.json\n"
    )
    store = tmp_path / "h.sqlite"
    assert cli("fleet", "run", fleet, "-o", tmp_path / "n0", "--store", store, "-q").code == 0
    next_second()
    return fleet, store


RUN_DAMAGE = [
    ("start", "UPDATE runs SET started_at = 'zzz' WHERE site = '{site}'"),
    ("document", "UPDATE runs SET document_z = x'789c00ff' WHERE site = '{site}'"),
    (
        "record-deleted",
        "DELETE FROM records WHERE seq = 0 AND run_id IN "
        "(SELECT run_id FROM runs WHERE site = '{site}')",
    ),
]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("sql_", [c[1] for c in RUN_DAMAGE], ids=[c[0] for c in RUN_DAMAGE])
def test_fleet_run_makes_only_the_damaged_pair_incomplete(tmp_path, sql_, workers) -> None:
    fleet, store = two_pair_fleet(tmp_path)
    conn = sqlite3.connect(store)
    (damaged,) = conn.execute("SELECT run_id FROM runs WHERE site = ?", (ALPHA,)).fetchone()
    conn.close()
    sql(store, sql_.format(site=ALPHA))
    out = tmp_path / "n1"
    result = cli("fleet", "run", fleet, "-o", out, "--store", store, "--concurrency", workers)
    assert result.code == 3, result
    warned = [line for line in result.err.splitlines() if line.startswith(f"warning: {ALPHA}")]
    assert len(warned) == 1 and str(store) in warned[0] and f"runs['{damaged}']" in warned[0]
    assert f"{BETA}: compliant" in result.out and f"{ALPHA}: incomplete" in result.out
    # alpha was not judged on a history it cannot trust: incomplete, with why, recorded
    run = json.loads((out / "east" / ALPHA / "run.json").read_text())
    assert run["verdict"] == "incomplete"
    assert all(f"runs['{damaged}']" in r["reason"] for r in run["records"])
    # beta ran, was compared with its last green run, recorded and reported
    doc = json.loads((out / "fleet.json").read_text())
    pairs = {p["pair"]: p for p in doc["pairs"]}
    assert pairs[BETA]["verdict"] == "compliant" and pairs[BETA]["drift_measured"]
    assert pairs[BETA]["runs"] == 2
    assert pairs[ALPHA]["verdict"] == "incomplete" and doc["exit_code"] == 3
    conn = sqlite3.connect(store)
    kept = conn.execute("SELECT site, verdict FROM runs ORDER BY seq").fetchall()
    conn.close()
    assert sorted(kept[2:]) == [(ALPHA, "incomplete"), (BETA, "compliant")]
