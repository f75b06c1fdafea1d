"""Matches both readers share. `candidates` (when present) gives, from the flow index, exactly
the flows the match is True for, so the evaluator can skip most per-flow tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from auditor.ruleset.model import PROTO_NUMBERS, Answer, Intervals, Match, Packet

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
            return ephemeral(self.spans, packet, self.negate)
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

    def memo(self) -> tuple[object, bool]:
        """What the evaluator assumes once per way through when the interface is not given:
        the same interface test answers the same everywhere (`! -i X` is its negation)."""
        return ("iface", self.direction, self.name, self.wildcard), self.negate


def ephemeral(spans: Intervals, packet: Packet, negate: bool = False) -> Answer:
    """A source-port match for a flow whose source port the system picks from its ephemeral
    range: decided when the whole range falls on one side."""
    lo, hi = packet.ephemeral
    inside = spans.covers(lo, hi)
    if isinstance(inside, str):
        return (
            f"the rule matches part of the ephemeral source ports {lo}-{hi} "
            "(pass --source-ports LOW-HIGH if the system's range differs)"
        )
    return inside != negate


_CT_BITS = {"none": "INVALID", "new": "NEW", "untracked": "UNTRACKED"}


@dataclass(frozen=True, slots=True)
class CtState:
    """--ctstate / --state, nft `ct state`: what conntrack says at this point of the path:
    before conntrack (raw, nft priority < -200) nothing is tracked, which reads INVALID; after
    NOTRACK, UNTRACKED; else a new connection's first packet: NEW."""

    names: frozenset[str]  # upper case: NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        return self.phase(packet.ct)

    def phase(self, ct: str) -> Answer:
        """The answer for every packet at a point where conntrack says `ct`."""
        bit = _CT_BITS.get(ct)
        if bit is None:
            return _NO_STATE
        return (bit in self.names) != self.negate


# The conntrack status bits known on the first packet of a new connection until it leaves its
# last hook: expected (not a related connection), seen-reply, assured, confirmed (set when the
# packet leaves the last hook) are clear; snat (0x10) and dnat (0x20) are set by a NAT binding
# on the path that changed the tuple (the packet's `ct_status`). The others (the *-done bits of
# every NAT hook that ran, a helper...) are not modelled: a test that depends on them is unknown.
STATUS_KNOWN = 0x3F
_NO_STATE = "a base chain at priority -200 runs beside conntrack: its state is unknown"


def status_bits(packet: Packet) -> tuple[int, int]:
    """A tracked first packet's ct status: (the bits set, of those known)."""
    known = STATUS_KNOWN & ~packet.ct_status_unsure
    return packet.ct_status & known, known


def status_reasons(unsure: int) -> list[str]:
    """Why a test of the snat or confirmed bit is not decided (the bits in `unsure`)."""
    parts = []
    if unsure & 0x10:
        parts.append("snat, which the SNAT to the source's own address sets unless the sender "
                     "picked the port it names")  # fmt: skip
    if unsure & 0x08:
        parts.append("confirmed, as the chain runs at conntrack's confirm priority (2147483647)")
    return parts


# -m conntrack --ctstatus names (NONE is the empty mask, which never matches) and the virtual
# --ctstate names the kernel adds from the status bits (xt_conntrack)
CT_STATUS_NAMES = {"NONE": 0, "EXPECTED": 1, "SEEN_REPLY": 2, "ASSURED": 4, "CONFIRMED": 8}
_NAT_STATES = {"SNAT": 0x10, "DNAT": 0x20}


@dataclass(frozen=True, slots=True)
class Conntrack:
    """One option of `-m conntrack` beyond the plain states, as xt_conntrack tests it on a new
    connection's first packet: `--ctstate` with the virtual SNAT/DNAT states (any of the
    names: the state, or a NAT binding that changed the tuple), `--ctstatus` (any of the status
    bits), `--ctdir` (the first packet goes the ORIGINAL way). Without a connection (before
    conntrack, untracked) xt_conntrack answers only its state test: `state` is whether the same
    -m conntrack holds a --ctstate (which then decided), else the match fails."""

    kind: str  # "state", "status", "dir"
    names: frozenset[str]
    state: bool = False
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        if packet.ct == "?":
            return _NO_STATE
        if self.kind == "state":
            return self._state(packet)
        if packet.ct != "new":
            return self.state
        if self.kind == "dir":
            return ("ORIGINAL" in self.names) != self.negate
        want = 0
        for name in self.names:
            want |= CT_STATUS_NAMES[name]
        bits, known = status_bits(packet)
        if bits & want:
            return not self.negate
        if want & ~known:
            return "ct status depends on " + "; ".join(status_reasons(want & ~known))
        return self.negate

    def _state(self, packet: Packet) -> Answer:
        if _CT_BITS.get(packet.ct) in self.names:
            return not self.negate
        want = 0
        if packet.ct == "new":
            for name in self.names & _NAT_STATES.keys():
                want |= _NAT_STATES[name]
        bits, known = status_bits(packet)
        if bits & want:
            return not self.negate
        if want & ~known:
            return "conntrack state SNAT depends on " + "; ".join(status_reasons(want & ~known))
        return self.negate


