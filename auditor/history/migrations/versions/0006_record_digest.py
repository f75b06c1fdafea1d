"""Schema 6: every run row carries the digest of its judged columns and its records
(`record_digest`, auditor.history.digest.run_digest), so a record row, or the run's verdict
and counts, edited by hand into other valid values is a damaged run, not a silently different
one. Runs already in the store are digested as they stand when the store upgrades (their
records read once, in order; a store of a year of a 200-pair fleet takes tens of seconds,
once).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from auditor.history.digest import RUN_DIGESTED, records_digest, run_digest

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_RUNS = sa.table("runs", *(sa.column(c) for c in RUN_DIGESTED), sa.column("record_digest", sa.Text))
_RECORD_COLUMNS = ("run_id", "seq", "source", "destination", "protocol", "port", "provider",
                   "check", "status", "reason", "document")  # fmt: skip
_RECORDS = sa.table("records", *(sa.column(c) for c in _RECORD_COLUMNS))


def _records_digests(conn: sa.Connection) -> Iterator[tuple[object, str | None]]:
    """Each run that holds records, with the digest of its records (one ordered pass)."""
    query = (
        sa.select(*_RECORDS.c)
        .order_by(_RECORDS.c.run_id, _RECORDS.c.seq)
        .execution_options(yield_per=10_000)  # streamed (a server-side cursor on PostgreSQL)
    )
    run_id: object = None
    rows: list[tuple[object, ...]] = []
    for row in conn.execute(query):
        if rows and row[0] != run_id:
            yield run_id, records_digest(rows)
            rows = []
        run_id = row[0]
        rows.append(tuple(row[1:]))
    if rows:
        yield run_id, records_digest(rows)


def _digests(conn: sa.Connection) -> Iterator[dict[str, object]]:
    """Each run with its digest: its judged columns and its records as they stand."""
    held = dict(_records_digests(conn))
    no_records = records_digest(())
    query = sa.select(*(_RUNS.c[c] for c in RUN_DIGESTED)).execution_options(yield_per=10_000)
    for row in conn.execute(query):
        yield {"id": row[0], "digest": run_digest(tuple(row), held.get(row[0], no_records))}


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("record_digest", sa.Text, nullable=True))
    conn = op.get_bind()
    found = list(_digests(conn))
    update = (
        sa.update(_RUNS)
        .where(_RUNS.c.run_id == sa.bindparam("id"))
        .values(record_digest=sa.bindparam("digest"))
    )
    for start in range(0, len(found), 5_000):
        conn.execute(update, found[start : start + 5_000])
    if conn.dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 6")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("record_digest")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 5")
