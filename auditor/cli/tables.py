"""Terminal tables (rich), rendered to text so commands can print or write them."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table


def render_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in header:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None, legacy_windows=False).print(table)
    return buffer.getvalue()
