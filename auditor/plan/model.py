"""The plan's data: planned rules, evidence samples, counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from netaddr import IPNetwork

from auditor.model.inventory import Protocol
from auditor.model.record import Status
from auditor.model.verdict import FlowVerdict

MULTIPORT_SLOTS = 15
EVIDENCE_SAMPLE = 200


class RuleStatus(StrEnum):
    PROVEN = "proven"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class PortRange:
    low: int
    high: int

    @property
    def slots(self) -> int:
        """Slots this takes in an iptables multiport match (a range takes two)."""
        return 1 if self.low == self.high else 2

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True, slots=True)
class PlannedRule:
    """Accept `protocol` to `ports` from every source block to every destination block."""

    family: int  # 4 or 6
    sources: tuple[IPNetwork, ...]
    destinations: tuple[IPNetwork, ...]
    protocol: Protocol
    ports: tuple[PortRange, ...]
    providers: tuple[str, ...]
    kinds: tuple[str, ...]
    status: RuleStatus
    evidence: tuple[Status, ...]  # what the probes said about the flows this rule admits
    flows: int  # how many required flows the rule admits (all of them, nothing else)
    justification: str
    # The blocks as text (`198.51.100.10`, `203.0.113.8/30`), made once for every renderer.
    source_blocks: tuple[str, ...] = ()
    destination_blocks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowEvidence:
    """One flow and what was seen of it, for the ticket and the reports."""

    source: str
    destination: str
    protocol: str
    port: int
    providers: tuple[str, ...]
    verdict: FlowVerdict
    status: Status | None  # the reachability result; None when there was no record
    reason: str = ""
    link: str = ""  # the connected subnet of an on-link flow


@dataclass(frozen=True, slots=True)
class AppFailure:
    """Reachable, but the application check failed: not a firewall gap."""

    source: str
    destination: str
    protocol: str
    port: int
    provider: str
    check: str
    status: Status
    reason: str


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A source address of the pair and whose it is, for the ticket's "why"."""

    address: str
    appliances: tuple[str, ...]
    role: str


@dataclass(frozen=True, slots=True)
class PlanCounts:
    required: int = 0
    open: int = 0
    missing: int = 0
    unverified: int = 0
    app_failed: int = 0
    no_address: int = 0
    on_link: int = 0  # source and destination on one connected subnet: no firewall, no rule


@dataclass(frozen=True, slots=True)
class Plan:
    site: str
    rules: tuple[PlannedRule, ...]
    counts: PlanCounts
    app_failures: tuple[AppFailure, ...]
    # The first EVIDENCE_SAMPLE flows that need a rule (or cannot get one), in flow order.
    evidence: tuple[FlowEvidence, ...]
    sources: tuple[SourceInfo, ...] = ()
    only_proven: bool = False
    # Flows between addresses of one connected subnet (the peer link on a shared /24): they
    # cross no firewall, so no rule admits them; they are still probed.
    on_link: tuple[FlowEvidence, ...] = ()

    def family_rules(self, family: int) -> tuple[PlannedRule, ...]:
        return tuple(r for r in self.rules if r.family == family)

    @property
    def change_id(self) -> str:
        """6 hex digits naming this change: a digest of the site and of what the rules admit
        (sorted), so the same plan always gets the same chain, table and anchor names and a
        different plan different ones (a later change never replaces an earlier one)."""
        keys = sorted(
            f"{r.family} {r.protocol.value} {','.join(r.source_blocks or map(str, r.sources))} "
            f"{','.join(r.destination_blocks or map(str, r.destinations))} "
            f"{','.join(map(str, r.ports))}"
            for r in self.rules
        )
        text = "\n".join([self.site, *keys])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


# Flow classification codes, small ints for the planner's hot loop.
CODE_OPEN, CODE_MISSING, CODE_UNVERIFIED, CODE_NO_ADDRESS = 0, 1, 2, 3
STATUS_OF = {id(s): s for s in Status}
# (code, family, protocol, destination int, port) -> [source ints, providers, kinds, status ids]
Cell = tuple[set[int], set[str], set[str], set[int]]
CellKey = tuple[int, int, str, int, int]
