"""The history store on a real PostgreSQL server (a throwaway cluster started by the tests):
the same behaviour as on SQLite, writers at once lose nothing, and the password only ever
comes from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import report_factories as rf
from support.cli import auditor

from auditor.errors import InputError, RunError
from auditor.history import migrate
from auditor.history.schema import metadata
from auditor.history.store import Store

pytestmark = pytest.mark.lab  # a server started as the postgres user: needs root

TESTS = Path(__file__).resolve().parent


def test_runs_round_trip_on_postgresql(pg_url: str) -> None:
    store = Store(pg_url)
    assert store.list_runs() == ()  # an empty database: nothing recorded yet
    run = rf.findings_run(lint=(rf.lint_finding("error"),))
    store.save_run(run)
    assert store.load_run(run.run_id) == run
    for i, factory in enumerate((rf.green_run, rf.findings_run, rf.green_run)):
        store.save_run(factory(run_id=f"r{i}", started_at=f"2026-11-2{i + 3}T01:00:00+00:00"))
    assert store.latest("support.example.com") == "r2"
    assert store.last_green("support.example.com", before="r2") == "r0"
    with pytest.raises(RunError, match="already recorded"):
        store.save_run(rf.green_run(run_id="r0"))
    store.dispose()


def test_the_migrated_database_has_the_tables_of_the_newest_revision(pg_url, pg_server) -> None:
    Store(pg_url).ensure()
    database = pg_url.rsplit("/", 1)[1]
    for name, table in metadata.tables.items():
        columns = pg_server.psql(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{name}'",
            database,
        ).split()
        assert set(columns) == {c.name for c in table.columns}, name
    version = pg_server.psql(f"SELECT version_num FROM {migrate.VERSION_TABLE}", database)
    assert version.strip() == migrate.head()


def test_a_foreign_database_is_refused(pg_url, pg_server) -> None:
    pg_server.psql("CREATE TABLE runs (x int)", pg_url.rsplit("/", 1)[1])
    result = auditor("history", "--store", pg_url)
    assert result.returncode == 2


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import report_factories as rf
    from auditor.history.store import Store

    url, name, go, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    while not go.exists():
        time.sleep(0.01)
    store = Store(url)
    for i in range(count):
        factory = rf.green_run if i % 2 else rf.findings_run
        store.save_run(
            factory(run_id=f"{{name}}-{{i:02d}}", started_at=f"2026-11-24T01:{{i:02d}}:00+00:00"),
            # hold the transaction open a moment, so the writers really overlap
            before_commit=lambda stage: time.sleep(0.005),
        )
    """
)


def test_two_fleet_runs_and_a_nightly_audit_writing_at_once_lose_nothing(pg_url) -> None:
    """Three writers on a fresh database: the first open of each also races to create the
    schema (the advisory lock makes that happen once)."""
    go = Path(os.environ.get("TMPDIR", "/tmp")) / f"fa-go-{os.getpid()}-{time.monotonic_ns()}"
    script = WRITER.format(tests=str(TESTS))
    writers = {"fleet-a": 20, "fleet-b": 20, "nightly": 10}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, pg_url, name, str(go), str(n)],
            stderr=subprocess.PIPE, text=True,
        )
        for name, n in writers.items()
    ]  # fmt: skip
    try:
        time.sleep(1.5)
        go.touch()
        results = [(p.wait(timeout=240), p.stderr.read() if p.stderr else "") for p in procs]
    finally:
        go.unlink(missing_ok=True)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [rc for rc, _ in results] == [0, 0, 0], results
    store = Store(pg_url)
    ids = sorted(r.run_id for r in store.list_runs())
    assert ids == sorted(f"{name}-{i:02d}" for name, n in writers.items() for i in range(n))
    assert store.load_run("fleet-b-07").records == rf.green_run().records
    store.dispose()