@dataclass(frozen=True, slots=True)
class CtAddr:
    """-m conntrack --ctorigsrc/--ctorigdst/--ctreplsrc/--ctrepldst ADDR[/MASK]: an address of
    the connection's tuples on its first packet. The original tuple holds the addresses before
    any NAT; the reply tuple's source is the destination after DNAT, its destination the source
    after SNAT (before a NAT hook has run, the packet's own addresses)."""

    option: str  # "origsrc", "origdst", "replsrc", "repldst"
    inner: Match  # the address test, against the source or the destination
    state: bool = False  # as Conntrack.state

    def test(self, packet: Packet) -> Answer:
        if packet.ct == "?":
            return _NO_STATE
        if packet.ct != "new":
            return self.state
        source, destination = packet.source, packet.destination
        if self.option.startswith("orig"):
            source = packet.orig_source if packet.orig_source is not None else source
            if packet.orig_destination is not None:
                destination = packet.orig_destination
        else:  # the reply goes from the (new) destination back to the (new) source
            source, destination = destination, source
        return self.inner.test(replace(packet, source=source, destination=destination))


@dataclass(frozen=True, slots=True)
class MarkMatch:
    """-m mark / -m connmark --mark V[/M], nft `meta mark`/`ct mark`: (mark & M) == V. A
    connection mark without a connection (before conntrack, untracked) never matches."""

    ct: bool
    value: int
    mask: int = 0xFFFFFFFF
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        if self.ct and packet.ct not in ("new", "?"):
            return False
        if self.ct and packet.ct == "?":
            return "a base chain at priority -200 runs beside conntrack: its state is unknown"
        mark = packet.ctmark if self.ct else packet.mark
        return ((mark & self.mask) == self.value) != self.negate


def mark_value(text: str) -> tuple[int, int]:
    """`0x1`, `0x1/0xff`, `5` as (value, mask); ValueError when it is no mark."""
    value, _, mask = text.partition("/")
    return int(value, 0) & 0xFFFFFFFF, (int(mask, 0) if mask else 0xFFFFFFFF) & 0xFFFFFFFF


ADDRESS_TYPES = {"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE"}
ADDRESS_TYPES |= {"UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"}


def has_type(packet: Packet, side: str, kind: str) -> bool | None:
    """Is the source or destination of this type (the kernel's inet_addr_type, from the
    local routing table); None when it cannot be told from what is given."""
    value = packet.source if side == "source" else packet.destination
    if packet.version == 4:
        special = value >> 24 == 0 or value == 0xFFFFFFFF  # 0.0.0.0/8 and 255.255.255.255
        multicast = value >> 28 == 0xE
    else:
        special, multicast = False, value >> 120 == 0xFF
    if kind == "MULTICAST":
        return multicast
    if multicast and kind in ("LOCAL", "UNICAST", "BROADCAST"):
        return False
    site = packet.site
    local = packet.local_source if side == "source" else packet.local_destination
    if site is not None and (packet.version, value) in site.addresses:
        local = True
    if (value >> 24 == 127) if packet.version == 4 else value == 1:
        local = True  # the loopback routes of the local table
    if kind == "LOCAL":
        return local and not special
    if packet.version == 6:
        if kind == "BROADCAST":
            return False
        return None  # IPv6 consults the whole routing table
    broadcast: bool | None = True if special else None
    if broadcast is None and local:
        broadcast = False
    if broadcast is None and site is not None and site.complete:
        broadcast = value in site.broadcasts
    if kind == "BROADCAST":
        return broadcast
    if kind == "UNICAST":
        return None if broadcast is None else not (broadcast or local)
    return None


@dataclass(frozen=True, slots=True)
class AddrType:
    """-m addrtype --src-type/--dst-type TYPES (nft `fib saddr/daddr type`): one of TYPES."""

    side: str  # source / destination
    types: frozenset[str]
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        unsure = False
        for kind in sorted(self.types):
            answer = has_type(packet, self.side, kind)
            if answer:
                return not self.negate
            unsure = unsure or answer is None
        if unsure:
            which = "source" if self.side == "source" else "destination"
            return (
                f"whether the {which} is {'/'.join(sorted(self.types))} depends on the "
                "firewall's addresses (pass --local-address or --local-addresses)"
            )
        return self.negate


HISTORY_MODULES = {
    "limit": "a rate limit",
    "hashlimit": "a rate limit",
    "recent": "the addresses seen recently",
    "quota": "a byte quota",
    "connlimit": "the number of open connections",
    "statistic": "chance or a packet count",
    "connbytes": "the bytes the connection carried",
}


def history(module: str) -> str:
    """Why a match on earlier traffic cannot be decided (the evaluator follows both ways)."""
    return f"-m {module} depends on {HISTORY_MODULES[module]}"
