"""The vendor-neutral policy model: what a zone-based firewall decides a new connection by.

Every match answers True, False, or a string: why the configuration cannot tell (an FQDN
object, a user match, a dynamic group). Readers resolve names to these values once; the
evaluator never looks at vendor syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.ruleset.model import Answer, Intervals

ANY = "any"
_EMPTY = Intervals(())


@dataclass(frozen=True, slots=True)
class AddressSet:
    """Addresses of one rule field: known intervals per IP version, plus members whose
    addresses the configuration does not hold (each with why)."""

    any: bool = False
    v4: Intervals = _EMPTY
    v6: Intervals = _EMPTY
    unknown: tuple[str, ...] = ()

    def test(self, version: int, value: int) -> Answer:
        if self.any or value in (self.v4 if version == 4 else self.v6):
            return True
        return self.unknown[0] if self.unknown else False


@dataclass(frozen=True, slots=True)
class ServiceSet:
    """Protocols and destination ports of one rule. `app_default`: the ports are the standard
    ports of the rule's applications (resolved by the evaluator from the application table)."""

    any: bool = False
    ports: Mapping[str, Intervals] = field(default_factory=dict)  # "tcp" -> ports
    app_default: bool = False
    unknown: tuple[str, ...] = ()

    def test(self, protocol: str, port: int) -> Answer:
        if self.any or self.app_default or port in self.ports.get(protocol, _EMPTY):
            return True
        return self.unknown[0] if self.unknown else False


class Action(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    DROP = "drop"
    RESET_CLIENT = "reset-client"
    RESET_SERVER = "reset-server"
    RESET_BOTH = "reset-both"

    @property
    def admits(self) -> bool:
        return self is Action.ALLOW

    @property
    def resets(self) -> bool:
        """The client is told (TCP RST or ICMP unreachable): the probe would see `refused`."""
        return self in (Action.RESET_CLIENT, Action.RESET_BOTH)


class RuleType(StrEnum):
    UNIVERSAL = "universal"
    INTRAZONE = "intrazone"
    INTERZONE = "interzone"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One security rule, in evaluation order. `from_zones`/`to_zones` None: any zone."""

    name: str
    section: str  # where it sits: "rulebase", "shared pre-rulebase", "device-group DG ..."
    line: int
    action: Action
    from_zones: frozenset[str] | None = None
    to_zones: frozenset[str] | None = None
    rule_type: RuleType = RuleType.UNIVERSAL
    source: AddressSet = AddressSet(any=True)
    destination: AddressSet = AddressSet(any=True)
    negate_source: bool = False
    negate_destination: bool = False
    service: ServiceSet = ServiceSet(any=True)
    applications: tuple[str, ...] = (ANY,)  # "any" or the application names (groups expanded)
    conditions: tuple[str, ...] = ()  # what makes the rule unknown whenever the rest matches


@dataclass(frozen=True, slots=True)
class DefaultRule:
    """What happens to a flow no rule matched (PAN-OS: intrazone-default, interzone-default)."""

    name: str
    action: Action
    section: str = "default"
    line: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """A route of the firewall's routing table: connected (an interface's subnet) or static."""

    version: int
    low: int
    high: int
    prefixlen: int
    kind: str  # "connected" / "static"
    interface: str | None  # None: the next hop decides (looked up again), or unknown
    nexthop: int | None = None
    metric: int = 10
    unknown: str = ""  # why the route's interface cannot be known (next-vr, DHCP, ...)
    name: str = ""


@dataclass(frozen=True, slots=True)
class Router:
    """One routing instance (PAN-OS virtual router) and the dynamic protocols it runs."""

    name: str
    routes: tuple[Route, ...]
    interfaces: frozenset[str]
    dynamic: tuple[str, ...] = ()  # "bgp", "ospf": routes the configuration does not hold


@dataclass(frozen=True, slots=True)
class NatRule:
    """A NAT rule: its match (pre-NAT zones and addresses) and where it sends the destination.
    `translated` None: it does not translate the destination; a str: why it cannot be known."""

    name: str
    line: int
    from_zones: frozenset[str] | None
    to_zones: frozenset[str] | None
    source: AddressSet
    destination: AddressSet
    service: ServiceSet
    translated: tuple[int, int] | str | None = None  # (version, address)
    to_interface: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A firewall's policy as the evaluator needs it."""

    vendor: str  # "panos"
    source: str  # the file
    context: str  # "vsys1", "device-group DG (vsys1)"
    rules: tuple[PolicyRule, ...]
    intrazone: DefaultRule
    interzone: DefaultRule
    interface_zone: Mapping[str, str]  # interface -> zone
    routers: tuple[Router, ...]
    nat: tuple[NatRule, ...] = ()
    # policy-based forwarding rules (their `translated` says why the egress zone is unknown)
    forwarding: tuple[NatRule, ...] = ()
    app_overrides: tuple[str, ...] = ()  # application-override rules: they set the application
    # application -> {protocol: ports}: the standard ports of the application table
    applications: Mapping[str, Mapping[str, Intervals]] = field(default_factory=dict)
    unknown_applications: Mapping[str, str] = field(default_factory=dict)  # name -> why
