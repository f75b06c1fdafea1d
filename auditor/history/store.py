"""History: every audit run in a SQLite file (`reports/history.sqlite` by default).

A run is written in one transaction, and its `complete` flag is set inside that transaction:
a writer killed half-way leaves nothing (SQLite rolls the journal back on the next open), never
a run that looks complete. WAL mode and a busy timeout let two audits write at once; each takes
the write lock up front (BEGIN IMMEDIATE) so neither has to give up half-way on a lock upgrade.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.documents.codec import decode, to_json
from auditor.documents.jsonsource import parse_json
from auditor.errors import InputError, Problem, RunError
from auditor.history import DEFAULT_STORE
from auditor.model.findings import AuditRun, count
from auditor.model.record import ProbeRecord
from auditor.model.rundoc import run_from_document, run_to_json

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    inventory_digest TEXT NOT NULL,
    verdict TEXT NOT NULL,
    counts TEXT NOT NULL,
    document TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_site_started ON runs (site, started_at);
CREATE TABLE IF NOT EXISTS records (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    protocol TEXT NOT NULL,
    port INTEGER NOT NULL,
    provider TEXT NOT NULL,
    "check" TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of `auditor history`."""

    run_id: str
    site: str
    started_at: str
    finished_at: str
    verdict: str
    counts: dict[str, int]


