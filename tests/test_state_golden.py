"""Golden files for `auditor state` text and JSON: a fixed pair state judged at a fixed moment
(deterministic: no clock in the renderers, ages measured from the moment of asking)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from golden_support import assert_golden
from netaddr import IPAddress

from auditor.health.client import AskFailure, FailureReason
from auditor.health.document import FailoverRole, HealthDocument
from auditor.health.judge import judge
from auditor.health.pair import ApplianceState, PairState
from auditor.health.render import render_json, render_text
from auditor.inventory.load import load_inventory
from auditor.model.inventory import Side

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def states() -> dict[str, PairState]:
    def doc(role: str, *ips: str, age: timedelta = timedelta(minutes=7)) -> HealthDocument:
        return HealthDocument(
            success=True,
            failover_role=FailoverRole(role),
            enabled_shared_ips=tuple(IPAddress(ip) for ip in ips),
            hostname=None,
            version="24.3.1 (build 20241)",
            last_sync_time=NOW - age,
            last_sync_status="Success",
        )

    def one(name: str, side: Side, answer: HealthDocument | AskFailure) -> ApplianceState:
        url = f"https://{name}.example.com"
        if isinstance(answer, AskFailure):
            return ApplianceState(name, side, url, failure=answer)
        return ApplianceState(name, side, url, document=answer)

    timeout = AskFailure(FailureReason.TIMEOUT, "no answer within 10 s")
    return {
        "split-brain": PairState(
            one("site1", Side.PRIMARY, doc("primary", "198.51.100.10")),
            one("site2", Side.BACKUP, doc("primary", "198.51.100.10", age=timedelta(days=2))),
            NOW,
        ),
        "failed-over-one-silent": PairState(
            one("site1", Side.PRIMARY, timeout),
            one("site2", Side.BACKUP, doc("primary", "198.51.100.10")),
            NOW,
        ),
    }


@pytest.mark.parametrize("name", sorted(states()))
def test_state_outputs_match_their_golden_files(name: str) -> None:
    inventory = load_inventory(ROOT / "examples" / "pair.yaml", display="examples/pair.yaml")
    state = states()[name]
    verdict = judge(inventory, state, now=NOW)
    assert_golden(f"state/{name}.txt", render_text(inventory, state, verdict))
    text = render_json(inventory, state, verdict)
    json.loads(text)
    assert_golden(f"state/{name}.json", text)
