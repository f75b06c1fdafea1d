"""IPv4 duplicate detection per RFC 5227: ARP probes on the parent, never an announcement.

A probe is an ARP request with sender IP 0.0.0.0 and the candidate as target, so no neighbour
learns anything from it. The candidate is in use if, from PROBE_WAIT before the first probe
until ANNOUNCE_WAIT after the last, any ARP arrives with the candidate as sender, or another
host's probe for it (RFC 5227 section 2.1.1).
"""

from __future__ import annotations

import random
import select
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass

from netaddr import IPAddress

ETH_P_ARP = 0x0806
PACKET_OUTGOING = 4
BROADCAST = b"\xff" * 6
ZERO_IP = b"\x00" * 4


@dataclass(frozen=True, slots=True)
class ArpTiming:
    """RFC 5227 section 1.1 constants, in seconds."""

    probe_wait: float = 1.0
    probe_num: int = 3
    probe_min: float = 1.0
    probe_max: float = 2.0
    announce_wait: float = 2.0


@dataclass(frozen=True, slots=True)
class ArpPacket:
    op: int
    sender_mac: bytes
    sender_ip: bytes
    target_mac: bytes
    target_ip: bytes


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def build_probe(sender_mac: bytes, target: IPAddress) -> bytes:
    """An Ethernet broadcast ARP request: sender IP 0.0.0.0, target MAC zero (RFC 5227 2.1.1)."""
    eth = BROADCAST + sender_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, sender_mac, ZERO_IP, b"\x00" * 6, target.packed
    )
    return eth + arp


def parse_arp(frame: bytes) -> ArpPacket | None:
    """The ARP payload of an Ethernet frame (IPv4 over Ethernet only), else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        return None
    sha, spa, tha, tpa = struct.unpack("!6s4s6s4s", frame[22:42])
    return ArpPacket(op, sha, spa, tha, tpa)


def conflict_mac(packet: ArpPacket, candidate: bytes, own_mac: bytes) -> bytes | None:
    """The MAC of whoever holds or probes for `candidate`, if this packet says so."""
    if packet.sender_mac == own_mac:
        return None
    if packet.sender_ip == candidate:
        return packet.sender_mac
    if packet.op == 1 and packet.sender_ip == ZERO_IP and packet.target_ip == candidate:
        return packet.sender_mac
    return None


def probe_addresses(
    ifname: str, senders: Mapping[IPAddress, str], timing: ArpTiming = ArpTiming()
) -> dict[IPAddress, str | None]:
    """Probe every candidate (each with the MAC that would hold it) on `ifname` at once.
    Returns candidate -> the MAC that answered, or None when free."""
    found: dict[IPAddress, str | None] = dict.fromkeys(senders)
    if not senders:
        return found
    packed = {ip.packed: ip for ip in senders}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((ifname, ETH_P_ARP))
        start = time.monotonic()
        sends = send_schedule(start, timing)
        deadline = sends[-1] + timing.announce_wait
        pending = list(sends)
        while True:
            now = time.monotonic()
            if pending and now >= pending[0]:
                pending.pop(0)
                for ip, mac in senders.items():
                    if found[ip] is None:  # an address already in use is not probed again
                        sock.send(build_probe(mac_bytes(mac), ip))
                continue
            if now >= deadline or all(v is not None for v in found.values()):
                return found
            wake = min(pending[0] if pending else deadline, deadline)
            ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
            if ready:
                _take(sock, packed, senders, found)


def send_schedule(start: float, timing: ArpTiming) -> list[float]:
    """Send times: a random delay up to PROBE_WAIT, then PROBE_NUM probes PROBE_MIN..MAX apart."""
    at = start + random.uniform(0, timing.probe_wait)
    times = [at]
    for _ in range(timing.probe_num - 1):
        at += random.uniform(timing.probe_min, timing.probe_max)
        times.append(at)
    return times


def _take(
    sock: socket.socket,
    packed: Mapping[bytes, IPAddress],
    senders: Mapping[IPAddress, str],
    found: dict[IPAddress, str | None],
) -> None:
    frame, addr = sock.recvfrom(2048)
    if addr[2] == PACKET_OUTGOING:
        return
    packet = parse_arp(frame)
    if packet is None:
        return
    own = {mac_bytes(m) for m in senders.values()}
    for raw, ip in packed.items():
        if found[ip] is not None or packet.sender_mac in own:
            continue
        mac = conflict_mac(packet, raw, mac_bytes(senders[ip]))
        if mac is not None:
            found[ip] = mac_text(mac)
