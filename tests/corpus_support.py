"""The real-world dumps of tests/ruleset_corpus/ and the flows each is asked about: every pair of
a few sources and destinations (addresses the rules name, and others) on the ports the rules
name plus common ones, TCP and UDP, with the interfaces given as the host would see them."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress

from auditor.ruleset import Hook, Packet, evaluate, read_rulesets
from auditor.ruleset.model import Decision, Ruleset
from auditor.ruleset.site import read_site

CORPUS = Path(__file__).resolve().parent / "ruleset_corpus"
COMMON_PORTS = (22, 53, 80, 443, 636, 1812, 3001, 30000)


@dataclass(frozen=True)
class Dump:
    """One real-world dump: its files and where its host's traffic comes in and goes out."""

    name: str
    files: tuple[str, ...]
    ipsets: tuple[str, ...]
    interfaces: tuple[tuple[str, str], ...]  # (in, out) pairs asked about
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    ports: tuple[int, ...]
    # the firewall's own addresses with their prefixes (--local-address), when the dump's
    # host is known: for -m addrtype
    local: tuple[str, ...] = ()


DUMPS = (
    Dump("ufw", ("ufw.rules",), (), (("eth0", "eth1"), ("eth1", "eth0")),
         ("198.51.100.7", "192.0.2.66", "192.0.2.10", "2001:db8::7"),
         ("203.0.113.20", "203.0.113.5", "198.51.100.1", "2001:db8:1::5"),
         (22, 636, 1812, 2222)),
    Dump("docker", ("docker.rules",), ("docker.ipset",),
         (("eth0", "bridge1"), ("bridge1", "eth0"), ("docker0", "eth0"), ("bridge1", "docker0")),
         ("198.51.100.7", "192.0.2.3", "172.17.0.2"),
         ("192.0.2.2", "192.0.2.3", "172.17.0.5", "203.0.113.9"),
         (80, 8080)),
    Dump("kube-proxy", ("kube-proxy.rules",), (), (("eth0", "cni0"), ("cni0", "eth0")),
         ("198.51.100.7", "10.180.0.2", "1.2.3.4", "203.0.113.3"),
         ("172.30.0.46", "10.180.0.3", "192.168.99.22", "5.6.7.8", "203.0.113.9"),
         (80, 3001, 30000)),
    Dump("shorewall", ("shorewall.rules",), (), (("eth0", "eth1"), ("eth1", "eth0")),
         ("198.51.100.7", "192.168.1.20", "10.1.2.3"),
         ("203.0.113.1", "192.168.1.10", "192.168.1.1", "198.51.100.20"),
         (22, 53, 67, 8080), ("203.0.113.1/24", "192.168.1.1/24")),
    Dump("firewalld", ("firewalld.json",), (), (("eth0", "eth1"), ("eth1", "eth0")),
         ("198.51.100.7", "192.168.1.20", "2001:db8::7"),
         ("203.0.113.1", "192.168.1.10", "192.168.1.1", "198.51.100.20", "2001:db8:1::5"),
         (22, 80, 443, 8080, 5353), ("203.0.113.1/24", "192.168.1.1/24")),
    Dump("openwrt-fw4", ("openwrt-fw4.json",), (),
         (("br-lan", "pppoe-wan"), ("pppoe-wan", "br-lan")),
         ("192.168.26.20", "198.51.100.7", "2001:db8:1000::20", "2001:db8:54:321::7"),
         ("198.51.100.20", "192.168.26.1", "10.11.12.1", "2001:db8:1000::5", "2001:db8::99"),
         (68, 500, 546, 21, 5060)),
)  # fmt: skip


def rulesets(dump: Dump) -> tuple[Ruleset, ...]:
    return read_rulesets([CORPUS / f for f in dump.files], [CORPUS / f for f in dump.ipsets])


def packets(dump: Dump, local: bool = True) -> list[Packet]:
    """The flows asked about (`local`: with the firewall's addresses, when the dump has them)."""
    site = read_site(list(dump.local), None) if local and dump.local else None
    out = []
    ports = sorted(set(dump.ports) | set(COMMON_PORTS))
    for src, dst, (iin, iout), proto, port in itertools.product(
        dump.sources, dump.destinations, dump.interfaces, ("tcp", "udp"), ports
    ):
        s, d = IPAddress(src), IPAddress(dst)
        if s.version == d.version:
            out.append(Packet(s.version, int(s), int(d), proto, port, None, iin, iout, site=site))
    return out


def decide(dump: Dump, hook: Hook, local: bool = True) -> list[Decision]:
    return evaluate(rulesets(dump), packets(dump, local), hook)


def unknown_share(decisions: list[Decision]) -> tuple[float, Counter[str]]:
    """The share of flows left unknown, and the reasons, most common first."""
    reasons: Counter[str] = Counter(d.reason for d in decisions if d.verdict.value == "unknown")
    return sum(reasons.values()) / max(1, len(decisions)), reasons
