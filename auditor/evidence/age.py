"""How old evidence may be: the default limit and its spelling as `--max-evidence-age` takes it
(a leaf: the options of every command read it without importing the evidence loader)."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_MAX_AGE = timedelta(days=7)


def span(age: timedelta) -> str:
    """A duration as `--max-evidence-age` takes it: 9d3h, 12h, 30m, 45s."""
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    if days == 0:
        parts.append((secs, "s"))
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
