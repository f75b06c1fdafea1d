"""Schema 3: a run's document (its inventory, flows and every rendered snippet: tens of KiB)
is kept zlib-compressed in `document_z`; `document` stays for runs written before (and is
empty for new ones). A year of nightly runs of 200 pairs then fits in well under 2 GB.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("document_z", sa.LargeBinary, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 3")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("document_z")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA user_version = 2")
