"""Damage to a SQLite history store, as a tool that rewrites records would leave it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from auditor.history.digest import RUN_DIGESTED, records_digest, run_digest
from auditor.history.store import RECORD_DIGESTED


def redigest(path: Path) -> None:
    """Write each run's digest again from its row and its records as they now stand (schema
    6): a record edited this way passes the digest, and only the checks of its columns and its
    document stand between it and a report."""
    columns = ", ".join(f'"{c}"' for c in RECORD_DIGESTED)
    conn = sqlite3.connect(path)
    try:
        with conn:
            judged = ", ".join(f'"{c}"' for c in RUN_DIGESTED)
            for run in conn.execute(f"SELECT {judged} FROM runs").fetchall():
                run_id = run[0]
                rows = conn.execute(
                    f"SELECT {columns} FROM records WHERE run_id = ? ORDER BY seq",
                    (run_id,),
                ).fetchall()
                conn.execute(
                    "UPDATE runs SET record_digest = ? WHERE run_id = ?",
                    (run_digest(run, records_digest(rows)), run_id),
                )
        conn.execute("PRAGMA journal_mode = DELETE")  # the command finds a settled file
    finally:
        conn.close()
