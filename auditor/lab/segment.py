"""The claim-mode lab: the pair's segment as a switch (a bridge in a namespace of its own).

On the switch: a live appliance holding some of the pair's addresses (it answers ARP and NDP),
an auditor host with only its management address (its `eth0` is the claim parent), and a
router whose incomplete iptables ruleset stands between the segment and a provider running a
minimal SMTP listener (banner, EHLO, QUIT). Documentation addresses only:

    segment   198.51.100.0/24, 2001:db8:100::/64   router .1/::1, auditor host .50/::50
    provider  203.0.113.0/24, 2001:db8:203::/64    router .1/::1, provider .10/::10
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from auditor.errors import AuditorError
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
from auditor.lab.router import apply_snippet

SEGMENT_V4 = IPNetwork("198.51.100.0/24")
ROUTER_SEGMENT = (IPNetwork("198.51.100.1/24"), IPNetwork("2001:db8:100::1/64"))
ROUTER_PROVIDER = (IPNetwork("203.0.113.1/24"), IPNetwork("2001:db8:203::1/64"))
AUDITOR_HOST = (IPNetwork("198.51.100.50/24"), IPNetwork("2001:db8:100::50/64"))
PROVIDER = (IPNetwork("203.0.113.10/24"), IPNetwork("2001:db8:203::10/64"))
# The router admits SMTP (25) from the segment and nothing else: 465 and 587 meet DROP.
OPEN_PORTS = (25,)
LISTEN_PORTS = (25, 465, 587)

# The provider speaks just enough SMTP for the smtp check's proof of life (banner 220, EHLO
# 250, no STARTTLS, QUIT 221): a listener that closes at once is `smtp-failed`.
_LISTENER = """
import select, socket, threading
def talk(c):
    try:
        c.settimeout(5)
        c.sendall(b"220 provider.invalid ESMTP lab\\r\\n")
        for line in c.makefile("rb"):
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                c.sendall(b"250 provider.invalid\\r\\n")
            elif verb == b"QUIT":
                c.sendall(b"221 bye\\r\\n")
                break
            else:
                c.sendall(b"502 not here\\r\\n")
    except OSError:
        pass
    finally:
        c.close()
socks = []
for port in PORTS:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(128); socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        threading.Thread(target=talk, args=(s.accept()[0],), daemon=True).start()
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
        ensure_default_routes(self.auditor, gateways)  # the appliance only talks on the segment
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


def take_address(segment: Segment, interface: IPNetwork) -> None:
    """The live appliance takes an address (go-live), as an appliance would: the kernel's own
    behaviour, no extra announcement."""
    ensure_addresses(segment.appliance, "eth0", [interface])


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m auditor.lab.segment up|down|take|apply PREFIX [ARGS]` for the go-live demo."""
    parser = argparse.ArgumentParser(prog="python -m auditor.lab.segment")
    parser.add_argument("action", choices=["up", "down", "take", "apply"])
    parser.add_argument("prefix", help="names start with it (i11..., at most 8 characters)")
    parser.add_argument("args", nargs="*", help="take: CIDR...; apply: snippet FILE...")
    ns = parser.parse_args(argv)
    if len(ns.prefix) > 8 or not ns.prefix.isalnum():
        parser.error("prefix: letters and digits, at most 8")
    try:
        _act(Segment(ns.prefix, ()), ns.action, ns.args)
    except AuditorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def _act(segment: Segment, action: str, args: Sequence[str]) -> None:
    if action == "up":
        segment.up()
        print(f"segment {segment.prefix} up: claim parent eth0 in namespace {segment.auditor}")
    elif action == "down":
        segment.down()
    elif action == "take":
        for cidr in args:
            take_address(segment, IPNetwork(cidr))
    else:
        for path in args:
            apply_snippet(segment.router, Path(path))


if __name__ == "__main__":
    sys.exit(main())
