"""Judge the pair's live state against the inventory. Pure: data in, verdict out; the moment
of judgement (`now`) is passed in, never read from a clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from netaddr import IPAddress

from auditor.health.pair import ApplianceState, PairState
from auditor.model.inventory import Inventory, Side
from auditor.model.livestate import (
    FailoverRole,
    PairStatus,
    Severity,
    StateCode,
    StateFinding,
    StateVerdict,
)

DEFAULT_MAX_SYNC_AGE = timedelta(hours=24)


def judge(
    inventory: Inventory,
    state: PairState,
    *,
    now: datetime,
    max_sync_age: timedelta = DEFAULT_MAX_SYNC_AGE,
) -> StateVerdict:
    """The pair verdict and its findings, errors first."""
    findings: list[StateFinding] = []
    for one in state.appliances:
        findings.extend(_appliance_findings(one, now, max_sync_age))
    findings.extend(_shared_ip_findings(inventory, state))
    findings.extend(_role_findings(state))
    order = {Severity.ERROR: 0, Severity.WARNING: 1}
    findings.sort(key=lambda f: order[f.severity])
    return StateVerdict(_status(state, findings), tuple(findings))


# A sync time ahead of this host's clock by more than this is a clock problem worth a warning
# (less is the ordinary drift between two NTP-synchronised clocks).
FUTURE_TOLERANCE = timedelta(minutes=1)


def format_age(age: timedelta) -> str:
    """A short human duration: 45 s, 12 min, 3 h 5 min, 24 h, 2 d, 2 d 4 h (its size: a
    negative age is shown by `sync_age`)."""
    seconds = abs(int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


def sync_age(asked_at: datetime, synced: datetime) -> str:
    """`7 min ago`, or `3 h in the future` when the appliance's clock is ahead."""
    age = asked_at - synced
    if age < timedelta(0):
        return f"{format_age(age)} in the future: clock skew"
    return f"{format_age(age)} ago"


def _appliance_findings(
    one: ApplianceState, now: datetime, max_sync_age: timedelta
) -> list[StateFinding]:
    if not one.configured:
        return [
            _finding(
                StateCode.NOT_CONFIGURED,
                Severity.WARNING,
                f"{one.name} has no health: block and was not asked (its half of the pair "
                "is judged from the other's answer only)",
                one.name,
            )
        ]
    if one.failure is not None:
        return [
            _finding(
                StateCode.CANNOT_ASK,
                Severity.ERROR,
                f"{one.name} cannot be asked ({one.failure.reason.value}): {one.failure.message}",
                one.name,
            )
        ]
    doc = one.document
    assert doc is not None
    out: list[StateFinding] = []
    if not doc.success:
        said = doc.error_message or "no error_message given"
        out.append(
            _finding(
                StateCode.UNHEALTHY,
                Severity.ERROR,
                f"{one.name} reports its health check failed (success 0): {said}",
                one.name,
            )
        )
    if doc.failover_role is FailoverRole.NONE:
        out.append(
            _finding(
                StateCode.NO_FAILOVER,
                Severity.ERROR,
                f"{one.name} reports failover_role none: failover is not configured on it, "
                "so the pair cannot fail over",
                one.name,
            )
        )
    elif doc.last_sync_time is not None and doc.last_sync_time - now > FUTURE_TOLERANCE:
        out.append(
            _finding(
                StateCode.SYNC_IN_FUTURE,
                Severity.WARNING,
                f"{one.name}: last data sync {_iso(doc.last_sync_time)} is "
                f"{format_age(doc.last_sync_time - now)} in the future: the appliance's clock "
                "or this host's is wrong (its sync age cannot be judged)",
                one.name,
            )
        )
    elif doc.last_sync_time is not None and now - doc.last_sync_time > max_sync_age:
        out.append(
            _finding(
                StateCode.SYNC_STALE,
                Severity.WARNING,
                f"{one.name}: last data sync {format_age(now - doc.last_sync_time)} ago "
                f"({_iso(doc.last_sync_time)}), older than {format_age(max_sync_age)}",
                one.name,
            )
        )
    return out


def _answered(state: PairState) -> list[ApplianceState]:
    return [one for one in state.appliances if one.document is not None]


