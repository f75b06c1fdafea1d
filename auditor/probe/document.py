"""The results document: run metadata, one record per flow and check, summary counts.

Written atomically (a temporary file renamed over the target); read back, validated, by
`read_results`, which is how the rules and report stages consume probe evidence.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.documents.jsoncheck import JsonChecker, an_object, check_record, shown
from auditor.documents.jsonsource import load_json
from auditor.errors import InputError, Problem
from auditor.evidence.record import ProbeRecord, Status
from auditor.filemode import file_mode

FORMAT = "auditor-results/1"
MAX_BYTES = 64 * 1024 * 1024

_META_STR = ("tool_version", "inventory", "inventory_digest", "probing_host")
_META_TIME = ("started_at", "finished_at")


@dataclass(frozen=True, slots=True)
class RunMeta:
    tool_version: str
    inventory: str
    inventory_digest: str
    probing_host: str
    started_at: str  # ISO 8601 UTC, "Z"
    finished_at: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool_version": self.tool_version,
            "inventory": self.inventory,
            "inventory_digest": self.inventory_digest,
            "probing_host": self.probing_host,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "options": dict(self.options),
        }


@dataclass(frozen=True, slots=True)
class ResultsDocument:
    meta: RunMeta
    records: tuple[ProbeRecord, ...]

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.records)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meta": self.meta.to_json(),
            "records": [r.to_json() for r in self.records],
            "summary": self.summary,
        }


def summarize(records: Iterable[ProbeRecord]) -> dict[str, int]:
    """Counts by status, every status present (zero when none), in vocabulary order."""
    counts = Counter(r.status for r in records)
    return {s.value: counts.get(s, 0) for s in Status}


def dumps(doc: ResultsDocument) -> str:
    return json.dumps(doc.to_json(), indent=2, sort_keys=False) + "\n"


def write_results(path: Path, doc: ResultsDocument) -> None:
    """Write atomically: readers see the old file or the whole new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())  # mkstemp's 0600 is for secrets; results are shared
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(doc))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_results(path: Path, display: str | None = None) -> ResultsDocument:
    """Read and validate a results document; InputError with one located line per problem."""
    name = display or str(path)
    data, text = load_json(path, name, MAX_BYTES, "a results document")
    return results_from_json(data, text, name)


def results_from_json(data: Any, text: str, name: str) -> ResultsDocument:
    """A parsed results document, checked field by field (`text` is its source, for lines)."""
    checker = JsonChecker(name, text)
    if not isinstance(data, dict):
        raise InputError([Problem(name, 1, "", "expected a JSON object (a results document)")])
    if data.get("format") != FORMAT:
        checker.add(
            "format",
            f"is {shown(data.get('format'))} (expected {FORMAT!r}: an auditor probe result)",
        )
        raise InputError(checker.in_file_order())
    meta = checker.field(data, "meta", "", an_object, "an object: the run's metadata")
    if meta is not None:
        for key in (*_META_STR, *_META_TIME):
            checker.string(meta, key, "meta")
        checker.field(meta, "options", "meta", an_object, "an object", optional=True)
    records: list[ProbeRecord] = []
    for where, rec in checker.items(data, "records", "", "a list of probe records"):
        if check_record(checker, rec, where):
            try:
                records.append(ProbeRecord.from_json(rec))
            except (KeyError, TypeError, ValueError) as exc:
                checker.add(where, f"unreadable record ({exc})")
    if checker.problems or meta is None:
        raise InputError(checker.in_file_order())
    options = meta.get("options") or {}
    return ResultsDocument(
        meta=RunMeta(
            tool_version=meta["tool_version"],
            inventory=meta["inventory"],
            inventory_digest=meta["inventory_digest"],
            probing_host=meta["probing_host"],
            started_at=meta["started_at"],
            finished_at=meta["finished_at"],
            options=options,
        ),
        records=tuple(records),
    )
