"""Damage to a SQLite history store, as a tool that rewrites records would leave it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from auditor.history.digest import records_digest
from auditor.history.store import RECORD_DIGESTED


def redigest(path: Path) -> None:
    """Write each run's record digest again from its records as they now stand (schema 6): a
    record edited this way passes the digest, and only the checks of its columns and its
    document stand between it and a report."""
    columns = ", ".join(f'"{c}"' for c in RECORD_DIGESTED)
    conn = sqlite3.connect(path)
    try:
        with conn:
            for (run_id,) in conn.execute("SELECT run_id FROM runs").fetchall():
                rows = conn.execute(
                    f"SELECT {columns} FROM records WHERE run_id = ? ORDER BY seq",
                    (run_id,),
                ).fetchall()
                conn.execute(
                    "UPDATE runs SET record_digest = ? WHERE run_id = ?",
                    (records_digest(rows), run_id),
                )
        conn.execute("PRAGMA journal_mode = DELETE")  # the command finds a settled file
    finally:
        conn.close()
