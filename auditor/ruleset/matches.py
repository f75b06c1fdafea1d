"""Matches both readers share. `candidates` (when present) gives, from the flow index, exactly
the flows the match is True for, so the evaluator can skip most per-flow tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.ruleset.model import PROTO_NUMBERS, Answer, Intervals, Packet

if TYPE_CHECKING:
    from auditor.ruleset.index import FlowIndex


def proto_number(name: str) -> int | None:
    """A protocol name or number as written in a ruleset; None when unknown."""
    if name.isascii() and name.isdigit():  # str.isdigit() alone takes Arabic-Indic digits
        return int(name)
    return PROTO_NUMBERS.get(name.lower())


@dataclass(frozen=True, slots=True)
class Const:
    """A match whose answer does not depend on the flow: conntrack state NEW, or a reason."""

    answer: Answer

    def test(self, packet: Packet) -> Answer:
        return self.answer

    def candidates(self, index: FlowIndex) -> frozenset[int] | None:
        return frozenset() if self.answer is False else None


@dataclass(frozen=True, slots=True)
class ProtoMatch:
    numbers: frozenset[int]
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        return (packet.proto_number in self.numbers) != self.negate

    def candidates(self, index: FlowIndex) -> frozenset[int] | None:
        return None if self.negate else index.by_proto(self.numbers)


@dataclass(frozen=True, slots=True)
class AddrMatch:
    """Source or destination address within intervals (prefixes, ranges) of one IP version."""

    field: str  # "source" or "destination"
    version: int
    spans: Intervals
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        if packet.version != self.version:
            return False  # the family dependency of `ip saddr` / `ip6 daddr`
        value = packet.source if self.field == "source" else packet.destination
        return (value in self.spans) != self.negate

    def candidates(self, index: FlowIndex) -> frozenset[int] | None:
        if self.negate:
            return None
        return index.by_address(self.field, self.version, self.spans)


@dataclass(frozen=True, slots=True)
class MaskedAddr:
    """`-d 0.0.0.10/0.0.0.255`: an address under a mask that is no prefix (iptables takes any
    mask written as an address): the packet's address, masked, equals one of the bases."""

    field: str  # "source" or "destination"
    version: int
    pairs: tuple[tuple[int, int], ...]  # (base already masked, mask)
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        if packet.version != self.version:
            return False
        value = packet.source if self.field == "source" else packet.destination
        return any(value & mask == base for base, mask in self.pairs) != self.negate


@dataclass(frozen=True, slots=True)
class PortMatch:
    """A destination or source port within intervals; only for the listed transport protocols."""

    field: str  # "dport" or "sport"
    spans: Intervals
    protocols: frozenset[int]
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        if packet.proto_number not in self.protocols:
            return False
        value = packet.dport if self.field == "dport" else packet.sport
        if value is None:
            return "the rule matches the source port, which the flow leaves to the system"
        return (value in self.spans) != self.negate

    def candidates(self, index: FlowIndex) -> frozenset[int] | None:
        if self.negate or self.field != "dport":
            return None
        return index.by_dport(self.spans, self.protocols)


@dataclass(frozen=True, slots=True)
class IfaceMatch:
    """-i/-o or iifname/oifname; a trailing + (iptables) or * (nft) is a prefix wildcard."""

    direction: str  # "in" or "out"
    name: str
    wildcard: bool
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        given = packet.in_interface if self.direction == "in" else packet.out_interface
        if given is None:
            option = "--in-interface" if self.direction == "in" else "--out-interface"
            return f"the rule depends on the {self.direction}put interface (pass {option})"
        hit = given.startswith(self.name) if self.wildcard else given == self.name
        return hit != self.negate