def test_the_password_comes_from_the_environment_and_is_never_printed(
    pg_url, pg_server, monkeypatch
) -> None:
    Store(pg_url).save_run(rf.green_run())
    result = auditor("history", "--store", pg_url)
    assert result.returncode == 0
    assert "support.example.com" in result.stdout
    monkeypatch.setenv("PGPASSWORD", "wrong-" + pg_server.password)
    result = auditor("history", "--store", pg_url)
    out, err = result.stdout, result.stderr
    assert result.returncode == 3
    assert "cannot open the history store" in err and len(err.strip().splitlines()) == 1
    assert pg_server.password not in out + err
    # a password file works as for every libpq client
    monkeypatch.delenv("PGPASSWORD")
    pgpass = Path(os.environ.get("TMPDIR", "/tmp")) / f"fa-pgpass-{os.getpid()}"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:*:postgres:{pg_server.password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    try:
        result = auditor("history", "--store", pg_url, "--format", "json")
        assert result.returncode == 0
    finally:
        pgpass.unlink()
    assert pg_server.password not in result.stdout


def test_the_trend_reads_the_same_on_postgresql_as_on_sqlite(pg_url: str, tmp_path: Path) -> None:
    """`auditor trend` on PostgreSQL (records from their columns, a record's JSON only where
    it holds a certificate, chosen by the server) gives what it gives on SQLite."""
    from test_trend import four_runs

    sqlite = tmp_path / "history.sqlite"
    for where in (pg_url, str(sqlite)):
        store = Store(where)
        for run in four_runs():
            store.save_run(run)
        store.dispose()
    example = TESTS.parent / "examples" / "pair.yaml"
    outputs = []
    for where in (pg_url, str(sqlite)):
        result = auditor("trend", example, "--store", where, "--format", "json")
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    doc = json.loads(outputs[0])
    assert len(doc["runs"]) == 4
    assert [len(c["points"]) for c in doc["certificates"]] == [4, 4]


def test_one_damaged_pair_on_postgresql_stops_only_that_pair(pg_url, pg_server, tmp_path) -> None:
    """The fleet report on PostgreSQL: alpha's oldest run has a damaged verdict and beta's
    newest run lost a record row; each of them is incomplete, named, and gamma is reported;
    retiring alpha clears it, on the record."""
    from dataclasses import replace

    store = Store(pg_url)
    for n in range(3):
        for pair in ("alpha.example.com", "beta.example.com", "gamma.example.com"):
            run = rf.green_run(run_id=f"{pair}-{n}", started_at=f"2026-11-0{n + 1}T01:00:00Z")
            store.save_run(replace(run, site=pair))
    store.dispose()
    database = pg_url.rsplit("/", 1)[1]
    pg_server.psql(
        "UPDATE runs SET verdict = 'great' WHERE run_id = 'alpha.example.com-0'", database
    )
    pg_server.psql("DELETE FROM records WHERE run_id = 'beta.example.com-2' AND seq = 0", database)
    out = tmp_path / "r"
    result = auditor("fleet", "report", "--store", pg_url, "-o", out, "--max-age", "none")
    assert result.returncode == 3, result.stderr
    pairs = {p["pair"]: p for p in json.loads((out / "fleet.json").read_text())["pairs"]}
    assert "runs['alpha.example.com-0']" in pairs["alpha.example.com"]["unreadable"]
    assert "runs['beta.example.com-2']" in pairs["beta.example.com"]["unreadable"]
    assert "a record row was deleted" in pairs["beta.example.com"]["unreadable"]
    assert pairs["gamma.example.com"]["verdict"] == "compliant"
    assert pairs["gamma.example.com"]["unreadable"] is None
    result = auditor("history", "retire", "alpha.example.com", "--store", pg_url, "--yes")
    assert result.returncode == 0, result.stderr
    assert pg_server.psql("SELECT site, runs FROM retired", database).strip() == (
        "alpha.example.com|3"
    )
    result = auditor("fleet", "report", "--store", pg_url, "-o", out, "--max-age", "none")
    pairs = {p["pair"]: p for p in json.loads((out / "fleet.json").read_text())["pairs"]}
    assert set(pairs) == {"beta.example.com", "gamma.example.com"}


def test_history_on_postgresql_marks_damaged_runs_and_retire_run_clears_them(
    pg_url, pg_server, tmp_path
) -> None:
    """The whole store's history on PostgreSQL: alpha's middle run has a damaged verdict and
    beta's newest lost a record row; every other run is listed, those two marked (exit 3, in
    JSON `damaged`); one pair's history is refused in one line; retiring the two runs (one at
    a time, on the record) lets `history` and the fleet report read the rest."""
    from dataclasses import replace

    store = Store(pg_url)
    for n in range(3):
        for pair in ("alpha.example.com", "beta.example.com"):
            run = rf.green_run(run_id=f"{pair}-{n}", started_at=f"2026-11-0{n + 1}T01:00:00Z")
            store.save_run(replace(run, site=pair))
    store.dispose()
    database = pg_url.rsplit("/", 1)[1]
    pg_server.psql(
        "UPDATE runs SET verdict = 'great' WHERE run_id = 'alpha.example.com-1'", database
    )
    pg_server.psql("DELETE FROM records WHERE run_id = 'beta.example.com-2' AND seq = 0", database)
    result = auditor("history", "--store", pg_url, "--format", "json")
    assert result.returncode == 3, result.stderr
    listed = {r["run_id"]: r for r in json.loads(result.stdout)}
    assert len(listed) == 6
    damaged = {k: r["damaged"] for k, r in listed.items() if r["damaged"] is not None}
    assert set(damaged) == {"alpha.example.com-1", "beta.example.com-2"}
    assert "is not a verdict" in damaged["alpha.example.com-1"]
    assert "a record row was deleted" in damaged["beta.example.com-2"]
    assert result.stderr.count("warning: DAMAGED run:") == 2
    alone = auditor("history", "--store", pg_url, "--site", "beta.example.com")
    assert alone.returncode == 2 and "runs['beta.example.com-2']" in alone.stderr
    assert len(alone.stderr.strip().splitlines()) == 1
    other = auditor("history", "retire", "alpha.example.com", "--run", "beta.example.com-2",
                    "--store", pg_url, "--yes")  # fmt: skip
    assert other.returncode == 2 and "is of site 'beta.example.com'" in other.stderr
    for pair, run_id in (("alpha.example.com", "alpha.example.com-1"),
                         ("beta.example.com", "beta.example.com-2")):  # fmt: skip
        result = auditor("history", "retire", pair, "--run", run_id, "--store", pg_url, "--yes")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"retired run {run_id} of {pair}")
    assert pg_server.psql("SELECT site, runs FROM retired ORDER BY site", database).split() == [
        "alpha.example.com|1", "beta.example.com|1"
    ]  # fmt: skip
    gone = "('alpha.example.com-1', 'beta.example.com-2')"
    left = pg_server.psql(f"SELECT count(*) FROM records WHERE run_id IN {gone}", database)
    assert left.strip() == "0"
    assert auditor("history", "--store", pg_url).returncode == 0
    out = tmp_path / "r"
    result = auditor("fleet", "report", "--store", pg_url, "-o", out, "--max-age", "none")
    assert result.returncode == 0, result.stderr
    pairs = {p["pair"]: p for p in json.loads((out / "fleet.json").read_text())["pairs"]}
    assert {k: (p["verdict"], p["runs"]) for k, p in pairs.items()} == {
        "alpha.example.com": ("compliant", 2), "beta.example.com": ("compliant", 2)
    }  # fmt: skip


