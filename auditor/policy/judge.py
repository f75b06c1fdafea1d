"""What a zone-based firewall does with the first packet of a new connection, from the
vendor-neutral model: zones from the routing table (longest prefix), destination NAT, the
ordered rules (first match wins), then the intrazone/interzone defaults. What the
configuration cannot decide is unknown with its reason, never guessed.

A rule that may match (an unknown condition) but whose action agrees with the eventual
decision does not make the answer unknown: whichever of them matches, the flow fares the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.policy.index import FieldIndex, SegmentIndex
from auditor.policy.model import (
    ANY,
    AddressSet,
    DefaultRule,
    NatRule,
    Policy,
    PolicyRule,
    Router,
    RuleType,
)
from auditor.ruleset.model import Answer, Intervals, Verdict

MAX_NEXTHOP_DEPTH = 4
_Zone = tuple[str | None, str]  # the zone, or None and why it is unknown


@dataclass(frozen=True, slots=True)
class Connection:
    """The first packet as the policy sees it."""

    version: int
    source: int
    destination: int
    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    verdict: Verdict
    rule: PolicyRule | DefaultRule | None
    from_zone: str | None  # None: unknown
    to_zone: str | None  # the post-NAT zone
    reason: str = ""
    nat: str = ""  # the NAT rule that translated the destination
    translated: tuple[int, int] | None = None  # (version, address) after destination NAT
    also: tuple[str, ...] = ()  # earlier rules that may match, with the same outcome

    @property
    def action(self) -> str:
        return self.rule.action.value if self.rule is not None else ""


def _both(a: Answer, b: Answer) -> Answer:
    if a is False or b is False:
        return False
    if isinstance(a, str):
        return a
    return b


def _negated(answer: Answer, negate: bool) -> Answer:
    return (not answer) if negate and isinstance(answer, bool) else answer


class PolicyJudge:
    """The model with its indexes: build once, judge many connections."""

    def __init__(
        self, policy: Policy, from_zone: str | None = None, to_zone: str | None = None
    ) -> None:
        self.policy = policy
        self.given_from = from_zone
        self.given_to = to_zone
        rules = policy.rules
        self.all = (1 << len(rules)) - 1
        self.from_any = 0
        self.to_any = 0
        self.from_bits: dict[str, int] = {}
        self.to_bits: dict[str, int] = {}
        for i, rule in enumerate(rules):
            self._zone_bits(i, rule.from_zones, self.from_bits, "from")
            self._zone_bits(i, rule.to_zones, self.to_bits, "to")
        self.sources = _address_index(rules, source=True)
        self.destinations = _address_index(rules, source=False)
        self.services = _service_index(rules)
        self._zones: dict[tuple[int, int], tuple[str | None, str]] = {}

    def _zone_bits(
        self, i: int, zones: frozenset[str] | None, bits: dict[str, int], side: str
    ) -> None:
        if zones is None:
            if side == "from":
                self.from_any |= 1 << i
            else:
                self.to_any |= 1 << i
            return
        for zone in zones:
            bits[zone] = bits.get(zone, 0) | (1 << i)

    # zones -------------------------------------------------------------------------------

    def zone_of(self, version: int, address: int) -> tuple[str | None, str]:
        """The zone of the interface the route to `address` leaves by, or (None, why)."""
        key = (version, address)
        got = self._zones.get(key)
        if got is None:
            got = self._zones[key] = self._route_zone(version, address)
        return got

    def _route_zone(self, version: int, address: int) -> tuple[str | None, str]:
        routers = [r for r in self.policy.routers if r.routes or r.interfaces]
        if not routers:
            return None, "the configuration holds no virtual router with routes"
        if len(routers) > 1:
            names = ", ".join(r.name for r in routers)
            return None, f"several virtual routers ({names}): which one carries the flow is unknown"
        router = routers[0]
        if router.dynamic:
            protocols = ", ".join(router.dynamic)
            return None, (
                f"virtual router {router.name} runs {protocols}: a learned route the "
                "configuration does not hold may be more specific"
            )
        interface, why = _lookup(router, version, address, MAX_NEXTHOP_DEPTH)
        if interface is None:
            return None, why
        zone = self.policy.interface_zone.get(interface)
        if zone is None:
            return None, f"interface {interface} is in no zone of {self.policy.context}"
        return zone, ""

    # the decision --------------------------------------------------------------------------

    def judge(self, c: Connection) -> PolicyDecision:
        w = self._where(c)
        pending: list[tuple[PolicyRule, str]] = []
        candidates = self._candidates(c, w.from_zone, w.to_zone)
        while candidates:
            low = candidates & -candidates
            candidates ^= low
            rule = self.policy.rules[low.bit_length() - 1]
            answer = self._test(rule, c, w)
            if answer is True:
                return _settle(rule, pending, w)
            if isinstance(answer, str):
                pending.append((rule, answer))
        return self._default(pending, w)

    def _where(self, c: Connection) -> _Where:
        """The zones (post-NAT to-zone) and the destination NAT of the connection."""
        from_zone: str | None
        if self.given_from:
            from_zone, from_why = self.given_from, ""
        else:
            from_zone, from_why = self.zone_of(c.version, c.source)
        pre_zone, pre_why = self.zone_of(c.version, c.destination)
        if self.given_to and pre_zone is None:
            pre_zone, pre_why = self.given_to, ""
        nat, translated, nat_why = self._nat_for(c, from_zone, from_why, pre_zone, pre_why)
        to_zone, to_why = pre_zone, pre_why
        forwarded = self._forwarded(c, (from_zone, from_why))
        if self.given_to:
            to_zone, to_why = self.given_to, ""
        elif forwarded:
            to_zone, to_why = None, forwarded
        elif nat_why:
            to_zone, to_why = None, nat_why
        elif translated is not None:
            to_zone, to_why = self.zone_of(*translated)
        return _Where(from_zone, to_zone, from_why, to_why, nat, translated)

    def _forwarded(self, c: Connection, from_zone: _Zone) -> str:
        """Why a policy-based forwarding rule may choose the egress ("" when none may)."""
        for rule in self.policy.forwarding:
            if _nat_match(rule, c, from_zone, (None, "")) is not False:
                return str(rule.translated)
        return ""

    def _nat_for(
        self, c: Connection, from_zone: str | None, from_why: str, pre: str | None, pre_why: str
    ) -> tuple[str, tuple[int, int] | None, str]:
        if not self.policy.nat:
            return "", None, ""
        return self._nat(c, (from_zone, from_why), (pre, pre_why))

    def _candidates(self, c: Connection, from_zone: str | None, to_zone: str | None) -> int:
        bits = self.all
        if from_zone is not None:
            bits &= self.from_any | self.from_bits.get(from_zone, 0)
        if to_zone is not None:
            bits &= self.to_any | self.to_bits.get(to_zone, 0)
        bits &= self.sources.lookup(c.version, c.source)
        bits &= self.destinations.lookup(c.version, c.destination)
        return bits & self.services.lookup(c.protocol, c.port)

    def _test(self, rule: PolicyRule, c: Connection, w: _Where) -> Answer:
        from_zone, to_zone = w.from_zone, w.to_zone
        from_answer = f"from-zone unknown: {w.from_why}"
        to_answer = f"to-zone unknown: {w.to_why}"
        answer: Answer = True
        if rule.from_zones is not None:
            answer = (from_zone in rule.from_zones) if from_zone is not None else from_answer
        if rule.to_zones is not None:
            answer = _both(answer, (to_zone in rule.to_zones) if to_zone else to_answer)
        if rule.rule_type is not RuleType.UNIVERSAL:
            if from_zone is None or to_zone is None:
                same: Answer = from_answer if from_zone is None else to_answer
            else:
                same = (from_zone == to_zone) == (rule.rule_type is RuleType.INTRAZONE)
            answer = _both(answer, same)
        if answer is False:
            return False
        answer = _both(answer, _negated(rule.source.test(c.version, c.source), rule.negate_source))
        destination = rule.destination.test(c.version, c.destination)
        answer = _both(answer, _negated(destination, rule.negate_destination))
        answer = _both(answer, rule.service.test(c.protocol, c.port))
        if answer is False:
            return False
        answer = _both(answer, self._application(rule, c))
        if answer is not False and rule.conditions:
            return rule.conditions[0]
        return answer

    def _application(self, rule: PolicyRule, c: Connection) -> Answer:
        """The documented application table decides named applications and
        application-default: the traffic on an application's standard port is taken to be
        that application (App-ID confirms it on the device); elsewhere it is unknown."""
        if rule.applications == (ANY,) and not rule.service.app_default:
            return True
        if self.policy.app_overrides:
            first = self.policy.app_overrides[0]
            return f"application-override rule {first} may set the application"
        table = self.policy.applications
        names = table.keys() if rule.applications == (ANY,) else rule.applications
        on_port = [a for a in names if c.port in table.get(a, {}).get(c.protocol, ())]
        if on_port:
            return True
        missing = [a for a in names if a not in table]
        if missing:
            why = self.policy.unknown_applications.get(missing[0], "")
            return (
                f"application {missing[0]} is not in the application table"
                + (f" ({why})" if why else "")
                + ": its ports are unknown"
            )
        if rule.service.app_default:
            return False  # the port is no standard port of any of the rule's applications
        if rule.applications == (ANY,):
            return True
        apps = ", ".join(rule.applications)
        return (
            f"App-ID decides whether {c.protocol}/{c.port} traffic is {apps} "
            "(not its standard port in the application table)"
        )

    def _nat(
        self, c: Connection, from_zone: _Zone, pre_zone: _Zone
    ) -> tuple[str, tuple[int, int] | None, str]:
        """(the NAT rule, the translated destination, why it is unknown) of the first NAT
        rule that matches; a rule that may match leaves the destination unknown when either
        outcome would differ."""
        uncertain: list[tuple[NatRule, str]] = []
        for rule in self.policy.nat:
            answer = _nat_match(rule, c, from_zone, pre_zone)
            if answer is False:
                continue
            if isinstance(answer, str):
                uncertain.append((rule, answer))
                continue
            translating = [u for u in uncertain if u[0].translated is not None]
            if uncertain and (rule.translated is not None or translating):
                first, why = (translating or uncertain)[0]
                return "", None, f"NAT rule {first.name} may match first ({why})"
            if rule.translated is None:
                return "", None, ""
            if isinstance(rule.translated, str):
                return rule.name, None, f"NAT rule {rule.name}: {rule.translated}"
            return rule.name, rule.translated, ""
        for rule, why in uncertain:
            if rule.translated is not None:
                return "", None, f"NAT rule {rule.name} may translate the destination ({why})"
        return "", None, ""

    def _default(self, pending: Sequence[tuple[PolicyRule, str]], w: _Where) -> PolicyDecision:
        intra, inter = self.policy.intrazone, self.policy.interzone
        if w.from_zone is not None and w.to_zone is not None:
            return _settle(intra if w.from_zone == w.to_zone else inter, pending, w)
        if w.from_zone is None:
            why = "from-zone unknown: " + w.from_why
        else:
            why = "to-zone unknown: " + w.to_why
        if intra.action.admits != inter.action.admits:
            return w.decision(Verdict.UNKNOWN, None, why)
        return _settle(intra, pending, w)


@dataclass(frozen=True, slots=True)
class _Where:
    from_zone: str | None
    to_zone: str | None
    from_why: str
    to_why: str
    nat: str
    translated: tuple[int, int] | None

    def decision(
        self,
        verdict: Verdict,
        rule: PolicyRule | DefaultRule | None,
        reason: str = "",
        also: tuple[str, ...] = (),
    ) -> PolicyDecision:
        return PolicyDecision(
            verdict, rule, self.from_zone, self.to_zone, reason, self.nat, self.translated, also
        )


def _settle(
    rule: PolicyRule | DefaultRule, pending: Sequence[tuple[PolicyRule, str]], w: _Where
) -> PolicyDecision:
    """The decision of `rule`, unless an earlier rule that may match would decide otherwise."""
    admits = rule.action.admits
    for earlier, why in pending:
        if earlier.action.admits != admits or earlier.action.resets != rule.action.resets:
            reason = f"rule {earlier.name} ({earlier.section}) may match first: {why}"
            return w.decision(Verdict.UNKNOWN, earlier, reason)
    verdict = Verdict.ADMITTED if admits else Verdict.DENIED
    return w.decision(verdict, rule, "", tuple(f"{r.name} ({why})" for r, why in pending))


def _nat_match(rule: NatRule, c: Connection, from_zone: _Zone, pre_zone: _Zone) -> Answer:
    """The NAT rule's match on the pre-NAT packet: its zones (the to-zone of the route to the
    original destination), addresses and service."""
    answer: Answer = True
    for zones, (zone, why) in ((rule.from_zones, from_zone), (rule.to_zones, pre_zone)):
        if zones is not None:
            answer = _both(answer, zone in zones if zone is not None else f"zone unknown: {why}")
    if answer is False:
        return False
    answer = _both(answer, rule.source.test(c.version, c.source))
    answer = _both(answer, rule.destination.test(c.version, c.destination))
    answer = _both(answer, rule.service.test(c.protocol, c.port))
    if answer is not False and rule.to_interface not in (None, "any"):
        return f"NAT rule {rule.name} matches egress interface {rule.to_interface} (not modelled)"
    return answer


def _lookup(router: Router, version: int, address: int, depth: int) -> tuple[str | None, str]:
    """The interface of the longest-prefix route (lowest metric among equals)."""
    best = [r for r in router.routes if r.version == version and r.low <= address <= r.high]
    if not best:
        return None, f"no route in virtual router {router.name}"
    longest = max(r.prefixlen for r in best)
    best = [r for r in best if r.prefixlen == longest]
    lowest = min(r.metric for r in best)
    best = [r for r in best if r.metric == lowest]
    outcomes: set[tuple[str | None, str]] = set()
    for route in best:
        if route.unknown:
            outcomes.add((None, f"route {route.name or route.kind}: {route.unknown}"))
        elif route.interface is not None:
            outcomes.add((route.interface, ""))
        elif route.nexthop is not None and depth > 0:
            outcomes.add(_lookup(router, version, route.nexthop, depth - 1))
        else:
            outcomes.add((None, f"route {route.name}: no interface and no next hop to resolve"))
    if len(outcomes) == 1:
        return outcomes.pop()
    return None, "equal routes leave by different interfaces (ECMP): the zone is unknown"


def _address_index(rules: Sequence[PolicyRule], *, source: bool) -> FieldIndex:
    always = 0
    per: dict[object, list[tuple[int, Intervals]]] = {4: [], 6: []}
    for i, rule in enumerate(rules):
        addresses: AddressSet = rule.source if source else rule.destination
        negate = rule.negate_source if source else rule.negate_destination
        if addresses.any or negate or addresses.unknown:
            always |= 1 << i
            continue
        per[4].append((i, addresses.v4))
        per[6].append((i, addresses.v6))
    return FieldIndex(always, {v: SegmentIndex(items) for v, items in per.items()})


def _service_index(rules: Sequence[PolicyRule]) -> FieldIndex:
    always = 0
    per: dict[object, list[tuple[int, Intervals]]] = {}
    for i, rule in enumerate(rules):
        service = rule.service
        if service.any or service.app_default or service.unknown:
            always |= 1 << i
            continue
        for protocol, ports in service.ports.items():
            per.setdefault(protocol, []).append((i, ports))
    return FieldIndex(always, {p: SegmentIndex(items) for p, items in per.items()})