def _role(one: ApplianceState) -> FailoverRole | None:
    return one.document.failover_role if one.document is not None else None


def _role_findings(state: PairState) -> list[StateFinding]:
    answered = _answered(state)
    roles = [_role(one) for one in answered]
    out: list[StateFinding] = []
    if len(answered) == 2 and roles[0] is roles[1] is not FailoverRole.NONE:
        both = f"{answered[0].name} and {answered[1].name}"
        if roles[0] is FailoverRole.PRIMARY:
            out.append(
                _finding(
                    StateCode.TWO_PRIMARIES,
                    Severity.ERROR,
                    f"both {both} report failover_role primary (split brain: each believes "
                    "it is the active appliance)",
                )
            )
        else:
            out.append(
                _finding(
                    StateCode.TWO_BACKUPS,
                    Severity.ERROR,
                    f"both {both} report failover_role backup (no active appliance)",
                )
            )
        return out
    primary, backup = state.primary, state.backup
    if _role(primary) is FailoverRole.BACKUP or _role(backup) is FailoverRole.PRIMARY:
        out.append(
            _finding(
                StateCode.FAILED_OVER,
                Severity.WARNING,
                f"the pair has failed over: the inventory's primary {primary.name} is not "
                f"the primary now, {backup.name} is (the backup-active flows are live)",
            )
        )
    return out


def _shared_ip_findings(inventory: Inventory, state: PairState) -> list[StateFinding]:
    known = {a.ip for appliance in inventory.pair.appliances for a in appliance.shared()}
    holders: dict[IPAddress, list[str]] = {}
    out: list[StateFinding] = []
    answered = _answered(state)
    for one in answered:
        assert one.document is not None
        for ip in one.document.enabled_shared_ips:
            holders.setdefault(ip, []).append(one.name)
            if ip not in known:
                out.append(
                    _finding(
                        StateCode.UNKNOWN_SHARED_IP,
                        Severity.WARNING,
                        f"{one.name} has shared IP {ip} enabled, which the inventory does not "
                        "list (its flows are not audited)",
                        one.name,
                        str(ip),
                    )
                )
    roles = {one.name: _role(one) for one in answered}
    for ip, names in sorted(holders.items(), key=lambda kv: (kv[0].version, int(kv[0]))):
        if len(names) == 1 and roles[names[0]] is FailoverRole.BACKUP:
            out.append(
                _finding(
                    StateCode.ON_BACKUP,
                    Severity.ERROR,
                    f"{names[0]} is the backup but has shared IP {ip} enabled (the backup must "
                    "keep it disabled; the site answers from the wrong appliance)",
                    names[0],
                    str(ip),
                )
            )
        if len(names) > 1:
            out.append(
                _finding(
                    StateCode.IP_CONFLICT,
                    Severity.ERROR,
                    f"shared IP {ip} is enabled on both {names[0]} and {names[1]}: an IP "
                    "conflict (split brain); the backup must keep it disabled",
                    None,
                    str(ip),
                )
            )
    if len(answered) == 2:
        for ip in sorted(known - set(holders), key=lambda ip: (ip.version, int(ip))):
            out.append(
                _finding(
                    StateCode.SHARED_IP_NOWHERE,
                    Severity.ERROR,
                    f"shared IP {ip} of the inventory is enabled on neither appliance: the "
                    "site's address is down",
                    None,
                    str(ip),
                )
            )
    return out


def _status(state: PairState, findings: list[StateFinding]) -> PairStatus:
    if any(f.code in (StateCode.IP_CONFLICT, StateCode.TWO_PRIMARIES) for f in findings):
        return PairStatus.SPLIT_BRAIN
    primaries = [one for one in _answered(state) if _role(one) is FailoverRole.PRIMARY]
    if len(primaries) != 1:
        return PairStatus.UNKNOWN
    if primaries[0].side is Side.PRIMARY:
        return PairStatus.PRIMARY_ACTIVE
    return PairStatus.BACKUP_ACTIVE


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _finding(
    code: StateCode,
    severity: Severity,
    message: str,
    appliance: str | None = None,
    ip: str | None = None,
) -> StateFinding:
    return StateFinding(code=code, severity=severity, appliance=appliance, ip=ip, message=message)
