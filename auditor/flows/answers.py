"""The answers of `flows.questions` as text, CSV and JSON, in the shapes of the flow list
(`flows.export`): the same columns, plus what the question adds. Pure: data in, text out."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from auditor.flows.export import CSV_JOIN, FLOW_FIELDS, flow_to_json, flows_table_rows
from auditor.flows.questions import Change, FailoverImpact, SourceNeeds

# Columns of the failover table, and the CSV columns around the flow's own.
IMPACT_HEADER: tuple[str, ...] = (
    "change",
    "source",
    "role",
    "destination",
    "port",
    "provider",
    "needed before",
    "needed after",
)


def _names(appliances: frozenset[str]) -> list[str]:
    return sorted(appliances)


def impact_title(impact: FailoverImpact, site: str) -> str:
    counts = {c: len(impact.of(c)) for c in Change}
    return (
        f"Failover {impact.before.value} -> {impact.after.value} for {site}: "
        f"{counts[Change.STARTS]} flow(s) start, {counts[Change.STOPS]} stop, "
        f"{counts[Change.MOVES]} move to another appliance, {impact.unchanged} unchanged"
    )


def impact_table_rows(impact: FailoverImpact) -> list[tuple[str, ...]]:
    """IMPACT_HEADER first, then one row per changed flow."""
    rows: list[tuple[str, ...]] = [IMPACT_HEADER]
    for change in impact.changes:
        base = flows_table_rows([change.flow])[1]
        source, role, destination, port, provider = base[:5]
        rows.append(
            (
                change.change.value,
                source,
                role,
                destination,
                port,
                provider,
                ", ".join(_names(change.before)) or "-",
                ", ".join(_names(change.after)) or "-",
            )
        )
    return rows


def _change_json(impact: FailoverImpact) -> list[dict[str, Any]]:
    return [
        {
            "change": c.change.value,
            **flow_to_json(c.flow),
            "needed_before": _names(c.before),
            "needed_after": _names(c.after),
        }
        for c in impact.changes
    ]


def impact_to_json(impact: FailoverImpact) -> str:
    """{"before", "after", per-change counts, "unchanged", "count", "changes": [...]}."""
    doc: dict[str, Any] = {"before": impact.before.value, "after": impact.after.value}
    doc.update({c.value: len(impact.of(c)) for c in Change})
    doc.update(unchanged=impact.unchanged, count=len(impact.changes), changes=_change_json(impact))
    return json.dumps(doc, indent=2) + "\n"


def impact_to_csv(impact: FailoverImpact) -> str:
    """The flow CSV's columns between "change" and "needed_before", "needed_after"."""
    fields = ("change", *FLOW_FIELDS, "needed_before", "needed_after")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for doc in _change_json(impact):
        writer.writerow(
            CSV_JOIN.join(doc[f]) if isinstance(doc[f], list) else doc[f] for f in fields
        )
    return out.getvalue()


def _held(needs: SourceNeeds) -> str:
    return "; ".join(
        f"{state.value}: {', '.join(apps) or 'nobody'}" for state, apps in needs.held_by.items()
    )


def needs_title(needs: SourceNeeds) -> str:
    providers = ", ".join(needs.providers) or "nothing"
    return (
        f"{needs.ip} ({needs.role.value}; {_held(needs)}) needs {providers}: "
        f"{len(needs.flows)} flow(s)"
    )


def needs_to_json(needs: SourceNeeds) -> str:
    """The flow list document with the source, its holders per state and its providers."""
    doc = {
        "source": str(needs.ip),
        "role": needs.role.value,
        "held_by": {s.value: list(apps) for s, apps in needs.held_by.items()},
        "providers": list(needs.providers),
        "count": len(needs.flows),
        "flows": [flow_to_json(f) for f in needs.flows],
    }
    return json.dumps(doc, indent=2) + "\n"
