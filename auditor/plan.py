"""Missing-rule analysis: classify every required flow against its probe evidence, then fold
the flows that need a rule into as few exact rules as possible.

Classification (one verdict per flow):
- *open*: reachability proven (an `open`, `tls-*` or `bind-*` record); never gets a rule;
- *missing*: reachability evidence `filtered`, `refused` or `unreachable`: a proven gap;
- *unverified*: not testable from here (`not-local`, `untested`, an `error`, or no record);
  planned as `unverified` rules unless `only_proven`;
- *app-failed*: reachable, but TLS or the bind failed: listed with its cause, never a rule.

Aggregation is exact: the union of the planned rules is the set of flows that need one, nothing
more. Addresses are merged into CIDR blocks only where every address of the block is required,
ports are grouped into lists an iptables `multiport` match accepts (15 slots, a range uses two).
The planner works on integers and frozensets so 768,000 flows plan in about a second.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from netaddr import IPAddress, IPNetwork

from auditor.evidence.record import ProbeRecord, Status
from auditor.inventory.model import PEER_KIND, PEER_PROVIDER, Flow, Protocol
from auditor.verdict import FlowVerdict, Outcome, outcome_of, proves_block, proves_reach

MULTIPORT_SLOTS = 15
EVIDENCE_SAMPLE = 200

_REACH_CHECKS = frozenset({"tcp", "udp"})


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

    @property
    def port_list(self) -> tuple[int, ...]:
        return tuple(p for r in self.ports for p in range(r.low, r.high + 1))


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

    @property
    def has_missing(self) -> bool:
        return bool(self.rules)

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


# -- classification ------------------------------------------------------------------------


def _rank(status: Status) -> int:
    """Which of several reachability records for one flow wins: proof of reach, then proof of a
    block, then anything else."""
    if proves_reach(status):
        return 3
    if proves_block(status):
        return 2
    if status is Status.SKIPPED:
        return 0
    return 1


# The hot loop runs once per flow (768,000 in the benchmark). Enum members hash through Python
# code, so it looks them up by id() and keeps small ints and plain strings in its keys.
_OPEN, _MISSING, _UNVERIFIED, _NO_ADDRESS = 0, 1, 2, 3
_CODE_OF = {
    id(s): _OPEN if proves_reach(s) else _MISSING if proves_block(s) else _UNVERIFIED
    for s in Status
}
_RANK_OF = {id(s): _rank(s) for s in Status}
_STATUS_OF = {id(s): s for s in Status}
_APP_FAILED_IDS = frozenset(id(s) for s in Status if outcome_of(s) is Outcome.FAILING)
_PROTO_TEXT = {id(p): p.value for p in Protocol}
_VERDICTS = (FlowVerdict.OPEN, FlowVerdict.MISSING, FlowVerdict.UNVERIFIED, FlowVerdict.NO_ADDRESS)

_Key = tuple[str, str, str, int]


def _index(
    records: Iterable[ProbeRecord],
) -> tuple[dict[_Key, ProbeRecord], dict[_Key, list[ProbeRecord]]]:
    """The deciding reachability record per flow key, and the application failures."""
    best: dict[_Key, ProbeRecord] = {}
    failures: dict[_Key, list[ProbeRecord]] = {}
    skipped = id(Status.SKIPPED)
    rank = _RANK_OF
    for rec in records:
        # str.__str__ turns a Protocol member into the plain string a results file holds.
        key = (rec.source, rec.destination, str.__str__(rec.protocol), rec.port)
        sid = id(rec.status)
        if sid in _APP_FAILED_IDS and rec.check not in _REACH_CHECKS:
            failures.setdefault(key, []).append(rec)
        if sid == skipped:
            continue
        prev = best.get(key)
        if prev is None or rank[sid] > rank[id(prev.status)]:
            best[key] = rec
    return best, failures


# -- aggregation ---------------------------------------------------------------------------

# (code, family, protocol, destination int, port) -> [source ints, providers, kinds, status ids]
_Cell = tuple[set[int], set[str], set[str], set[int]]
_CellKey = tuple[int, int, str, int, int]


def make_plan(
    flows: Sequence[Flow],
    records: Iterable[ProbeRecord],
    *,
    site: str,
    only_proven: bool = False,
) -> Plan:
    """Classify `flows` against `records` and aggregate the ones that need a rule."""
    best, app_failures = _index(records)
    # Addresses recur across flows (64 sources, a few thousand endpoints): convert each object
    # once. Keyed by id(): every object stays alive in `flows` for the whole call.
    addr_cache: dict[int, tuple[int, int, str]] = {}
    cells: dict[_CellKey, _Cell] = {}
    source_info: dict[int, tuple[int, SourceInfo]] = {}
    counts = [0, 0, 0, 0]
    n_app_failed = 0
    failures: list[AppFailure] = []
    sample: list[FlowEvidence] = []
    untested = id(Status.UNTESTED)
    code_of = _CODE_OF
    proto_text = _PROTO_TEXT
    for flow in flows:
        s = flow.source
        sid = id(s)
        got = addr_cache.get(sid)
        if got is None:
            got = addr_cache[sid] = (s.version, s.value, str(s))
        family, src, src_text = got
        if sid not in source_info:
            source_info[sid] = (
                src,
                SourceInfo(src_text, tuple(sorted(flow.appliances)), flow.source_role.value),
            )
        d = flow.destination
        got = addr_cache.get(id(d))
        if got is None:
            got = (d.version, d.value, str(d)) if isinstance(d, IPAddress) else (0, -1, d)
            addr_cache[id(d)] = got
        dst, dst_text = got[1], got[2]
        ptext = proto_text[id(flow.protocol)]
        key = (src_text, dst_text, ptext, flow.port)
        rec = best.get(key)
        code = _UNVERIFIED if rec is None else code_of[id(rec.status)]
        if code == _OPEN:
            if app_failures and key in app_failures:
                n_app_failed += 1
                failures.extend(_failure(r) for r in app_failures[key])
            else:
                counts[_OPEN] += 1
            continue
        if dst < 0:
            code = _NO_ADDRESS
        counts[code] += 1
        if len(sample) < EVIDENCE_SAMPLE:
            sample.append(
                FlowEvidence(
                    source=src_text,
                    destination=dst_text,
                    protocol=ptext,
                    port=flow.port,
                    providers=flow.providers,
                    verdict=_VERDICTS[code],
                    status=rec.status if rec is not None else None,
                    reason=rec.reason if rec is not None else "no probe record",
                )
            )
        if code == _NO_ADDRESS or (only_proven and code == _UNVERIFIED):
            continue
        ckey = (code, family, ptext, dst, flow.port)
        cell = cells.get(ckey)
        if cell is None:
            cell = cells[ckey] = (set(), set(), set(), set())
        cell[0].add(src)
        cell[1].update(flow.providers)
        cell[2].add(flow.kind)
        cell[3].add(untested if rec is None else id(rec.status))

    rules = _aggregate(cells)
    failures.sort(key=lambda f: (f.provider, f.source, f.destination, f.port, f.check))
    return Plan(
        site=site,
        rules=rules,
        counts=PlanCounts(
            required=len(flows),
            open=counts[_OPEN],
            missing=counts[_MISSING],
            unverified=counts[_UNVERIFIED],
            app_failed=n_app_failed,
            no_address=counts[_NO_ADDRESS],
        ),
        app_failures=tuple(failures),
        evidence=tuple(sample),
        sources=_merge_sources(source_info.values()),
        only_proven=only_proven,
    )


def _merge_sources(infos: Iterable[tuple[int, SourceInfo]]) -> tuple[SourceInfo, ...]:
    """One entry per address (the same address can arrive as several objects)."""
    by_text: dict[str, tuple[tuple[int, int], SourceInfo]] = {}
    for value, seen in infos:
        version = 6 if ":" in seen.address else 4
        prev = by_text.get(seen.address)
        info = seen
        if prev is not None:
            info = SourceInfo(
                seen.address,
                tuple(sorted(set(prev[1].appliances) | set(seen.appliances))),
                seen.role,
            )
        by_text[seen.address] = ((version, value), info)
    return tuple(info for _, info in sorted(by_text.values(), key=lambda p: p[0]))


def _failure(rec: ProbeRecord) -> AppFailure:
    return AppFailure(
        source=rec.source,
        destination=rec.destination,
        protocol=rec.protocol,
        port=rec.port,
        provider=rec.provider,
        check=rec.check,
        status=rec.status,
        reason=rec.reason,
    )


def _aggregate(cells: dict[_CellKey, _Cell]) -> tuple[PlannedRule, ...]:
    # Step 1: for each destination, the ports that share exactly the same source set.
    by_dest: dict[tuple[int, int, str, frozenset[int], int], _Cell] = {}
    interned: dict[frozenset[int], frozenset[int]] = {}
    for (code, family, ptext, dst, port), (srcs, provs, kinds, evid) in cells.items():
        fsrcs = frozenset(srcs)
        fsrcs = interned.setdefault(fsrcs, fsrcs)
        key = (code, family, ptext, fsrcs, dst)
        acc = by_dest.get(key)
        if acc is None:
            by_dest[key] = ({port}, set(provs), set(kinds), set(evid))
        else:
            acc[0].add(port)
            acc[1].update(provs)
            acc[2].update(kinds)
            acc[3].update(evid)
    # Step 2: destinations with the same (source set, port set) become one rule.
    groups: dict[tuple[int, int, str, frozenset[int], frozenset[int]], _Cell] = {}
    for (code, family, ptext, fsrcs, dst), (ports, provs, kinds, evid) in by_dest.items():
        key2 = (code, family, ptext, fsrcs, frozenset(ports))
        acc = groups.get(key2)
        if acc is None:
            groups[key2] = ({dst}, provs, kinds, evid)
        else:
            acc[0].add(dst)
            acc[1].update(provs)
            acc[2].update(kinds)
            acc[3].update(evid)

    merged: dict[frozenset[int], tuple[tuple[IPNetwork, ...], tuple[str, ...]]] = {}
    rules: list[
        tuple[tuple[int, int, int, int, tuple[int, ...], tuple[int, ...]], PlannedRule]
    ] = []
    for (code, family, ptext, fsrcs, fports), (dsts, provs, kinds, evid) in groups.items():
        status = RuleStatus.PROVEN if code == _MISSING else RuleStatus.UNVERIFIED
        proto = Protocol(ptext)
        got = merged.get(fsrcs)
        if got is None:
            got = merged[fsrcs] = _blocks(fsrcs, family)
        sources, source_text = got
        destinations, destination_text = _blocks(dsts, family)
        src_order = tuple(sorted(fsrcs))
        dst_order = tuple(sorted(dsts))
        providers = tuple(sorted(provs))
        kind_names = tuple(sorted(kinds))
        evidence = tuple(sorted((_STATUS_OF[i] for i in evid), key=_status_order))
        for chunk in port_chunks(fports):
            rule = PlannedRule(
                family=family,
                sources=sources,
                destinations=destinations,
                protocol=proto,
                ports=chunk,
                providers=providers,
                kinds=kind_names,
                status=status,
                evidence=evidence,
                flows=len(fsrcs) * len(dsts) * sum(r.high - r.low + 1 for r in chunk),
                justification=justify(providers, kind_names, status, evidence),
                source_blocks=source_text,
                destination_blocks=destination_text,
            )
            order = (
                family,
                code,
                0 if ptext == "tcp" else 1,
                chunk[0].low,
                dst_order,
                src_order,
            )
            rules.append((order, rule))
    rules.sort(key=lambda pair: pair[0])
    return tuple(rule for _, rule in rules)


def _blocks(values: Iterable[int], family: int) -> tuple[tuple[IPNetwork, ...], tuple[str, ...]]:
    blocks = cidr_blocks(values, family)
    return (
        tuple(IPNetwork((v, p), version=family) for v, p in blocks),
        tuple(block_text(v, p, family) for v, p in blocks),
    )


def _status_order(status: Status) -> int:
    return list(Status).index(status)


def cidr_blocks(values: Iterable[int], family: int) -> list[tuple[int, int]]:
    """The fewest (network, prefix length) blocks holding exactly these addresses, in order.
    Each run of consecutive addresses is cut into the largest aligned blocks it contains, so a
    block is never wider than the addresses given (the same result as netaddr's cidr_merge)."""
    bits = 32 if family == 4 else 128
    ordered = sorted(set(values))
    out: list[tuple[int, int]] = []
    i, n = 0, len(ordered)
    while i < n:
        j = i
        while j + 1 < n and ordered[j + 1] == ordered[j] + 1:
            j += 1
        low, high = ordered[i], ordered[j]
        while low <= high:
            size = (low & -low).bit_length() - 1 if low else bits  # alignment of `low`
            span = (high - low + 1).bit_length() - 1  # the largest power of two that fits
            step = min(size, span)
            out.append((low, bits - step))
            low += 1 << step
        i = j + 1
    return out


def block_text(value: int, prefix: int, family: int) -> str:
    af, width, bits = (socket.AF_INET, 4, 32) if family == 4 else (socket.AF_INET6, 16, 128)
    text = socket.inet_ntop(af, value.to_bytes(width, "big"))
    return text if prefix == bits else f"{text}/{prefix}"


def merge_addresses(values: Iterable[int], family: int) -> tuple[IPNetwork, ...]:
    """The fewest CIDR blocks that hold exactly these addresses (never one more)."""
    return tuple(IPNetwork((v, p), version=family) for v, p in cidr_blocks(values, family))


def port_chunks(ports: Iterable[int]) -> list[tuple[PortRange, ...]]:
    """Sorted port ranges, cut into lists that fit one multiport match."""
    ordered = sorted(set(ports))
    ranges: list[PortRange] = []
    for port in ordered:
        if ranges and ranges[-1].high == port - 1:
            ranges[-1] = PortRange(ranges[-1].low, port)
        else:
            ranges.append(PortRange(port, port))
    chunks: list[tuple[PortRange, ...]] = []
    current: list[PortRange] = []
    used = 0
    for r in ranges:
        if used + r.slots > MULTIPORT_SLOTS:
            chunks.append(tuple(current))
            current, used = [], 0
        current.append(r)
        used += r.slots
    if current:
        chunks.append(tuple(current))
    return chunks


# How each reachability result reads wherever evidence is shown. A TCP reset comes from a
# firewall's reject and just as well from a host where nothing listens on the port, so
# `refused` says both; only silence (`filtered`) and an ICMP unreachable are proven blocks.
STATUS_MEANING: dict[Status, str] = {
    Status.FILTERED: "filtered (proven blocked)",
    Status.UNREACHABLE: "unreachable (proven blocked)",
    Status.REFUSED: "refused (a firewall reject, or nothing listening on the port)",
}


def status_text(status: Status) -> str:
    """`refused (a firewall reject, or nothing listening on the port)`; others as they are."""
    return STATUS_MEANING.get(status, status.value)


def evidence_text(evidence: Sequence[Status]) -> str:
    """What the probes said, honestly: `filtered, unreachable (proven blocked), refused (...)`.
    No `;` or quote: the text reaches snippet comments, whose safe alphabet has neither."""
    blocked = [s.value for s in evidence if s in (Status.FILTERED, Status.UNREACHABLE)]
    parts = [", ".join(blocked) + " (proven blocked)"] if blocked else []
    parts += [status_text(s) for s in evidence if s not in (Status.FILTERED, Status.UNREACHABLE)]
    return ", ".join(parts)


PEER_REASON = (
    "the unique IPs of both appliances must reach each other on the peer TLS port for failover"
)


def justify(
    providers: Sequence[str],
    kinds: Sequence[str],
    status: RuleStatus,
    evidence: Sequence[Status],
) -> str:
    """Why the rule exists, in one sentence a firewall reviewer can check."""
    services = [k for k in kinds if k != PEER_KIND]
    needs: list[str] = []
    if services:
        who = ", ".join(p for p in providers if p != PEER_PROVIDER) or ", ".join(providers)
        needs.append(
            f"{who} ({', '.join(services)}) must be reachable from every address of both "
            "appliances (shared-IP failover)"
        )
    if PEER_KIND in kinds:
        needs.append(f"{PEER_PROVIDER} ({PEER_KIND}): {PEER_REASON}")
    why = ". ".join(needs)
    if status is RuleStatus.PROVEN:
        return f"{why}. Probed from this host: {evidence_text(evidence)}"
    seen = ", ".join(s.value for s in evidence)
    return f"{why}. Not testable from this host ({seen}): unverified"
