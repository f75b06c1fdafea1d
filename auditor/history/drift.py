"""Drift: what changed between a baseline run and a newer one.

The comparison tables are pandas frames (records, certificates and addresses of both runs,
outer-joined on their keys); the result is plain frozen data, sorted, so every renderer and a
golden file see the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from auditor.model.checks import CheckRole, meta
from auditor.model.findings import AuditRun
from auditor.model.inventory import Check, Inventory, Role
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import Outcome, outcome_of

if TYPE_CHECKING:
    import pandas as pd

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

    def of_kind(self, kind: DriftKind) -> tuple[DriftItem, ...]:
        return tuple(i for i in self.items if i.kind is kind)

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
    def live_state(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """The evidence of a run before its verdict: what `changes` reads."""

    inventory: Inventory
    records: tuple[ProbeRecord, ...]
    live_state: Mapping[str, Any] | None = None


_KEY = ["source", "destination", "protocol", "port", "check"]


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame of `rows`. pandas is imported here, not at module load: every command
    imports this module, and only drift comparisons need pandas (0.35 s of start-up)."""
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame(rows, columns=columns)


def _records_frame(run: Observed) -> pd.DataFrame:
    rows = [
        {
            "source": r.source,
            "destination": r.destination,
            "protocol": r.protocol,
            "port": r.port,
            "check": r.check,
            "provider": r.provider,
            "status": r.status.value,
            "reason": r.reason,
        }
        for r in run.records
    ]
    cols = [*_KEY, "provider", "status", "reason"]
    frame = _frame(rows, cols)
    return frame.drop_duplicates(subset=_KEY, keep="first")


def _outcome(status: object) -> str:
    if not isinstance(status, str):
        return "absent"
    return outcome_of(Status(status)).value


def _flow_subject(row: dict[Any, Any]) -> str:
    dest = str(row["destination"])
    if ":" in dest:
        dest = f"[{dest}]"
    provider = (
        row["provider_after"] if isinstance(row["provider_after"], str) else row["provider_before"]
    )
    return f"{row['source']} -> {dest}:{int(row['port'])}/{row['protocol']} ({provider})"


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
    merged = _records_frame(before).merge(
        _records_frame(after), on=_KEY, how="outer", suffixes=("_before", "_after")
    )
    merged["out_before"] = merged["status_before"].map(_outcome)
    merged["out_after"] = merged["status_after"].map(_outcome)
    merged = merged.sort_values(_KEY, kind="stable")
    unverified = _UNDECIDED
    items: list[DriftItem] = []
    for row in merged.to_dict("records"):
        b, a = row["out_before"], row["out_after"]
        if row["status_before"] == row["status_after"]:
            continue
        subject = _flow_subject(row)
        sb, sa = _status_text(row["status_before"]), _status_text(row["status_after"])
        reason = row["reason_after"] if isinstance(row["reason_after"], str) else ""
        check = meta(row["check"])
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
                    f"{subject} [{row['check']}]",
                    sb,
                    sa,
                    reason,
                    a != Outcome.OK.value,
                )
            )
    return items


def _certs_frame(run: Observed) -> pd.DataFrame:
    rows = [
        {
            "provider": r.provider,
            "destination": r.destination,
            "port": r.port,
            "fingerprint": f"{r.cert.subject} / {r.cert.issuer} / until {r.cert.not_after}",
            "not_after": r.cert.not_after,
            "days_left": r.cert.days_left,
        }
        for r in run.records
        if r.cert is not None
    ]
    frame = _frame(
        rows, ["provider", "destination", "port", "fingerprint", "not_after", "days_left"]
    )
    frame = frame.sort_values(["provider", "destination", "port", "fingerprint"], kind="stable")
    return frame.drop_duplicates(subset=["provider", "destination", "port"], keep="first")


def _cert_drift(before: Observed, after: Observed) -> list[DriftItem]:
    merged = _certs_frame(before).merge(
        _certs_frame(after),
        on=["provider", "destination", "port"],
        how="inner",
        suffixes=("_before", "_after"),
    )
    items: list[DriftItem] = []
    for row in merged.to_dict("records"):
        subject = f"{row['provider']} {row['destination']}:{int(row['port'])}"
        if row["fingerprint_before"] != row["fingerprint_after"]:
            items.append(
                DriftItem(
                    DriftKind.CERT_CHANGED,
                    subject,
                    str(row["fingerprint_before"]),
                    str(row["fingerprint_after"]),
                    "the provider presents a different certificate",
                    True,
                )
            )
        db, da = int(row["days_left_before"]), int(row["days_left_after"])
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
                        f"certificate now {what} (not after {row['not_after_after']})",
                        True,
                    )
                )
    return items


def _addresses_frame(run: Observed) -> pd.DataFrame:
    rows = [
        {
            "appliance": a.name,
            "side": a.side.value,
            "interface": str(x.interface),
            "role": x.role.value,
            "enabled": x.enabled,
        }
        for a in run.inventory.pair.appliances
        for x in a.addresses
    ]
    return _frame(rows, ["appliance", "side", "interface", "role", "enabled"])


def _holder(frame: pd.DataFrame, interface: str) -> tuple[str, ...]:
    """Which appliances have the shared address `interface` enabled."""
    hit = frame[(frame["interface"] == interface) & frame["enabled"].astype(bool)]
    return tuple(sorted(str(x) for x in hit["appliance"]))


def _inventory_drift(before: Observed, after: Observed) -> list[DriftItem]:
    fb, fa = _addresses_frame(before), _addresses_frame(after)
    merged = fb.merge(
        fa,
        on=["side", "interface", "role"],
        how="outer",
        suffixes=("_before", "_after"),
        indicator="presence",
    ).sort_values(["interface", "side", "role"], kind="stable")
    items: list[DriftItem] = []
    moved: set[str] = set()
    for row in merged.to_dict("records"):
        subject = f"{row['interface']} ({row['role']}) on {row['side']}"
        if row["presence"] == "right_only":
            state = "enabled" if bool(row["enabled_after"]) else "disabled"
            items.append(
                DriftItem(
                    DriftKind.ADDRESS_ADDED, subject, "-", state, str(row["appliance_after"]), True
                )
            )
        elif row["presence"] == "left_only":
            state = "enabled" if bool(row["enabled_before"]) else "disabled"
            items.append(
                DriftItem(
                    DriftKind.ADDRESS_REMOVED,
                    subject,
                    state,
                    "-",
                    str(row["appliance_before"]),
                    True,
                )
            )
        elif bool(row["enabled_before"]) != bool(row["enabled_after"]):
            if row["role"] == Role.SHARED.value:
                moved.add(str(row["interface"]))
                continue
            items.append(
                DriftItem(
                    DriftKind.ADDRESS_ENABLED_CHANGED,
                    subject,
                    "enabled" if bool(row["enabled_before"]) else "disabled",
                    "enabled" if bool(row["enabled_after"]) else "disabled",
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


def _live_status(live_state: Mapping[str, Any]) -> str:
    return str(live_state.get("verdict", {}).get("status") or "unknown")


def _state_drift(baseline: Observed, current: Observed) -> list[DriftItem]:
    """Events between the live states the appliances reported (when both runs asked)."""
    if current.live_state is None or baseline.live_state is None:
        return []
    from auditor.health.integrate import EventKind, state_events  # noqa: PLC0415

    cleared = {EventKind.SPLIT_BRAIN_CLEARED, EventKind.CONFLICT_CLEARED}
    before, after = _live_status(baseline.live_state), _live_status(current.live_state)
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
