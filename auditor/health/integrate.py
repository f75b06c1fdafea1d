"""Pure helpers for putting the live state into history: the events between two recorded
states ("failed over between runs")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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


def state_events(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> tuple[StateEvent, ...]:
    """What changed between two `render.to_json` documents of the same pair (oldest first).
    No previous document: no events."""
    if before is None:
        return ()
    events: list[StateEvent] = []
    was, now = _status(before), _status(after)
    if (was, now) == ("primary-active", "backup-active"):
        events.append(StateEvent(EventKind.FAILED_OVER, "failed over between runs"))
    elif (was, now) == ("backup-active", "primary-active"):
        events.append(StateEvent(EventKind.FAILED_BACK, "failed back between runs"))
    if now == "split-brain" and was != "split-brain":
        events.append(StateEvent(EventKind.SPLIT_BRAIN, f"split brain since the last run ({was})"))
    elif was == "split-brain" and now != "split-brain":
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


def _status(doc: Mapping[str, Any]) -> str:
    return str(doc.get("verdict", {}).get("status", "unknown"))


def _roles(doc: Mapping[str, Any]) -> dict[str, str | None]:
    appliances: Iterable[Mapping[str, Any]] = doc.get("appliances", [])
    return {str(a["name"]): a.get("failover_role") for a in appliances}


def _conflicts(doc: Mapping[str, Any]) -> set[str]:
    findings: Iterable[Mapping[str, Any]] = doc.get("findings", [])
    return {str(f["ip"]) for f in findings if f.get("code") == "ip-conflict" and f.get("ip")}
