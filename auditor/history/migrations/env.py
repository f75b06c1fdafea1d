"""Alembic's environment for the history store: always run by `auditor.history.migrate` on a
connection it opened (inside its own transaction, under its lock); never from the alembic CLI
with a URL of its own."""

from __future__ import annotations

from alembic import context

from auditor.history.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most of a table: batch mode copies it when a change needs that.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
