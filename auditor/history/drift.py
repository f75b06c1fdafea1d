"""Drift: what changed between a baseline run and a newer one.

The records, certificates and addresses of both runs are joined on their keys (a few rows
each: plain dictionaries); the result is plain frozen data, sorted, so every renderer and a
golden file see the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from auditor.model.checks import CheckRole, meta
from auditor.model.findings import AuditRun
from auditor.model.inventory import Check, Inventory, Role
from auditor.model.livestate import LiveState
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import Outcome, outcome_of

EXPIRY_WARN_DAYS = 30


class DriftKind(StrEnum):
    FAILOVER = "failover"
    ADDRESS_ADDED = "address-added"
    ADDRESS_REMOVED = "address-removed"
    ADDRESS_ENABLED_CHANGED = "address-enabled-changed"
    NEWLY_BLOCKED = "newly-blocked"
    NEWLY_UNVERIFIED = "newly-unverified"
    TLS_CHANGED = "tls-changed"
    BIND_CHANGED = "bind-changed"
    APP_CHANGED = "app-changed"  # any other application check (RADIUS, DNS, NTP, SMTP, ...)
    CERT_CHANGED = "cert-changed"
    CERT_EXPIRING = "cert-expiring"
    NEWLY_OPEN = "newly-open"
    LIVE_STATE = "live-state"  # the appliances said: failed over, split brain, role changed


KIND_ORDER = {k: i for i, k in enumerate(DriftKind)}


@dataclass(frozen=True, slots=True)
class DriftItem:
    kind: DriftKind
    subject: str
    before: str
    after: str
    detail: str
    matters: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
            "matters": self.matters,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    site: str
    baseline_id: str
    baseline_at: str
    baseline_verdict: str
    current_id: str
    current_at: str
    current_verdict: str
    items: tuple[DriftItem, ...]

    @property
    def matters(self) -> bool:
        """Drift worth a non-zero exit: anything that lost reachability, evidence, a check, a
        certificate's trust in time, or changed the pair itself."""
        return any(i.matters for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "baseline": {
                "run_id": self.baseline_id,
                "started_at": self.baseline_at,
                "verdict": self.baseline_verdict,
            },
            "current": {
                "run_id": self.current_id,
                "started_at": self.current_at,
                "verdict": self.current_verdict,
            },
            "matters": self.matters,
            "items": [i.to_json() for i in self.items],
        }


class Observed(Protocol):
    """What drift compares: the evidence of a run, never its verdict (an `AuditRun`, or the
    evidence of a run whose verdict waits for the drift)."""

    @property
    def inventory(self) -> Inventory: ...
    @property
    def records(self) -> tuple[ProbeRecord, ...]: ...
    @property
    def live_state(self) -> LiveState | None: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """The evidence of a run before its verdict: what `changes` reads."""

    inventory: Inventory
    records: tuple[ProbeRecord, ...]
    live_state: LiveState | None = None


class _Seen(NamedTuple):
    """What one run's first record of a flow's check says (the key is the record's flow and
    check)."""

    provider: str
    status: str
    reason: str


_FlowCheck = tuple[str, str, str, int, str]  # source, destination, protocol, port, check


def _records_by_key(run: Observed) -> dict[_FlowCheck, _Seen]:
    """Each flow's check once: the first record of it wins."""
    out: dict[_FlowCheck, _Seen] = {}
    for r in run.records:
        key = (r.source, r.destination, r.protocol, r.port, r.check)
        if key not in out:
            out[key] = _Seen(r.provider, r.status.value, r.reason)
    return out


def _outcome(status: object) -> str:
    if not isinstance(status, str):
        return "absent"
    return outcome_of(Status(status)).value


def _flow_subject(key: _FlowCheck, before: _Seen | None, after: _Seen | None) -> str:
    source, dest, protocol, port, _check = key
    if ":" in dest:
        dest = f"[{dest}]"
    seen = after or before
    provider = seen.provider if seen is not None else ""
    return f"{source} -> {dest}:{port}/{protocol} ({provider})"


def _status_text(status: object) -> str:
    return status if isinstance(status, str) else "(not required)"


_OK, _BLOCKED = Outcome.OK.value, Outcome.BLOCKED.value
_DECIDED = {_OK, _BLOCKED, Outcome.FAILING.value}
_UNDECIDED = {Outcome.UNVERIFIED.value, Outcome.ERROR.value}
APP_KINDS = {Check.TLS: DriftKind.TLS_CHANGED, Check.LDAP_BIND: DriftKind.BIND_CHANGED}


