"""Events between two recorded states of the pair, for history and drift."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from netaddr import IPAddress

from auditor.health.document import FailoverRole, HealthDocument
from auditor.health.integrate import EventKind, state_events
from auditor.health.judge import judge
from auditor.health.pair import ApplianceState, PairState
from auditor.health.render import live_state
from auditor.inventory.load import load_inventory
from auditor.model.inventory import Side
from auditor.model.livestate import LiveState

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = load_inventory(ROOT / "examples" / "pair.yaml")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def recorded(
    first: str, second: str, first_ips: tuple[str, ...], second_ips: tuple[str, ...]
) -> LiveState:
    def one(name: str, side: Side, role: str, ips: tuple[str, ...]) -> ApplianceState:
        doc = HealthDocument(True, FailoverRole(role), tuple(IPAddress(ip) for ip in ips))
        return ApplianceState(name, side, f"https://{name}", document=doc)

    state = PairState(
        one("site1", Side.PRIMARY, first, first_ips),
        one("site2", Side.BACKUP, second, second_ips),
        NOW,
    )
    return live_state(INVENTORY, state, judge(INVENTORY, state, now=NOW))


HEALTHY = recorded("primary", "backup", ("198.51.100.10",), ())
FAILED_OVER = recorded("backup", "primary", (), ("198.51.100.10",))
SPLIT = recorded("primary", "backup", ("198.51.100.10",), ("198.51.100.10",))


def kinds(before: LiveState | None, after: LiveState) -> list[EventKind]:
    return [e.kind for e in state_events(before, after)]


def test_failing_over_between_runs_is_an_event() -> None:
    assert kinds(HEALTHY, FAILED_OVER) == [
        EventKind.FAILED_OVER,
        EventKind.ROLE_CHANGED,
        EventKind.ROLE_CHANGED,
    ]
    assert state_events(HEALTHY, FAILED_OVER)[0].message == "failed over between runs"
    assert kinds(FAILED_OVER, HEALTHY)[0] is EventKind.FAILED_BACK


def test_a_conflict_appearing_and_clearing_are_events() -> None:
    assert kinds(HEALTHY, SPLIT) == [EventKind.SPLIT_BRAIN, EventKind.CONFLICT]
    assert kinds(SPLIT, HEALTHY) == [EventKind.SPLIT_BRAIN_CLEARED, EventKind.CONFLICT_CLEARED]


def test_no_change_and_no_previous_run_are_no_events() -> None:
    assert kinds(HEALTHY, HEALTHY) == []
    assert kinds(None, SPLIT) == []
