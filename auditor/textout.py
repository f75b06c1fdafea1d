"""Text bound for a human: a terminal, a table, a Markdown report.

Values from a store, a baseline or an inventory are hostile: an ESC, OSC or BEL sequence would
drive the terminal, a CR or a raw newline would forge a line, and rich reads `[bold]` as
markup. `printable` shows every control character as its escape (`\\x1b`), `rich_text` also
escapes rich markup; every human-facing output goes through one of them.
"""

from __future__ import annotations

from auditor.values import CONTROL_RE


def printable(text: object) -> str:
    """`text` on one line, every control character written as its Python escape."""
    return CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], str(text))


def rich_text(text: object) -> str:
    """`printable(text)`, with rich markup escaped: it prints as written."""
    from rich.markup import escape  # noqa: PLC0415 (the CLI imports this module on every run)

    return escape(printable(text))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A spreadsheet cell that is never read as a formula (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
