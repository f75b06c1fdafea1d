"""Terminal tables (rich), rendered to text so commands can print or write them."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from auditor.model.checks import REACH_CHECKS
from auditor.model.inventory import Flow
from auditor.model.record import ProbeRecord
from auditor.model.verdict import Outcome, outcome_of, source_verdict
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
    """One row per source address: what its checks found, and its verdict."""
    role: dict[str, str] = {}
    appliances: dict[str, set[str]] = defaultdict(set)
    for f in flows:
        role[str(f.source)] = f.source_role.value
        appliances[str(f.source)].update(f.appliances)
    by_source: dict[str, list[ProbeRecord]] = defaultdict(list)
    for r in records:
        by_source[r.source].append(r)
    rows = []
    for source, recs in by_source.items():
        outcomes = [outcome_of(r.status) for r in recs]
        tally = Counter(outcomes)
        reach = [r.status for r in recs if r.check in REACH_CHECKS]
        rows.append(
            [
                source,
                role.get(source, ""),
                ", ".join(sorted(appliances.get(source, ()))),
                str(tally[Outcome.OK]),
                str(tally[Outcome.BLOCKED]),
                str(tally[Outcome.FAILING] + tally[Outcome.ERROR]),
                str(tally[Outcome.UNVERIFIED]),
                source_verdict(reach, outcomes).value,
            ]
        )
    return rows
