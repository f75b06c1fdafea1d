"""History: every audit run in one store, an SQLite file (`reports/history.sqlite` by default)
or a PostgreSQL database shared by a fleet (`auditor.history.location`), through SQLAlchemy.

A run is written in one transaction, and its `complete` flag is set inside that transaction:
a writer killed half-way leaves nothing (the database rolls back), never a run that looks
complete. On SQLite, WAL mode and a busy timeout let two audits write at once; each takes the
write lock up front (BEGIN IMMEDIATE) so neither has to give up half-way on a lock upgrade.
On PostgreSQL each run is its own rows under its own key: writers never wait on each other.
The schema is Alembic's (`auditor.history.migrate`): opening a store of an older revision
upgrades it in place, first thing, in one transaction.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.documents.codec import decode, to_json
from auditor.documents.jsonsource import parse_json
from auditor.errors import InputError, Problem, RunError
from auditor.history import DEFAULT_STORE
from auditor.history.digest import RUN_DIGESTED, records_digest, run_digest
from auditor.history.location import StoreLocation, parse_store
from auditor.history.trend import TrendRun
from auditor.model.findings import AuditRun, count
from auditor.model.inventory import Check, Flow, Protocol
from auditor.model.record import ProbeRecord, Status
from auditor.model.rundoc import is_run_document, run_from_document, run_to_json
from auditor.model.verdict import Verdict
from auditor.textout import quoted

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from auditor.history.drift import DriftReport

MAX_DOCUMENT = 64 * 1024 * 1024


class DamagedRun(InputError):
    """A run row of the store that is damaged (changed by hand, or broken): one located
    problem naming the store and the run. Where one pair's history is read among a fleet's,
    it makes that pair incomplete; alone, it is bad input (exit 2)."""

    def __init__(self, problems: Sequence[Problem], run_id: object) -> None:
        super().__init__(problems)
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of `auditor history`."""

    run_id: str
    site: str
    started_at: str
    finished_at: str
    verdict: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class DamagedSummary:
    """A line of `auditor history` for a run it cannot read: where it stands, and why (the
    damaged run's one line). Its columns are shown as the store holds them."""

    run_id: str
    site: str
    started_at: str
    error: DamagedRun

    @property
    def why(self) -> str:
        return str(self.error)


@dataclass(frozen=True, slots=True)
class RetiredRun:
    """One run removed by `auditor history retire SITE --run ID`, as the store held it."""

    run_id: str
    site: str
    started_at: str
    verdict: str
    records: int  # record rows removed with it


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One of a pair's newest runs as the fleet report reads it."""

    run_id: str
    site: str
    started_at: str
    verdict: str
    counts: dict[str, int]
    report: str | None  # the report folder written for it (None: not recorded)
    records: int | None = None  # the records it was written with (None: not counted)
    digest: str | None = None  # the run's digest as written (schema 6)
    judged: tuple[object, ...] = ()  # its row's RUN_DIGESTED columns, as the store holds them


@dataclass(frozen=True, slots=True)
class PairHistory:
    """A pair's history in brief, as the database aggregated it."""

    runs: int
    since: str  # started_at of the first run of the newest run's verdict streak
    last_green: str | None  # started_at of the newest compliant run


@dataclass(slots=True)
class FleetRead:
    """What the fleet report reads of the store: per pair its history in brief and newest
    runs, or why its history is damaged (that pair alone: the rest are read)."""

    histories: dict[str, PairHistory]
    rows: list[FleetRow]
    damaged: dict[str, str]  # site -> the damaged run's one line (store, run, what)


