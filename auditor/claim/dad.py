"""IPv6 duplicate detection by the kernel's own DAD, in the claim namespace.

The address is added with accept_dad=1, optimistic_dad=0 and dad_transmits>=1, so it stays
`tentative` (never used as a source, never advertised) until DAD ends; `dadfailed` means
another node defended it. A raw socket on the parent meanwhile catches the defender's
Neighbor Advertisement to name its MAC.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from auditor.claim.arp import PACKET_OUTGOING, mac_text
from auditor.claim.iproute import ip_json, run, sysctls

ETH_P_IPV6 = 0x86DD
ICMPV6 = 58
NEIGHBOR_SOLICITATION = 135
NEIGHBOR_ADVERTISEMENT = 136
UNKNOWN_MAC = "unknown MAC (DAD failed, no advertisement seen)"


@dataclass(frozen=True, slots=True)
class DadTarget:
    interface: IPNetwork  # the address with its prefix
    netns: str
    ifname: str


def quiet_ipv6(netns: str, ifname: str, transmits: int) -> None:
    """DAD on, optimistic DAD off, no unsolicited NA, no RA or SLAAC on the claim link."""
    values = {}
    for scope in ("all", "default", ifname):
        values[f"net.ipv6.conf.{scope}.ndisc_notify"] = 0
        values[f"net.ipv6.conf.{scope}.optimistic_dad"] = 0
    values[f"net.ipv6.conf.{ifname}.accept_dad"] = 1
    values[f"net.ipv6.conf.{ifname}.dad_transmits"] = max(1, transmits)
    values[f"net.ipv6.conf.{ifname}.accept_ra"] = 0
    values[f"net.ipv6.conf.{ifname}.autoconf"] = 0
    sysctls(netns, values)


def nd_holder(frame: bytes, targets: Mapping[bytes, IPAddress]) -> tuple[IPAddress, str] | None:
    """(target, sender MAC) of a Neighbor Advertisement for a target, or of another node's
    DAD probe (a solicitation from ::) for it."""
    if len(frame) < 78 or frame[12:14] != b"\x86\xdd" or frame[20] != ICMPV6:
        return None
    kind = frame[54]
    target = targets.get(frame[62:78])
    if target is None:
        return None
    if kind == NEIGHBOR_ADVERTISEMENT:
        return target, mac_text(frame[6:12])
    if kind == NEIGHBOR_SOLICITATION and frame[22:38] == b"\x00" * 16:
        return target, mac_text(frame[6:12])
    return None


def detect_duplicates(
    parent: str, targets: Mapping[IPAddress, DadTarget], timeout: float
) -> dict[IPAddress, str | None]:
    """Add every address (tentative) and wait for DAD; address -> the defender's MAC, or None
    when DAD succeeded. A failed address is removed again at once."""
    found: dict[IPAddress, str | None] = dict.fromkeys(targets)
    macs: dict[IPAddress, str] = {}
    packed = {ip.packed: ip for ip in targets}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6)) as sock:
        sock.bind((parent, ETH_P_IPV6))
        for t in targets.values():
            run(["ip", "-n", t.netns, "addr", "add", str(t.interface), "dev", t.ifname])
        pending = set(targets)
        failed: set[IPAddress] = set()
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            _drain(sock, packed, macs, wait=0.1)
            for ip in list(pending):
                state = _address_state(targets[ip])
                if state != "tentative":
                    pending.discard(ip)
                    if state == "dadfailed":
                        failed.add(ip)
        # The tap on the parent sees the defender's advertisement before the kernel marks the
        # address dadfailed, so it is in the socket by now: read what is left.
        _drain(sock, packed, macs, wait=0.2)
    for ip in failed:
        found[ip] = macs.get(ip, UNKNOWN_MAC)
    for ip in pending:  # DAD never ended: treat as not claimable rather than guess
        found[ip] = "DAD did not finish in time"
    for ip, mac in found.items():
        if mac is not None:
            t = targets[ip]
            run(
                ["ip", "-n", t.netns, "addr", "del", str(t.interface), "dev", t.ifname], check=False
            )
    return found


def _drain(
    sock: socket.socket,
    packed: Mapping[bytes, IPAddress],
    macs: dict[IPAddress, str],
    wait: float,
) -> None:
    """Read the frames waiting and those arriving within `wait` s (bounded on a busy segment)."""
    deadline = time.monotonic() + wait
    while select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
        frame, addr = sock.recvfrom(2048)
        hit = None if addr[2] == PACKET_OUTGOING else nd_holder(frame, packed)
        if hit is not None:
            macs.setdefault(*hit)
        if time.monotonic() > deadline:
            return


def _address_state(target: DadTarget) -> str:
    for entry in ip_json(["-6", "addr", "show", "dev", target.ifname], target.netns):
        for a in entry.get("addr_info", ()):
            if a.get("local") == str(target.interface.ip):
                if a.get("dadfailed"):
                    return "dadfailed"
                return "tentative" if a.get("tentative") else "ok"
    return "gone"
