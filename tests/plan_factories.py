"""Small factories for the planner and renderer tests: flows and probe records built directly,
so these tests need neither the inventory loader nor the probe engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netaddr import IPAddress

from auditor.model.inventory import (
    BOTH_STATES,
    PEER_KIND,
    PEER_PROVIDER,
    Check,
    Flow,
    Protocol,
    Role,
)
from auditor.model.record import ProbeRecord, Status

SITE = "support.example.com"
PRIMARY_UNIQUE = "198.51.100.11"
BACKUP_UNIQUE = "198.51.100.12"
SHARED = "198.51.100.10"
AD = ("203.0.113.10", "203.0.113.11")
RADIUS = "203.0.113.20"
NTP = "203.0.113.30"

_OWNERS = {
    PRIMARY_UNIQUE: (frozenset({"site1"}), Role.UNIQUE),
    BACKUP_UNIQUE: (frozenset({"site2"}), Role.UNIQUE),
    SHARED: (frozenset({"site1", "site2"}), Role.SHARED),
}


def flow(
    source: str,
    destination: str,
    port: int,
    protocol: str = "tcp",
    provider: str = "corp-ad",
    kind: str = "ldaps",
    checks: Sequence[Check] = (Check.TCP,),
) -> Flow:
    appliances, role = _OWNERS.get(source, (frozenset({"site1"}), Role.UNIQUE))
    return Flow(
        source=IPAddress(source),
        destination=IPAddress(destination),
        protocol=Protocol(protocol),
        port=port,
        providers=(provider,),
        kind=kind,
        checks=tuple(checks),
        appliances=appliances,
        states=BOTH_STATES,
        source_role=role,
        endpoint=destination,
    )


def record(f: Flow, status: Status | str, check: str = "", reason: str = "") -> ProbeRecord:
    return ProbeRecord(
        source=str(f.source),
        destination=str(f.destination),
        protocol=f.protocol.value,
        port=f.port,
        provider=f.provider,
        check=check or f.protocol.value,
        status=Status(status),
        reason=reason,
    )


def example_flows() -> tuple[Flow, ...]:
    """The flows of examples/pair.yaml: LDAPS to two AD servers, RADIUS, NTP, and the peer."""
    sources = (SHARED, PRIMARY_UNIQUE, BACKUP_UNIQUE)
    flows = [
        flow(s, d, 636, checks=(Check.TCP, Check.TLS, Check.LDAP_BIND)) for s in sources for d in AD
    ]
    flows += [flow(s, RADIUS, 1812, "udp", "corp-radius", "radius", (Check.UDP,)) for s in sources]
    flows += [flow(s, NTP, 123, "udp", "time", "ntp", (Check.UDP,)) for s in sources]
    for a, b in ((PRIMARY_UNIQUE, BACKUP_UNIQUE), (BACKUP_UNIQUE, PRIMARY_UNIQUE)):
        f = flow(a, b, 443, provider=PEER_PROVIDER, kind=PEER_KIND, checks=(Check.TCP, Check.TLS))
        flows.append(f)
    return tuple(flows)


def example_records(flows: Iterable[Flow] | None = None) -> tuple[ProbeRecord, ...]:
    """The lab's story: the primary's unique IP is allowed to LDAPS (and binds), the backup's is
    dropped, the shared IP is rejected; UDP is untested; the peer is open one way only."""
    out: list[ProbeRecord] = []
    for f in flows if flows is not None else example_flows():
        src = str(f.source)
        if f.protocol is Protocol.UDP:
            out.append(record(f, Status.UNTESTED, reason="no UDP application probe yet"))
        elif f.kind == PEER_KIND:
            status = Status.OPEN if src == PRIMARY_UNIQUE else Status.FILTERED
            out.append(
                record(f, status, reason="" if status is Status.OPEN else "no answer in 2.0 s")
            )
        elif src == PRIMARY_UNIQUE:
            out.append(record(f, Status.OPEN))
            out.append(record(f, Status.TLS_OK, check="tls"))
            out.append(record(f, Status.BIND_OK, check="ldap-bind"))
        elif src == BACKUP_UNIQUE:
            out.append(record(f, Status.FILTERED, reason="no answer in 2.0 s"))
        else:
            out.append(record(f, Status.REFUSED, reason="connection refused"))
    return tuple(out)
