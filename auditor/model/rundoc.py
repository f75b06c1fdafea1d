"""A finished audit run as a JSON document and back: what the history store keeps and what
`auditor drift --baseline FILE` reads. Its shape is `AuditRun`'s (auditor.model.findings), written,
read and described by the codec; the inventory's copy inside is written and read by the
inventory's definition (auditor.model.inventory_copy). No secret is ever in it: a bind spec
names where the password comes from (an environment variable or a file), never the password."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from netaddr import IPAddress

from auditor.documents.codec import to_json
from auditor.documents.describe import def_name, json_schema
from auditor.documents.jsonsource import decoded
from auditor.errors import InputError, Problem
from auditor.model.findings import AuditRun
from auditor.model.inventory import Flow

FORMAT = "auditor-run"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
# Readers of version 1 before the codec took a destination for an address unless told: still
# told, and ignored when read (the codec tells an address from a hostname by itself).
_IS_IP = "destination_is_ip"


def run_to_json(run: AuditRun, *, with_records: bool = True) -> dict[str, Any]:
    """The run as plain JSON data (keys sorted on dump for stable files)."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, **to_json(run)}
    for flow, written in zip(run.flows, doc["flows"], strict=True):
        written[_IS_IP] = isinstance(flow.destination, IPAddress)
    if not with_records:
        del doc["records"]  # the history store keeps them in their own table
    return doc


def dumps(run: AuditRun, document: Mapping[str, Any] | None = None) -> str:
    """run.json's text; `document` is `run_to_json(run)` when the caller has it already."""
    doc = run_to_json(run) if document is None else document
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def is_run_document(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def run_from_document(doc: Any, source: str, display: str) -> AuditRun:
    """A parsed run document, checked field by field (`source` is its text, for lines)."""
    if not is_run_document(doc):
        message = f"not an audit run document (expected format: {FORMAT})"
        raise InputError([Problem(display, None, "format", message)])
    return decoded(AuditRun, doc, source, display)


def run_schema() -> dict[str, Any]:
    """The JSON Schema of a run document (auditor/schemas/run.schema.json)."""
    schema = json_schema(
        AuditRun,
        envelope={"format": {"const": FORMAT}, "version": {"const": VERSION}},
        head={
            "$id": "https://example.invalid/auditor/run.schema.json",
            "title": f"auditor audit run ({FORMAT}, version {VERSION})",
            "description": "Written by `auditor audit` (run.json, the history store): the "
            "inventory, flows, lint findings, probe records, verdict and snippets of one run.",
        },
    )
    flow = schema["$defs"][def_name(Flow)]
    flow["properties"][_IS_IP] = {"type": "boolean", "description": "false: a hostname"}
    return schema
