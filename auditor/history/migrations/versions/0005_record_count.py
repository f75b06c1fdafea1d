"""Schema 5: every run row carries how many records it was written with (`record_count`), so
a record row deleted (or added) by hand is a damaged run, not a silently shorter one. Runs
already in the store are counted as they stand when the store upgrades. And the table
`retired`: each pair whose history was retired (`auditor history retire`), when, and how many
runs it held, so a pair that left the fleet report left it on purpose.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("record_count", sa.Integer, nullable=True))
    op.execute(
        "UPDATE runs SET record_count = "
        "(SELECT count(*) FROM records WHERE records.run_id = runs.run_id)"
    )
    op.create_table(
        "retired",
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("retired_at", sa.Text, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("newest", sa.Text, nullable=True),  # the newest run it held (its start)
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 5")


def downgrade() -> None:
    op.drop_table("retired")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("record_count")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 4")
