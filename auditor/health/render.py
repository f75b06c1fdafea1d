"""The pair's live state as text or a JSON document. Pure: no clock (ages are measured from
the moment the pair was asked), deterministic order."""

from __future__ import annotations

import json
from typing import Any

from auditor.documents.codec import to_json
from auditor.health.judge import sync_age
from auditor.health.pair import ApplianceState, PairState
from auditor.model.inventory import Inventory
from auditor.model.livestate import (
    ApplianceAnswer,
    LiveState,
    PairStatus,
    PairVerdict,
    StateVerdict,
)


def live_state(inventory: Inventory, state: PairState, verdict: StateVerdict) -> LiveState:
    """The pair's live state as the run carries it: one entry per appliance, the pair verdict
    and its findings (the codec writes it: `state --format json`, the run document)."""
    return LiveState(
        inventory=str(inventory.source),
        site=inventory.site.name,
        asked_at=_iso(state),
        verdict=PairVerdict(
            status=verdict.status,
            failover_state=verdict.failover_state,
            errors=verdict.errors,
            warnings=verdict.warnings,
        ),
        appliances=tuple(_appliance(one, state) for one in state.appliances),
        findings=verdict.findings,
    )


def render_json(inventory: Inventory, state: PairState, verdict: StateVerdict) -> str:
    return json.dumps(to_json(live_state(inventory, state, verdict)), indent=2) + "\n"


def render_text(inventory: Inventory, state: PairState, verdict: StateVerdict) -> str:
    """Per appliance its role, shared IPs, version and last sync; then findings and verdict."""
    lines = [f"{inventory.site.name}: live failover state, asked at {_iso(state)}", ""]
    for one in state.appliances:
        lines.extend(_appliance_text(one, state))
        lines.append("")
    for f in verdict.findings:
        lines.append(f"{f.severity.value} [{f.code.value}] {f.message}")
    label = "PASS" if verdict.errors == 0 else "FAIL"
    status = verdict.status.value.upper()
    if verdict.status is PairStatus.SPLIT_BRAIN:
        status += " (IP CONFLICT ALARM)"
    lines.append(
        f"{label}: {inventory.site.name}: {status}, {verdict.errors} error(s), "
        f"{verdict.warnings} warning(s)"
    )
    return "\n".join(lines) + "\n"


def _appliance(one: ApplianceState, state: PairState) -> ApplianceAnswer:
    doc = one.document
    sync = doc.last_sync_time if doc is not None else None
    return ApplianceAnswer(
        name=one.name,
        side=one.side,
        url=one.url,
        asked=one.configured,
        answered=doc is not None,
        failure=one.failure,
        failover_role=doc.failover_role if doc else None,
        success=doc.success if doc else None,
        error_message=doc.error_message if doc else None,
        enabled_shared_ips=doc.enabled_shared_ips if doc else (),
        hostname=doc.hostname if doc else None,
        version=doc.version if doc else None,
        last_sync_time=_when(sync) if sync else None,
        last_sync_age_seconds=int((state.asked_at - sync).total_seconds()) if sync else None,
        last_sync_status=doc.last_sync_status if doc else None,
    )


def _appliance_text(one: ApplianceState, state: PairState) -> list[str]:
    head = f"{one.name} (inventory {one.side.value})"
    if not one.configured:
        return [f"{head}: not asked (no health: block)"]
    if one.failure is not None:
        return [
            f"{head}  {one.url}",
            f"  cannot be asked ({one.failure.reason.value}): {one.failure.message}",
        ]
    doc = one.document
    assert doc is not None
    ips = ", ".join(str(ip) for ip in doc.enabled_shared_ips) or "none"
    lines = [
        f"{head}  {one.url}",
        f"  role: {doc.failover_role.value}    health check: "
        + ("ok" if doc.success else f"FAILED ({doc.error_message or 'no error_message'})"),
        f"  enabled shared IPs: {ips}",
        f"  version: {doc.version or 'not reported'}",
    ]
    if doc.last_sync_time is None:
        lines.append("  last data sync: not reported")
    else:
        age = sync_age(state.asked_at, doc.last_sync_time)
        status = f", {doc.last_sync_status}" if doc.last_sync_status else ""
        lines.append(f"  last data sync: {_when(doc.last_sync_time)} ({age}{status})")
    return lines


def _when(value: Any) -> str:
    return str(value.isoformat(timespec="seconds").replace("+00:00", "Z"))


def _iso(state: PairState) -> str:
    return _when(state.asked_at)
