"""Pure helpers for putting the live state into history: the events between two recorded
states ("failed over between runs")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auditor.model.livestate import LiveState, PairStatus, StateCode


class EventKind(StrEnum):
    FAILED_OVER = "failed-over"  # primary-active -> backup-active
    FAILED_BACK = "failed-back"  # backup-active -> primary-active
    SPLIT_BRAIN = "split-brain"  # entered split brain
    SPLIT_BRAIN_CLEARED = "split-brain-cleared"
    ROLE_CHANGED = "role-changed"  # one appliance's failover_role
    CONFLICT = "ip-conflict"  # a shared IP newly enabled on both
    CONFLICT_CLEARED = "ip-conflict-cleared"


@dataclass(frozen=True, slots=True)
class StateEvent:
    kind: EventKind
    message: str
    appliance: str | None = None


def state_events(before: LiveState | None, after: LiveState) -> tuple[StateEvent, ...]:
    """What changed between two live states of the same pair (oldest first). No previous
    state: no events."""
    if before is None:
        return ()
    events: list[StateEvent] = []
    was, now = before.status, after.status
    if (was, now) == (PairStatus.PRIMARY_ACTIVE, PairStatus.BACKUP_ACTIVE):
        events.append(StateEvent(EventKind.FAILED_OVER, "failed over between runs"))
    elif (was, now) == (PairStatus.BACKUP_ACTIVE, PairStatus.PRIMARY_ACTIVE):
        events.append(StateEvent(EventKind.FAILED_BACK, "failed back between runs"))
    split = PairStatus.SPLIT_BRAIN
    if now is split and was is not split:
        events.append(StateEvent(EventKind.SPLIT_BRAIN, f"split brain since the last run ({was})"))
    elif was is split and now is not split:
        events.append(StateEvent(EventKind.SPLIT_BRAIN_CLEARED, f"split brain cleared ({now})"))
    old_roles, new_roles = _roles(before), _roles(after)
    for name in sorted(new_roles):
        old, new = old_roles.get(name), new_roles[name]
        if old is not None and new is not None and old != new:
            events.append(
                StateEvent(EventKind.ROLE_CHANGED, f"{name}: failover_role {old} -> {new}", name)
            )
    old_conflicts, new_conflicts = _conflicts(before), _conflicts(after)
    for ip in sorted(new_conflicts - old_conflicts):
        events.append(StateEvent(EventKind.CONFLICT, f"shared IP {ip} is now enabled on both"))
    for ip in sorted(old_conflicts - new_conflicts):
        events.append(StateEvent(EventKind.CONFLICT_CLEARED, f"shared IP {ip}: conflict cleared"))
    return tuple(events)


def _roles(live: LiveState) -> dict[str, str | None]:
    return {
        a.name: a.failover_role.value if a.failover_role is not None else None
        for a in live.appliances
    }


def _conflicts(live: LiveState) -> set[str]:
    return {f.ip for f in live.findings if f.code is StateCode.IP_CONFLICT and f.ip}
