"""Helpers for the fleet tests: results documents for an inventory, fleet files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import report_factories as rf

from auditor.flows.prepare import prepare
from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.model.results import ResultsDocument, RunMeta, utc_stamp, write_results

REPO = Path(__file__).resolve().parent.parent
PAIR = REPO / "examples" / "pair.yaml"


def results_for(
    inventory: Path,
    out: Path,
    outcome: Callable[[Flow], tuple[Status, ...] | None] = rf.classic_gap,
    *,
    host: str = "probe-host-a",
    at: str | None = None,
) -> Path:
    """A results document for `inventory` (its real digest) as a probe host would write it:
    by default the classic gap (the unique IP filtered: findings), probed just now (`at`:
    another moment; older than 7 days is no proof)."""
    at = at or utc_stamp(datetime.now(UTC))
    prepared = prepare(inventory, resolve=False)
    records = rf.records_for(prepared.flows, outcome)
    doc = ResultsDocument(
        meta=RunMeta(
            tool_version="0.1.0",
            inventory=str(inventory),
            inventory_digest=prepared.inventory.digest,
            probing_host=host,
            started_at=at,
            finished_at=at,
            options={},
        ),
        records=records,
    )
    write_results(out, doc)
    return out


def next_second() -> None:
    """Wait for the next second of the clock: runs are stamped to the second, and the store
    orders a pair's runs by that stamp (two runs in one second would have no order)."""
    import time

    now = time.time()
    time.sleep(int(now) + 1.05 - now)
