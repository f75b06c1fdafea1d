"""The store's schema, brought to the newest revision by Alembic (migrations in
`auditor/history/migrations/versions/`), inside the caller's transaction and lock.

Three kinds of database arrive here: an empty one (every revision runs), one written by this
auditor (its version table names a revision: the newer ones run), and an SQLite file written
before the store had a version table (`PRAGMA user_version` 1 and the tables of revision 0001:
stamped there, then upgraded in place). Anything else with tables in it is not ours and is
refused before anything is changed.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, inspect, select, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "auditor_schema_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LEGACY_REVISION = "0001"  # what an SQLite file of `user_version` 1 holds
# Every PostgreSQL session that migrates takes this lock first (an arbitrary constant, the
# store's own): two first runs at once create the tables once.
ADVISORY_LOCK = 0x61756469746F72


class Found(Enum):
    EMPTY = "empty"
    OURS = "ours"
    LEGACY = "legacy"
    FOREIGN = "foreign"


def what_is_there(conn: Connection) -> Found:
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE in tables:
        return Found.OURS
    if not tables:
        return Found.EMPTY
    if conn.dialect.name == "sqlite" and {"runs", "records"} <= tables:
        version = conn.exec_driver_sql("PRAGMA user_version").scalar()
        if version == 1:
            return Found.LEGACY
    return Found.FOREIGN


def _config(conn: Connection):  # type: ignore[no-untyped-def]  # alembic.config.Config
    from alembic.config import Config  # noqa: PLC0415 (alembic only where a store is written)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


# The newest revision in migrations/versions/ (tests/test_store_url.py holds it equal to
# Alembic's own head): every read compares with it, without importing alembic.
HEAD = "0006"


def head() -> str:
    """The newest revision this auditor knows."""
    return HEAD


def current(conn: Connection) -> str | None:
    """The revision the database is at (None: no version table, or no row in it)."""
    if VERSION_TABLE not in inspect(conn).get_table_names():
        return None
    # read directly (alembic's import costs a third of a second on every read command)
    table = Table(VERSION_TABLE, MetaData(), Column("version_num", String))
    rows = conn.execute(select(table.c.version_num)).scalars().all()
    return rows[0] if len(rows) == 1 else None


def upgrade(conn: Connection, found: Found) -> None:
    """Bring an EMPTY, OURS or LEGACY database to the newest revision, on `conn`, inside its
    open transaction (the caller commits or rolls back)."""
    from alembic import command  # noqa: PLC0415

    config = _config(conn)
    if found is Found.LEGACY:
        command.stamp(config, LEGACY_REVISION)
    command.upgrade(config, "head")


def lock(conn: Connection) -> None:
    """Serialise migrations on a database server (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
