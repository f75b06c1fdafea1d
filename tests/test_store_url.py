"""The history store by URL: `sqlite:///PATH` or a bare path (SQLite), `postgresql://...`
(a server); Alembic migrations bring a store written by the previous version up in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import report_factories as rf
from support.cli import auditor
from support.readers import integrity_check

from auditor.errors import InputError, RunError
from auditor.history import migrate
from auditor.history.location import StoreURLError, parse_store
from auditor.history.schema import metadata
from auditor.history.store import Store

TESTS = Path(__file__).resolve().parent
# Written by the auditor at commit cd7dc47 (the SQLite store before SQLAlchemy: schema 1,
# `PRAGMA user_version` 1, no version table): three runs of support.example.com.
V1_STORE = TESTS / "golden" / "history" / "history-v1.sqlite"


def test_a_bare_path_and_a_sqlite_url_are_the_same_file() -> None:
    bare, url = parse_store("reports/h.sqlite"), parse_store("sqlite:///reports/h.sqlite")
    assert bare.path == url.path == Path("reports/h.sqlite")
    absolute = parse_store("sqlite:////var/lib/auditor/h.sqlite")
    assert absolute.path == Path("/var/lib/auditor/h.sqlite")


def test_a_postgresql_url_is_shown_without_its_query() -> None:
    where = parse_store("postgresql://auditor@db.example.com:5433/history?sslmode=require")
    assert where.path is None
    assert where.display == "postgresql://auditor@db.example.com:5433/history"
    assert where.url.startswith("postgresql+psycopg://auditor@db.example.com:5433/history")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("postgresql://auditor:s3cret-pw@db/history", "PGPASSWORD"),
        ("postgresql://auditor@db/history?password=s3cret-pw", "PGPASSWORD"),
        # libpq's key passphrase is a password too: in a unit file, in the process list
        (
            "postgresql://auditor@db/history?sslmode=verify-full&sslpassword=s3cret-pw",
            "sslpassword",
        ),
        ("mysql://auditor@db/history", "not supported"),
        ("postgresql://auditor@db/", "no database"),
        ("postgresql://auditor@db:99999/history", "port"),
        ("sqlite:///", "no file"),
        ("", "empty"),
    ],
)
def test_a_store_url_that_cannot_be_used_is_refused(text: str, says: str) -> None:
    with pytest.raises(StoreURLError, match=says) as caught:
        parse_store(text)
    assert "s3cret-pw" not in str(caught.value)


def test_a_password_in_the_store_url_is_refused_and_never_repeated() -> None:
    result = auditor("history", "--store", "postgresql://auditor:s3cret-pw@127.0.0.1:9/h")
    out, err = result.stdout, result.stderr
    assert result.returncode == 2
    assert "PGPASSWORD" in err and "s3cret-pw" not in out + err


def test_the_store_written_by_the_previous_version_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    shutil.copy(V1_STORE, path)
    store = Store(f"sqlite:///{path}")
    # Read first: the upgrade happens on the first open, and every run is still there.
    assert [(r.run_id, r.verdict) for r in store.list_runs()] == [
        ("v1-green", "compliant"),
        ("v1-findings", "findings"),
        ("v1-green-2", "compliant"),
    ]
    assert store.load_run("v1-findings") == rf.findings_run(
        run_id="v1-findings",
        started_at="2026-11-21T01:00:00+00:00",
        lint=(rf.lint_finding("error"),),
    )
    # a run stored before runs recorded what they accepted: its own verdict, nothing accepted
    assert store.load_run("v1-green") == rf.replace(
        rf.green_run(run_id="v1-green", started_at="2026-11-20T01:00:00+00:00"),
        accept_unverified="",
    )
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
        version = conn.execute(f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchall()
        assert version == [(migrate.head(),)]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert columns == {c.name for c in metadata.tables["runs"].columns}
    # and it takes new runs, with their drift
    store.save_run(rf.findings_run(run_id="v2-run", started_at="2026-11-23T01:00:00+00:00"))
    assert store.last_green("support.example.com") == "v1-green-2"
    assert integrity_check(store) == "ok"


def test_history_reads_a_previous_version_store_from_the_command_line(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copy(V1_STORE, path)
    result = auditor("history", "--store", f"sqlite:///{path}", "--format", "json")
    assert result.returncode == 0
    out = result.stdout
    assert out.count('"run_id"') == 3


def test_a_new_sqlite_store_has_exactly_the_tables_of_the_newest_revision(tmp_path) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).save_run(rf.green_run())
    with sqlite3.connect(path) as conn:
        for name, table in metadata.tables.items():
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
            assert columns == {c.name for c in table.columns}, name


def test_a_store_of_a_newer_auditor_is_refused_without_change(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    Store(path).save_run(rf.green_run())
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(RunError, match="newer than this auditor"):
        Store(path).save_run(rf.findings_run())
    assert path.read_bytes() == before


def test_a_foreign_database_is_refused_before_anything_changes(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (x)")
    before = path.read_bytes()
    with pytest.raises(InputError, match="not a history store of this auditor"):
        Store(path).ensure()
    assert path.read_bytes() == before


def test_a_compressed_document_that_inflates_past_the_limit_is_refused(tmp_path: Path) -> None:
    import zlib

    path = tmp_path / "h.sqlite"
    Store(path).save_run(rf.green_run(run_id="bomb"))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE runs SET document_z = ?", (zlib.compress(b"[" * (65 << 20), 9),))
    with pytest.raises(InputError, match="larger than 64 MiB"):
        Store(path).load_run("bomb")


def test_the_head_every_read_compares_with_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migrate.head() == ScriptDirectory.from_config(config).get_current_head()


@pytest.mark.parametrize("golden", ["history-v1.sqlite", "history-v3.sqlite"])
def test_an_upgraded_store_counts_its_runs_records_and_then_misses_none(
    tmp_path: Path, golden: str
) -> None:
    """Schema 5 counts each run's records on upgrade; a record row deleted afterwards makes
    that run damaged (one line naming the store and the run), not silently shorter."""
    path = tmp_path / "history.sqlite"
    shutil.copy(V1_STORE.parent / golden, path)
    store = Store(f"sqlite:///{path}")
    ids = [r.run_id for r in store.list_runs()]
    held = {run_id: len(store.load_run(run_id).records) for run_id in ids}
    with sqlite3.connect(path) as conn:
        counted = dict(conn.execute("SELECT run_id, record_count FROM runs").fetchall())
    assert counted == held and all(n > 0 for n in held.values())
    victim = ids[0]
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM records WHERE run_id = ? AND seq = 1", (victim,))
    with pytest.raises(InputError) as caught:
        Store(f"sqlite:///{path}").load_run(victim)
    assert f"runs['{victim}']" in str(caught.value) and str(path) in str(caught.value)
    assert f"written with {held[victim]} record(s), the store holds {held[victim] - 1}" in str(
        caught.value
    )
    # a new run is written with its count
    store.save_run(rf.green_run(run_id="new", started_at="2026-11-30T01:00:00Z"))
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT record_count FROM runs WHERE run_id = 'new'").fetchone()
    assert count == len(rf.green_run().records)


@pytest.mark.parametrize("golden", ["history-v1.sqlite", "history-v3.sqlite"])
def test_an_upgraded_store_digests_its_runs_records_and_then_finds_one_edited(
    tmp_path: Path, golden: str
) -> None:
    """Schema 6 digests each run's records on upgrade (as they stand: every run still reads
    as before); a record edited afterwards into another valid status makes that run damaged
    (one line naming the store and the run), not silently different."""
    from auditor.history.digest import RUN_DIGESTED, records_digest, run_digest
    from auditor.history.store import RECORD_DIGESTED

    path = tmp_path / "history.sqlite"
    shutil.copy(V1_STORE.parent / golden, path)
    store = Store(f"sqlite:///{path}")
    ids = [r.run_id for r in store.list_runs()]
    loaded = {run_id: store.load_run(run_id) for run_id in ids}  # upgraded: each reads whole
    columns = ", ".join(f'"{c}"' for c in RECORD_DIGESTED)
    with sqlite3.connect(path) as conn:
        written = dict(conn.execute("SELECT run_id, record_digest FROM runs").fetchall())
        judged = ", ".join(f'"{c}"' for c in RUN_DIGESTED)
        for run_id in ids:
            rows = conn.execute(
                f"SELECT {columns} FROM records WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
            assert len(rows) == len(loaded[run_id].records) > 0
            (run,) = conn.execute(f"SELECT {judged} FROM runs WHERE run_id = ?", (run_id,))
            assert written[run_id] == run_digest(run, records_digest(rows))
            assert written[run_id].startswith("sha256:")
    victim = ids[-1]
    with sqlite3.connect(path) as conn:
        (status,) = conn.execute(
            "SELECT status FROM records WHERE run_id = ? AND seq = 0", (victim,)
        ).fetchone()
        other = "filtered" if status != "filtered" else "open"
        conn.execute("UPDATE records SET status = ? WHERE run_id = ? AND seq = 0", (other, victim))
    with pytest.raises(InputError) as caught:
        Store(f"sqlite:///{path}").trend_runs([victim])
    assert f"runs['{victim}']" in str(caught.value) and str(path) in str(caught.value)
    assert "its digest differs" in str(caught.value)
    assert [r.run_id for r in Store(f"sqlite:///{path}").trend_runs(ids[:-1])] == ids[:-1]


def test_a_run_without_records_reads_as_before_once_its_store_is_upgraded_to_schema_6(
    tmp_path: Path,
) -> None:
    """The upgrade digests runs without a record row too (the digest of no records, not
    none): a schema-5 store's run of no records is not made a damaged run by it."""
    from dataclasses import replace

    from alembic import command
    from sqlalchemy import create_engine

    path = tmp_path / "history.sqlite"
    store = Store(path)
    empty = replace(rf.green_run(run_id="empty", started_at="2026-11-20T01:00:00Z"), records=())
    store.save_run(empty)
    store.save_run(rf.green_run(run_id="full", started_at="2026-11-21T01:00:00Z"))
    store.dispose()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the store as the auditor of schema 5 left it
        command.downgrade(migrate._config(conn), "0005")
    engine.dispose()
    with sqlite3.connect(path) as conn:
        assert "record_digest" not in [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    upgraded = Store(path)
    assert upgraded.load_run("empty").records == ()
    assert [r.run_id for r in upgraded.trend_runs(["empty", "full"])] == ["empty", "full"]
    result = auditor("history", "--store", path, "--site", empty.site)
    assert result.returncode == 0, result.stderr
