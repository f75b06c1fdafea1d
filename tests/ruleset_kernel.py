"""The kernel side of the differential test: client ns - router ns - server ns over veth,
documentation addresses only. A ruleset is loaded into the router; each flow is sent for real
from its bound source address and source port; a packet socket in the server namespace sees
whether its first packet arrived. Not arrived: the client's error says reject, silence drop.

Names start with `i10` (issue 10) and the tag (pid-based in the tests); everything is removed
in `Topology.down`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import select
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest
from netaddr import IPAddress

CLIENT4 = tuple(f"192.0.2.{i}" for i in (10, 11, 12, 13))
CLIENT6 = tuple(f"2001:db8:c::{i}" for i in (10, 11, 12, 13))
SERVER4 = ("198.51.100.10", "198.51.100.11", "203.0.113.10", "203.0.113.11")
SERVER6 = tuple(f"2001:db8:5::{i}" for i in (10, 11, 12, 13))
ROUTER_IN = {4: "192.0.2.1", 6: "2001:db8:c::1"}  # INPUT flows go to these
ROUTER_OUT = {4: "198.51.100.1", 6: "2001:db8:5::1"}  # OUTPUT flows come from these
CLONE_NEWNET = 0x40000000
IP_RECVERR, IPV6_RECVERR = 11, 25
ETH_P_ALL = 0x0003


@dataclass(frozen=True, slots=True)
class Probe:
    source: str
    destination: str
    protocol: str
    dport: int
    sport: int


def sh(argv: Sequence[str], netns: str | None = None, stdin: str | None = None) -> str:
    full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    proc = subprocess.run(
        full, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(full)}: {proc.stderr.strip()}\n--- input:\n{stdin or ''}")
    return proc.stdout


_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Sockets made inside stay in that namespace after we switch back (one thread only)."""
    with open("/proc/self/ns/net", "rb") as home, open(f"/run/netns/{name}", "rb") as there:
        if _libc.setns(there.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {name}")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


class Topology:
    def __init__(self, tag: str) -> None:
        self.client, self.router, self.server = (f"i10{tag}{x}" for x in "crs")
        self.in_if, self.out_if = f"i10{tag}r0", f"i10{tag}r1"
        self.client_if, self.server_if = f"i10{tag}c0", f"i10{tag}s0"
        self._port = 20000 + os.getpid() % 1000 * 37

    def up(self) -> None:
        self.down()
        for ns in (self.client, self.router, self.server):
            sh(["ip", "netns", "add", ns])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            for key in ("default", "all"):  # no DAD: IPv6 usable at once (link-local too)
                sh(["sysctl", "-q", "-w", f"net.ipv6.conf.{key}.accept_dad=0"], netns=ns)
        self._veth(self.client, self.client_if, self.in_if)
        self._veth(self.server, self.server_if, self.out_if)
        r = self.router
        for cmd in (
            ["ip", "-n", r, "addr", "add", "192.0.2.1/24", "dev", self.in_if],
            ["ip", "-n", r, "addr", "add", "2001:db8:c::1/64", "dev", self.in_if, "nodad"],
            ["ip", "-n", r, "addr", "add", "198.51.100.1/24", "dev", self.out_if],
            ["ip", "-n", r, "addr", "add", "203.0.113.1/24", "dev", self.out_if],
            ["ip", "-n", r, "addr", "add", "2001:db8:5::1/64", "dev", self.out_if, "nodad"],
        ):
            sh(cmd)
        for key in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"):  # fmt: skip
            sh(["sysctl", "-q", "-w", key], netns=r)
        self._hosts(self.client, self.client_if, CLIENT4, CLIENT6, "192.0.2.1", "2001:db8:c::1")
        self._hosts(self.server, self.server_if, SERVER4, SERVER6, "", "2001:db8:5::1")
        sh(["ip", "-n", self.server, "route", "add", "default", "via", "198.51.100.1"])
        for ns in (self.client, self.server):
            sh(["sysctl", "-q", "-w", "net.ipv4.tcp_syn_retries=1"], netns=ns)
        self._static_neighbours()

    def _static_neighbours(self) -> None:
        """Permanent ARP/NDP entries on every side: a ruleset that drops the neighbours'
        own packets (an `ip6 saddr != ... drop` in prerouting drops the server's neighbour
        advertisements) must not keep the router from sending what it forwards."""
        mac = {
            (ns, ifname): json.loads(sh(["ip", "-j", "-n", ns, "link", "show", ifname]))[0][
                "address"
            ]
            for ns, ifname in ((self.client, self.client_if), (self.server, self.server_if),
                               (self.router, self.in_if), (self.router, self.out_if))
        }  # fmt: skip
        sides = (
            (self.client, self.client_if, self.in_if, CLIENT4 + CLIENT6,
             ("192.0.2.1", "2001:db8:c::1")),
            (self.server, self.server_if, self.out_if, SERVER4 + SERVER6,
             ("198.51.100.1", "203.0.113.1", "2001:db8:5::1")),
        )  # fmt: skip
        for ns, inner, outer, hosts, gateways in sides:
            for host in hosts:
                sh(["ip", "-n", self.router, "neigh", "replace", host, "lladdr",
                    mac[(ns, inner)], "dev", outer, "nud", "permanent"])  # fmt: skip
            for gateway in gateways:
                sh(["ip", "-n", ns, "neigh", "replace", gateway, "lladdr",
                    mac[(self.router, outer)], "dev", inner, "nud", "permanent"])  # fmt: skip

    def _veth(self, ns: str, inner: str, outer: str) -> None:
        sh(["ip", "link", "add", inner, "netns", ns, "type", "veth", "peer", "name", outer,
            "netns", self.router])  # fmt: skip
        sh(["ip", "-n", ns, "link", "set", inner, "up"])
        sh(["ip", "-n", self.router, "link", "set", outer, "up"])

    def _hosts(self, ns: str, ifname: str, v4: Sequence[str], v6: Sequence[str], gw4: str,
               gw6: str) -> None:  # fmt: skip
        for a in v4:
            net = "24"
            sh(["ip", "-n", ns, "addr", "add", f"{a}/{net}", "dev", ifname])
        for a in v6:
            sh(["ip", "-n", ns, "addr", "add", f"{a}/64", "dev", ifname, "nodad"])
        if gw4:
            sh(["ip", "-n", ns, "route", "add", "default", "via", gw4])
        sh(["ip", "-n", ns, "-6", "route", "add", "default", "via", gw6])

    def down(self) -> None:
        for ns in (self.client, self.router, self.server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    def clear(self) -> None:
        """Empty the router: no nft tables, no iptables rules, no ipsets."""
        sh(["nft", "flush", "ruleset"], netns=self.router)
        sh(["ipset", "destroy"], netns=self.router)
        # Forget every connection: the source ports wrap (40,000 of them), and an entry an
        # earlier example left (its closing packets dropped by that example's ruleset) would
        # make a new SYN on the same tuple not NEW, so the kernel would judge something else.
        sh(["conntrack", "-F"], netns=self.router)

    def load_iptables(self, v4: str, v6: str, ipsets: str) -> tuple[str, str, str]:
        """Load, then read back what the kernel holds (the text users would hand us)."""
        self.clear()
        if ipsets.strip():
            sh(["ipset", "-exist", "restore"], netns=self.router, stdin=ipsets)
        sh(["iptables-restore", "-w"], netns=self.router, stdin=v4)
        sh(["ip6tables-restore", "-w"], netns=self.router, stdin=v6)
        return (
            sh(["iptables-save"], netns=self.router),
            sh(["ip6tables-save"], netns=self.router),
            sh(["ipset", "save"], netns=self.router),
        )

    def load_nft(self, script: str) -> str:
        self.clear()
        sh(["nft", "-f", "-"], netns=self.router, stdin=script)
        return sh(["nft", "-j", "list", "ruleset"], netns=self.router)

    def next_sport(self) -> int:
        self._port = 20000 + (self._port - 19999) % 40000
        return self._port

    def probe(self, probes: Sequence[Probe], wait: float = 0.4) -> list[str]:
        """Per probe: 'arrived', 'rejected' (an error came back) or 'dropped' (silence)."""
        with in_netns(self.server):
            capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        capture.bind((self.server_if, 0))
        capture.setblocking(False)
        socks = []
        try:
            with in_netns(self.client):
                for p in probes:
                    socks.append(_send(p))
            time.sleep(wait)
            seen = _drain(capture)
            # By protocol and source port (each probe has its own): a DNAT changes the
            # destination the server sees.
            arrived = {(proto, sport) for _, _, proto, sport, _ in seen}
            return [
                "arrived" if (p.protocol, p.sport) in arrived
                else "rejected" if _errored(s, p.protocol) else "dropped"
                for p, s in zip(probes, socks, strict=True)
            ]  # fmt: skip
        finally:
            capture.close()
            for s in socks:
                s.close()


def probe_input(topo: Topology, probes: Sequence[Probe], wait: float = 0.4) -> list[str]:
    """INPUT: flows to the router's own address, with a listener on each port: 'arrived'
    (TCP connected, UDP received), 'rejected' (an error came back) or 'dropped' (silence)."""
    listeners: dict[tuple[str, str, int], socket.socket] = {}
    socks: list[socket.socket] = []
    try:
        with in_netns(topo.router):
            for p in probes:
                key = (p.destination, p.protocol, p.dport)
                if key not in listeners:
                    family = socket.AF_INET6 if ":" in p.destination else socket.AF_INET
                    kind = socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM
                    listener = socket.socket(family, kind)
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    listener.bind((p.destination, p.dport))
                    if kind == socket.SOCK_STREAM:
                        listener.listen(64)
                    listener.setblocking(False)
                    listeners[key] = listener
        with in_netns(topo.client):
            capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        capture.bind((topo.client_if, 0))
        capture.setblocking(False)
        socks.append(capture)
        with in_netns(topo.client):
            for p in probes:
                socks.append(_send(p))
        time.sleep(wait)
        answered = _syn_acks(capture)
        received = set()
        for (_, proto, _), listener in listeners.items():
            while proto == "udp":
                try:
                    _, peer = listener.recvfrom(64)
                except BlockingIOError:
                    break
                received.add((str(IPAddress(peer[0])), peer[1]))
        out = []
        for p, s in zip(probes, socks[1:], strict=True):
            if p.protocol == "udp":
                arrived = (str(IPAddress(p.source)), p.sport) in received
                out.append("arrived" if arrived else "rejected" if _errored(s, "udp")
                           else "dropped")  # fmt: skip
                continue
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            _, writable, _ = select.select([], [s], [], 0)
            # The first packet is what is judged: a SYN-ACK means the SYN reached the
            # listener, whatever a later packet of the handshake met (a ruleset rejecting
            # what is not NEW rejects the ACK, and the socket then reports ECONNREFUSED).
            if p.sport in answered:
                out.append("arrived")
                continue
            out.append("rejected" if err else "arrived" if writable else "dropped")
        return out
    finally:
        for each in (*listeners.values(), *socks):
            each.close()


def probe_output(topo: Topology, probes: Sequence[Probe], wait: float = 0.4) -> list[str]:
    """OUTPUT: flows the router itself sends: 'arrived' (seen on the server's interface),
    'dropped' (silence, or EPERM: netfilter dropped it on the way out) or 'rejected'."""
    with in_netns(topo.server):
        capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    capture.bind((topo.server_if, 0))
    capture.setblocking(False)
    socks: list[socket.socket | None] = []
    try:
        with in_netns(topo.router):
            for p in probes:
                try:
                    socks.append(_send(p))
                except PermissionError:
                    socks.append(None)  # dropped by the local output path
        time.sleep(wait)
        arrived = {(proto, sport) for _, _, proto, sport, _ in _drain(capture)}
        out = []
        for p, s in zip(probes, socks, strict=True):
            if (p.protocol, p.sport) in arrived:
                out.append("arrived")
            elif s is None:
                out.append("dropped")
            else:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                late = 0
                if p.protocol == "udp" and not err:
                    with contextlib.suppress(BlockingIOError):
                        try:
                            s.recv(64)
                        except OSError as exc:
                            late = exc.errno or 0
                err = err or late
                out.append("dropped" if err in (0, errno.EPERM) else "rejected")
        return out
    finally:
        capture.close()
        for each in socks:
            if each is not None:
                each.close()


def _send(p: Probe) -> socket.socket:
    family = socket.AF_INET6 if ":" in p.source else socket.AF_INET
    kind = socket.SOCK_STREAM if p.protocol == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_DGRAM:
        level = socket.IPPROTO_IPV6 if family == socket.AF_INET6 else socket.IPPROTO_IP
        s.setsockopt(level, IPV6_RECVERR if family == socket.AF_INET6 else IP_RECVERR, 1)
    s.bind((p.source, p.sport))
    if kind == socket.SOCK_STREAM:
        s.connect_ex((p.destination, p.dport))
    else:
        s.connect((p.destination, p.dport))
        s.send(b"i10 probe")
    return s


def _errored(s: socket.socket, protocol: str) -> bool:
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        return True
    if protocol == "udp":
        with contextlib.suppress(BlockingIOError):
            try:
                s.recv(64)
            except OSError as exc:
                return exc.errno != errno.EAGAIN
        return False
    _, writable, _ = select.select([], [s], [], 0)
    return bool(writable)  # connected or failed: here, always failed (nothing listens)


def _drain(capture: socket.socket) -> set[tuple[str, str, str, int, int]]:
    seen = set()
    while True:
        try:
            frame = capture.recv(2048)
        except BlockingIOError:
            return seen
        parsed = _parse(frame)
        if parsed is not None:
            seen.add(parsed)


def _syn_acks(capture: socket.socket) -> set[int]:
    """The destination ports of the TCP SYN-ACKs captured: the SYNs a listener answered."""
    ports = set()
    while True:
        try:
            frame = capture.recv(2048)
        except BlockingIOError:
            return ports
        found = _layer4(frame)
        if found is not None and found[0] == 6:
            l4 = found[3]
            if len(frame) >= l4 + 14 and frame[l4 + 13] & 0x12 == 0x12:
                ports.add(struct.unpack("!H", frame[l4 + 2 : l4 + 4])[0])


def _layer4(frame: bytes) -> tuple[int, str, str, int] | None:
    """(IP protocol number, source, destination, offset of the layer-4 header) of an IPv4
    or IPv6 Ethernet frame, else None."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        return frame[23], _ip(frame[26:30], 4), _ip(frame[30:34], 4), 14 + (frame[14] & 0x0F) * 4
    if ethertype == 0x86DD:
        return frame[20], _ip(frame[22:38], 6), _ip(frame[38:54], 6), 54
    return None


def _parse(frame: bytes) -> tuple[str, str, str, int, int] | None:
    found = _layer4(frame)
    name = {6: "tcp", 17: "udp"}.get(found[0]) if found is not None else None
    if found is None or name is None:
        return None
    _, src, dst, l4 = found
    sport, dport = struct.unpack("!HH", frame[l4 : l4 + 4])
    return (src, dst, name, sport, dport)


def _ip(raw: bytes, version: int) -> str:
    return str(IPAddress(int.from_bytes(raw, "big"), version))


def topology_fixture(topo: Topology) -> Callable[[], Iterator[Topology]]:
    """A kernel test module's `topo` fixture: its topology up for the module, and down after,
    also when a test fails (`topo = topology_fixture(TOPO)` in the module)."""

    @pytest.fixture(scope="module", name="topo")
    def fixture() -> Iterator[Topology]:
        topo.up()
        try:
            yield topo
        finally:
            topo.down()

    return fixture
