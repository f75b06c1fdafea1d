"""Terminal tables (rich), rendered to text so commands can print or write them."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from auditor.model.findings import flow_results
from auditor.model.inventory import Flow
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import Outcome, source_verdict
from auditor.textout import rich_text

SOURCE_VERDICT_HEADER = [
    "source", "role", "appliances", "good", "blocked", "failing", "untested", "verdict",
]  # fmt: skip


def render_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    # every cell is data, never markup or a terminal control (auditor.textout)
    table = Table(title=rich_text(title), title_justify="left", show_lines=False)
    for name in header:
        table.add_column(rich_text(name), overflow="fold")
    for row in rows:
        table.add_row(*(rich_text(cell) for cell in row))
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None, legacy_windows=False).print(table)
    return buffer.getvalue()


def source_verdict_rows(flows: Sequence[Flow], records: Sequence[ProbeRecord]) -> list[list[str]]:
    """One row per source address: what its checks found (judged as the run judges them, the
    path evidence of every flow included), and its verdict."""
    role: dict[str, str] = {}
    appliances: dict[str, set[str]] = defaultdict(set)
    for f in flows:
        role[str(f.source)] = f.source_role.value
        appliances[str(f.source)].update(f.appliances)
    outcomes: dict[str, list[Outcome]] = {r.source: [] for r in records}
    reach: dict[str, list[Status]] = defaultdict(list)
    for result in flow_results(flows, records):
        source = str(result.flow.source)
        for check in result.checks:
            if check.record is not None:
                outcomes.setdefault(source, []).append(check.outcome)
        if result.reach.record is not None:
            reach[source].append(result.reach.record.status)
    rows = []
    for source, seen in outcomes.items():
        if not seen:
            continue  # records of no required check: nothing to judge
        tally = Counter(seen)
        rows.append(
            [
                source,
                role.get(source, ""),
                ", ".join(sorted(appliances.get(source, ()))),
                str(tally[Outcome.OK]),
                str(tally[Outcome.BLOCKED]),
                str(tally[Outcome.FAILING] + tally[Outcome.ERROR]),
                str(tally[Outcome.UNVERIFIED]),
                source_verdict(reach[source], seen).value,
            ]
        )
    return rows
