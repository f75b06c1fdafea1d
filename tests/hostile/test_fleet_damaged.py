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

from auditor.history.drift import compare
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
    # schema 6: a record edited into another valid status (read from its columns here)
    (
        "record-edited",
        f"UPDATE records SET status = 'filtered' WHERE run_id = '{ALPHA}-2' AND seq = 0",
        2,
    ),
    (
        "record-document-edited",
        "UPDATE records SET document = replace(document, "
        f'\'"status": "open"\', \'"status": "filtered"\') WHERE run_id = \'{ALPHA}-2\' '
        "AND seq = 0",
        2,
    ),
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


RECORD_DAMAGE = [
    ("deleted", "DELETE FROM records WHERE run_id = 'g1' AND seq = 0", "a record row was deleted"),
    # a record edited into another valid status, in the column trend reads or the document
    # drift reads (schema 6: the run's records digest)
    (
        "edited",
        "UPDATE records SET status = 'filtered' WHERE run_id = 'g1' AND seq = 0",
        "its digest differs",
    ),
    (
        "document-edited",
        'UPDATE records SET document = replace(document, \'"status": '
        '"open"\', \'"status": "filtered"\') WHERE run_id = \'g1\' AND seq = 0',
        "its digest differs",
    ),
    (
        "digest-removed",
        "UPDATE runs SET record_digest = NULL WHERE run_id = 'g1'",
        "older than store schema 6",
    ),
]


@pytest.mark.parametrize(("sql_", "says"), [c[1:] for c in RECORD_DAMAGE],
                         ids=[c[0] for c in RECORD_DAMAGE])  # fmt: skip
def test_a_deleted_or_edited_record_is_damage_for_drift_and_trend(tmp_path, sql_, says) -> None:
    path = tmp_path / "h.sqlite"
    store = Store(path)
    store.save_run(rf.green_run(run_id="g1", started_at="2026-11-21T01:00:00Z"))
    store.save_run(rf.findings_run(run_id="f2", started_at="2026-11-22T01:00:00Z"))
    store.dispose()
    sql(path, sql_)
    for args in (("drift", PAIR), ("trend", PAIR)):
        result = cli(*args, "--store", path)
        assert result.code == 2, (args, result)
        assert len(result.errors) == 1 and str(path) in result.errors[0]
        assert "runs['g1']" in result.errors[0] and says in result.errors[0]


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
    (
        "record-edited",
        "UPDATE records SET status = 'filtered' WHERE seq = 0 AND run_id IN "
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


# ---- history: the whole store lists the rest; retire --run removes the damaged run ---------

HISTORY_DAMAGE = [
    ("start", "UPDATE runs SET started_at = 'zzz' WHERE run_id = '{run}'"),
    ("end", "UPDATE runs SET finished_at = 5 WHERE run_id = '{run}'"),
    ("verdict", "UPDATE runs SET verdict = 'great' WHERE run_id = '{run}'"),
    ("counts", "UPDATE runs SET counts = x'00ff' WHERE run_id = '{run}'"),
    ("record-deleted", "DELETE FROM records WHERE run_id = '{run}' AND seq = 3"),
    (
        "record-added",
        "INSERT INTO records SELECT run_id, 99, source, destination, protocol, port, provider, "
        "\"check\", status, reason, document FROM records WHERE run_id = '{run}' AND seq = 0",
    ),
]


@pytest.mark.parametrize("sql_", [c[1] for c in HISTORY_DAMAGE], ids=[c[0] for c in HISTORY_DAMAGE])
def test_history_lists_every_readable_run_and_marks_the_damaged_one(tmp_path, sql_) -> None:
    damaged = f"{ALPHA}-1"
    path = store_of_two(tmp_path / "h.sqlite")
    sql(path, sql_.format(run=damaged))
    result = cli("history", "--store", path)
    assert result.code == 3, result  # not the whole history: never a plain success
    rows = {line.split()[1]: line for line in result.out.splitlines() if ".example.com-" in line}
    assert set(rows) == {f"{p}-{n}" for p in (ALPHA, BETA) for n in range(3)}
    assert "DAMAGED" in rows[damaged] and "compliant" not in rows[damaged]
    assert all("compliant" in line for run, line in rows.items() if run != damaged)
    warned = [line for line in result.err.splitlines() if "DAMAGED run" in line]
    assert len(warned) == 1 and str(path) in warned[0] and f"runs['{damaged}']" in warned[0]
    assert "1 damaged run(s)" in result.err and "--run ID" in result.err

    listed = cli("history", "--store", path, "--format", "json")
    assert listed.code == 3
    doc = {r["run_id"]: r for r in json.loads(listed.out)}
    assert len(doc) == 6 and f"runs['{damaged}']" in doc[damaged]["damaged"]
    assert doc[damaged]["verdict"] is None and doc[damaged]["counts"] is None
    assert all(r["damaged"] is None and r["verdict"] == "compliant"
               for k, r in doc.items() if k != damaged)  # fmt: skip

    # one pair's history: the damaged pair refused in one line, the other listed
    alone = cli("history", "--store", path, "--site", ALPHA)
    assert alone.code == 2 and len(alone.errors) == 1 and alone.out == ""
    assert f"runs['{damaged}']" in alone.errors[0]
    assert cli("history", "--store", path, "--site", BETA).code == 0


def counted(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "records", "retired")
        }
    finally:
        conn.close()


