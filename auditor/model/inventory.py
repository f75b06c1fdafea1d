"""The domain model: a shared-IP failover pair, its providers and the flows it needs.

Everything here is a frozen value. Validation happens once, in `auditor.inventory.load`; code that
receives these objects trusts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeAlias

from netaddr import IPAddress, IPNetwork

from auditor.documents.fields import ADDRESS_OR_HOSTNAME, HOSTNAME, NAME, OMIT, PORT
from auditor.errors import nearest_line


class Side(StrEnum):
    """Which half of the pair an appliance is."""

    PRIMARY = "primary"
    BACKUP = "backup"


class Role(StrEnum):
    """What an address is for on an appliance."""

    UNIQUE = "unique"
    SHARED = "shared"


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class Check(StrEnum):
    """An application check a flow asks for, on top of plain reachability."""

    TCP = "tcp"
    TLS = "tls"
    LDAP_BIND = "ldap-bind"
    UDP = "udp"
    # application probes (auditor/probe/app): one check per transport
    RADIUS = "radius"
    KERBEROS = "kerberos"
    KERBEROS_TCP = "kerberos-tcp"
    DNS = "dns"
    DNS_TCP = "dns-tcp"
    NTP = "ntp"
    SMTP = "smtp"
    CLDAP = "cldap"
    SYSLOG = "syslog"


class FailoverState(StrEnum):
    """Which appliance holds the shared IP."""

    PRIMARY_ACTIVE = "primary-active"
    BACKUP_ACTIVE = "backup-active"


BOTH_STATES: frozenset[FailoverState] = frozenset(FailoverState)

PEER_KIND = "peer"
PEER_PROVIDER = "failover-peer"


@dataclass(frozen=True, slots=True)
class Address:
    """One configured address of an appliance (`interface` keeps the host bits and the mask)."""

    interface: IPNetwork
    role: Role
    enabled: bool = True

    @property
    def ip(self) -> IPAddress:
        return self.interface.ip

    @property
    def network(self) -> IPNetwork:
        return self.interface.cidr

    @property
    def version(self) -> int:
        return int(self.interface.version)


@dataclass(frozen=True, slots=True)
class HealthSpec:
    """Where to ask an appliance for its live failover state (its command API). The OAuth
    client id and secret are never held here: only where to read them."""

    url: str  # https://host[:port][/prefix], the appliance's own address
    ca_file: Path | None = None
    tls_name: str | None = None  # the name its certificate must carry; default the URL's host
    client_id_env: str | None = None
    client_id_file: Path | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Appliance:
    name: Annotated[str, NAME]
    side: Side
    addresses: tuple[Address, ...]
    hostname: str | None = None
    health: Annotated[HealthSpec | None, OMIT] = None

    def unique(self) -> tuple[Address, ...]:
        return tuple(a for a in self.addresses if a.role is Role.UNIQUE)

    def shared(self) -> tuple[Address, ...]:
        return tuple(a for a in self.addresses if a.role is Role.SHARED)


@dataclass(frozen=True, slots=True)
class Failover:
    site_instance_ip: IPAddress | None = None
    peer_port: Annotated[int, PORT] = 443


@dataclass(frozen=True, slots=True)
class Pair:
    primary: Appliance
    backup: Appliance
    failover: Failover = field(default_factory=Failover)

    @property
    def appliances(self) -> tuple[Appliance, Appliance]:
        return (self.primary, self.backup)


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port a provider is reached on, and the checks that apply to it."""

    protocol: Protocol
    port: int
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class PortOverride:
    """A port written in an inventory's `ports:` (`636`, or `88/udp`). The protocol, when not
    written, and the checks come from the kind's requirement pack."""

    port: Annotated[int, PORT]
    protocol: Protocol | None = None


@dataclass(frozen=True, slots=True)
class BindSpec:
    """A service account. The password is never held here: only where to read it."""

    dn: str
    password_env: str | None = None
    password_file: Path | None = None


@dataclass(frozen=True, slots=True)
class RadiusSpec:
    """RADIUS probe settings: where the shared secret is read (never the secret itself), and an
    optional probe user (an Access-Request for it instead of a Status-Server)."""

    secret_env: str | None = None
    secret_file: Path | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class KerberosSpec:
    """The principal an AS-REQ without pre-authentication asks for."""

    realm: str
    principal: str


@dataclass(frozen=True, slots=True)
class DnsSpec:
    """The name (and record type) a DNS probe asks for."""

    query_name: str
    query_type: str = "A"


@dataclass(frozen=True, slots=True)
class Provider:
    name: Annotated[str, NAME]
    kind: Annotated[str, NAME]
    endpoints: tuple[Annotated[str, ADDRESS_OR_HOSTNAME], ...]
    ports: tuple[PortOverride, ...] | None = None  # inventory override; None: the pack's
    tls_name: str | None = None
    base_dn: str | None = None
    bind: BindSpec | None = None
    ca_file: Path | None = None
    starttls: bool = False
    description: str | None = None
    # written only when set: a run document without them reads as it did before they existed
    radius: Annotated[RadiusSpec | None, OMIT] = None
    kerberos: Annotated[KerberosSpec | None, OMIT] = None
    dns: Annotated[DnsSpec | None, OMIT] = None


@dataclass(frozen=True, slots=True)
class Site:
    name: Annotated[str, NAME]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory. `locations` maps a field path (`pair.primary.addresses[0].ip`) to
    its line in `source`, so later stages can point at the offending line."""

    source: Path
    digest: str
    site: Site
    pair: Pair
    providers: tuple[Provider, ...]
    locations: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        return nearest_line(self.locations, path)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What a provider kind needs, from a requirement pack."""

    kind: str
    ports: tuple[PortSpec, ...]
    description: str = ""
    pack: str = ""
    source: str = ""  # where the requirement is documented (a vendor page), if the pack says


# a resolved address, or a hostname kept with --no-resolve
Destination: TypeAlias = IPAddress | Annotated[str, HOSTNAME]


@dataclass(frozen=True, slots=True)
class Flow:
    """A required (source, destination, protocol, port). Unique on that key; who needs it and
    when are attributes."""

    source: IPAddress
    destination: Destination
    protocol: Protocol
    port: Annotated[int, PORT]
    providers: tuple[str, ...]
    kind: str
    checks: tuple[Check, ...]
    appliances: frozenset[str]
    states: frozenset[FailoverState]
    source_role: Role
    endpoint: str  # the endpoint as written in the inventory (a name or an address)
    # The connected subnet of the inventory the source and the destination share
    # (`198.51.100.0/24`): the flow is on-link, crosses no firewall, and gets no rule. "": off.
    link: Annotated[str, OMIT] = ""

    @property
    def on_link(self) -> bool:
        return bool(self.link)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (str(self.source), str(self.destination), self.protocol.value, self.port)

    @property
    def provider(self) -> str:
        return self.providers[0]

    @property
    def is_peer(self) -> bool:
        return self.kind == PEER_KIND


def flow_sort_key(flow: Flow) -> tuple[int, int, int, int, int, str, str, int]:
    """Deterministic order: source (v4 before v6), destination (addresses before names),
    protocol, port."""
    dest = flow.destination
    if isinstance(dest, IPAddress):
        dest_part = (0, int(dest.version), int(dest), "")
    else:
        dest_part = (1, 0, 0, dest)
    return (
        int(flow.source.version),
        int(flow.source),
        *dest_part,
        flow.protocol.value,
        flow.port,
    )
