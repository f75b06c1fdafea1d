"""Plain factory functions for finished audit runs, built from model and evidence objects.

The standard pair is the one in examples/pair.yaml: site1 (198.51.100.11 unique, .10 shared,
enabled) and site2 (.12 unique, .10 shared, disabled); corp-ad (LDAPS on two endpoints) and
corp-radius; plus the failover peer link. The probing host is site1, so site2's unique address
is not local.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from golden_support import assert_golden
from netaddr import IPAddress, IPNetwork

from auditor.model.findings import AuditRun, LintLike, StoredLintFinding, compute_verdict
from auditor.model.inventory import (
    BOTH_STATES,
    PEER_KIND,
    PEER_PROVIDER,
    Address,
    Appliance,
    Check,
    FailoverState,
    Flow,
    Inventory,
    Pair,
    Protocol,
    Provider,
    Role,
    Side,
    Site,
)
from auditor.model.record import CertInfo, ProbeRecord, Status
from auditor.model.verdict import NO_ACCEPTANCE, Acceptance

PRIMARY_UNIQUE = "198.51.100.11"
BACKUP_UNIQUE = "198.51.100.12"
SHARED = "198.51.100.10"
AD1, AD2, RADIUS = "203.0.113.10", "203.0.113.11", "203.0.113.20"


def inventory(
    *,
    site: str = "support.example.com",
    description: str | None = None,
    ad_name: str = "corp-ad",
    shared_on_backup: bool = False,
    extra_backup: tuple[str, ...] = (),
) -> Inventory:
    primary = Appliance(
        name="site1",
        side=Side.PRIMARY,
        hostname="site1.example.com",
        addresses=(
            Address(IPNetwork(f"{PRIMARY_UNIQUE}/24"), Role.UNIQUE),
            Address(IPNetwork(f"{SHARED}/24"), Role.SHARED, enabled=not shared_on_backup),
        ),
    )
    backup = Appliance(
        name="site2",
        side=Side.BACKUP,
        hostname="site2.example.com",
        addresses=(
            Address(IPNetwork(f"{BACKUP_UNIQUE}/24"), Role.UNIQUE),
            Address(IPNetwork(f"{SHARED}/24"), Role.SHARED, enabled=shared_on_backup),
            *(Address(IPNetwork(f"{ip}/24"), Role.UNIQUE) for ip in extra_backup),
        ),
    )
    return Inventory(
        source=Path("examples/pair.yaml"),
        digest="0" * 64,
        site=Site(site, description),
        pair=Pair(primary, backup),
        providers=(
            Provider(
                name=ad_name,
                kind="ldaps",
                endpoints=(AD1, AD2),
                tls_name="ad.corp.example.com",
                base_dn="dc=corp,dc=example,dc=com",
            ),
            Provider(name="corp-radius", kind="radius", endpoints=(RADIUS,)),
        ),
    )


def flows(inv: Inventory) -> tuple[Flow, ...]:
    """Every address of both appliances to every provider endpoint, plus the peer link."""
    out: list[Flow] = []
    sources: dict[IPAddress, tuple[set[str], Role]] = {}
    for a in inv.pair.appliances:
        for addr in a.addresses:
            sources.setdefault(addr.ip, (set(), addr.role))[0].add(a.name)
    ad, radius = inv.providers
    for ip, (apps, role) in sources.items():
        states = BOTH_STATES if role is Role.UNIQUE else frozenset(FailoverState)
        for dest in ad.endpoints:
            out.append(
                Flow(
                    ip,
                    IPAddress(dest),
                    Protocol.TCP,
                    636,
                    (ad.name,),
                    "ldaps",
                    (Check.TCP, Check.TLS, Check.LDAP_BIND),
                    frozenset(apps),
                    states,
                    role,
                    dest,
                )
            )
        out.append(
            Flow(
                ip,
                IPAddress(RADIUS),
                Protocol.UDP,
                1812,
                (radius.name,),
                "radius",
                (Check.UDP,),
                frozenset(apps),
                states,
                role,
                RADIUS,
            )
        )
    p, b = IPAddress(PRIMARY_UNIQUE), IPAddress(BACKUP_UNIQUE)
    for src, dst, app in ((p, b, "site1"), (b, p, "site2")):
        out.append(
            Flow(
                src,
                dst,
                Protocol.TCP,
                443,
                (PEER_PROVIDER,),
                PEER_KIND,
                (Check.TCP, Check.TLS),
                frozenset({app}),
                BOTH_STATES,
                Role.UNIQUE,
                str(dst),
            )
        )
    return tuple(out)


def cert(days_left: int, *, serial: str = "1", not_after: str = "2027-06-12T00:00:00Z") -> CertInfo:
    return CertInfo(
        subject=f"CN=ad.corp.example.com,serial={serial}",
        issuer="CN=Example Test CA",
        not_after=not_after,
        san=("ad.corp.example.com",),
        days_left=days_left,
    )


def record(
    flow: Flow, check: str, status: Status, reason: str = "", *, cert_info: CertInfo | None = None
) -> ProbeRecord:
    return ProbeRecord(
        source=str(flow.source),
        destination=str(flow.destination),
        protocol=flow.protocol.value,
        port=flow.port,
        provider=flow.provider,
        check=check,
        status=status,
        reason=reason,
        latency_ms=1.5 if status is Status.OPEN else None,
        cert=cert_info,
    )


Outcome = Callable[[Flow], tuple[Status, ...] | None]


def all_good(flow: Flow) -> tuple[Status, ...] | None:
    if str(flow.source) == BACKUP_UNIQUE:
        return None  # not local: the probing host is site1
    return everywhere_good(flow)


def everywhere_good(flow: Flow) -> tuple[Status, ...]:
    """Every check passes, from every source (the evidence of hosts holding every address)."""
    goods = {
        "tcp": Status.OPEN,
        "udp": Status.OPEN,
        "tls": Status.TLS_OK,
        "ldap-bind": Status.BIND_OK,
        "radius": Status.RADIUS_ANSWERED,
        "kerberos": Status.KDC_ANSWERED,
        "kerberos-tcp": Status.KDC_ANSWERED,
        "dns": Status.DNS_ANSWERED,
        "dns-tcp": Status.DNS_ANSWERED,
        "ntp": Status.NTP_ANSWERED,
        "smtp": Status.SMTP_OK,
        "cldap": Status.CLDAP_ANSWERED,
        "syslog": Status.UNTESTED,
    }
    return tuple(goods[c.value] for c in flow.checks)


def classic_gap(flow: Flow) -> tuple[Status, ...] | None:
    """The firewall admits the shared IP only: the unique IP is filtered towards AD and RADIUS;
    AD2's certificate does not carry its name."""
    if str(flow.source) == PRIMARY_UNIQUE and not flow.is_peer:
        return (Status.FILTERED,) + (Status.SKIPPED,) * (len(flow.checks) - 1)
    if str(flow.destination) == AD2 and str(flow.source) == SHARED:
        return (Status.OPEN, Status.TLS_FAILED, Status.SKIPPED)
    return all_good(flow)


