"""The SQLAlchemy engines of the history store (auditor.history.store): how an SQLite file is
opened for reading and for writing, and how a database server is reached."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditor.history.location import StoreLocation

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 60_000


def make_engine(location: StoreLocation, *, write: bool, keep: bool = False) -> Engine:
    """The engine a store reads or writes through: SQLite with our own transactions (BEGIN
    IMMEDIATE for writers, read-only opens for readers), a server without a pool. With `keep`,
    the one connection (per thread) stays open between transactions instead of being closed
    after each: for a process that records many runs one after the other."""
    from sqlalchemy import create_engine, event  # noqa: PLC0415
    from sqlalchemy.pool import NullPool, SingletonThreadPool  # noqa: PLC0415

    pool: dict[str, Any] = (
        {"poolclass": SingletonThreadPool, "pool_size": 1} if keep else {"poolclass": NullPool}
    )
    if location.path is None:
        return create_engine(location.url, **pool)
    if write:
        url = f"sqlite+pysqlite:///{location.path}"
    else:
        # Readers open the file read-only: looking at a file (perhaps not ours) never
        # changes it.
        url = f"sqlite+pysqlite:///file:{quote(str(location.path.absolute()))}?mode=ro&uri=true"
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **pool)
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # The transactions are ours (BEGIN below), not the sqlite3 module's implicit ones.
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dbapi_conn.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def switch_to_wal(dbapi_conn: Any) -> None:
    """Put an SQLite file in write-ahead-log mode, waiting for other writers as a write does.

    SQLite answers `PRAGMA journal_mode = WAL` with "database is locked" at once, without its
    busy handler, while another connection holds a write transaction (the switch needs the
    file to itself, and waiting could deadlock): two audits starting together on a new store
    met exactly that, one of them lost with a raw sqlite3 error. So a file already in WAL is
    left alone, and a busy switch is tried again until the busy timeout has passed."""
    import sqlite3  # noqa: PLC0415

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            if dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
