"""The results document: run metadata, one record per flow and check, summary counts.

Written atomically (a temporary file renamed over the target); read back, validated, by
`read_results`, which is how the rules and report stages consume probe evidence.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from auditor import __version__
from auditor.documents.codec import shown, to_json
from auditor.documents.describe import def_name, json_schema
from auditor.documents.fields import TIMESTAMP
from auditor.documents.jsonsource import decoded, load_json, placed
from auditor.errors import InputError, Problem
from auditor.model.record import ProbeRecord, Status
from auditor.outputs import write_atomic
from auditor.textout import quoted

FORMAT = "auditor-results/1"
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RunMeta:
    tool_version: str
    inventory: str
    inventory_digest: str
    probing_host: str
    started_at: Annotated[str, TIMESTAMP]  # ISO 8601 UTC, "Z"
    finished_at: Annotated[str, TIMESTAMP]  # the records' time when they have none of their own
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResultsDocument:
    meta: RunMeta
    records: tuple[ProbeRecord, ...]

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.records)


def utc_stamp(moment: datetime) -> str:
    """`2026-11-30T08:15:00Z`: how every document writes a moment."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def results_document(
    *,
    inventory: Path,
    digest: str,
    host: str,
    started: datetime,
    finished: datetime,
    options: Mapping[str, Any],
    records: tuple[ProbeRecord, ...],
) -> ResultsDocument:
    """The results document of a run (`probe` and `audit` alike)."""
    return ResultsDocument(
        meta=RunMeta(
            tool_version=__version__,
            inventory=str(inventory),
            inventory_digest=digest,
            probing_host=host,
            started_at=utc_stamp(started),
            finished_at=utc_stamp(finished),
            options=dict(options),
        ),
        records=records,
    )


def results_to_json(doc: ResultsDocument) -> dict[str, Any]:
    """The document as plain JSON data: its format, its fields, and counts by status."""
    return {"format": FORMAT, **to_json(doc), "summary": doc.summary}


def summarize(records: Iterable[ProbeRecord]) -> dict[str, int]:
    """Counts by status, every status present (zero when none), in vocabulary order."""
    counts = Counter(r.status for r in records)
    return {s.value: counts.get(s, 0) for s in Status}


def dumps(doc: ResultsDocument) -> str:
    return json.dumps(results_to_json(doc), indent=2, sort_keys=False) + "\n"


def write_results(path: Path, doc: ResultsDocument) -> None:
    """Write atomically: readers see the old file or the whole new one, never a torn one (and
    never a device or a FIFO replaced by a file)."""
    write_atomic(path, dumps(doc))


def read_results(path: Path, display: str | None = None) -> ResultsDocument:
    """Read and validate a results document; InputError with one located line per problem."""
    name = display or str(path)
    data, text = load_json(path, name, MAX_BYTES, "a results document")
    return results_from_json(data, text, name)


def results_from_json(data: Any, text: str, name: str) -> ResultsDocument:
    """A parsed results document, checked field by field (`text` is its source, for lines)."""
    if not isinstance(data, dict):
        raise InputError([Problem(name, 1, "", "expected a JSON object (a results document)")])
    if data.get("format") != FORMAT:
        message = (
            f"is {shown(data.get('format'))} (expected {quoted(FORMAT)}: an auditor probe result)"
        )
        raise InputError(placed([("format", message)], text, name))
    return decoded(ResultsDocument, data, text, name)


def results_schema() -> dict[str, Any]:
    """The JSON Schema of a results document (auditor/schemas/results.schema.json)."""
    schema = json_schema(
        ResultsDocument,
        envelope={"format": {"const": FORMAT}},
        head={
            "$id": "https://example.invalid/auditor/results.schema.json",
            "title": f"auditor probe results ({FORMAT})",
            "description": "Written by `auditor probe`: run metadata, one record per flow and "
            "check, summary counts by status.",
        },
    )
    schema["properties"]["summary"] = {
        "type": "object",
        "description": "Number of records per status",
        "propertyNames": {"$ref": f"#/$defs/{def_name(Status)}"},
        "additionalProperties": {"type": "integer", "minimum": 0},
    }
    schema["required"].append("summary")
    return schema
