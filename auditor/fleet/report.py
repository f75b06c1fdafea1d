"""The fleet report written from the store: what `fleet report` and the end of `fleet run` do.
Imports only what reading the store and writing the page need (not the audit pipeline)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.fleet.page import fleet_files, write_files
from auditor.fleet.summary import FleetSummary, mark_stale, read_summary
from auditor.history.store import Store


def write_fleet_report(
    store: Store,
    folder: Path,
    groups: Mapping[str, str] | None = None,
    *,
    max_age: timedelta | None = None,
) -> FleetSummary:
    """index.html, fleet.json and junit.xml of the pairs in `groups` (default: every pair in
    the store) into `folder`; the summary they show. With `max_age`, a pair whose newest run
    is older than that is stale: counted incomplete."""
    summary = read_summary(store, groups)
    if max_age is not None:
        summary = mark_stale(summary, datetime.now(UTC), max_age)
    write_files(folder, fleet_files(summary, folder.absolute()))
    return summary