class Store:
    """A history file. Open one per process; every method opens its own connection."""

    def __init__(self, path: Path = DEFAULT_STORE) -> None:
        self.path = path

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.exists():
            raise InputError(
                [Problem(str(self.path), None, "", "no history store here (run an audit first)")]
            )
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RunError(f"{self.path}: cannot create its folder: {exc.strerror}") from None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. Readers open the file
            # read-only, so looking at a file (perhaps not ours) never changes it.
            target = self.path if create else f"file:{quote(str(self.path.absolute()))}?mode=ro"
            conn = sqlite3.connect(
                target,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                uri=not create,
            )
        except sqlite3.Error as exc:
            raise RunError(f"{self.path}: cannot open the history store: {exc}") from exc
        with closing(conn):
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA foreign_keys = ON")
                if create:
                    self._migrate(conn)  # refuses a foreign file before changing anything
                    conn.execute("PRAGMA journal_mode = WAL")
                else:
                    self._check_ours(conn)
                yield conn
            except sqlite3.DatabaseError as exc:
                if "not a database" in str(exc) or "malformed" in str(exc):
                    raise InputError(
                        [Problem(str(self.path), None, "", "not a history store (SQLite)")]
                    ) from exc
                if "no such table" in str(exc) or "no such column" in str(exc):
                    # a store whose tables were dropped or never made: not ours to read
                    raise self._not_ours() from exc
                raise RunError(f"{self.path}: history store error: {exc}") from exc

    def _not_ours(self) -> InputError:
        return InputError(
            [
                Problem(
                    str(self.path),
                    None,
                    "",
                    "not a history store of this auditor (an SQLite file with other tables; "
                    "expected a file written by `auditor audit`, or a new path)",
                )
            ]
        )

    def _check_ours(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            raise self._not_ours()

    def ensure(self) -> None:
        """Create or open the store for writing; a bad path or a foreign file fails here, so
        an audit learns it before it probes anything."""
        with self._connect(create=True):
            pass

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if (
            version == 0
            and conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[
                0
            ]
        ):
            raise self._not_ours()
        if version > SCHEMA_VERSION:
            raise RunError(
                f"{self.path}: history store schema {version} is newer than this auditor "
                f"({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        # Two first audits at once both get here: the schema is IF NOT EXISTS, and the
        # write lock taken by BEGIN IMMEDIATE serialises them.
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{_SCHEMA}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def save_run(
        self, run: AuditRun, *, before_commit: Callable[[str], None] | None = None
    ) -> None:
        """Record `run` in one transaction. `before_commit(stage)` is called while the
        transaction is open (after the run row, after the records): progress for an observer,
        and the point where the interruption test kills the writer."""
        doc = run_to_json(run, with_records=False)
        counts = to_json(count(run.flow_results(), run.lint))
        with self._connect(create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, site, started_at, finished_at, inventory_digest,"
                    " verdict, counts, document, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                    (
                        run.run_id,
                        run.site,
                        run.started_at,
                        run.finished_at,
                        run.inventory_digest,
                        run.verdict.value,
                        json.dumps(counts, sort_keys=True),
                        json.dumps(doc, sort_keys=True),
                    ),
                )
                if before_commit is not None:
                    before_commit("run")
                conn.executemany(
                    "INSERT INTO records (run_id, seq, source, destination, protocol, port,"
                    ' provider, "check", status, reason, document)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            run.run_id,
                            i,
                            r.source,
                            r.destination,
                            r.protocol,
                            r.port,
                            r.provider,
                            r.check,
                            r.status.value,
                            r.reason,
                            json.dumps(to_json(r), sort_keys=True),
                        )
                        for i, r in enumerate(run.records)
                    ],
                )
                if before_commit is not None:
                    before_commit("records")
                conn.execute("UPDATE runs SET complete = 1 WHERE run_id = ?", (run.run_id,))
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise RunError(f"{self.path}: run {run.run_id} is already recorded") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def list_runs(self, site: str | None = None) -> tuple[RunSummary, ...]:
        """Complete runs, oldest first."""
        if not self.path.exists():
            return ()
        with self._connect(create=False) as conn:
            sql = (
                "SELECT run_id, site, started_at, finished_at, verdict, counts FROM runs"
                " WHERE complete = 1"
            )
            params: tuple[str, ...] = ()
            if site is not None:
                sql += " AND site = ?"
                params = (site,)
            rows = conn.execute(sql + " ORDER BY started_at, run_id", params).fetchall()
        return tuple(self._summary(r) for r in rows)

    def _bad_row(self, run_id: object, what: str) -> InputError:
        return InputError(
            [
                Problem(
                    str(self.path),
                    None,
                    f"runs[{run_id!r}]",
                    f"{what} (the store was changed by hand or is damaged; expected a run "
                    "written by `auditor audit`)",
                )
            ]
        )

    def _summary(self, row: Any) -> RunSummary:
        """One row of `runs`, checked: a store is a file, and files can be damaged or forged."""
        run_id = row[0]
        if not all(isinstance(v, str) for v in row):
            raise self._bad_row(run_id, "a column is not text")
        try:
            written = parse_json(row[5], str(self.path))
        except InputError:
            raise self._bad_row(run_id, "its counts are not valid JSON") from None
        counts, problems = decode(dict[str, int], written)
        if counts is None:
            raise self._bad_row(
                run_id, f"its counts are not a mapping of numbers: {problems[0][1]}"
            )
        return RunSummary(row[0], row[1], row[2], row[3], row[4], counts)

    def load_run(self, run_id: str) -> AuditRun:
        with self._connect(create=False) as conn:
            row = conn.execute(
                "SELECT document FROM runs WHERE run_id = ? AND complete = 1", (run_id,)
            ).fetchone()
            if row is None:
                raise InputError(
                    [Problem(str(self.path), None, "run", f"no complete run with id {run_id!r}")]
                )
            recs = conn.execute(
                "SELECT document FROM records WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        display = f"{self.path} (run {run_id})"
        if not isinstance(row[0], str) or not all(isinstance(r[0], str) for r in recs):
            raise self._bad_row(run_id, "a document column is not text")
        try:
            doc = parse_json(row[0], display)
            if isinstance(doc, dict):
                doc["records"] = []  # kept in their own table, read below
            run = run_from_document(doc, row[0], display)
        except InputError as exc:
            raise self._bad_row(run_id, f"its document is damaged: {exc.problems[0]}") from None
        records: list[ProbeRecord] = []
        for seq, rec in enumerate(recs):
            try:
                data = parse_json(rec[0], display)
            except InputError:
                data = None
            record, problems = decode(ProbeRecord, data, f"records[{seq}]")
            if record is None:
                raise self._bad_row(run_id, str(Problem(display, None, *problems[0])))
            records.append(record)
        return replace(run, records=tuple(records))

    def latest(self, site: str) -> str | None:
        """The newest complete run of `site`."""
        runs = self.list_runs(site)
        return runs[-1].run_id if runs else None

    def last_green(self, site: str, before: str | None = None) -> str | None:
        """The newest compliant run of `site`, older than run `before` when given."""
        runs = self.list_runs(site)
        if before is not None:
            ids = [r.run_id for r in runs]
            if before in ids:
                runs = runs[: ids.index(before)]
        green = [r for r in runs if r.verdict == "compliant"]
        return green[-1].run_id if green else None
