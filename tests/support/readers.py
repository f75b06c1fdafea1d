"""Readers of what the product writes but never reads back itself: a probe journal, a run
document file, a store's integrity, any model value (`from_json`). The tests read with them."""

from __future__ import annotations

import json
import sqlite3
import typing
from pathlib import Path
from typing import Any, TypeVar

from auditor.documents.codec import decode
from auditor.documents.jsonsource import load_json
from auditor.history.store import Store
from auditor.model.findings import AuditRun
from auditor.model.record import ProbeRecord
from auditor.model.rundoc import MAX_BYTES, run_from_document

T = TypeVar("T")


class DecodeError(ValueError):
    """A value that does not fit its field; `path` says where (`pair.primary.addresses[0]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def from_json(cls: type[T], data: Any, path: str = "") -> T:
    """The dataclass `cls` rebuilt from `codec.to_json` output; DecodeError names the first
    field that does not fit (the product reads with `codec.decode`, which keeps them all)."""
    value, problems = decode(cls, data, path)
    if problems:
        raise DecodeError(*problems[0])
    return typing.cast(T, value)


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
