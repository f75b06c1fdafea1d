"""A plan as the objects a vendor firewall is configured with: address objects, address groups
(the pair's sources, each rule's destinations), port objects, services and one allow rule per
planned rule. Every vendor format renders this one model, so they all admit the same flows.

Names: `aud-<site>-<change>-<what>`, within the vendor's length limit and a charset every
vendor takes (A-Z a-z 0-9 _ . -). The site part is cut to fit; the change id (a digest of the
exact site name and the rules) keeps cut names distinct. A `<what>` too long for the room left
is cut and ends in 6 hex digits of its sha256, so it stays unique and stable."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from netaddr import IPNetwork, cidr_merge

from auditor.plan import Plan, PlannedRule, PortRange
from auditor.render.escape import ascii_fold, safe_text
from auditor.render.fields import blocks, ports_text, rule_comment

_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
PREFIX = "aud-"
SITE_MIN = 8  # the site keeps at least this much room when a vendor limit is short


@dataclass(frozen=True, slots=True)
class Naming:
    """A vendor's object-name limit (characters)."""

    limit: int
    site: str
    change: str

    def name(self, what: str) -> str:
        what = _BAD.sub("-", what).strip("-.") or "x"
        site = _BAD.sub("-", ascii_fold(self.site)).strip("-.") or "site"
        fixed = len(PREFIX) + len(self.change) + 2
        room_what = self.limit - fixed - min(SITE_MIN, len(site))
        if len(what) > room_what:
            digest = hashlib.sha256(what.encode()).hexdigest()[:6]
            what = what[: max(room_what - 7, 1)].rstrip("-.") + "-" + digest
        room_site = self.limit - fixed - len(what)
        site = site[:room_site].rstrip("-.") or "s"
        return f"{PREFIX}{site}-{self.change}-{what}"


@dataclass(frozen=True, slots=True)
class AddressObject:
    name: str
    family: int
    block: str  # `198.51.100.10` or `203.0.113.8/30`
    network: IPNetwork

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


def _key(nets: Sequence[IPNetwork]) -> tuple[str, ...]:
    return tuple(blocks(nets))


class _Builder:
    def __init__(self, plan: Plan, naming: Naming) -> None:
        self.naming = naming
        self.addresses: dict[str, AddressObject] = {}
        self.groups: dict[tuple[str, tuple[str, ...]], AddressGroup] = {}
        self.ports: dict[tuple[str, int, int], PortObject] = {}
        self.services: dict[tuple[str, tuple[PortRange, ...]], ServiceObject] = {}
        self.counts: dict[str, int] = {}  # groups numbered per role: src4-1, dst4-1, ...
        # The pair's group per family: every source address of that family's rules.
        self.pair: dict[int, tuple[str, ...]] = {}
        for family in (4, 6):
            # rules aggregate their sources each in its own way: merge their union
            ordered = cidr_merge([n for r in plan.family_rules(family) for n in r.sources])
            if ordered:
                self.pair[family] = _key(ordered)
                self.group("pair", family, ordered)

    def address(self, net: IPNetwork) -> AddressObject:
        text = blocks([net])[0]
        got = self.addresses.get(text)
        if got is None:
            name = self.naming.name(text.replace(":", "_").replace("/", "_"))
            got = self.addresses[text] = AddressObject(name, net.version, text, net)
        return got

    def group(self, role: str, family: int, nets: Sequence[IPNetwork]) -> AddressGroup:
        key = (role if role == "dst" else "src", _key(nets))
        got = self.groups.get(key)
        if got is None:
            if role == "pair":
                what = f"pair{family}"
            else:
                self.counts[role] = self.counts.get(role, 0) + 1
                what = f"{role}{family}-{self.counts[role]}"
            members = tuple(self.address(n) for n in nets)
            got = self.groups[key] = AddressGroup(self.naming.name(what), family, members)
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


def vendor_objects(plan: Plan, limit: int, comment_max: int = 255) -> VendorObjects:
    """The plan's objects and rules, named within `limit` characters."""
    naming = Naming(limit, plan.site, plan.change_id)
    b = _Builder(plan, naming)
    rules: list[VendorRule] = []
    for number, rule in enumerate(plan.rules, start=1):
        comment = rule_comment(plan.site, rule, comment_max)
        rules.append(_rule(b, naming, rule, number, comment))
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


def _rule(b: _Builder, naming: Naming, rule: PlannedRule, number: int, comment: str) -> VendorRule:
    sources = sorted(rule.sources)
    role = "pair" if _key(sources) == b.pair[rule.family] else "src"
    return VendorRule(
        name=naming.name(f"r{number}"),
        number=number,
        family=rule.family,
        protocol=rule.protocol.value,
        source=b.group(role, rule.family, sources),
        destination=b.group("dst", rule.family, sorted(rule.destinations)),
        service=b.service(rule.protocol.value, rule.ports),
        status=rule.status.value,
        comment=comment,
    )
