"""One private network namespace per claimed address, with a macvlan or ipvlan child of the
parent: announcements off before the link comes up, the address only after it proved free,
and a default route per family."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from netaddr import IPAddress, IPNetwork

from auditor.claim.arp import ArpTiming
from auditor.claim.dad import quiet_ipv6
from auditor.claim.detect import ClaimMode, ModeChoice, Parent
from auditor.claim.iproute import ip_json, run, sysctls
from auditor.errors import UsageError

CLAIM_PREFIX = "audclaim-"
CLAIM_IFNAME = "claim0"


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What to claim on: `--claim IFACE [--claim-mode M] [--claim-gateway IP]...`."""

    parent: str
    mode: ClaimMode | None = None
    gateways: tuple[IPAddress, ...] = ()
    arp: ArpTiming = field(default_factory=ArpTiming)
    dad_transmits: int = 1
    dad_timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class Claimed:
    interface: IPNetwork
    netns: str
    mac: str
    gateway: IPAddress | None

    @property
    def ip(self) -> IPAddress:
        return self.interface.ip


@dataclass(frozen=True, slots=True)
class InUse:
    ip: IPAddress
    mac: str  # who answered the ARP probe or defended the address in DAD


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming: what is ours, what someone else holds, what was here already."""

    parent: str
    mode: ModeChoice
    claimed: tuple[Claimed, ...] = ()
    in_use: tuple[InUse, ...] = ()
    held: tuple[IPAddress, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "mode": self.mode.mode.value,
            "mode_reason": self.mode.reason,
            "claimed": [
                {"address": str(c.ip), "mac": c.mac, "gateway": str(c.gateway or "")}
                for c in self.claimed
            ],
            "in_use": [{"address": str(u.ip), "mac": u.mac} for u in self.in_use],
            "held": [str(ip) for ip in self.held],
        }


def local_addresses() -> set[IPAddress]:
    """Every address this host (this namespace) already holds."""
    return {
        IPAddress(a["local"])
        for entry in ip_json(["addr", "show"])
        for a in entry.get("addr_info", ())
        if a.get("local")
    }


def gateway_for(interface: IPNetwork, given: Sequence[IPAddress], parent: Parent) -> IPAddress:
    """`--claim-gateway` of the family, else the parent's default gateway when it is on the
    address's subnet; UsageError otherwise (a claimed address with no way out proves nothing)."""
    family = [g for g in given if g.version == interface.version]
    if family:
        return family[0]
    for gw in parent.gateways:
        if gw.version == interface.version and gw in interface.cidr:
            return gw
    theirs = ", ".join(str(g) for g in parent.gateways if g.version == interface.version)
    why = f"its default gateway {theirs} is not in {interface.cidr}" if theirs else "it has none"
    raise UsageError(
        f"--claim {parent.name}: no IPv{interface.version} gateway for {interface}: {why} "
        f"(give --claim-gateway IP)"
    )


def child_mac(parent: Parent, mode: ClaimMode) -> str:
    """ipvlan children share the parent's MAC; a macvlan child gets a locally administered one."""
    if mode is ClaimMode.IPVLAN:
        return parent.mac
    return ":".join(["02", *(f"{b:02x}" for b in secrets.token_bytes(5))])


def make_namespace(name: str, parent: Parent, mode: ModeChoice, mac: str) -> None:
    """The namespace and its child link, with every announcement switched off before the link
    comes up (a link coming up with arp_notify=1 would send gratuitous ARP)."""
    run(["ip", "netns", "add", name])
    off = {f"net.ipv4.conf.{s}.arp_notify": 0 for s in ("all", "default")}
    off |= {f"net.ipv6.conf.{s}.ndisc_notify": 0 for s in ("all", "default")}
    sysctls(name, off)
    if mode.mode is ClaimMode.MACVLAN:
        kind = ["address", mac, "type", "macvlan", "mode", "bridge"]
    else:
        kind = ["type", "ipvlan", "mode", "l2"]
    run(["ip", "link", "add", "link", parent.name, "name", CLAIM_IFNAME, "netns", name, *kind])
    sysctls(name, {f"net.ipv4.conf.{CLAIM_IFNAME}.arp_notify": 0})
    quiet_ipv6(name, CLAIM_IFNAME, 1)
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    run(["ip", "-n", name, "link", "set", CLAIM_IFNAME, "up"])


def configure_ipv4(name: str, interface: IPNetwork) -> None:
    """Add a proven-free IPv4 address (arp_notify is 0: no announcement follows)."""
    run(["ip", "-n", name, "addr", "add", str(interface), "dev", CLAIM_IFNAME])


def add_default_route(name: str, interface: IPNetwork, gateway: IPAddress) -> None:
    version = f"-{interface.version}"
    route = ["ip", version, "-n", name, "route", "replace", "default", "via", str(gateway)]
    if gateway in interface.cidr:
        run(route)
        return
    # A gateway outside the address's subnet is still on the segment: reach it on-link.
    run(["ip", version, "-n", name, "route", "replace", str(gateway), "dev", CLAIM_IFNAME])
    run([*route, "dev", CLAIM_IFNAME, "onlink"])


def check_gateways(requested: Sequence[IPAddress]) -> None:
    """--claim-gateway: at most one per family."""
    for version in (4, 6):
        mine = [g for g in requested if g.version == version]
        if len(mine) > 1:
            raise UsageError(
                f"--claim-gateway: one per address family ({', '.join(map(str, mine))} given)"
            )
