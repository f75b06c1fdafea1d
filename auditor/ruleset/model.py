"""The typed model both readers produce: rulesets, tables, chains, rules, matches and targets.

A match answers for one packet with True, False, or a string: the reason it cannot tell (an
interface that was not given, a module that is not modelled). Nothing here guesses.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeAlias

PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}
PROTO_NUMBERS |= {"udplite": 136, "dccp": 33, "esp": 50, "ah": 51, "gre": 47, "igmp": 2}

Answer: TypeAlias = bool | str  # True / False / the reason it cannot tell


class Hook(StrEnum):
    FORWARD = "FORWARD"
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"


class Verdict(StrEnum):
    ADMITTED = "admitted"
    DENIED = "denied"
    UNKNOWN = "unknown"


class Kind(StrEnum):
    IPTABLES = "iptables-save"
    IP6TABLES = "ip6tables-save"
    NFT = "nft-json"
    IPSET = "ipset-save"


class TargetKind(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    JUMP = "jump"
    GOTO = "goto"
    RETURN = "return"
    CONTINUE = "continue"  # LOG, counters, comments: the next rule decides
    MODIFY = "modify"  # MARK, DNAT, CT --notrack...: the packet the filter sees may change
    UNKNOWN = "unknown"  # NFQUEUE and the like: the verdict is made elsewhere
    VMAP = "vmap"


@dataclass(frozen=True, slots=True)
class Packet:
    """The first packet of a new connection, at the hook under evaluation."""

    version: int
    source: int
    destination: int
    protocol: str
    dport: int
    sport: int | None = None  # None: an ephemeral port nobody chose
    in_interface: str | None = None
    out_interface: str | None = None
    # Where the packet is on its way (the evaluator moves it along the netfilter path):
    ephemeral: tuple[int, int] = (32768, 60999)  # the source ports the system may choose
    ct: str = "new"  # conntrack: "none" (before conntrack: INVALID), "new", "untracked", "?"
    mark: int = 0
    ctmark: int = 0
    # ct status bits set on the path (a NAT binding that changed the tuple: snat 0x10, dnat
    # 0x20), and those that may be (a SNAT to the source's own address and a port the sender
    # may have picked)
    ct_status: int = 0
    ct_status_unsure: int = 0
    # the connection's original tuple, where a NAT binding on the path changed the address
    # (-m conntrack --ctorigsrc/--ctorigdst); None: the packet's own
    orig_source: int | None = None
    orig_destination: int | None = None
    local_source: bool = False  # the firewall's own address (the hook says so)
    local_destination: bool = False
    site: Site | None = None  # the firewall's own addresses, when given

    @property
    def proto_number(self) -> int:
        return PROTO_NUMBERS[self.protocol]


@dataclass(frozen=True, slots=True)
class Site:
    """The firewall's own addresses (`--local-address`, an `ip -j addr` dump): `addrtype`."""

    addresses: frozenset[tuple[int, int]]  # (version, address)
    broadcasts: frozenset[int]  # IPv4 subnet broadcasts of those addresses
    complete: bool  # every address came with its prefix: the broadcasts are all known


@dataclass(frozen=True, slots=True)
class Effect:
    """What a non-verdict target does to the packet or its connection, as the evaluator follows
    it: dnat/snat (address, port or None), masquerade, mark/ctmark (value, mask:
    new = (old & ~mask) ^ value), savemark/restoremark (value: nfmask, mask: ctmask), loadmark
    (nft `meta mark set ct mark`), notrack."""

    kind: str
    address: int | None = None
    port: int | None = None
    value: int = 0
    mask: int = 0
    terminal: bool = False  # nat targets end their chain (the binding is made)


