"""Exact aggregation: sources into CIDR blocks only where every address is required, ports into
multiport-sized lists."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from netaddr import IPNetwork

from auditor.model.inventory import Protocol
from auditor.model.record import Status
from auditor.plan.justify import justify
from auditor.plan.model import (
    CODE_MISSING,
    MULTIPORT_SLOTS,
    STATUS_OF,
    Cell,
    CellKey,
    PlannedRule,
    PortRange,
    RuleStatus,
)

_DestKey = tuple[int, int, str, frozenset[int], int]
_GroupKey = tuple[int, int, str, frozenset[int], frozenset[int]]
_Order = tuple[int, int, int, int, tuple[int, ...], tuple[int, ...]]


def aggregate_cells(cells: dict[CellKey, Cell]) -> tuple[PlannedRule, ...]:
    """The fewest exact rules for these cells, in a deterministic order."""
    merged: dict[frozenset[int], tuple[tuple[IPNetwork, ...], tuple[str, ...]]] = {}
    rules: list[tuple[_Order, PlannedRule]] = []
    for key, group in _group_destinations(_group_ports(cells)).items():
        rules.extend(_group_rules(key, group, merged))
    rules.sort(key=lambda pair: pair[0])
    return tuple(rule for _, rule in rules)


def _group_ports(cells: dict[CellKey, Cell]) -> dict[_DestKey, Cell]:
    """Step 1: for each destination, the ports that share exactly the same source set."""
    by_dest: dict[_DestKey, Cell] = {}
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
    return by_dest


def _group_destinations(by_dest: dict[_DestKey, Cell]) -> dict[_GroupKey, Cell]:
    """Step 2: destinations with the same (source set, port set) become one rule."""
    groups: dict[_GroupKey, Cell] = {}
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
    return groups


def _group_rules(
    key: _GroupKey,
    group: Cell,
    merged: dict[frozenset[int], tuple[tuple[IPNetwork, ...], tuple[str, ...]]],
) -> list[tuple[_Order, PlannedRule]]:
    """The rules of one group (one per multiport-sized chunk of its ports), each with its sort
    key. `merged` caches the CIDR blocks of a source set: many groups share one."""
    code, family, ptext, fsrcs, fports = key
    dsts, provs, kinds, evid = group
    status = RuleStatus.PROVEN if code == CODE_MISSING else RuleStatus.UNVERIFIED
    got = merged.get(fsrcs)
    if got is None:
        got = merged[fsrcs] = _blocks(fsrcs, family)
    sources, source_text = got
    destinations, destination_text = _blocks(dsts, family)
    src_order, dst_order = tuple(sorted(fsrcs)), tuple(sorted(dsts))
    providers, kind_names = tuple(sorted(provs)), tuple(sorted(kinds))
    evidence = tuple(sorted((STATUS_OF[i] for i in evid), key=_status_order))
    justification = justify(providers, kind_names, status, evidence)
    rules: list[tuple[_Order, PlannedRule]] = []
    for chunk in port_chunks(fports):
        rule = PlannedRule(
            family=family,
            sources=sources,
            destinations=destinations,
            protocol=Protocol(ptext),
            ports=chunk,
            providers=providers,
            kinds=kind_names,
            status=status,
            evidence=evidence,
            flows=len(fsrcs) * len(dsts) * sum(r.high - r.low + 1 for r in chunk),
            justification=justification,
            source_blocks=source_text,
            destination_blocks=destination_text,
        )
        order = (family, code, 0 if ptext == "tcp" else 1, chunk[0].low, dst_order, src_order)
        rules.append((order, rule))
    return rules


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