def test_a_postgresql_store_of_schema_4_counts_its_records_on_upgrade(pg_url, pg_server) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from auditor.history.location import parse_store

    engine = create_engine(parse_store(pg_url).url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0004")  # the previous version's schema
        for run_id, records in (("r-two", 2), ("r-none", 0)):
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, site, started_at, finished_at, inventory_digest, "
                    "verdict, counts, document, complete, seq) VALUES (:id, 's', "
                    "'2026-11-24T01:00:00Z', '2026-11-24T01:00:00Z', 'd', 'compliant', "
                    "'{\"flows\": 0}', '', 1, nextval('auditor_runs_seq'))"
                ),
                {"id": run_id},
            )
            for seq in range(records):
                conn.execute(
                    text(
                        "INSERT INTO records VALUES (:id, :seq, 'a', 'b', 'tcp', 1, 'p', "
                        "'tcp', 'open', '', '{}')"
                    ),
                    {"id": run_id, "seq": seq},
                )
    engine.dispose()
    Store(pg_url).ensure()  # upgrades to the newest schema
    database = pg_url.rsplit("/", 1)[1]
    counted = pg_server.psql("SELECT run_id, record_count FROM runs ORDER BY run_id", database)
    assert counted.split() == ["r-none|0", "r-two|2"]


