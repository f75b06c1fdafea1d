"""Readers of what the product writes but never reads back itself: a probe journal, a run
document file, a store's integrity. The tests read with them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from auditor.documents.codec import from_json
from auditor.documents.jsonsource import load_json
from auditor.history.store import Store
from auditor.model.findings import AuditRun
from auditor.model.record import ProbeRecord
from auditor.model.rundoc import MAX_BYTES, run_from_document


def read_journal(path: Path) -> tuple[ProbeRecord, ...]:
    """The records of a journal; a torn last line (a crash mid-write) is ignored."""
    records: list[ProbeRecord] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            records.append(from_json(ProbeRecord, json.loads(line)))
    return tuple(records)


def read_run_file(path: Path) -> AuditRun:
    """A run document written by `dumps` (for example `run.json` in a report folder), checked
    field by field: InputError with one located line per problem."""
    doc, source = load_json(path, str(path), MAX_BYTES, "an audit run document")
    return run_from_document(doc, source, str(path))


def integrity_check(store: Store) -> str:
    """SQLite's own check of a store file: "ok" when sound."""
    with sqlite3.connect(store.path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
