"""A plan as the objects a vendor firewall is configured with: one address object per address,
address groups named for what they hold (the pair's addresses by role: `src4-shared`,
`src4-unique`, `src4-pair` for both; each rule's destinations by provider), port objects,
services and one allow rule per planned rule. Every vendor format renders this one model, so
they all admit the same flows.

Names: `aud-<site>-<change>-<what>`, within the vendor's length limit, in the alphabet every
vendor takes, PAN-OS's included: letters, digits, hyphens and underscores (no period, no
space). The site part is cut to fit; the change id (a digest of the exact site name and the
rules) keeps cut names distinct, and two different changes for one site never share a name.
A `<what>` too long for the room left is cut and ends in 6 hex digits of its sha256, so it
stays unique and stable."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from netaddr import IPAddress, IPNetwork, cidr_merge

from auditor.plan import Plan, PlannedRule, PortRange, RuleStatus
from auditor.render.escape import ascii_fold, cut_words, safe_text
from auditor.render.fields import blocks, ports_text, rule_comment
from auditor.render.memo import LastPlan

_BAD = re.compile(r"[^A-Za-z0-9_-]+")
PREFIX = "aud-"
SITE_MIN = 8  # the site keeps at least this much room when a vendor limit is short
# A block of at most this many addresses becomes one host object per address.
SPLIT_MAX = 16
# Verification lines listed per format (every source of every flow, up to this many).
MAX_CHECKS = 200


@dataclass(frozen=True, slots=True)
class Naming:
    """A vendor's object-name limit (characters)."""

    limit: int
    site: str
    change: str

    def name(self, what: str) -> str:
        what = _BAD.sub("-", what).strip("-") or "x"
        site = _BAD.sub("-", ascii_fold(self.site)).strip("-") or "site"
        fixed = len(PREFIX) + len(self.change) + 2
        room_what = self.limit - fixed - min(SITE_MIN, len(site))
        if len(what) > room_what:
            digest = hashlib.sha256(what.encode()).hexdigest()[:6]
            what = what[: max(room_what - 7, 1)].rstrip("-_") + "-" + digest
        room_site = self.limit - fixed - len(what)
        site = site[:room_site].rstrip("-_") or "s"
        return f"{PREFIX}{site}-{self.change}-{what}"


@dataclass(frozen=True, slots=True)
class AddressObject:
    name: str
    family: int
    block: str  # `198.51.100.10` or `203.0.113.8/30`
    network: IPNetwork
    role: str  # `shared`, `unique` (the pair's addresses), `dst`

    @property
    def host(self) -> bool:
        return self.network.prefixlen == (32 if self.family == 4 else 128)

    @property
    def address(self) -> str:
        return str(self.network.network)

    @property
    def prefixlen(self) -> int:
        return int(self.network.prefixlen)

    @property
    def cidr(self) -> str:
        return f"{self.network.network}/{self.network.prefixlen}"

    @property
    def netmask(self) -> str:
        return str(self.network.netmask)


@dataclass(frozen=True, slots=True)
class AddressGroup:
    name: str
    family: int
    members: tuple[AddressObject, ...]
    description: str  # safe text: what the group holds, member by member

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every address the group holds, as text."""
        return tuple(str(IPAddress(a, m.family)) for m in self.members for a in _span(m.network))


@dataclass(frozen=True, slots=True)
class PortObject:
    name: str
    protocol: str
    low: int
    high: int

    @property
    def single(self) -> bool:
        return self.low == self.high

    def text(self, sep: str = "-") -> str:
        return str(self.low) if self.single else f"{self.low}{sep}{self.high}"


@dataclass(frozen=True, slots=True)
class ServiceObject:
    name: str
    protocol: str
    members: tuple[PortObject, ...]

    def ports(self, range_sep: str = "-", list_sep: str = ",") -> str:
        return list_sep.join(p.text(range_sep) for p in self.members)


@dataclass(frozen=True, slots=True)
class VendorRule:
    name: str
    number: int
    family: int
    protocol: str
    source: AddressGroup
    destination: AddressGroup
    service: ServiceObject
    status: str
    comment: str  # safe text (no quotes, backslash, line break)
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowCheck:
    """One flow a rule admits, for the vendor's own policy-match command: every source address
    of every rule, the backup's included."""

    rule: str
    source: str
    destination: str
    protocol: str
    number: int
    port: int


