"""What the parent interface and the kernel offer: refuse a parent claim mode cannot use, and
pick ipvlan (L2, the parent's MAC) or macvlan (a MAC of its own) by trying it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from netaddr import IPAddress, IPNetwork

from auditor.claim.iproute import ip_json, run
from auditor.errors import RunError, UsageError


class ClaimMode(StrEnum):
    IPVLAN = "ipvlan"
    MACVLAN = "macvlan"


@dataclass(frozen=True, slots=True)
class Parent:
    """The interface on the pair's segment that claimed addresses hang off."""

    name: str
    mac: str
    link_type: str
    up: bool
    networks: tuple[IPNetwork, ...]  # its own addresses, with their prefix
    gateways: tuple[IPAddress, ...]  # its own default routes' next hops


@dataclass(frozen=True, slots=True)
class ModeChoice:
    mode: ClaimMode
    reason: str


def require_root() -> None:
    if os.geteuid() != 0:
        raise RunError(
            "claim mode needs root (it creates network namespaces and sends raw ARP probes): "
            "run it with sudo"
        )


def inspect_parent(name: str) -> Parent:
    """Read IFACE; UsageError if it is missing, down, loopback, or has no L2 (tun, wireguard)."""
    links = [
        link for link in ip_json(["link", "show"]) if link.get("ifname") == name
    ]  # not `show dev`: a missing device should be our message, not ip's
    if not links:
        raise UsageError(f"--claim {name}: no such interface on this host")
    link = links[0]
    flags = set(link.get("flags", ()))
    link_type = str(link.get("link_type", ""))
    if "LOOPBACK" in flags or link_type == "loopback":
        raise UsageError(f"--claim {name}: a loopback interface is not on the pair's segment")
    if link_type != "ether" or "NOARP" in flags:
        raise UsageError(
            f"--claim {name}: link type {link_type or 'unknown'} has no Ethernet layer 2 "
            "(tun, wireguard and the like cannot carry ARP); give the interface on the pair's "
            "segment"
        )
    if "UP" not in flags or "LOWER_UP" not in flags:
        raise UsageError(f"--claim {name}: the interface is down (no carrier or not up)")
    networks = tuple(
        IPNetwork(f"{a['local']}/{a['prefixlen']}")
        for entry in ip_json(["addr", "show", "dev", name])
        for a in entry.get("addr_info", ())
        if a.get("scope") == "global"
    )
    gateways = tuple(
        IPAddress(r["gateway"])
        for family in ("-4", "-6")
        for r in ip_json([family, "route", "show", "default", "dev", name])
        if r.get("gateway")
    )
    return Parent(name, str(link.get("address", "")), link_type, True, networks, gateways)


def kernel_offers(parent: Parent, mode: ClaimMode) -> str | None:
    """None if the kernel can make a `mode` child of the parent, else why not. Tried in a
    throwaway namespace, so nothing appears on the parent's segment."""
    probe_ns = f"audclaim-detect-{os.getpid()}"
    run(["ip", "netns", "add", probe_ns])
    try:
        kind = (
            ["ipvlan", "mode", "l2"] if mode is ClaimMode.IPVLAN else ["macvlan", "mode", "bridge"]
        )
        proc = run(
            ["ip", "link", "add", "link", parent.name, "name", "claimtest", "netns", probe_ns,
             "type", *kind],
            check=False,
        )  # fmt: skip
        if proc.returncode == 0:
            return None
        text = " ".join((proc.stderr or proc.stdout).split()).removeprefix("Error: ")
        return text.rstrip(".") or f"exit {proc.returncode}"
    finally:
        run(["ip", "netns", "del", probe_ns], check=False)


def choose_mode(parent: Parent, wanted: ClaimMode | None) -> ModeChoice:
    """The mode asked for (an error if the kernel lacks it), else ipvlan, else macvlan."""
    if wanted is not None:
        why = kernel_offers(parent, wanted)
        if why is not None:
            raise RunError(
                f"--claim-mode {wanted}: this kernel cannot make one on {parent.name}: {why}"
            )
        return ModeChoice(wanted, f"{wanted} as asked (--claim-mode)")
    why = kernel_offers(parent, ClaimMode.IPVLAN)
    if why is None:
        return ModeChoice(ClaimMode.IPVLAN, "ipvlan L2: claimed addresses use the parent's MAC")
    why_mac = kernel_offers(parent, ClaimMode.MACVLAN)
    if why_mac is not None:
        raise RunError(
            f"--claim {parent.name}: the kernel offers neither ipvlan ({why}) "
            f"nor macvlan ({why_mac})"
        )
    return ModeChoice(
        ClaimMode.MACVLAN,
        f"macvlan: the kernel has no ipvlan ({why}); each claimed address gets its own "
        "locally administered MAC (a switch with port security sees new MACs)",
    )
