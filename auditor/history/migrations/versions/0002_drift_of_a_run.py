"""Schema 2: each run keeps the drift it measured against its baseline (what the fleet report
shows as "drift that matters" without comparing runs again) and where its report folder was
written (what the fleet report links to). SQLite `user_version` 2, so an
auditor of schema 1 refuses to write a file it no longer understands.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        # JSON: {"baseline": RUN_ID, "items": [the drift items that matter]}; NULL: not measured
        batch.add_column(sa.Column("drift", sa.Text, nullable=True))
        # the report folder's absolute path; NULL: not written (or written before schema 2)
        batch.add_column(sa.Column("report", sa.Text, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 2")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("report")
        batch.drop_column("drift")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 1")
