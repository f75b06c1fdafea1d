"""Runs recorded within one second (their `started_at` is the same whole second) keep the
order the store recorded them in (schema 4's `seq`): the newest run, the drift's baseline,
`history` and the fleet report follow it, whatever the run ids, on SQLite and PostgreSQL; a
store written by the previous version (schema 3) is numbered in place."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import report_factories as rf
from support.cli import auditor

from auditor.history import migrate
from auditor.history.store import Store

TESTS = Path(__file__).resolve().parent
PAIR = TESTS.parent / "examples" / "pair.yaml"
SECOND = "2026-11-24T01:00:00+00:00"
# Written by the auditor at commit 7ac09f0 (schema 3, before runs had `seq`): four runs of
# support.example.com, "r-b" (findings) then "r-a" (compliant) recorded within one second,
# then "r-d" (findings) and "r-c" (compliant) within the next one.
V3_STORE = TESTS / "golden" / "history" / "history-v3.sqlite"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.lab)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


def drift_json(url: str) -> tuple[int, dict]:
    result = auditor("drift", PAIR, "--store", url, "--format", "json")
    return result.returncode, json.loads(result.stdout)


def test_drift_compares_two_runs_of_one_second_in_the_order_they_were_recorded(
    store_url: str,
) -> None:
    store = Store(store_url)
    # recorded green first, then with findings; their ids sort the other way round
    store.save_run(rf.green_run(run_id="zz-recorded-first", started_at=SECOND))
    store.save_run(rf.findings_run(run_id="aa-recorded-second", started_at=SECOND))
    assert store.latest("support.example.com") == "aa-recorded-second"
    assert [r.run_id for r in store.list_runs()] == ["zz-recorded-first", "aa-recorded-second"]
    code, doc = drift_json(store_url)
    assert (doc["baseline"]["run_id"], doc["current"]["run_id"]) == (
        "zz-recorded-first",
        "aa-recorded-second",
    )
    assert code == 1  # the flows the newer run found blocked are drift that matters
    # a third run in the same second, green again: it is the newest, nothing to compare
    # with before it but the first (the findings run is not green)
    store.save_run(rf.green_run(run_id="mm-recorded-third", started_at=SECOND))
    code, doc = drift_json(store_url)
    assert (doc["baseline"]["run_id"], doc["current"]["run_id"]) == (
        "zz-recorded-first",
        "mm-recorded-third",
    )
    store.dispose()


def test_the_fleet_report_takes_the_newest_run_of_a_second_as_recorded(
    store_url: str, tmp_path: Path
) -> None:
    store = Store(store_url)
    store.save_run(rf.findings_run(run_id="zz-first", started_at=SECOND))
    store.save_run(rf.green_run(run_id="aa-second", started_at=SECOND))
    store.dispose()
    # runs of a fixed second in the past: not stale for this test of their order
    result = auditor(
        "fleet", "report", "--store", store_url, "-o", tmp_path / "r", "--max-age", "none"
    )
    assert result.returncode == 0
    pair = json.loads((tmp_path / "r" / "fleet.json").read_text())["pairs"][0]
    assert (pair["run_id"], pair["verdict"], pair["runs"]) == ("aa-second", "compliant", 2)


def test_a_previous_version_store_keeps_its_order_and_orders_new_runs_after_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite"
    shutil.copy(V3_STORE, path)
    url = f"sqlite:///{path}"
    store = Store(url)
    # what the previous version read: within a second, by run id
    assert [r.run_id for r in store.list_runs()] == ["r-a", "r-b", "r-c", "r-d"]
    with sqlite3.connect(path) as conn:
        assert conn.execute(f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchall() == [
            (migrate.head(),)
        ]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
        numbered = conn.execute("SELECT run_id, seq FROM runs ORDER BY seq").fetchall()
    assert numbered == [("r-a", 1), ("r-b", 2), ("r-c", 3), ("r-d", 4)]
    # a new run of the same second as the newest is newer than all of them
    store.save_run(rf.green_run(run_id="a-new", started_at="2026-11-24T01:00:01+00:00"))
    assert store.latest("support.example.com") == "a-new"
    code, doc = drift_json(url)
    assert (code, doc["baseline"]["run_id"], doc["current"]["run_id"]) == (0, "r-c", "a-new")


@pytest.mark.lab  # a PostgreSQL server started as the postgres user: needs root
def test_a_postgresql_store_of_schema_3_is_numbered_in_place(pg_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from auditor.history.location import parse_store

    engine = create_engine(parse_store(pg_url).url)
    counts = '{"flows": 0}'
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0003")  # the previous version's schema
        for run_id, at in (("r-b", SECOND), ("r-a", SECOND), ("r-c", "2026-11-24T00:59:59Z")):
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, site, started_at, finished_at, inventory_digest, "
                    "verdict, counts, document, complete) VALUES (:id, 'support.example.com', "
                    ":at, :at, 'd', 'compliant', :counts, '', 1)"
                ),
                {"id": run_id, "at": at, "counts": counts},
            )
    engine.dispose()
    store = Store(pg_url)
    store.ensure()  # upgrades to the newest schema
    assert [r.run_id for r in store.list_runs()] == ["r-c", "r-a", "r-b"]
    store.save_run(rf.green_run(run_id="a-new", started_at=SECOND))
    assert [r.run_id for r in store.list_runs()] == ["r-c", "r-a", "r-b", "a-new"]
    store.dispose()