def after_retire_holds(path: Path, before: dict[str, int], records: int) -> bool:
    """One run and its records fewer, one retirement more; nothing else changed."""
    after = counted(path)
    return after == {
        "runs": before["runs"] - 1,
        "records": before["records"] - records,
        "retired": before["retired"] + 1,
    }


def alpha_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "a.yaml"
    inventory.write_text(PAIR.read_text().replace("name: support.example.com", f"name: {ALPHA}"))
    return inventory


@pytest.mark.parametrize(
    "sql_", [c[1] for c in HISTORY_DAMAGE[2:5]], ids=[c[0] for c in HISTORY_DAMAGE[2:5]]
)
def test_retiring_the_damaged_run_lets_drift_and_the_fleet_report_read_the_rest(
    tmp_path, sql_
) -> None:
    path = store_of_two(tmp_path / "h.sqlite")
    store = Store(path)  # alpha's newest run: findings, its baseline the damaged green one
    run = rf.findings_run(run_id=f"{ALPHA}-3", started_at="2026-11-04T01:00:00Z")
    store.save_run(replace(run, site=ALPHA))
    store.dispose()
    damaged = f"{ALPHA}-2"  # the last green run: drift's baseline
    sql(path, sql_.format(run=damaged))
    inventory = alpha_inventory(tmp_path)
    refused = cli("drift", inventory, "--store", path)
    assert refused.code == 2 and f"runs['{damaged}']" in refused.errors[0]
    before = counted(path)
    conn = sqlite3.connect(path)
    (held,) = conn.execute("SELECT count(*) FROM records WHERE run_id = ?", (damaged,)).fetchone()
    conn.close()

    result = cli("history", "retire", ALPHA, "--run", damaged, "--store", path, "--yes")
    assert result.code == 0, result
    assert result.out.startswith(f"retired run {damaged} of {ALPHA} from {path}")
    assert f", {held} record(s) removed)" in result.out and held > 0
    assert after_retire_holds(path, before, held)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(
            "SELECT count(*) FROM records WHERE run_id = ?", (damaged,)
        ).fetchone() == (0,)
        assert conn.execute("SELECT site, runs FROM retired").fetchall() == [(ALPHA, 1)]
    finally:
        conn.close()

    # drift reads the rest: the newest run against the last green one left (alpha-1)
    drift = cli("drift", inventory, "--store", path)
    assert drift.code == 1, drift
    assert drift.out.startswith(f"drift of {ALPHA}: baseline {ALPHA}-1 ")
    assert cli("history", "--store", path).code == 0
    code, pairs, shown = report_of(path, tmp_path / "r")
    assert code == 1, shown  # alpha's findings, read again; beta compliant
    assert pairs[ALPHA]["unreadable"] is None and pairs[ALPHA]["runs"] == 3
    assert pairs[ALPHA]["verdict"] == "findings" and pairs[BETA]["verdict"] == "compliant"