REASONS = {
    Status.FILTERED: "no answer within 3.0 s",
    Status.NOT_LOCAL: "source address not on this host (errno 99)",
    Status.TLS_FAILED: "hostname-mismatch: certificate is for other.example.com",
    Status.SKIPPED: "not run: an earlier check failed",
}


def records_for(
    fl: tuple[Flow, ...],
    outcome: Outcome,
    *,
    ad_days: Mapping[str, int] | None = None,
    cert_serial: str = "1",
) -> tuple[ProbeRecord, ...]:
    ad_days = ad_days or {AD1: 200, AD2: 12}
    out = []
    for f in fl:
        statuses = outcome(f)
        if statuses is None:
            statuses = (Status.NOT_LOCAL,) + (Status.SKIPPED,) * (len(f.checks) - 1)
        for check, status in zip(f.checks, statuses, strict=True):
            c = None
            if (
                check is Check.TLS
                and status in (Status.TLS_OK, Status.TLS_FAILED)
                and not f.is_peer
            ):
                c = cert(ad_days.get(str(f.destination), 90), serial=cert_serial)
            out.append(record(f, check.value, status, REASONS.get(status, ""), cert_info=c))
    return tuple(out)


def run(
    *,
    run_id: str = "support.example.com-20261124T010000Z",
    outcome: Outcome = classic_gap,
    inv: Inventory | None = None,
    lint: tuple[LintLike, ...] = (),
    snippets: Mapping[str, str] | None = None,
    started_at: str = "2026-11-24T01:00:00+00:00",
    finished_at: str = "2026-11-24T01:00:07+00:00",
    ad_days: Mapping[str, int] | None = None,
    cert_serial: str = "1",
    accept_unverified: str = "",
) -> AuditRun:
    inv = inv or inventory()
    fl = flows(inv)
    recs = records_for(fl, outcome, ad_days=ad_days, cert_serial=cert_serial)
    return AuditRun(
        run_id=run_id,
        site=inv.site.name,
        started_at=started_at,
        finished_at=finished_at,
        inventory_digest=inv.digest,
        inventory=inv,
        flows=fl,
        records=recs,
        verdict=compute_verdict(
            fl, recs, lint, accept=Acceptance.parse(accept_unverified or "0") or NO_ACCEPTANCE
        ),
        lint=lint,
        snippets=dict(snippets or {}),
        accept_unverified=accept_unverified,
    )


def lint_finding(severity: str = "error", message: str = "shared IP enabled on both") -> LintLike:
    return StoredLintFinding(
        rule="shared-ip-single-owner",
        severity=severity,
        field="pair.backup.addresses[1].enabled",
        line=21,
        message=message,
        hint="disable the shared IP on the backup",
    )


SNIPPETS = {
    "iptables.rules": (
        "*filter\n"
        f"-A FORWARD -s {PRIMARY_UNIQUE}/32 -d {AD1}/32 -p tcp --dport 636 -j ACCEPT\n"
        "COMMIT\n"
    ),
    "change-ticket.md": "# Change request\n\n```\nfenced inside\n```\n",
}


def findings_run(**kw: object) -> AuditRun:
    """The classic gap, with a lint warning and rendered snippets."""
    kw.setdefault("lint", (lint_finding("warning", "site_instance_ip is not set"),))
    kw.setdefault("snippets", SNIPPETS)
    return run(**kw)  # type: ignore[arg-type]


def green_run(**kw: object) -> AuditRun:
    """Every check passes from site1; site2's unique address (4 flows) is not on the probing
    host, and the run accepts that knowingly (`--accept-unverified 4`)."""
    kw.setdefault("outcome", all_good)
    kw.setdefault("accept_unverified", "4")
    kw.setdefault("ad_days", {AD1: 200, AD2: 150})
    return run(**kw)  # type: ignore[arg-type]


def check_golden(name: str, actual: str) -> None:
    """tests/golden/report/NAME (see golden_support.assert_golden)."""
    assert_golden(f"report/{name}", actual)


__all__ = ["replace"]
