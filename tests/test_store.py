"""The history store: runs round-trip, a killed writer leaves no complete run, and two writers
at once both land without corrupting the file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import report_factories as rf
from support.readers import integrity_check

from auditor.errors import InputError, RunError
from auditor.history.store import Store
from auditor.model.rundoc import run_to_json

TESTS = Path(__file__).resolve().parent


def test_a_run_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.sqlite")
    run = rf.findings_run(lint=(rf.lint_finding("error"),))
    store.save_run(run)
    assert store.load_run(run.run_id) == run


def test_history_lists_complete_runs_with_counts(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    store.save_run(rf.findings_run(run_id="b", started_at="2026-11-24T01:00:00+00:00"))
    store.save_run(rf.green_run(run_id="a", started_at="2026-11-23T01:00:00+00:00"))
    runs = store.list_runs()
    assert [(r.run_id, r.verdict) for r in runs] == [("a", "compliant"), ("b", "findings")]
    assert runs[1].counts == {
        "flows": 11, "ok": 3, "blocked": 3, "failed": 1, "error": 0, "unverified": 4,
        "lint_errors": 0,
    }  # fmt: skip
    assert store.list_runs("other.example.com") == ()


def test_last_green_is_the_newest_compliant_run_before_a_given_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    for i, factory in enumerate((rf.green_run, rf.findings_run, rf.green_run, rf.findings_run)):
        store.save_run(factory(run_id=f"r{i}", started_at=f"2026-11-2{i}T01:00:00+00:00"))
    site = "support.example.com"
    assert store.latest(site) == "r3"
    assert store.last_green(site) == "r2"
    assert store.last_green(site, before="r2") == "r0"
    assert store.last_green(site, before="r0") is None


def test_the_same_run_id_twice_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    store.save_run(rf.green_run())
    with pytest.raises(RunError, match="already recorded"):
        store.save_run(rf.green_run())
    assert len(store.list_runs()) == 1


def test_loading_an_unknown_run_is_bad_input(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite")
    store.save_run(rf.green_run())
    with pytest.raises(InputError, match="no complete run"):
        store.load_run("nope")


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import report_factories as rf
    from auditor.history.store import Store

    def pause(stage):
        if stage == "records":
            print("inside the transaction", flush=True)
            time.sleep(120)

    Store(Path(sys.argv[1])).save_run(rf.green_run(run_id="killed"), before_commit=pause)
    """
)


def test_a_writer_killed_before_commit_leaves_no_complete_run(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    Store(path).save_run(rf.findings_run(run_id="earlier"))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(tests=str(TESTS)), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "inside the transaction"
        # The run row and all its records are written, the commit is not.
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    store = Store(path)
    assert [r.run_id for r in store.list_runs()] == ["earlier"]
    with pytest.raises(InputError):
        store.load_run("killed")
    assert integrity_check(store) == "ok"
    # The lock died with the writer: the same run can be recorded now.
    store.save_run(rf.green_run(run_id="killed"))
    assert [r.run_id for r in store.list_runs()] == ["earlier", "killed"]


CONCURRENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import report_factories as rf
    from auditor.history.store import Store

    path, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    print("ready", flush=True)  # imported: the test starts both writers at once
    while not go.exists():
        time.sleep(0.01)
    store = Store(path)
    if sys.argv[4:] == ["keep"]:  # as a fleet's worker: one connection for all its runs
        store.forget_connections(keep_open=True)
    for i in range(15):
        factory = rf.green_run if i % 2 else rf.findings_run
        store.save_run(
            factory(run_id=f"{{name}}-{{i:02d}}", started_at=f"2026-11-24T01:{{i:02d}}:00+00:00"),
            # Hold the write lock a moment so the two writers really contend for it.
            before_commit=lambda stage: time.sleep(0.01),
        )
    """
)


@pytest.mark.parametrize("keep", ["", "keep"], ids=["connection-per-run", "kept-connection"])
def test_two_writers_at_once_both_land_and_the_store_stays_sound(tmp_path: Path, keep: str) -> None:
    """Also when one writer keeps its connection open between its runs (a fleet's worker):
    it holds no lock between them, so the other's runs land in between."""
    path, go = tmp_path / "h.sqlite", tmp_path / "go"
    script = CONCURRENT.format(tests=str(TESTS))
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), name, str(go),
             *([keep] if keep and name == "beta" else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("alpha", "beta")
    ]  # fmt: skip
    try:
        for w in writers:  # both interpreters up and waiting (or gone: the wait below says why)
            assert w.stdout is not None
            w.stdout.readline()
        go.touch()
        results = [(w.wait(timeout=240), w.stderr.read() if w.stderr else "") for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert [rc for rc, _ in results] == [0, 0], results
    store = Store(path)
    ids = [r.run_id for r in store.list_runs()]
    assert sorted(ids) == sorted(f"{n}-{i:02d}" for n in ("alpha", "beta") for i in range(15))
    assert integrity_check(store) == "ok"
    assert store.load_run("beta-07").records == rf.green_run().records


def test_putting_a_store_in_wal_mode_waits_for_another_writer(tmp_path: Path) -> None:
    """Two audits starting together on a new store: the first, its tables made, switches the
    file to WAL while the second holds its write transaction. SQLite refuses that switch at
    once ("database is locked", no busy wait); the first audit was lost with a raw sqlite3
    error. The switch now waits for the writer, as a write does."""
    path = tmp_path / "h.sqlite"
    Store(path).ensure()
    plain = sqlite3.connect(path, isolation_level=None)
    plain.execute("PRAGMA journal_mode = DELETE")  # as before the first audit's switch
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE runs SET verdict = verdict")
    release = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        Store(path)._wal()
    finally:
        release.join()
    assert time.monotonic() - started >= 0.9  # it waited for the writer
    plain.close()
    with closing(sqlite3.connect(path)) as fresh:
        assert fresh.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    holder.close()
    store = Store(path)
    store.save_run(rf.green_run(run_id="after"))
    assert [r.run_id for r in store.list_runs()] == ["after"]


def test_a_store_that_keeps_its_connection_commits_each_run_and_closes_clean(
    tmp_path: Path,
) -> None:
    """A fleet's worker keeps one connection for all the runs it records: each run is
    committed when save_run returns (another reader sees it at once), and dispose() closes
    the connection (SQLite folds its write-ahead log back into the file and removes it)."""
    path = tmp_path / "h.sqlite"
    Store(path).ensure()
    writer = Store(path)
    writer.forget_connections(keep_open=True)
    for i in range(4):
        run = rf.green_run(run_id=f"kept-{i}", started_at=f"2026-11-24T01:0{i}:00+00:00")
        writer.save_run(run, document=run_to_json(run) if i % 2 else None)
        assert [r.run_id for r in Store(path).list_runs()] == [f"kept-{n}" for n in range(i + 1)]
        assert Store(path).load_run(run.run_id) == run
    assert Path(f"{path}-wal").exists()  # the kept connection is still open
    writer.dispose()
    assert not Path(f"{path}-wal").exists()
    assert integrity_check(Store(path)) == "ok"


def test_the_store_is_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "h.sqlite"
    Store(path).save_run(rf.green_run())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert os.path.exists(path)


def test_a_file_that_is_not_a_store_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    path.write_text("just text, long enough to look like a header of something else\n" * 20)
    with pytest.raises(InputError, match="not a history store"):
        Store(path).list_runs()
