"""Schema 4: every run gets `seq`, the order the store recorded it in (monotonic). Runs
recorded within the same second have the same `started_at` (whole seconds), so `seq` is what
orders them: the newest run, a drift's baseline and a trend's order no longer depend on how
their ids sort. Runs already in the store are numbered by (started_at, run_id), the order
they were read in before; a new run takes max(seq) + 1 under SQLite's write lock, or the
next value of the sequence `auditor_runs_seq` on a database server.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEQUENCE = "auditor_runs_seq"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=True))
    op.execute(
        "UPDATE runs SET seq = ordered.n FROM (SELECT run_id, row_number() OVER "
        "(ORDER BY started_at, run_id) AS n FROM runs) AS ordered "
        "WHERE runs.run_id = ordered.run_id"
    )
    # a pair's runs newest first, with what the fleet report aggregates (a covering index:
    # an SQLite run row is long, its compressed document inline)
    op.create_index(
        "runs_fleet",
        "runs",
        [
            "site",
            sa.text("started_at DESC"),
            sa.text("seq DESC"),
            sa.text("run_id DESC"),
            "verdict",
            "complete",
        ],
    )
    op.create_index("runs_seq", "runs", ["seq"])  # max(seq) + 1
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE {SEQUENCE}")
        op.execute(
            f"SELECT setval('{SEQUENCE}', COALESCE((SELECT max(seq) FROM runs), 0) + 1, false)"  # noqa: S608 (a constant)
        )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SEQUENCE {SEQUENCE}")
    op.drop_index("runs_seq", table_name="runs")
    op.drop_index("runs_fleet", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("seq")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 3")