def test_retire_run_refuses_an_unknown_run_or_another_pairs_and_removes_nothing(tmp_path) -> None:
    path = store_of_two(tmp_path / "h.sqlite")
    sql(path, f"UPDATE runs SET verdict = 'great' WHERE run_id = '{ALPHA}-1'")
    before = counted(path)
    cases = [
        (("--run", f"{BETA}-1", "--yes"), f"run '{BETA}-1' is of site '{BETA}', not '{ALPHA}'"),
        (("--run", "nobody-1", "--yes"), "no run with id 'nobody-1' is recorded"),
        (("--run", f"{ALPHA}-1"), "give --yes"),
    ]
    for args, says in cases:
        result = cli("history", "retire", ALPHA, *args, "--store", path)
        assert result.code == 2 and len(result.errors) == 1, result
        assert says in result.errors[0] and result.out == ""
        assert counted(path) == before
    missing = tmp_path / "none.sqlite"
    result = cli("history", "retire", ALPHA, "--run", "x", "--store", missing, "--yes")
    assert result.code == 2 and not missing.exists()


# schema 6: a record edited into another valid value (its column, or its JSON), or a cleared
# digest, is damage that only the records' digest finds; `history --site` reads one pair's
# records and refuses the pair, as its help and docs/fleet.md say (the whole store's history
# keeps to counts: it lists the run as readable)
DIGEST_ONLY_DAMAGE = [
    ("record-edited", "UPDATE records SET status = 'filtered' WHERE run_id = '{run}' AND seq = 0"),
    (
        "record-document-edited",
        'UPDATE records SET document = replace(document, \'"status": "open"\', '
        "'\"status\": \"filtered\"') WHERE run_id = '{run}' AND seq = 0",
    ),
    ("digest-cleared", "UPDATE runs SET record_digest = NULL WHERE run_id = '{run}'"),
]


@pytest.mark.parametrize(
    "sql_", [c[1] for c in DIGEST_ONLY_DAMAGE], ids=[c[0] for c in DIGEST_ONLY_DAMAGE]
)
def test_history_site_refuses_a_pair_whose_records_digest_differs(tmp_path, sql_) -> None:
    damaged = f"{ALPHA}-1"
    path = store_of_two(tmp_path / "h.sqlite")
    sql(path, sql_.format(run=damaged))
    for fmt in ("table", "json"):
        alone = cli("history", "--store", path, "--site", ALPHA, "--format", fmt)
        assert alone.code == 2, alone
        assert len(alone.errors) == 1 and alone.out == ""
        assert str(path) in alone.errors[0] and f"runs['{damaged}']" in alone.errors[0]
        assert "digest" in alone.errors[0]
    assert cli("history", "--store", path, "--site", BETA).code == 0


@pytest.mark.parametrize("verdict", ["compliant", "unproven"])
def test_a_findings_run_whose_verdict_was_changed_to_a_passing_one_is_damage(
    tmp_path, verdict
) -> None:
    """A run with blocked or failing flows has findings (model.verdict): its verdict column
    changed by hand to compliant or unproven (the records and their digest untouched) was
    reported compliant, exit 0. Now that run is damaged: its pair incomplete in the fleet
    report (exit 3), marked in the whole store's history (exit 3), refused by `history --site`
    and `drift` (exit 2); the other pair is read as usual."""
    path, at = tmp_path / "h.sqlite", "2026-11-01T01:00:00Z"
    store = Store(path)
    store.save_run(replace(rf.findings_run(run_id="a-1", started_at=at), site=ALPHA))
    store.save_run(replace(rf.green_run(run_id="b-1", started_at=at), site=BETA))
    store.dispose()
    sql(path, f"UPDATE runs SET verdict = '{verdict}' WHERE run_id = 'a-1'")
    code, pairs, said = report_of(path, tmp_path / "r")
    assert code == 3, said
    assert pairs[ALPHA]["verdict"] == "incomplete"
    assert "runs['a-1']" in pairs[ALPHA]["unreadable"]
    assert "contradicts its counts" in pairs[ALPHA]["unreadable"]
    assert pairs[BETA]["verdict"] == "compliant"
    listed = cli("history", "--store", path)
    assert listed.code == 3 and "contradicts its counts" in listed.err
    alone = cli("history", "--store", path, "--site", ALPHA)
    assert alone.code == 2 and len(alone.errors) == 1 and "runs['a-1']" in alone.errors[0]
    drift = cli("drift", alpha_inventory(tmp_path), "--store", path)
    assert drift.code == 2 and len(drift.errors) == 1 and "runs['a-1']" in drift.errors[0]