def _path_drift(b: str, a: str) -> tuple[DriftKind, bool] | None:
    """A change of what a check says of the path (outcomes before and after): newly blocked
    or unverified matters, newly open does not; None: no change of the path."""
    if a == _BLOCKED and b != _BLOCKED:
        return DriftKind.NEWLY_BLOCKED, True
    if a == _OK and b not in (_OK, "absent") and b != Outcome.FAILING.value:
        return DriftKind.NEWLY_OPEN, False
    if a in _UNDECIDED and b in _DECIDED:
        return DriftKind.NEWLY_UNVERIFIED, True
    return None


def _flow_drift(before: Observed, after: Observed) -> list[DriftItem]:
    """Every check's change that says something: the path (any check that speaks for it, as
    the registry says), and the application (any application check: TLS, bind, RADIUS,
    Kerberos, DNS, NTP, SMTP, CLDAP)."""
    old, new = _records_by_key(before), _records_by_key(after)
    unverified = _UNDECIDED
    items: list[DriftItem] = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        status_before = was.status if was is not None else None
        status_after = now.status if now is not None else None
        if status_before == status_after:
            continue
        b, a = _outcome(status_before), _outcome(status_after)
        subject = _flow_subject(key, was, now)
        sb, sa = _status_text(status_before), _status_text(status_after)
        reason = now.reason if now is not None else ""
        check = meta(key[4])
        if check.speaks_for_path:
            path = _path_drift(b, a)
            if path is not None:
                kind, it_matters = path
                items.append(DriftItem(kind, subject, sb, sa, reason, it_matters))
                continue
        if check.role is CheckRole.APPLICATION:
            if "absent" in (a, b) or unverified & {a, b}:
                # A check that did not run on one side is covered by the reachability drift.
                continue
            items.append(
                DriftItem(
                    APP_KINDS.get(check.name, DriftKind.APP_CHANGED),
                    f"{subject} [{key[4]}]",
                    sb,
                    sa,
                    reason,
                    a != Outcome.OK.value,
                )
            )
    return items


class _Cert(NamedTuple):
    fingerprint: str
    not_after: str
    days_left: int


def _certs_by_key(run: Observed) -> dict[tuple[str, str, int], _Cert]:
    """Each provider endpoint's certificate once (of several, the least fingerprint)."""
    out: dict[tuple[str, str, int], _Cert] = {}
    for r in run.records:
        if r.cert is None:
            continue
        key = (r.provider, r.destination, r.port)
        fingerprint = f"{r.cert.subject} / {r.cert.issuer} / until {r.cert.not_after}"
        if key not in out or fingerprint < out[key].fingerprint:
            out[key] = _Cert(fingerprint, r.cert.not_after, r.cert.days_left)
    return out


def _cert_drift(before: Observed, after: Observed) -> list[DriftItem]:
    old, new = _certs_by_key(before), _certs_by_key(after)
    items: list[DriftItem] = []
    for key in sorted(old.keys() & new.keys()):
        was, now = old[key], new[key]
        provider, destination, port = key
        subject = f"{provider} {destination}:{port}"
        if was.fingerprint != now.fingerprint:
            items.append(
                DriftItem(
                    DriftKind.CERT_CHANGED,
                    subject,
                    was.fingerprint,
                    now.fingerprint,
                    "the provider presents a different certificate",
                    True,
                )
            )
        db, da = was.days_left, now.days_left
        for threshold, what in (
            (EXPIRY_WARN_DAYS, f"under {EXPIRY_WARN_DAYS} days"),
            (0, "expired"),
        ):
            if db >= threshold > da:
                items.append(
                    DriftItem(
                        DriftKind.CERT_EXPIRING,
                        subject,
                        f"{db} days left",
                        f"{da} days left",
                        f"certificate now {what} (not after {now.not_after})",
                        True,
                    )
                )
    return items


class _Held(NamedTuple):
    """One address an appliance of the pair configures."""

    appliance: str
    side: str
    interface: str
    role: str
    enabled: bool


def _addresses(run: Observed) -> list[_Held]:
    return [
        _Held(a.name, a.side.value, str(x.interface), x.role.value, x.enabled)
        for a in run.inventory.pair.appliances
        for x in a.addresses
    ]


