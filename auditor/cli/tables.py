"""Terminal tables (rich), rendered to text so commands can print or write them."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from auditor.evidence import APP_FAILED, BLOCKED, GOOD, UNVERIFIED, ProbeRecord, Status
from auditor.model import Check, Flow
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
    """One row per source address: what its checks found, and a verdict."""
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
        good = sum(r.status in GOOD for r in recs)
        blocked = sum(r.status in BLOCKED for r in recs)
        failed = sum(r.status in APP_FAILED or r.status is Status.ERROR for r in recs)
        untested = sum(r.status in UNVERIFIED for r in recs)
        reach = [r for r in recs if r.check == Check.TCP.value]
        if reach and all(r.status is Status.NOT_LOCAL for r in reach):
            verdict = "not on this host"
        elif blocked:
            verdict = "BLOCKED"
        elif failed:
            verdict = "FAILING"
        else:
            verdict = "ok"
        rows.append(
            [
                source,
                role.get(source, ""),
                ", ".join(sorted(appliances.get(source, ()))),
                str(good),
                str(blocked),
                str(failed),
                str(untested),
                verdict,
            ]
        )
    return rows
