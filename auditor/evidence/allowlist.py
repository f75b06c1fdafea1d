"""The application allow-list finding: a server answers some addresses of the pair and stays
silent for others that the firewall admits. The firewall is then not the cause: the server's
own list of clients is (a RADIUS client list above all; an NTP `restrict`, a DNS ACL).

Silence alone proves nothing about who dropped the request, so a silent address counts only
with positive evidence that the firewall admits it: a ruleset that accepts the flow, or a
change that was applied to admit it (the closed loop: rules generated, applied, probed again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from auditor.evidence.record import Method, ProbeRecord, Status
from auditor.plan import Plan
from auditor.verdict import proves_reach

# Checks whose answer comes from the application itself, over UDP: silence there can be the
# server ignoring the address rather than the firewall dropping it.
APPLICATION_CHECKS = frozenset({"radius", "kerberos", "dns", "ntp", "cldap"})

Admitted = Callable[[ProbeRecord], bool]


@dataclass(frozen=True, slots=True)
class AllowListFinding:
    provider: str
    destination: str
    protocol: str
    port: int
    check: str
    answered: tuple[str, ...]  # the pair's addresses the server answered
    ignored: tuple[str, ...]  # addresses the firewall admits and the server ignores
    evidence: str  # why the firewall is known to admit them

    @property
    def message(self) -> str:
        where = f"{self.destination} {self.protocol}/{self.port} ({self.provider})"
        advice = (
            "add them to the RADIUS server's client list, with the shared secret"
            if self.check == "radius"
            else "add them to the server's allowed clients"
        )
        return (
            f"{where} answers {', '.join(self.answered)} but ignores {', '.join(self.ignored)}, "
            f"which the firewall admits ({self.evidence}): {advice}"
        )


def _key(ip: str) -> tuple[int, int]:
    addr = IPAddress(ip)
    return (int(addr.version), int(addr))


def allowlist_findings(
    records: Iterable[ProbeRecord], admitted: Admitted, evidence: str
) -> tuple[AllowListFinding, ...]:
    """One finding per (provider, destination, protocol, port) that answered some sources and
    met silence from others that `admitted` says the firewall lets through."""
    groups: dict[tuple[str, str, str, int, str], tuple[set[str], set[str]]] = {}
    for record in records:
        if record.check not in APPLICATION_CHECKS:
            continue
        key = (record.provider, record.destination, record.protocol, record.port, record.check)
        answered, ignored = groups.setdefault(key, (set(), set()))
        if proves_reach(record.status):
            answered.add(record.source)
        elif record.status is Status.NO_ANSWER and admitted(record):
            ignored.add(record.source)
    return tuple(
        AllowListFinding(
            provider=provider,
            destination=destination,
            protocol=protocol,
            port=port,
            check=check,
            answered=tuple(sorted(answered, key=_key)),
            ignored=tuple(sorted(ignored, key=_key)),
            evidence=evidence,
        )
        for (provider, destination, protocol, port, check), (answered, ignored) in sorted(
            groups.items()
        )
        if answered and ignored
    )


def admitted_by_plan(plan: Plan) -> Admitted:
    """The flows an applied change admits: what a plan's rules accept."""

    def admits(record: ProbeRecord) -> bool:
        src, dst = IPAddress(record.source), IPAddress(record.destination)
        return any(
            rule.protocol.value == record.protocol
            and record.port in rule.port_list
            and any(src in IPNetwork(n) for n in rule.sources)
            and any(dst in IPNetwork(n) for n in rule.destinations)
            for rule in plan.rules
        )

    return admits


def admitted_by_ruleset(records: Iterable[ProbeRecord]) -> Admitted:
    """The flows the firewall's own ruleset admits: ruleset records (method `ruleset`) that
    prove the path open. Give `allowlist_findings` the records before they are merged: merged,
    a probe's silence and a ruleset's accept for the same flow become one `conflict`, which
    this finding explains."""
    keys = {r.key for r in records if r.method is Method.RULESET and proves_reach(r.status)}
    return lambda record: record.key in keys
