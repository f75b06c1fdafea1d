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
from typing import TYPE_CHECKING, Annotated

from netaddr import IPAddress, IPNetwork

from auditor.documents.fields import ADDRESS_OR_HOSTNAME, IP_TEXT, NAME, PORT, one_of
from auditor.evidence.record import Method, ProbeRecord, Status
from auditor.inventory.model import Protocol
from auditor.verdict import proves_reach

if TYPE_CHECKING:
    from auditor.plan import Plan

# Checks whose answer comes from the application itself, over UDP: silence there can be the
# server ignoring the address rather than the firewall dropping it.
APPLICATION_CHECKS = frozenset({"radius", "kerberos", "dns", "ntp", "cldap"})

Admitted = Callable[[ProbeRecord], bool]


@dataclass(frozen=True, slots=True)
class AllowListFinding:
    provider: Annotated[str, NAME]
    destination: Annotated[str, ADDRESS_OR_HOSTNAME]
    protocol: Annotated[str, one_of(Protocol)]
    port: Annotated[int, PORT]
    check: str
    answered: tuple[Annotated[str, IP_TEXT], ...]  # the pair's addresses the server answered
    ignored: tuple[Annotated[str, IP_TEXT], ...]  # the firewall admits them, the server ignores
    evidence: str  # why the firewall is known to admit them

    @property
    def server(self) -> str:
        """`203.0.113.20 udp/1812 (lab-radius)`: the server, port and protocol."""
        return f"{self.destination} {self.protocol}/{self.port} ({self.provider})"

    @property
    def advice(self) -> str:
        ignored = ", ".join(self.ignored)
        if self.check == "radius":
            return (
                "the RADIUS server's client list must hold every appliance address (both "
                f"unique IPs and the shared IP): add {ignored}, with the shared secret"
            )
        return (
            f"the server's list of allowed clients must hold every appliance address: add {ignored}"
        )

    @property
    def message(self) -> str:
        return (
            f"{self.server} answers {', '.join(self.answered)} but ignores "
            f"{', '.join(self.ignored)}, which the firewall admits ({self.evidence}): "
            f"{self.advice}"
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


def ruleset_allowlist(
    probed: Iterable[ProbeRecord], ruleset: Iterable[ProbeRecord]
) -> tuple[AllowListFinding, ...]:
    """The audit's allow-list findings: `probed` are the probe records before any merge,
    `ruleset` the records of the firewall's ruleset (`audit --ruleset`)."""
    ruleset = tuple(ruleset)
    if not ruleset:
        return ()
    origins = ", ".join(dict.fromkeys(r.origin for r in ruleset if r.origin)) or "given"
    return allowlist_findings(
        probed, admitted_by_ruleset(ruleset), f"the ruleset {origins} accepts them"
    )