class Store:
    """A history store. Open one per process; every method opens its own transaction."""

    def __init__(self, where: Path | str | StoreLocation = DEFAULT_STORE) -> None:
        self.location = where if isinstance(where, StoreLocation) else parse_store(where)
        self._engines: dict[bool, Engine] = {}
        self._keep_open = False  # the writer's connection kept between transactions
        self._migrated = False
        self._verified = False  # a read found the schema ours and at the newest revision

    @property
    def path(self) -> Path | None:
        """The SQLite file (None: a database server)."""
        return self.location.path

    @property
    def display(self) -> str:
        return self.location.display

    def __str__(self) -> str:
        return self.display

    # ---- connections ------------------------------------------------------------------

    def _engine(self, *, write: bool) -> Engine:
        engine = self._engines.get(write)
        if engine is None:
            from auditor.history.engine import make_engine  # noqa: PLC0415

            keep = write and self._keep_open
            engine = self._engines[write] = make_engine(self.location, write=write, keep=keep)
        return engine

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; database errors become the auditor's (located, no traceback)."""
        from sqlalchemy import exc  # noqa: PLC0415

        try:
            with self._engine(write=write).begin() as conn:
                yield conn
        except exc.IntegrityError:
            raise
        except exc.DBAPIError as error:
            raise self._translate(error) from error

    def _translate(self, error: Exception) -> Exception:
        orig = getattr(error, "orig", None) or error
        message = str(orig).strip().split("\n")[0]
        lowered = message.lower()
        if "not a database" in lowered or "malformed" in lowered:
            return InputError([Problem(self.display, None, "", "not a history store (SQLite)")])
        if any(s in lowered for s in ("no such table", "no such column", "does not exist")):
            return self._not_ours()
        if type(orig).__name__ in ("OperationalError", "InterfaceError") or "unable to open" in (
            lowered
        ):
            return RunError(f"{self.display}: cannot open the history store: {message}")
        return RunError(f"{self.display}: history store error: {message}")

    def _not_ours(self) -> InputError:
        return InputError(
            [
                Problem(
                    self.display,
                    None,
                    "",
                    "not a history store of this auditor (a database with other tables; "
                    "expected a store written by `auditor audit`, or a new one)",
                )
            ]
        )

    def _prepare_write(self) -> None:
        """Create or upgrade the schema (once per Store); a foreign database is refused before
        anything in it changes."""
        if self._migrated:
            return
        from auditor.history import migrate  # noqa: PLC0415

        if self.location.path is not None:
            try:
                self.location.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RunError(
                    f"{self.display}: cannot create its folder: {exc.strerror}"
                ) from None
        with self._begin(write=True) as conn:
            migrate.lock(conn)
            found = migrate.what_is_there(conn)
            if found is migrate.Found.FOREIGN:
                raise self._not_ours()
            if found is migrate.Found.EMPTY or migrate.current(conn) != migrate.head():
                # alembic only when there is something to do (its import costs 0.3 s)
                from alembic.util.exc import CommandError  # noqa: PLC0415

                try:
                    migrate.upgrade(conn, found)
                except CommandError as exc:
                    raise RunError(
                        f"{self.display}: the history store's schema ({migrate.current(conn)}) "
                        f"is newer than this auditor's ({migrate.head()}): {exc}"
                    ) from None
        if self.location.is_sqlite:
            self._wal()
        self._migrated = True

    def _wal(self) -> None:
        from sqlite3 import Error  # noqa: PLC0415

        from auditor.history.engine import switch_to_wal  # noqa: PLC0415

        raw = self._engine(write=True).raw_connection()
        try:
            switch_to_wal(raw.driver_connection)
        except Error as error:
            raise self._translate(error) from error
        finally:
            raw.close()

    @contextmanager
    def _reading(self) -> Iterator[Connection | None]:
        """A read transaction on a store at the newest revision (an older one is upgraded
        first); None when there is nothing to read yet."""
        from auditor.history import migrate  # noqa: PLC0415

        if self.location.path is not None and not self.location.path.exists():
            yield None
            return
        if self._verified:
            with self._begin(write=False) as conn:
                yield conn
            return
        with self._begin(write=False) as conn:
            found = migrate.what_is_there(conn)
            if found is migrate.Found.FOREIGN or (
                found is migrate.Found.EMPTY and self.location.is_sqlite
            ):
                raise self._not_ours()
            if found is migrate.Found.EMPTY:
                yield None
                return
            if found is migrate.Found.OURS and migrate.current(conn) == migrate.head():
                self._verified = True
                yield conn
                return
        self._prepare_write()
        with self._begin(write=False) as conn:
            yield conn

    def ensure(self) -> None:
        """Create or open the store for writing; a bad place or a foreign database fails here,
        so an audit learns it before it probes anything."""
        self._prepare_write()

    # ---- writing ----------------------------------------------------------------------

    def save_run(
        self,
        run: AuditRun,
        *,
        drift: DriftReport | None = None,
        report: Path | None = None,
        before_commit: Callable[[str], None] | None = None,
        document: Mapping[str, Any] | None = None,
    ) -> None:
        """Record `run` (and the drift it measured) in one transaction. `before_commit(stage)`
        is called while the transaction is open (after the run row, after the records):
        progress for an observer, and the point where the interruption test kills the
        writer. `document` is the run's document, `run_to_json(run)`, when the caller has
        encoded it already (its run.json): recorded as it is, without its records."""
        from sqlalchemy import exc, func, insert, select, update  # noqa: PLC0415

        from auditor.history.schema import RUN_SEQUENCE, records, runs  # noqa: PLC0415

        self._prepare_write()
        if document is None:
            doc = run_to_json(run, with_records=False)
        else:
            doc = {key: value for key, value in document.items() if key != "records"}
        counts = to_json(count(run.flow_results(), run.lint))
        rows = record_rows(run.run_id, run.records)
        if self.location.is_sqlite:  # writers hold the write lock (BEGIN IMMEDIATE)
            order: Any = select(func.coalesce(func.max(runs.c.seq), 0) + 1).scalar_subquery()
        else:
            order = func.nextval(RUN_SEQUENCE)
        judged: dict[str, object] = {
            "run_id": run.run_id,
            "site": run.site,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "inventory_digest": run.inventory_digest,
            "verdict": run.verdict.value,
            "counts": json.dumps(counts, sort_keys=True),
            "drift": None if drift is None else json.dumps(drift_json(drift)),
            "report": None if report is None else str(report),
        }
        digest = run_digest(
            tuple(judged[c] for c in RUN_DIGESTED),
            records_digest(tuple(r[c] for c in RECORD_DIGESTED) for r in rows),
        )
        try:
            with self._begin(write=True) as conn:
                conn.execute(
                    insert(runs).values(
                        **judged,
                        document="",
                        document_z=zlib.compress(json.dumps(doc, sort_keys=True).encode(), 6),
                        complete=0,
                        seq=order,
                        record_count=len(run.records),
                        record_digest=digest,
                    )
                )
                if before_commit is not None:
                    before_commit("run")
                if rows:
                    conn.execute(insert(records), rows)
                if before_commit is not None:
                    before_commit("records")
                conn.execute(update(runs).where(runs.c.run_id == run.run_id).values(complete=1))
        except exc.IntegrityError as error:
            raise RunError(f"{self.display}: run {run.run_id} is already recorded") from error

    def retire(self, site: str, at: str) -> tuple[int, str | None]:
        """Remove every run of `site` (complete or not, damaged or not) and its records, in
        one transaction that also records the retirement in `retired` (when, how many runs,
        the newest one's start). (The number of runs removed, the newest one's start.)"""
        from sqlalchemy import delete, func, insert, select  # noqa: PLC0415

        from auditor.history.schema import records, retired, runs  # noqa: PLC0415

        self._prepare_write()
        with self._begin(write=True) as conn:
            held, newest = conn.execute(
                select(func.count(), func.max(runs.c.started_at)).where(runs.c.site == site)
            ).one()
            if held:
                ids = select(runs.c.run_id).where(runs.c.site == site)
                conn.execute(delete(records).where(records.c.run_id.in_(ids)))
                conn.execute(delete(runs).where(runs.c.site == site))
                newest = newest if isinstance(newest, str) else None
                conn.execute(
                    insert(retired).values(site=site, retired_at=at, runs=held, newest=newest)
                )
        return int(held), newest if held else None

    def retire_run(self, site: str, run_id: str, at: str) -> RetiredRun:
        """Remove run `run_id` of `site` (complete or not, damaged or not) and its records, in
        one transaction that records it in `retired` (one run, its start). A run id the store
        does not hold, or one of another site, is refused and nothing changes."""
        from sqlalchemy import delete, insert, select  # noqa: PLC0415

        from auditor.history.schema import records, retired, runs  # noqa: PLC0415

        self._prepare_write()
        with self._begin(write=True) as conn:
            row = conn.execute(
                select(runs.c.site, runs.c.started_at, runs.c.verdict).where(
                    runs.c.run_id == run_id
                )
            ).first()
            if row is None or row[0] != site:
                what = (
                    f"no run with id {quoted(run_id)} is recorded"
                    if row is None
                    else f"run {quoted(run_id)} is of site {quoted(row[0])}, not {quoted(site)}"
                )
                raise InputError(
                    [
                        Problem(
                            self.display, None, "run", f"{what}: nothing retired (`auditor "
                            "history` lists each run with its site)"
                        )
                    ]
                )  # fmt: skip
            removed = conn.execute(delete(records).where(records.c.run_id == run_id)).rowcount
            conn.execute(delete(runs).where(runs.c.run_id == run_id))
            start = row[1] if isinstance(row[1], str) else None
            conn.execute(insert(retired).values(site=site, retired_at=at, runs=1, newest=start))
        return RetiredRun(run_id, site, _as_text(row[1]), _as_text(row[2]), int(removed))

    # ---- reading ----------------------------------------------------------------------

    def survey_runs(self, site: str | None = None) -> tuple[RunSummary | DamagedSummary, ...]:
        """Complete runs, oldest first, as `list_runs` reads them and with their records
        counted (schema 5): a damaged run is listed where it stands, with why, instead of
        failing the read (`auditor history`: one damaged run hides none of the others).
        One site's runs have their records digested too (schema 6), as `drift` and `trend`
        check them: the whole store's keeps to counts (its every record read would cost
        seconds on a year's store)."""
        from sqlalchemy import func, select  # noqa: PLC0415

        from auditor.history.schema import records, runs  # noqa: PLC0415

        query = select(
            runs.c.run_id, runs.c.site, runs.c.started_at, runs.c.finished_at, runs.c.verdict,
            runs.c.counts, runs.c.record_count, runs.c.record_digest,
        ).where(runs.c.complete == 1)  # fmt: skip
        held = select(records.c.run_id, func.count()).group_by(records.c.run_id)
        recs: dict[str, list[tuple[Any, ...]]] = {}
        with self._reading() as conn:
            if conn is None:
                return ()
            if site is not None:
                query = query.where(runs.c.site == site).add_columns(*judged_columns(runs))
            # the runs first: a run complete by then has its records committed (PostgreSQL
            # reads each statement at its own snapshot; a run recorded in between is not
            # listed, and its records are not looked at)
            rows = conn.execute(query.order_by(*run_order(runs))).all()
            if site is not None:
                mine = records.c.run_id.in_(select(runs.c.run_id).where(runs.c.site == site))
                digested = select(records.c.run_id, *(records.c[c] for c in RECORD_DIGESTED))
                for rec in conn.execute(
                    digested.where(mine).order_by(records.c.run_id, records.c.seq)
                ):
                    recs.setdefault(rec[0], []).append(tuple(rec)[1:])
            counted = {} if site is not None else dict(tuple(r) for r in conn.execute(held))
        found: list[RunSummary | DamagedSummary] = []
        for row in rows:
            try:
                summary = self._summary(tuple(row[:6]))
                if site is None:
                    self._check_count(row[0], row[6], counted.get(row[0], 0))
                else:
                    mine_ = recs.get(row[0], [])
                    self._check_records(
                        row[0], row[6], row[7], len(mine_), judged=tuple(row[8:]),
                        held=records_digest(mine_),
                    )  # fmt: skip
            except DamagedRun as exc:
                run_id, where, started = (_as_text(v) for v in row[:3])
                found.append(DamagedSummary(run_id, where, started, exc))
            else:
                found.append(summary)
        return tuple(found)

    def list_runs(self, site: str | None = None) -> tuple[RunSummary, ...]:
        """Complete runs, oldest first."""
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import runs  # noqa: PLC0415

        query = select(
            runs.c.run_id, runs.c.site, runs.c.started_at, runs.c.finished_at, runs.c.verdict,
            runs.c.counts,
        ).where(runs.c.complete == 1)  # fmt: skip
        if site is not None:
            query = query.where(runs.c.site == site)
        with self._reading() as conn:
            if conn is None:
                return ()
            rows = conn.execute(query.order_by(*run_order(runs))).all()
        return tuple(self._summary(tuple(r)) for r in rows)

    def drift_of(
        self, run_ids: Sequence[str], damaged: dict[str, str] | None = None
    ) -> Mapping[str, Mapping[str, Any] | None]:
        """The drift each run measured against its baseline (None: not measured), by run id.
        With `damaged`, a run whose drift is damaged is put there (run id -> why) instead of
        failing the read."""
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import runs  # noqa: PLC0415

        found: dict[str, Mapping[str, Any] | None] = {}
        with self._reading() as conn:
            if conn is None:
                return found
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                query = select(runs.c.run_id, runs.c.drift).where(runs.c.run_id.in_(chunk))
                for run_id, text in conn.execute(query):
                    try:
                        found[run_id] = self._drift(run_id, text)
                    except DamagedRun as exc:
                        if damaged is None:
                            raise
                        damaged[run_id] = str(exc)
        return found

    def fleet_rows(self, sites: Sequence[str] | None = None, recent: int = 30) -> FleetRead:
        """What the fleet report reads, without documents: per site (of `sites`, default
        all) its history in brief, aggregated by the database (window functions: how many
        runs, the newest compliant one, the first run of the newest verdict's streak), and
        its newest `recent` complete runs with their counts, oldest first. A site with a
        damaged run (among its newest, or any run whose verdict or start is not one) is in
        `damaged` with why, and has no history nor rows: the rest are read."""
        from sqlalchemy import case, func, select  # noqa: PLC0415

        from auditor.history.schema import runs  # noqa: PLC0415

        complete = runs.c.complete == 1
        if sites is not None:
            complete = complete & runs.c.site.in_(list(sites))
        # every column these windows read is in the index runs_fleet: no run row is read
        newest_first = [c.desc() for c in run_order(runs)]
        rank = func.row_number().over(partition_by=runs.c.site, order_by=newest_first)
        # the newest verdict's streak: its runs are those whose rank among all the pair's
        # runs equals their rank among the runs of their verdict (a break makes them differ)
        rank_in_verdict = func.row_number().over(
            partition_by=(runs.c.site, runs.c.verdict), order_by=newest_first
        )
        ranked = (
            select(
                runs.c.site, runs.c.verdict, runs.c.started_at, runs.c.run_id, rank.label("rank"),
                rank_in_verdict.label("in_verdict"),
            )
            .where(complete)
            .subquery()
        )  # fmt: skip
        # a run whose verdict or start is not one would move `since` or the last green run
        broken = ranked.c.verdict.not_in(sorted(_VERDICTS)) | ~ranked.c.started_at.like(
            "____-__-__T__:__:__%"
        )
        histories = select(
            ranked.c.site,
            func.count(),
            func.min(case((ranked.c.rank == ranked.c.in_verdict, ranked.c.started_at))),
            func.max(case((ranked.c.verdict == "compliant", ranked.c.started_at))),
            func.min(case((broken, ranked.c.run_id))),
        ).group_by(ranked.c.site)
        ids = select(runs.c.run_id, rank.label("rank")).where(complete).subquery()
        newest = (
            select(
                runs.c.run_id, runs.c.site, runs.c.started_at, runs.c.verdict, runs.c.counts,
                runs.c.report, runs.c.record_count, runs.c.record_digest, *judged_columns(runs),
            )
            .join(ids, ids.c.run_id == runs.c.run_id)
            .where(ids.c.rank <= recent)
            .order_by(runs.c.site, ids.c.rank.desc())
        )  # fmt: skip
        read = FleetRead({}, [], {})
        with self._reading() as conn:
            if conn is None:
                return read
            briefs = conn.execute(histories).all()
            rows = conn.execute(newest).all()
            for site, *_rest, bad in briefs:
                if isinstance(site, str) and bad is not None:
                    read.damaged[site] = self._why_damaged(conn, bad)
        for site, count_, since, green, _bad in briefs:
            if not isinstance(site, str):
                raise self._bad_row(site, "its site is not text")
            if not isinstance(since, str) or not isinstance(count_, int):
                read.damaged.setdefault(site, str(self._bad_row(site, "a column is not text")))
            elif site not in read.damaged:
                last = green if isinstance(green, str) else None
                read.histories[site] = PairHistory(count_, since, last)
        for run_id, site, started, verdict, written, report, records, digest, *judged in rows:
            if not isinstance(site, str):
                raise self._bad_row(run_id, "its site is not text")
            try:
                if report is not None and not isinstance(report, str):
                    raise self._bad_row(run_id, "its report column is not text")
                if records is not None and type(records) is not int:
                    raise self._bad_row(run_id, "its record count is not a number")
                tally = self._summary((run_id, site, started, started, verdict, written)).counts
            except DamagedRun as exc:
                read.damaged.setdefault(site, str(exc))
                continue
            held = FleetRow(
                run_id, site, started, verdict, tally, report, records, digest, tuple(judged)
            )
            read.rows.append(held)
        read.histories = {k: v for k, v in read.histories.items() if k not in read.damaged}
        read.rows = [r for r in read.rows if r.site not in read.damaged]
        return read

    def _why_damaged(self, conn: Connection, run_id: object) -> str:
        """What is wrong with run `run_id` (one the database found damaged), as one line."""
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import runs  # noqa: PLC0415

        row = conn.execute(
            select(
                runs.c.run_id, runs.c.site, runs.c.started_at, runs.c.finished_at,
                runs.c.verdict, runs.c.counts,
            ).where(runs.c.run_id == run_id)
        ).first()  # fmt: skip
        try:
            if row is not None:
                self._summary(tuple(row))
        except DamagedRun as exc:
            return str(exc)
        return str(self._bad_row(run_id, "its verdict or start is not one"))

    def records_problem(self, row: FleetRow, found: int, digest: str | None) -> str | None:
        """The line that says the newest run `row` holds other records than it was written
        with (their number, or their digest `digest`), or its row's judged columns are not
        those written; None when they are as written."""
        try:
            self._check_records(
                row.run_id, row.records, row.digest, found, judged=row.judged, held=digest
            )
        except DamagedRun as exc:
            return str(exc)
        return None

    def records_of(
        self, run_ids: Sequence[str], digests: dict[str, str | None] | None = None
    ) -> list[tuple[str, ...]]:
        """(run_id, source, destination, protocol, port, provider, check, status, reason) of
        these runs' records, by run and sequence: the columns alone, no document decoded.
        With `digests`, the digest of each run's records as the store holds them is put
        there (its documents read as text for it, not decoded)."""
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import records  # noqa: PLC0415

        columns: list[Any] = [
            records.c.run_id, records.c.source, records.c.destination, records.c.protocol,
            records.c.port, records.c.provider, records.c.check, records.c.status,
            records.c.reason,
        ]  # fmt: skip
        if digests is not None:
            columns += [records.c.seq, records.c.document]
        found: list[tuple[str, ...]] = []
        held: dict[str, list[tuple[object, ...]]] = {}
        with self._reading() as conn:
            if conn is None:
                return found
            for start in range(0, len(run_ids), 500):
                chunk = list(run_ids[start : start + 500])
                query = (
                    select(*columns)
                    .where(records.c.run_id.in_(chunk))
                    .order_by(records.c.run_id, records.c.seq)
                )
                for row in conn.execute(query):
                    found.append(tuple(str(v) for v in row[:9]))
                    if digests is not None:
                        held.setdefault(row[0], []).append((row[9], *row[1:9], row[10]))
        if digests is not None:
            digests.update({i: records_digest(held.get(i, ())) for i in run_ids})
        return found

    def _drift(self, run_id: str, text: object) -> Mapping[str, Any] | None:
        if text is None:
            return None
        if not isinstance(text, str):
            raise self._bad_row(run_id, "its drift is not text")
        try:
            value = parse_json(text, self.display)
        except InputError:
            raise self._bad_row(run_id, "its drift is not valid JSON") from None
        if not isinstance(value, dict) or not isinstance(value.get("items"), list):
            raise self._bad_row(run_id, "its drift is not a drift summary")
        return value

    def _bad_row(self, run_id: object, what: str) -> DamagedRun:
        return DamagedRun(
            [
                Problem(
                    self.display,
                    None,
                    f"runs[{quoted(run_id)}]",
                    f"{what} (the store was changed by hand or is damaged; expected a run "
                    "written by `auditor audit`)",
                )
            ],
            run_id,
        )

    def _summary(self, row: tuple[Any, ...]) -> RunSummary:
        """One row of `runs`, checked: a store can be damaged or forged."""
        run_id = row[0]
        if not all(isinstance(v, str) for v in row):
            raise self._bad_row(run_id, "a column is not text")
        # runs are ordered by their start as text and the baseline is the newest compliant
        # one: a damaged time or verdict would silently move the newest run or the baseline
        for what, stamp in (("start", row[2]), ("end", row[3])):
            if not _UTC_STAMP.fullmatch(stamp):
                raise self._bad_row(
                    run_id, f"its {what} {quoted(stamp)} is not a UTC time such as "
                    "2026-11-30T08:15:00Z"
                )  # fmt: skip
        if row[4] not in _VERDICTS:
            raise self._bad_row(run_id, f"its verdict {quoted(row[4])} is not a verdict")
        counts = _fast_counts(row[5])
        if counts is None:
            try:
                written = parse_json(row[5], self.display)
            except InputError:
                raise self._bad_row(run_id, "its counts are not valid JSON") from None
            counts, problems = decode(dict[str, int], written)
            if counts is None:
                raise self._bad_row(
                    run_id, f"its counts are not a mapping of numbers: {problems[0][1]}"
                )
        # a flow blocked, failing or in error, or a lint error, is a finding (model.verdict's
        # run_verdict): a run that says compliant or unproven beside one had its verdict or
        # its counts changed (and the fleet report's exit comes from that verdict)
        bad = sum(counts.get(k, 0) for k in ("blocked", "failed", "error"))
        if row[4] in _PASSING and (bad or counts.get("lint_errors", 0)):
            raise self._bad_row(
                run_id, f"its verdict {quoted(row[4])} contradicts its counts ({bad} flow(s) "
                f"blocked, failing or in error, {counts.get('lint_errors', 0)} lint error(s): "
                "a finding)"
            )  # fmt: skip
        return RunSummary(row[0], row[1], row[2], row[3], row[4], counts)

    def load_run(self, run_id: str) -> AuditRun:
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import records, runs  # noqa: PLC0415

        with self._reading() as conn:
            row = None
            recs: list[Any] = []
            if conn is not None:
                row = conn.execute(
                    select(
                        runs.c.document, runs.c.document_z, runs.c.record_count,
                        runs.c.record_digest, *judged_columns(runs),
                    ).where(runs.c.run_id == run_id, runs.c.complete == 1)
                ).first()  # fmt: skip
                if row is not None:
                    digested = [records.c[c] for c in RECORD_DIGESTED]
                    recs = list(
                        conn.execute(
                            select(*digested)
                            .where(records.c.run_id == run_id)
                            .order_by(records.c.seq)
                        ).all()
                    )
        if row is None:
            raise InputError(
                [Problem(self.display, None, "run", f"no complete run with id {run_id!r}")]
            )
        self._check_records(
            run_id, row[2], row[3], len(recs), judged=tuple(row[4:]), held=records_digest(recs)
        )
        document = row[0] if row[1] is None else self._inflate(run_id, row[1])
        return self._decode_run(run_id, document, [r[-1] for r in recs])

    def _check_count(self, run_id: str, written: object, found: int) -> None:
        """The run's records as many as it was written with (schema 5; NULL: not counted)."""
        if written is not None and written != found:
            raise self._bad_row(
                run_id, f"it was written with {written} record(s), the store holds {found} "
                "(a record row was deleted or added)"
            )  # fmt: skip

    def _check_records(
        self,
        run_id: str,
        count: object,
        digest: object,
        found: int,
        *,
        judged: Sequence[object],
        held: str | None,
    ) -> None:
        """The run's records as many as it was written with (schema 5; NULL: not counted), and
        the run as it was written: the digest (schema 6) of its row's judged columns as read
        (`judged`) and of its records as read (`held`, their records_digest) the one written
        with the run."""
        self._check_count(run_id, count, found)
        if digest is None:
            # an auditor of schema 5 still running when the store was upgraded writes its run
            # without one: as unknown as an edited run, but not said to be one
            raise self._bad_row(
                run_id, "its records cannot be checked (their digest is missing: the run was "
                "written by an auditor older than store schema 6 after the store was upgraded, "
                "the upgrade met a record row no auditor writes, or the digest was cleared by "
                "hand; `history retire SITE --run ID` removes the run)"
            )  # fmt: skip
        if digest != run_digest(judged, held):
            raise self._bad_row(
                run_id, "the run is not as it was written (its digest differs: its verdict, "
                "counts, drift or another judged column, or a record row, was changed by hand "
                "or half-written)"
            )  # fmt: skip

    def trend_runs(self, run_ids: Sequence[str]) -> list[TrendRun]:
        """What `auditor trend` reads of these runs, in the order given: id, start and verdict
        from their rows, the required flows from their documents (each distinct list of flows
        checked once), the records from their columns, each run's records checked against
        its count and digest first. Only a record that holds a certificate (the trend charts
        its days left) has its JSON decoded, through the checked decoder; every other record
        is built from its checked columns."""
        from sqlalchemy import select  # noqa: PLC0415

        from auditor.history.schema import records, runs  # noqa: PLC0415

        rows: dict[str, tuple[Any, ...]] = {}
        recs: dict[str, list[tuple[Any, ...]]] = {}
        with self._reading() as conn:
            if conn is not None:
                for start in range(0, len(run_ids), 500):
                    chunk = list(run_ids[start : start + 500])
                    run_rows = select(
                        runs.c.run_id, runs.c.started_at, runs.c.verdict, runs.c.document,
                        runs.c.document_z, runs.c.record_count, runs.c.record_digest,
                        *judged_columns(runs),
                    ).where(runs.c.run_id.in_(chunk), runs.c.complete == 1)  # fmt: skip
                    for row in conn.execute(run_rows):
                        rows[row[0]] = tuple(row)
                    digested = [records.c[c] for c in RECORD_DIGESTED]
                    rec_rows = (
                        select(records.c.run_id, *digested)
                        .where(records.c.run_id.in_(chunk))
                        .order_by(records.c.run_id, records.c.seq)
                    )
                    for rec in conn.execute(rec_rows):
                        recs.setdefault(rec[0], []).append(tuple(rec)[1:])
        flows_seen: dict[str, tuple[Flow, ...]] = {}
        found = []
        for run_id in run_ids:
            if run_id not in rows:
                raise InputError(
                    [
                        Problem(
                            self.display, None, "run", f"no complete run with id {quoted(run_id)}"
                        )
                    ]
                )
            _, started_at, verdict, document, packed, written, digest, *judged = rows[run_id]
            held = recs.get(run_id, [])
            self._check_records(
                run_id, written, digest, len(held), judged=judged, held=records_digest(held)
            )
            text = document if packed is None else self._inflate(run_id, packed)
            found.append(
                TrendRun(
                    run_id=run_id,
                    started_at=self._text(run_id, started_at),
                    verdict=self._verdict(run_id, verdict),
                    flows=self._flows(run_id, text, flows_seen),
                    records=tuple(self._record(run_id, seq, row) for seq, row in enumerate(held)),
                )
            )
        return found

    def _text(self, run_id: str, value: object) -> str:
        if not isinstance(value, str):
            raise self._bad_row(run_id, "a column is not text")
        return value

    def _verdict(self, run_id: str, value: object) -> Verdict:
        try:
            return Verdict(self._text(run_id, value))
        except ValueError:
            raise self._bad_row(run_id, f"its verdict {quoted(value)} is not a verdict") from None

    def _flows(
        self, run_id: str, document: object, seen: dict[str, tuple[Flow, ...]]
    ) -> tuple[Flow, ...]:
        """The required flows of a run document, checked as a run's flows are; a year of runs
        mostly shares one list, checked once (`seen`: by its JSON text)."""
        display = f"{self.display} (run {run_id})"
        try:
            doc = parse_json(self._text(run_id, document), display)
        except InputError as exc:
            raise self._bad_row(run_id, f"its document is damaged: {exc.problems[0]}") from None
        if not is_run_document(doc):
            raise self._bad_row(run_id, "its document is not an audit run document")
        key = json.dumps(doc.get("flows"), sort_keys=True)
        flows = seen.get(key)
        if flows is None:
            value, problems = decode(tuple[Flow, ...], doc.get("flows"), "flows")
            if value is None:
                raise self._bad_row(run_id, str(Problem(display, None, *problems[0])))
            flows = seen[key] = value
        return flows

    def _record(self, run_id: str, seq: int, row: tuple[Any, ...]) -> ProbeRecord:
        """One record row (its columns as its digest covers them): from its JSON when it holds
        a certificate, else from its columns (checked as the decoder checks them)."""
        display = f"{self.display} (run {run_id})"
        _, source, destination, protocol, port, provider, check, status, reason, doc = row
        if isinstance(doc, str) and CERT_MARK in doc:
            return self._decode_record(run_id, display, seq, doc)
        columns = (source, destination, protocol, provider, check, status, reason)
        if not all(isinstance(v, str) for v in columns) or type(port) is not int:
            raise self._bad_row(run_id, f"records[{seq}]: a column is not of its type")
        if check not in _CHECKS or protocol not in _PROTOCOLS or not 0 <= port <= 65535:
            raise self._bad_row(
                run_id,
                f"records[{seq}]: its check, protocol or port is not a known one "
                f"({quoted(check)}, {quoted(protocol)}, {port})",
            )
        try:
            state = Status(status)
        except ValueError:
            raise self._bad_row(
                run_id, f"records[{seq}]: its status {quoted(status)} is not a known status"
            ) from None
        return ProbeRecord(source, destination, protocol, port, provider, check, state, reason)

    def _decode_record(self, run_id: str, display: str, seq: int, rec: object) -> ProbeRecord:
        try:
            data = parse_json(rec, display) if isinstance(rec, str) else None
        except InputError:
            data = None
        record, problems = decode(ProbeRecord, data, f"records[{seq}]")
        if record is None:
            raise self._bad_row(run_id, str(Problem(display, None, *problems[0])))
        return record

    def _inflate(self, run_id: str, packed: object) -> str:
        """A compressed document, at most MAX_DOCUMENT bytes once inflated (a forged row
        cannot make it a memory bomb)."""
        if not isinstance(packed, bytes | memoryview):
            raise self._bad_row(run_id, "its compressed document is not bytes")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(bytes(packed), MAX_DOCUMENT + 1)
        except zlib.error:
            raise self._bad_row(run_id, "its compressed document is damaged") from None
        if len(text) > MAX_DOCUMENT or inflater.unconsumed_tail:
            raise self._bad_row(run_id, "its document is larger than 64 MiB")
        if not inflater.eof:  # cut short: what it gives is part of a document
            raise self._bad_row(run_id, "its compressed document is damaged (cut short)")
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise self._bad_row(run_id, "its document is not UTF-8") from None

    def _decode_run(self, run_id: str, document: object, recs: list[object]) -> AuditRun:
        display = f"{self.display} (run {run_id})"
        if not isinstance(document, str) or not all(isinstance(r, str) for r in recs):
            raise self._bad_row(run_id, "a document column is not text")
        try:
            doc = parse_json(document, display)
            if isinstance(doc, dict):
                doc["records"] = []  # kept in their own table, read below
            run = run_from_document(doc, document, display)
        except InputError as exc:
            raise self._bad_row(run_id, f"its document is damaged: {exc.problems[0]}") from None
        decoded: list[ProbeRecord] = []
        for seq, rec in enumerate(recs):
            try:
                data = parse_json(rec, display)  # type: ignore[arg-type]
            except InputError:
                raise self._bad_row(
                    run_id, f"records[{seq}]: its document is not valid JSON"
                ) from None
            record, problems = decode(ProbeRecord, data, f"records[{seq}]")
            if record is None:
                raise self._bad_row(run_id, str(Problem(display, None, *problems[0])))
            decoded.append(record)
        return replace(run, records=tuple(decoded))

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

    def forget_connections(self, *, keep_open: bool = False) -> None:
        """In a forked child: drop the engines inherited from the parent without touching
        their connections (the parent's); the child opens its own. With `keep_open` (a worker
        that records many runs) the child's writer keeps its one connection open between
        transactions, each still its own: no connect and close per run, and on SQLite no WAL
        checkpoint and WAL file removal and re-creation per run. `dispose()` closes it."""
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines = {}
        self._keep_open = keep_open

    def dispose(self) -> None:
        """Close the pooled connections (a server store keeps a few open)."""
        for engine in self._engines.values():
            engine.dispose()