@dataclass(frozen=True, slots=True)
class VendorObjects:
    site: str  # safe text
    change: str
    addresses: tuple[AddressObject, ...]
    groups: tuple[AddressGroup, ...]
    ports: tuple[PortObject, ...]
    services: tuple[ServiceObject, ...]
    rules: tuple[VendorRule, ...]
    families: tuple[int, ...]

    @property
    def note(self) -> str:
        """The comment every object carries: `auditor SITE change ID`."""
        return f"auditor {self.site} change {self.change}"

    def checks(self, limit: int = MAX_CHECKS) -> tuple[list[FlowCheck], int]:
        """Every (source, destination, protocol, first port of each range) the rules admit, up
        to `limit`, and how many more there are."""
        out: list[FlowCheck] = []
        total = 0
        for r in self.rules:
            for src in r.source.hosts:
                for dst in r.destination.hosts:
                    for p in r.service.members:
                        total += 1
                        if len(out) < limit:
                            number = _PROTO_NUMBER[r.protocol]
                            out.append(FlowCheck(r.name, src, dst, r.protocol, number, p.low))
        return out, total - len(out)


_PROTO_NUMBER = {"tcp": 6, "udp": 17}


def _span(net: IPNetwork) -> range:
    return range(net.first, net.last + 1)


def _split(nets: Sequence[IPNetwork]) -> list[IPNetwork]:
    """One network per address where a block is small (the plan merges adjacent addresses into
    CIDR blocks; an object per address says what it holds)."""
    out: list[IPNetwork] = []
    for net in nets:
        if net.size <= SPLIT_MAX:
            bits = 32 if net.version == 4 else 128
            out += [IPNetwork((a, bits), version=net.version) for a in _span(net)]
        else:
            out.append(net)
    return out


def _tail(address: IPAddress) -> str:
    """The part of an address that tells the pair's addresses apart: the last octet (IPv4) or
    the last group (IPv6)."""
    text = str(address)
    return text.rsplit("." if address.version == 4 else ":", 1)[-1] or "0"


class _Builder:
    def __init__(self, plan: Plan, naming: Naming) -> None:
        self.naming = naming
        self.roles = {s.address: s.role for s in plan.sources}
        self.addresses: dict[str, AddressObject] = {}
        self.groups: dict[tuple[str, int, tuple[str, ...]], AddressGroup] = {}
        self.group_names: set[str] = set()
        self.ports: dict[tuple[str, int, int], PortObject] = {}
        self.services: dict[tuple[str, tuple[PortRange, ...]], ServiceObject] = {}
        # The pair's addresses per family and role, over every rule of the plan.
        self.by_role: dict[tuple[int, str], set[str]] = {}
        for r in plan.rules:
            for net in _split(r.sources):
                role = self._role(net)
                self.by_role.setdefault((r.family, role), set()).add(blocks([net])[0])

    def _role(self, net: IPNetwork) -> str:
        return self.roles.get(str(net.ip), "src") if net.size == 1 else "src"

    def address(self, net: IPNetwork, role: str) -> AddressObject:
        """The object of one address (or a wide block); a pair's address is named for its role
        (`shared`, `unique`) wherever it appears, a peer's destination included."""
        text = blocks([net])[0]
        got = self.addresses.get(text)
        if got is None:
            if net.size == 1:
                role = self.roles.get(str(net.ip), role)
            what = f"{role}-{text.replace(':', '_').replace('.', '_').replace('/', '_')}"
            got = AddressObject(self.naming.name(what), net.version, text, net, role)
            self.addresses[text] = got
        return got

    def _unique_name(self, what: str) -> str:
        name = self.naming.name(what)
        n = 1
        while name in self.group_names:
            n += 1
            name = self.naming.name(f"{what}-{n}")
        self.group_names.add(name)
        return name

    def sources(self, family: int, nets: Sequence[IPNetwork]) -> AddressGroup:
        split = _split(nets)
        members = [self.address(n, self._role(n)) for n in split]
        key = ("src", family, tuple(m.block for m in members))
        got = self.groups.get(key)
        if got is None:
            texts = {m.block for m in members}
            shared = self.by_role.get((family, "shared"), set())
            unique = self.by_role.get((family, "unique"), set())
            if texts == shared | unique and shared and unique:
                what = f"src{family}-pair"
            elif texts == shared:
                what = f"src{family}-shared"
            elif texts == unique:
                what = f"src{family}-unique"
            else:  # a part of the pair: named by each member's role and address tail
                what = f"src{family}-" + "-".join(
                    f"{m.role}_{_tail(m.network.ip)}" if m.host else f"{m.role}_net"
                    for m in members
                )
            got = AddressGroup(self._unique_name(what), family, tuple(members), _held(members))
            self.groups[key] = got
        return got

    def destinations(
        self, family: int, nets: Sequence[IPNetwork], providers: Sequence[str]
    ) -> AddressGroup:
        members = [self.address(n, "dst") for n in _split(nets)]
        key = ("dst", family, tuple(m.block for m in members))
        got = self.groups.get(key)
        if got is None:
            what = f"dst{family}-{'-'.join(providers)}"
            got = AddressGroup(self._unique_name(what), family, tuple(members), _held(members))
            self.groups[key] = got
        return got

    def service(self, protocol: str, ranges: tuple[PortRange, ...]) -> ServiceObject:
        got = self.services.get((protocol, ranges))
        if got is None:
            members = []
            for r in ranges:
                pkey = (protocol, r.low, r.high)
                port = self.ports.get(pkey)
                if port is None:
                    port = PortObject(self.naming.name(f"{protocol}-{r}"), protocol, r.low, r.high)
                    self.ports[pkey] = port
                members.append(port)
            what = f"svc-{protocol}-{ports_text(ranges, range_sep='-', list_sep='_')}"
            got = ServiceObject(self.naming.name(what), protocol, tuple(members))
            self.services[(protocol, ranges)] = got
        return got