# schema 6: the run row's judged columns are in its digest too. An edit that keeps the row
# consistent (verdict and counts both a clean run's: no contradiction for `_summary` to see),
# or one of its stored drift into another valid summary, is damage, not a compliant pair
JUDGED_DAMAGE = [
    (
        "verdict-and-counts",
        "UPDATE runs SET verdict = 'compliant', counts = (SELECT counts FROM runs "
        "WHERE run_id = 'b-1') WHERE run_id = 'a-1'",
    ),
    (
        "drift-summary",
        'UPDATE runs SET drift = \'{"baseline": "a-0", "baseline_verdict": '
        '"compliant", "items": []}\' WHERE run_id = \'a-1\'',
    ),
]


@pytest.mark.parametrize("sql_", [c[1] for c in JUDGED_DAMAGE], ids=[c[0] for c in JUDGED_DAMAGE])
def test_a_run_whose_judged_columns_were_edited_consistently_is_damage(tmp_path, sql_) -> None:
    """alpha's newest run has findings and the drift it measured from its green baseline;
    its verdict and counts edited together into a compliant run's, or its drift summary
    emptied, made `fleet report` say compliant (exit 0) or show no drift. Now its digest
    differs: the pair is incomplete (exit 3), `history --site`, `drift` and `trend` refuse
    it in one line (exit 2); beta is read as usual."""
    path = tmp_path / "h.sqlite"
    store = Store(path)
    green = replace(rf.green_run(run_id="a-0", started_at="2026-11-01T01:00:00Z"), site=ALPHA)
    newest = replace(rf.findings_run(run_id="a-1", started_at="2026-11-02T01:00:00Z"), site=ALPHA)
    store.save_run(green)
    store.save_run(newest, drift=compare(green, newest))
    store.save_run(
        replace(rf.green_run(run_id="b-1", started_at="2026-11-02T01:00:00Z"), site=BETA)
    )
    store.dispose()
    code, pairs, said = report_of(path, tmp_path / "r0")
    assert code == 1 and pairs[ALPHA]["verdict"] == "findings" and pairs[ALPHA]["drift"], said
    sql(path, sql_)
    code, pairs, said = report_of(path, tmp_path / "r")
    assert code == 3, said
    assert pairs[ALPHA]["verdict"] == "incomplete"
    assert str(path) in pairs[ALPHA]["unreadable"]
    assert "runs['a-1']" in pairs[ALPHA]["unreadable"]
    assert "its digest differs" in pairs[ALPHA]["unreadable"]
    assert pairs[BETA]["verdict"] == "compliant" and pairs[BETA]["unreadable"] is None
    for args in (("history", "--site", ALPHA), ("drift", alpha_inventory(tmp_path)),
                 ("trend", alpha_inventory(tmp_path))):  # fmt: skip
        refused = cli(*args, "--store", path)
        assert refused.code == 2 and len(refused.errors) == 1 and refused.out == "", refused
        assert "runs['a-1']" in refused.errors[0] and "its digest differs" in refused.errors[0]
    assert cli("history", "--store", path, "--site", BETA).code == 0
