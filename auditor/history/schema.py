"""The store's tables at the newest revision, as SQLAlchemy Core sees them for queries. The
migrations (`migrations/versions/`) are what create and change them; `tests/test_store_url.py`
checks that a migrated database has exactly these columns."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, MetaData, Table, Text

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("site", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    Column("inventory_digest", Text, nullable=False),
    Column("verdict", Text, nullable=False),
    Column("counts", Text, nullable=False),
    Column("document", Text, nullable=False),
    Column("complete", Integer, nullable=False),
    Column("drift", Text, nullable=True),
    Column("report", Text, nullable=True),
    Column("document_z", LargeBinary, nullable=True),
    # the order the store recorded the run in (schema 4): orders runs of the same second
    Column("seq", BigInteger, nullable=True),
    # how many records the run was written with (schema 5): a deleted record row is damage
    Column("record_count", Integer, nullable=True),
    # the digest of its records (schema 6, auditor.history.digest): an edited record is damage
    Column("record_digest", Text, nullable=True),
)

RUN_SEQUENCE = "auditor_runs_seq"  # a database server's source of `seq` (SQLite: max + 1)

records = Table(
    "records",
    metadata,
    Column("run_id", Text, ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("destination", Text, nullable=False),
    Column("protocol", Text, nullable=False),
    Column("port", Integer, nullable=False),
    Column("provider", Text, nullable=False),
    Column("check", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("document", Text, nullable=False),
)

# each pair whose history was retired (`auditor history retire`, schema 5): not silent
retired = Table(
    "retired",
    metadata,
    Column("site", Text, nullable=False),
    Column("retired_at", Text, nullable=False),
    Column("runs", Integer, nullable=False),
    Column("newest", Text, nullable=True),
)
