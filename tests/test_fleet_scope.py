"""The fleet report's scope: `fleet report FLEET` reports that fleet's pairs only (a pair of
it never recorded is incomplete); `history retire SITE --yes` removes a pair that left the
fleet, on the record; `fleet report -o` never writes into a folder of the user's."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import report_factories as rf
from fleet_support import PAIR
from support.cli import auditor

from auditor.history.store import Store

ALPHA, BETA, GONE = "alpha.example.com", "beta.example.com", "gone.example.com"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Three pairs, green; `gone` left the fleet long ago (its newest run is stale)."""
    path = tmp_path / "h.sqlite"
    db = Store(path)
    for pair, at in ((ALPHA, "2026-12-06T01:00:00Z"), (BETA, "2026-12-06T01:00:00Z"),
                     (GONE, "2026-10-01T01:00:00Z")):  # fmt: skip
        db.save_run(replace(rf.green_run(run_id=f"{pair}-1", started_at=at), site=pair))
    db.dispose()
    return path


def fleet_of(tmp_path: Path, *pairs: str) -> Path:
    lines = ["sites:", "  - name: east", "    pairs:"]
    for pair in pairs:
        (tmp_path / f"{pair}.yaml").write_text(
            PAIR.read_text().replace("name: support.example.com", f"name: {pair}")
        )
        lines.append(f"      - inventory: {pair}.yaml")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet


def pairs_in(folder: Path) -> dict[str, dict]:
    return {p["pair"]: p for p in json.loads((folder / "fleet.json").read_text())["pairs"]}


def test_the_whole_store_keeps_a_pair_that_left_the_fleet_stale(store, tmp_path) -> None:
    result = auditor("fleet", "report", "--store", store, "-o", tmp_path / "r", "--max-age", "30d")
    assert result.returncode == 3
    assert pairs_in(tmp_path / "r")[GONE]["stale"]


def test_a_fleet_file_limits_the_report_to_its_pairs(store, tmp_path) -> None:
    fleet = fleet_of(tmp_path, ALPHA, BETA)
    out = tmp_path / "r"
    result = auditor("fleet", "report", fleet, "--store", store, "-o", out, "--max-age", "30d")
    assert result.returncode == 0, result.stderr
    assert set(pairs_in(out)) == {ALPHA, BETA}
    assert {p["group"] for p in pairs_in(out).values()} == {"east"}


def test_a_fleet_file_store_is_the_report_store(store, tmp_path) -> None:
    fleet = fleet_of(tmp_path, ALPHA)
    fleet.write_text(f"store: sqlite:///{store}\n" + fleet.read_text())
    result = auditor("fleet", "report", fleet, "-o", tmp_path / "r", "--max-age", "30d")
    assert result.returncode == 0, result.stderr
    assert pairs_in(tmp_path / "r")[ALPHA]["runs"] == 1


def test_a_pair_of_the_fleet_never_recorded_is_incomplete(store, tmp_path) -> None:
    fleet = fleet_of(tmp_path, ALPHA, "new.example.com")
    out = tmp_path / "r"
    result = auditor("fleet", "report", fleet, "--store", store, "-o", out, "--max-age", "30d")
    assert result.returncode == 3
    new = pairs_in(out)["new.example.com"]
    assert new["verdict"] == "incomplete" and "no complete run" in new["unreadable"]
    assert pairs_in(out)[ALPHA]["verdict"] == "compliant"


def test_a_bad_fleet_file_is_one_located_line_and_nothing_is_written(store, tmp_path) -> None:
    fleet = fleet_of(tmp_path, ALPHA)
    (tmp_path / f"{ALPHA}.yaml").write_text("site: [\n")
    result = auditor("fleet", "report", fleet, "--store", store, "-o", tmp_path / "r")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{ALPHA}.yaml" in lines[0], result.stderr
    assert not (tmp_path / "r").exists()


def test_retire_is_refused_without_yes_and_changes_nothing(store, tmp_path) -> None:
    before = store.read_bytes()
    result = auditor("history", "retire", GONE, "--store", store)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert store.read_bytes() == before
    result = auditor("history", "retire", "nobody.example.com", "--store", store, "--yes")
    assert result.returncode == 2 and "no run of site 'nobody.example.com'" in result.stderr
    result = auditor("history", "retire", GONE, "--store", tmp_path / "none.sqlite", "--yes")
    assert result.returncode == 2 and not (tmp_path / "none.sqlite").exists()


def test_a_retired_pair_leaves_the_store_on_the_record(store, tmp_path) -> None:
    # its history damaged, too: retiring is also how a damaged history is cleared
    with sqlite3.connect(store) as conn:
        conn.execute(f"UPDATE runs SET verdict = 'great' WHERE site = '{GONE}'")
    conn.close()
    result = auditor("history", "retire", GONE, "--store", store, "--yes")
    assert result.returncode == 0, result.stderr
    assert f"retired {GONE}: 1 run(s) removed" in result.stdout
    assert [r.site for r in Store(store).list_runs()] == [ALPHA, BETA]
    conn = sqlite3.connect(store)
    try:
        assert conn.execute("SELECT count(*) FROM records WHERE run_id LIKE 'gone%'").fetchone()
        assert (
            conn.execute("SELECT count(*) FROM records WHERE run_id LIKE 'gone%'").fetchone()[0]
            == 0
        )
        rows = conn.execute("SELECT site, runs, newest FROM retired").fetchall()
    finally:
        conn.close()
    assert rows == [(GONE, 1, "2026-10-01T01:00:00Z")]
    result = auditor("fleet", "report", "--store", store, "-o", tmp_path / "r", "--max-age", "30d")
    assert result.returncode == 0 and set(pairs_in(tmp_path / "r")) == {ALPHA, BETA}


@pytest.mark.parametrize("kind", ["foreign-folder", "a-file"])
def test_fleet_report_never_writes_into_a_folder_of_the_users(store, tmp_path, kind) -> None:
    out = tmp_path / "mine"
    if kind == "a-file":
        out.write_text("notes\n")
    else:
        out.mkdir()
        (out / "index.html").write_text("my page\n")
    result = auditor("fleet", "report", "--store", store, "-o", out)
    assert result.returncode == 2
    if kind == "foreign-folder":
        assert result.stderr.count("\n") == 1 and "not a fleet report folder" in result.stderr
    if kind == "a-file":
        assert out.read_text() == "notes\n"
    else:
        assert sorted(p.name for p in out.iterdir()) == ["index.html"]
        assert (out / "index.html").read_text() == "my page\n"


def test_fleet_report_replaces_an_earlier_fleet_report_and_fills_an_empty_folder(
    store, tmp_path
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    args = ("fleet", "report", "--store", store, "-o", out, "--max-age", "none")
    assert auditor(*args).returncode == 0
    assert auditor(*args).returncode == 0
    assert set(pairs_in(out)) == {ALPHA, BETA, GONE}