class Match(Protocol):
    def test(self, packet: Packet) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    chain: str = ""  # jump and goto
    detail: str = ""  # REJECT's --reject-with, or why the target is modify/unknown
    vmap: VerdictMap | None = None
    # What the rule does to the packet before its verdict (MARK, DNAT, notrack...), when the
    # evaluator follows it; a MODIFY target without effects is not followed (unknown).
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    table: str
    chain: str
    ref: str  # "3" (iptables rule number) or "handle 17" (nft)
    text: str
    line: int | None
    matches: tuple[Match, ...]
    target: Target


UNKNOWN_POLICY = "unknown"


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    rules: tuple[Rule, ...]
    hook: str | None = None  # lower-case hook name of a base chain
    priority: int = 0
    # "accept" / "drop" for a base chain; UNKNOWN_POLICY: an iptables dump without the chain's
    # `:CHAIN POLICY` line
    policy: str | None = None
    base: bool = False
    line: int | None = None
    type: str = "filter"  # nft chain type (filter, nat, route); the iptables nat table: nat
    devices: tuple[str, ...] = ()  # netdev/inet ingress and egress chains: their devices


@dataclass(frozen=True, slots=True)
class Table:
    family: str  # ip, ip6, inet (iptables: ip or ip6), netdev, bridge, arp
    name: str
    chains: Mapping[str, Chain]
    # nft `flags dormant`: the kernel evaluates none of its chains; None: flags nft's listing
    # garbled (1.0.6), so it may be dormant or not
    dormant: bool | None = False


@dataclass(frozen=True, slots=True)
class Ruleset:
    kind: Kind
    source: str
    tables: tuple[Table, ...]
    document: str = ""  # the text it was read from, for applying a change in memory
    sets: Mapping[str, object] = field(default_factory=dict)  # ipsets its rules refer to


class Intervals:
    """Sorted, merged, inclusive integer intervals with a bisect lookup."""

    __slots__ = ("_his", "_los")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        items = spans if isinstance(spans, list | tuple) else list(spans)
        if len(items) == 1:  # most matches: one address, one prefix, one port
            self._los, self._his = [items[0][0]], [items[0][1]]
            return
        merged: list[list[int]] = []
        for lo, hi in sorted(items):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self._los = [m[0] for m in merged]
        self._his = [m[1] for m in merged]

    @classmethod
    def merged(cls, los: list[int], his: list[int]) -> Intervals:
        """Intervals already sorted and merged (a million set elements, merged with numpy)."""
        out = cls(())
        out._los, out._his = los, his
        return out

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        at = bisect_right(self._los, value) - 1
        return at >= 0 and value <= self._his[at]

    def covers(self, lo: int, hi: int) -> Answer:
        """True: all of lo..hi is inside; False: none of it; else why it depends."""
        at = bisect_right(self._los, lo) - 1
        if at >= 0 and hi <= self._his[at]:
            return True
        nxt = bisect_right(self._los, hi) - 1
        if nxt < 0 or self._his[nxt] < lo:
            return False
        return f"part of {lo}-{hi} only"

    def spans(self) -> list[tuple[int, int]]:
        return list(zip(self._los, self._his, strict=True))

    def bounds(self) -> tuple[list[int], list[int]]:
        """The first and last values of the intervals, in order (not copied: do not change)."""
        return self._los, self._his


class VerdictMap(Protocol):
    """An nft verdict map: the target for a packet, None (no entry: next rule), or a reason."""

    def lookup(self, packet: Packet) -> Target | str | None: ...


@dataclass(frozen=True, slots=True)
class RuleRef:
    """The deciding rule (or policy) as the report shows it."""

    source: str
    family: str
    table: str
    chain: str
    ref: str  # rule number, "handle N", or "policy"
    text: str

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "family": self.family,
            "table": self.table,
            "chain": self.chain,
            "ref": self.ref,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What the ruleset does with one packet."""

    verdict: Verdict
    action: str  # accept, drop, reject (with its type), or "" when unknown
    rule: RuleRef | None
    path: tuple[str, ...]
    reason: str = ""
    # Vendor policies: what else names the decision (zones, the device's own test command).
    detail: tuple[tuple[str, str], ...] = ()