def _holder(held: Iterable[_Held], interface: str) -> tuple[str, ...]:
    """Which appliances have the shared address `interface` enabled."""
    return tuple(sorted(h.appliance for h in held if h.interface == interface and h.enabled))


def _state(enabled: bool) -> str:
    return "enabled" if enabled else "disabled"


def _inventory_drift(before: Observed, after: Observed) -> list[DriftItem]:
    fb, fa = _addresses(before), _addresses(after)
    old: dict[tuple[str, str, str], list[_Held]] = {}
    new: dict[tuple[str, str, str], list[_Held]] = {}
    for held, by_key in ((fb, old), (fa, new)):
        for h in held:
            by_key.setdefault((h.interface, h.side, h.role), []).append(h)
    items: list[DriftItem] = []
    moved: set[str] = set()
    for key in sorted(old.keys() | new.keys()):
        interface, side, role = key
        subject = f"{interface} ({role}) on {side}"
        if key not in old:
            items.extend(
                DriftItem(
                    DriftKind.ADDRESS_ADDED, subject, "-", _state(h.enabled), h.appliance, True
                )
                for h in new[key]
            )
            continue
        if key not in new:
            items.extend(
                DriftItem(
                    DriftKind.ADDRESS_REMOVED, subject, _state(h.enabled), "-", h.appliance, True
                )
                for h in old[key]
            )
            continue
        for gone in old[key]:
            for came in new[key]:
                if gone.enabled == came.enabled:
                    continue
                if role == Role.SHARED.value:
                    moved.add(interface)
                    continue
                items.append(
                    DriftItem(
                        DriftKind.ADDRESS_ENABLED_CHANGED,
                        subject,
                        _state(gone.enabled),
                        _state(came.enabled),
                        "",
                        True,
                    )
                )
    for interface in sorted(moved):
        was, now = _holder(fb, interface), _holder(fa, interface)
        was_s, now_s = ", ".join(was) or "none", ", ".join(now) or "none"
        detail = (
            f"shared IP now enabled on {now_s} (was {was_s}): a failover happened"
            if now and was and now != was
            else f"shared IP enabled on {now_s} (was {was_s})"
        )
        items.append(
            DriftItem(DriftKind.FAILOVER, f"{interface} (shared)", was_s, now_s, detail, True)
        )
    return items


def _state_drift(baseline: Observed, current: Observed) -> list[DriftItem]:
    """Events between the live states the appliances reported (when both runs asked)."""
    if current.live_state is None or baseline.live_state is None:
        return []
    from auditor.health.integrate import EventKind, state_events  # noqa: PLC0415

    cleared = {EventKind.SPLIT_BRAIN_CLEARED, EventKind.CONFLICT_CLEARED}
    before, after = baseline.live_state.status.value, current.live_state.status.value
    return [
        DriftItem(
            DriftKind.LIVE_STATE,
            event.appliance or "pair",
            before,
            after,
            f"{event.kind.value}: {event.message}",
            event.kind not in cleared,
        )
        for event in state_events(baseline.live_state, current.live_state)
    ]


def changes(baseline: Observed, current: Observed) -> tuple[DriftItem, ...]:
    """What changed from `baseline` to `current`, in report order. Reads the evidence only, so
    the run's one verdict can take the drift as an input."""
    items: Iterable[DriftItem] = [
        *_inventory_drift(baseline, current),
        *_flow_drift(baseline, current),
        *_cert_drift(baseline, current),
        *_state_drift(baseline, current),
    ]
    return tuple(sorted(items, key=lambda i: (KIND_ORDER[i.kind], i.subject, i.after)))


def matters(items: Iterable[DriftItem]) -> bool:
    """Drift that makes findings of an otherwise compliant run (see `DriftReport.matters`)."""
    return any(i.matters for i in items)


def drift_report(
    baseline: AuditRun, current: AuditRun, items: tuple[DriftItem, ...]
) -> DriftReport:
    """The report of `changes(baseline, current)` once `current` has its verdict."""
    return DriftReport(
        site=current.site,
        baseline_id=baseline.run_id,
        baseline_at=baseline.started_at,
        baseline_verdict=baseline.verdict.value,
        current_id=current.run_id,
        current_at=current.started_at,
        current_verdict=current.verdict.value,
        items=items,
    )


def compare(baseline: AuditRun, current: AuditRun) -> DriftReport:
    """What changed from `baseline` to `current`, two finished runs (`auditor drift`)."""
    return drift_report(baseline, current, changes(baseline, current))
