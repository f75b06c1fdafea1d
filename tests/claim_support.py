"""The claim-mode segment lab for tests: a fixture-friendly segment, the inventory of its pair,
the auditor CLI run on the auditor host, and a raw-socket capture on the auditor's switch port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from auditor.claim.arp import parse_arp
from auditor.claim.runner import enter_netns
from auditor.lab.segment import Segment

AUDITOR = str(Path(sys.executable).with_name("auditor"))
LIVE_V4 = IPAddress("198.51.100.11")  # site1's unique address: the live appliance holds it
LIVE_V6 = IPAddress("2001:db8:100::11")
FREE_V4 = IPAddress("198.51.100.12")
FREE_V6 = IPAddress("2001:db8:100::12")
SHARED = IPAddress("198.51.100.10")
PROVIDER_V4 = "203.0.113.10"
PROVIDER_V6 = "2001:db8:203::10"
LIVE = (IPNetwork("198.51.100.11/24"), IPNetwork("2001:db8:100::11/64"))

INVENTORY = """\
site:
  name: claim.example.com
pair:
  primary:
    name: site1
    addresses:
      - {ip: 198.51.100.11/24, role: unique}
      - {ip: 198.51.100.10/24, role: shared, enabled: true}
      - {ip: "2001:db8:100::11/64", role: unique}
  backup:
    name: site2
    addresses:
      - {ip: 198.51.100.12/24, role: unique}
      - {ip: 198.51.100.10/24, role: shared, enabled: false}
      - {ip: "2001:db8:100::12/64", role: unique}
  failover:
    site_instance_ip: 198.51.100.10
    peer_port: 443
providers:
  - name: mail
    kind: smtp
    endpoints: [203.0.113.10, "2001:db8:203::10"]
"""


def write_inventory(folder: Path) -> Path:
    path = folder / "pair.yaml"
    path.write_text(INVENTORY)
    return path


def auditor(segment: Segment, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`auditor ARGS` on the auditor host (its network namespace)."""
    return subprocess.run(
        segment.nsenter([AUDITOR, *args]),
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_auditor(segment: Segment, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        segment.nsenter([AUDITOR, *args]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def claim_namespaces(pid: int | None = None) -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, text=True).stdout
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    want = "audclaim-" if pid is None else f"audclaim-{pid}-"
    return {n for n in names if n.startswith(want)}


def links(netns: str) -> set[str]:
    out = subprocess.run(
        ["ip", "-j", "-n", netns, "link", "show"], check=True, capture_output=True, text=True
    )
    return {link["ifname"] for link in json.loads(out.stdout)}


def prime_neighbour(segment: Segment, ip: IPAddress) -> None:
    """Make the router resolve `ip` (a datagram to the discard port) and wait for the entry."""
    send = (
        f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('{ip}', 9))"
    )
    for _ in range(50):
        subprocess.run(["ip", "netns", "exec", segment.router, sys.executable, "-c", send],
                       check=True, capture_output=True)  # fmt: skip
        if segment.router_neighbour(ip) is not None:
            return
        time.sleep(0.1)
    raise AssertionError(f"the router never resolved {ip}")


@dataclass
class Capture:
    """Every frame the auditor host sent into the switch (received on its port `pau`)."""

    segment: Segment
    frames: list[bytes] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Capture:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "capture did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)

    def _run(self) -> None:
        enter_netns(self.segment.switch)  # this thread only
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003)) as sock:
            sock.bind(("pau", 0))
            sock.settimeout(0.2)
            self._ready.set()
            while not self._stop.is_set():
                try:
                    frame, addr = sock.recvfrom(65535)
                except TimeoutError:
                    continue
                if addr[2] != socket.PACKET_OUTGOING:  # from the auditor host into the switch
                    self.frames.append(frame)

    def arp(self) -> list[tuple[int, IPAddress, IPAddress, str]]:
        """(op, sender IP, target IP, sender MAC) of every ARP frame."""
        out = []
        for frame in self.frames:
            packet = parse_arp(frame)
            if packet is not None:
                mac = ":".join(f"{b:02x}" for b in packet.sender_mac)
                out.append(
                    (
                        packet.op,
                        IPAddress(int.from_bytes(packet.sender_ip, "big")),
                        IPAddress(int.from_bytes(packet.target_ip, "big")),
                        mac,
                    )
                )
        return out

    def icmpv6_types(self, *, not_from: str = "") -> set[int]:
        """The ICMPv6 message types seen (no extension headers in this lab's traffic), leaving
        out frames from MAC `not_from`."""
        skip = bytes.fromhex(not_from.replace(":", ""))
        return {
            f[54]
            for f in self.frames
            if len(f) > 54 and f[12:14] == b"\x86\xdd" and f[20] == 58 and f[6:12] != skip
        }

    def neighbour_advertisements(self) -> list[tuple[IPAddress, IPAddress, bool]]:
        """(IPv6 destination, target, solicited flag) of every Neighbor Advertisement."""
        out = []
        for f in self.frames:
            if len(f) >= 78 and f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 136:
                dst = IPAddress(int.from_bytes(f[38:54], "big"), 6)
                target = IPAddress(int.from_bytes(f[62:78], "big"), 6)
                out.append((dst, target, bool(f[58] & 0x40)))
        return out
