"""The claim-mode lab: the pair's segment as a switch (a bridge in a namespace of its own).

On the switch: a live appliance holding some of the pair's addresses (it answers ARP and NDP),
an auditor host with only its management address (its `eth0` is the claim parent), and a
router whose incomplete iptables ruleset stands between the segment and a provider running a
plain TCP listener. Documentation addresses only:

    segment   198.51.100.0/24, 2001:db8:100::/64   router .1/::1, auditor host .50/::50
    provider  203.0.113.0/24, 2001:db8:203::/64    router .1/::1, provider .10/::10
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from auditor.lab.command import run
from auditor.lab.netns import (
    delete_namespace,
    enable_forwarding,
    ensure_addresses,
    ensure_default_routes,
    ensure_namespace,
    ensure_veth,
    kill_all,
    namespace_pids,
)

SEGMENT_V4 = IPNetwork("198.51.100.0/24")
ROUTER_SEGMENT = (IPNetwork("198.51.100.1/24"), IPNetwork("2001:db8:100::1/64"))
ROUTER_PROVIDER = (IPNetwork("203.0.113.1/24"), IPNetwork("2001:db8:203::1/64"))
AUDITOR_HOST = (IPNetwork("198.51.100.50/24"), IPNetwork("2001:db8:100::50/64"))
PROVIDER = (IPNetwork("203.0.113.10/24"), IPNetwork("2001:db8:203::10/64"))
# The router admits SMTP (25) from the segment and nothing else: 465 and 587 meet DROP.
OPEN_PORTS = (25,)
LISTEN_PORTS = (25, 465, 587)

_LISTENER = """
import select, socket
socks = []
for port in PORTS:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(128); socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        s.accept()[0].close()
"""


@dataclass(frozen=True, slots=True)
class Segment:
    """Names and addresses of one segment lab; `prefix` makes it unique (`i11...`)."""

    prefix: str
    live: tuple[IPNetwork, ...]  # what the live appliance holds

    @property
    def switch(self) -> str:
        return f"{self.prefix}sw"

    @property
    def auditor(self) -> str:
        return f"{self.prefix}au"

    @property
    def appliance(self) -> str:
        return f"{self.prefix}lv"

    @property
    def router(self) -> str:
        return f"{self.prefix}rt"

    @property
    def provider(self) -> str:
        return f"{self.prefix}pv"

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.switch, self.auditor, self.appliance, self.router, self.provider)

    def up(self) -> None:
        self.down()
        for ns in self.namespaces:
            ensure_namespace(ns)
        run(
            ["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"]
        )
        run(["ip", "-n", self.switch, "link", "set", "br0", "up"])
        for ns, port in ((self.auditor, "pau"), (self.appliance, "plv"), (self.router, "prt")):
            ensure_veth(self.switch, port, ns, "eth0")
            run(["ip", "-n", self.switch, "link", "set", port, "master", "br0"])
        ensure_veth(self.router, "eth1", self.provider, "eth0")
        ensure_addresses(self.router, "eth0", ROUTER_SEGMENT)
        ensure_addresses(self.router, "eth1", ROUTER_PROVIDER)
        enable_forwarding(self.router)
        ensure_addresses(self.auditor, "eth0", AUDITOR_HOST)
        ensure_addresses(self.appliance, "eth0", self.live)
        ensure_addresses(self.provider, "eth0", PROVIDER)
        gateways = [net.ip for net in ROUTER_SEGMENT]
        for ns in (self.auditor, self.appliance):
            ensure_default_routes(ns, gateways)
        ensure_default_routes(self.provider, [net.ip for net in ROUTER_PROVIDER])
        for version, tool in ((4, "iptables-restore"), (6, "ip6tables-restore")):
            run([tool], netns=self.router, stdin=render_rules(version))
        script = f"PORTS = {list(LISTEN_PORTS)!r}\n{_LISTENER}"
        # Killed by down() with the namespace (kill_all of its pids).
        subprocess.Popen(
            ["ip", "netns", "exec", self.provider, "python3", "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def down(self) -> None:
        for ns in reversed(self.namespaces):
            with contextlib.suppress(Exception):
                kill_all(namespace_pids(ns))
            delete_namespace(ns)

    def mac(self, netns: str, ifname: str = "eth0") -> str:
        out = run(["ip", "-n", netns, "-br", "link", "show", "dev", ifname]).stdout.split()
        return out[2].lower()

    def router_neighbour(self, ip: IPAddress) -> str | None:
        """The router's neighbour entry (lladdr) for `ip`, or None."""
        out = run(["ip", "-n", self.router, "neigh", "show", str(ip)]).stdout.split()
        return out[out.index("lladdr") + 1].lower() if "lladdr" in out else None

    def nsenter(self, argv: Sequence[str]) -> list[str]:
        """argv run on the auditor host: its network namespace only (not `ip netns exec`, whose
        private mount namespace would hide the claim namespaces the auditor makes)."""
        return ["nsenter", f"--net=/run/netns/{self.auditor}", *argv]


def render_rules(version: int) -> str:
    """An incomplete FORWARD ruleset: policy DROP, established back, SMTP 25 from the segment."""
    segment = str(SEGMENT_V4) if version == 4 else "2001:db8:100::/64"
    lines = [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        *(f"-A FORWARD -s {segment} -p tcp -m tcp --dport {p} -j ACCEPT" for p in OPEN_PORTS),
        "COMMIT",
    ]
    return "\n".join(lines) + "\n"
