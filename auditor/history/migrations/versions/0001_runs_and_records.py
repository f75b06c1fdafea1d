"""The first history store (schema 1, SQLite `user_version` 1): one row per run, one per record.

SQLite files written before the store moved to SQLAlchemy hold exactly these tables; they are
stamped at this revision (not created again) and upgraded from here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text, nullable=False),
        sa.Column("inventory_digest", sa.Text, nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("complete", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("runs_site_started", "runs", ["site", "started_at"])
    op.create_table(
        "records",
        sa.Column(
            "run_id",
            sa.Text,
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("protocol", sa.Text, nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("check", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("records")
    op.drop_index("runs_site_started", table_name="runs")
    op.drop_table("runs")