def _held(members: Sequence[AddressObject]) -> str:
    """`shared 198.51.100.10, unique 198.51.100.12`: the group's members, as the description."""
    parts = [f"{m.role} {m.block}" if m.role in ("shared", "unique") else m.block for m in members]
    return cut_words(safe_text(", ".join(parts), 200), 200)


def _merge(
    rules: list[tuple[PlannedRule, set[RuleStatus]]], part: str
) -> list[tuple[PlannedRule, set[RuleStatus]]]:
    """Rules equal but for `part` (sources, destinations or ports) as one: exact, since each
    value of the union is required with everything else the rules share."""
    out: dict[tuple, tuple[PlannedRule, set[RuleStatus]]] = {}
    for rule, statuses in rules:
        parts = {
            "sources": tuple(rule.sources),
            "destinations": tuple(rule.destinations),
            "ports": rule.ports,
        }
        del parts[part]
        key = (rule.family, rule.protocol, *parts.values())
        got = out.get(key)
        if got is None:
            out[key] = (rule, set(statuses))
            continue
        have, seen = got
        if part == "ports":
            ports = tuple(sorted({*have.ports, *rule.ports}, key=lambda r: r.low))
            merged = replace(have, ports=ports)
        elif part == "sources":
            nets = tuple(cidr_merge([*have.sources, *rule.sources]))
            merged = replace(have, sources=nets, source_blocks=tuple(blocks(nets)))
        else:
            nets = tuple(cidr_merge([*have.destinations, *rule.destinations]))
            merged = replace(have, destinations=nets, destination_blocks=tuple(blocks(nets)))
        merged = replace(
            merged,
            providers=tuple(sorted({*have.providers, *rule.providers})),
            kinds=tuple(sorted({*have.kinds, *rule.kinds})),
            evidence=tuple(dict.fromkeys((*have.evidence, *rule.evidence))),
            flows=have.flows + rule.flows,
        )
        out[key] = (merged, seen | statuses)
    return list(out.values())


def vendor_rules(plan: Plan) -> list[tuple[PlannedRule, str]]:
    """The plan's rules as vendor rules, each with its status text. A vendor rule has no
    multiport limit and keeps the status in its comment only, so rules the plan keeps apart
    for those reasons merge where the result admits exactly the same flows: the proven and the
    unverified sources of one destination set and port list, then destinations, then ports."""
    rules = [(r, {r.status}) for r in plan.rules]
    for part in ("sources", "destinations", "ports"):
        rules = _merge(rules, part)
    order = [s.value for s in RuleStatus]
    return [(r, " ".join(sorted((s.value for s in st), key=order.index))) for r, st in rules]


_LAST = LastPlan()


def vendor_objects(plan: Plan, limit: int, comment_max: int = 255) -> VendorObjects:
    """The plan's objects and rules, named within `limit` characters."""
    return _LAST.get(plan, (limit, comment_max), lambda: _build(plan, limit, comment_max))


def _build(plan: Plan, limit: int, comment_max: int) -> VendorObjects:
    naming = Naming(limit, plan.site, plan.change_id)
    b = _Builder(plan, naming)
    rules: list[VendorRule] = []
    for number, (rule, status) in enumerate(vendor_rules(plan), start=1):
        comment = rule_comment(plan.site, rule, comment_max, plan.change_id, status)
        rules.append(_rule(b, naming, rule, number, comment=comment, status=status))
    return VendorObjects(
        site=safe_text(plan.site, 100),  # ASA descriptions hold 200 characters
        change=plan.change_id,
        addresses=tuple(b.addresses.values()),
        groups=tuple(b.groups.values()),
        ports=tuple(b.ports.values()),
        services=tuple(b.services.values()),
        rules=tuple(rules),
        families=tuple(sorted({r.family for r in plan.rules})),
    )


def _rule(
    b: _Builder, naming: Naming, rule: PlannedRule, number: int, *, comment: str, status: str
) -> VendorRule:
    return VendorRule(
        name=naming.name(f"r{number}"),
        number=number,
        family=rule.family,
        protocol=rule.protocol.value,
        source=b.sources(rule.family, sorted(rule.sources)),
        destination=b.destinations(rule.family, sorted(rule.destinations), rule.providers),
        service=b.service(rule.protocol.value, rule.ports),
        status=status,
        comment=comment,
        kinds=rule.kinds,
    )