def test_a_postgresql_store_of_schema_5_digests_its_records_on_upgrade(
    pg_url, pg_server, tmp_path
) -> None:
    """Runs written at schema 5 (as that version wrote them) get their records digest on
    upgrade: each still reads whole, and the fleet report trusts them; a record edited
    afterwards into another valid status makes its run damaged in drift's read, trend's and
    the fleet report's."""
    from alembic import command
    from sqlalchemy import create_engine, insert, text

    from auditor.documents.codec import to_json
    from auditor.history.location import parse_store
    from auditor.history.schema import records as records_table
    from auditor.history.store import record_rows
    from auditor.model.findings import count
    from auditor.model.rundoc import run_to_json

    runs = [
        rf.green_run(run_id="r-green", started_at=time.strftime("%Y-%m-%dT00:00:00Z")),
        rf.green_run(run_id="r-newest", started_at=time.strftime("%Y-%m-%dT00:00:01Z")),
    ]
    engine = create_engine(parse_store(pg_url).url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0005")  # the previous version's schema
        for run in runs:
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, site, started_at, finished_at, inventory_digest, "
                    "verdict, counts, document, complete, seq, record_count) VALUES (:id, "
                    ":site, :at, :at, 'd', :verdict, :counts, :doc, 1, "
                    "nextval('auditor_runs_seq'), :n)"
                ),
                {
                    "id": run.run_id, "site": run.site, "at": run.started_at,
                    "verdict": run.verdict.value, "n": len(run.records),
                    "counts": json.dumps(to_json(count(run.flow_results(), run.lint))),
                    "doc": json.dumps(run_to_json(run, with_records=False)),
                },
            )  # fmt: skip
            conn.execute(insert(records_table), record_rows(run.run_id, run.records))
    engine.dispose()
    store = Store(pg_url)
    assert store.load_run("r-green").records == runs[0].records  # upgraded, read whole
    database = pg_url.rsplit("/", 1)[1]
    digests = pg_server.psql("SELECT record_digest FROM runs ORDER BY run_id", database).split()
    assert len(digests) == 2 and all(d.startswith("sha256:") for d in digests)
    out = tmp_path / "r"
    result = auditor("fleet", "report", "--store", pg_url, "-o", out, "--max-age", "none")
    assert result.returncode == 0, result.stderr
    assert auditor("history", "--store", pg_url, "--site", runs[0].site).returncode == 0
    pg_server.psql(
        "UPDATE records SET status = 'filtered' WHERE run_id = 'r-newest' AND seq = 0", database
    )
    result = auditor("fleet", "report", "--store", pg_url, "-o", out, "--max-age", "none")
    assert result.returncode == 3, result.stderr
    (pair,) = json.loads((out / "fleet.json").read_text())["pairs"]
    assert "runs['r-newest']" in pair["unreadable"] and "digest differs" in pair["unreadable"]
    with pytest.raises(InputError, match=r"runs\['r-newest'\].*digest differs"):
        store.trend_runs(["r-green", "r-newest"])
    with pytest.raises(InputError, match="digest differs"):
        Store(pg_url).load_run("r-newest")
    # one pair's history reads its records too (on PostgreSQL as on SQLite): refused
    alone = auditor("history", "--store", pg_url, "--site", runs[0].site)
    assert alone.returncode == 2 and "runs['r-newest']" in alone.stderr
    assert "digest differs" in alone.stderr and len(alone.stderr.strip().splitlines()) == 1
    # the run row's judged columns are in its digest too (on PostgreSQL as on SQLite): the
    # green run's counts and drift edited into other valid ones make it damaged
    pg_server.psql(
        'UPDATE runs SET counts = \'{"flows": 9, "ok": 9}\', drift = \'{"items": []}\' '
        "WHERE run_id = 'r-green'",
        database,
    )
    with pytest.raises(InputError, match=r"runs\['r-green'\].*its digest differs"):
        Store(pg_url).load_run("r-green")
    with pytest.raises(InputError, match=r"runs\['r-green'\].*its digest differs"):
        Store(pg_url).trend_runs(["r-green"])