def _as_text(value: object) -> str:
    """A column of a damaged row, shown: text as it is, anything else as JSON would write it."""
    return value if isinstance(value, str) else quoted(value)


def run_order(runs: Any) -> tuple[Any, ...]:
    """Oldest first: by start time (whole seconds), then the order the store recorded them
    in (schema 4's `seq`: runs of the same second), then by id (never needed: seq is
    unique; it keeps the order total)."""
    return (runs.c.started_at, runs.c.seq, runs.c.run_id)


def drift_json(drift: DriftReport) -> dict[str, Any]:
    """What a run keeps of its drift: the baseline and the items that matter."""
    return {
        "baseline": drift.baseline_id,
        "baseline_verdict": drift.baseline_verdict,
        "items": [i.to_json() for i in drift.items if i.matters],
    }


def judged_columns(runs: Any) -> list[Any]:
    """The run row's columns its digest covers (auditor.history.digest.RUN_DIGESTED)."""
    return [runs.c[c] for c in RUN_DIGESTED]


# a record row's columns its run's digest covers, in this order (auditor.history.digest)
RECORD_DIGESTED = ("seq", "source", "destination", "protocol", "port", "provider", "check",
                   "status", "reason", "document")  # fmt: skip


def record_rows(run_id: str, recs: Sequence[ProbeRecord]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "seq": i,
            "source": r.source,
            "destination": r.destination,
            "protocol": r.protocol,
            "port": r.port,
            "provider": r.provider,
            "check": r.check,
            "status": r.status.value,
            "reason": r.reason,
            "document": json.dumps(to_json(r), sort_keys=True),
        }
        for i, r in enumerate(recs)
    ]


_CHECKS = frozenset(c.value for c in Check)
_VERDICTS = frozenset(v.value for v in Verdict)
_PASSING = frozenset({Verdict.COMPLIANT.value, Verdict.UNPROVEN.value})  # no finding in them
# how run times are written: `utc_stamp` (Z), or +00:00 by the auditor of schema 1
_UTC_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|\+00:00)"
)
_PROTOCOLS = frozenset(p.value for p in Protocol)
CERT_MARK = '"days_left"'  # a record's JSON holds this key when it holds a certificate


_COUNT_KEYS = frozenset({"flows", "ok", "blocked", "failed", "error", "unverified", "lint_errors"})


def _fast_counts(text: str) -> dict[str, int] | None:
    """The counts as this auditor writes them, read without the general decoder (the fleet
    report reads tens of thousands); None sends anything else through the checked path."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if (
        isinstance(value, dict)
        and value.keys() <= _COUNT_KEYS
        and all(type(v) is int and 0 <= v < 10**9 for v in value.values())
    ):
        return value
    return None
