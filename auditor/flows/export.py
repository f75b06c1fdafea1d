"""The required flows as CSV, JSON or table rows. Pure: flows in, text out, in the order given
(`flows.prepare` already sorts them)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from auditor.model.inventory import BOTH_STATES, FailoverState, Flow
from auditor.textout import csv_cell

# CSV and JSON columns, in order.
FLOW_FIELDS: tuple[str, ...] = (
    "source",
    "source_role",
    "destination",
    "protocol",
    "port",
    "providers",
    "kind",
    "checks",
    "appliances",
    "states",
    "endpoint",
)
# The first row of `flows_table_rows`.
TABLE_HEADER: tuple[str, ...] = (
    "source",
    "role",
    "destination",
    "port",
    "provider",
    "checks",
    "needed by",
    "states",
)
# Several values in one CSV cell.
CSV_JOIN = " "


def _states(flow: Flow) -> list[str]:
    return [s.value for s in FailoverState if s in flow.states]


def flow_to_json(flow: Flow) -> dict[str, Any]:
    """One flow as plain JSON data (lists for the several-valued attributes)."""
    return {
        "source": str(flow.source),
        "source_role": flow.source_role.value,
        "destination": str(flow.destination),
        "protocol": flow.protocol.value,
        "port": flow.port,
        "providers": list(flow.providers),
        "kind": flow.kind,
        "checks": [c.value for c in flow.checks],
        "appliances": sorted(flow.appliances),
        "states": _states(flow),
        "endpoint": flow.endpoint,
    }


def flows_to_json(flows: Sequence[Flow]) -> str:
    """{"count": N, "flows": [...]}."""
    doc = {"count": len(flows), "flows": [flow_to_json(f) for f in flows]}
    return json.dumps(doc, indent=2) + "\n"


def flows_to_csv(flows: Sequence[Flow]) -> str:
    """A header line, then one line per flow; several values in a cell are space-separated."""
    out = io.StringIO()
    # Every cell quoted, whatever the reader's delimiter (`;` in many locales), and no cell
    # a spreadsheet would read as a formula.
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(FLOW_FIELDS)
    for flow in flows:
        doc = flow_to_json(flow)
        writer.writerow(
            csv_cell(CSV_JOIN.join(doc[f]) if isinstance(doc[f], list) else str(doc[f]))
            for f in FLOW_FIELDS
        )
    return out.getvalue()


def flows_table_rows(flows: Sequence[Flow]) -> list[tuple[str, ...]]:
    """A terminal table: TABLE_HEADER first, then one row per flow."""
    rows: list[tuple[str, ...]] = [TABLE_HEADER]
    for flow in flows:
        destination = str(flow.destination)
        if flow.endpoint != destination:
            destination = f"{destination} ({flow.endpoint})"
        states = "both" if flow.states == BOTH_STATES else ", ".join(_states(flow))
        rows.append(
            (
                str(flow.source),
                flow.source_role.value,
                destination,
                f"{flow.port}/{flow.protocol.value}",
                ", ".join(flow.providers),
                ", ".join(c.value for c in flow.checks),
                ", ".join(sorted(flow.appliances)),
                states,
            )
        )
    return rows
