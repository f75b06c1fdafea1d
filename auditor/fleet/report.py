"""The fleet report written from the store: what `fleet report` and the end of `fleet run` do.
Imports only what reading the store and writing the page need (not the audit pipeline)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.fleet.page import fleet_files, write_files
from auditor.fleet.summary import FleetSummary, mark_stale, read_summary
from auditor.history.location import StoreLocation
from auditor.history.store import Store


def fleet_pairs(fleet: Path) -> tuple[dict[str, str], StoreLocation | None]:
    """The pairs of fleet file `fleet` (each pair's name, the inventory's site name -> its
    fleet site) and its store: the file checked as `fleet run` checks it (its notify
    secrets need not be set: nothing is sent); every problem in one InputError."""
    from auditor.errors import InputError, Problem  # noqa: PLC0415
    from auditor.fleet.load import load_fleet  # noqa: PLC0415
    from auditor.inventory.load import load_inventory  # noqa: PLC0415

    spec = load_fleet(fleet, secrets=False)
    pairs: dict[str, str] = {}
    problems: list[Problem] = []
    for s, site in enumerate(spec.sites):
        for p, pair in enumerate(site.pairs):
            try:
                name = load_inventory(pair.inventory).site.name
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if name in pairs:
                problems.append(
                    Problem(str(spec.source), pair.line, f"sites[{s}].pairs[{p}]",
                            f"pair {name} is listed twice (each pair once)")
                )  # fmt: skip
            pairs[name] = site.name
    if problems:
        raise InputError(problems)
    return pairs, spec.store


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
