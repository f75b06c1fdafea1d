"""Network namespaces, veth pairs, addresses and routes, through iproute2.

Every call is written to be re-run safely: `up` after a partial or crashed `up` completes the
picture instead of failing on what already exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from auditor.lab.command import run

NETNS_ETC = Path("/etc/netns")


def list_namespaces() -> set[str]:
    out = run(["ip", "netns", "list"]).stdout
    # Lines look like "name" or "name (id: 3)".
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def ensure_namespace(name: str) -> None:
    if name not in list_namespaces():
        run(["ip", "netns", "add", name])
    # Without duplicate address detection, link-local addresses are usable at once too:
    # with it, neighbour discovery stalls the first IPv6 packets for about a second after `up`.
    for key in ("default", "all"):
        run(["sysctl", "-q", "-w", f"net.ipv6.conf.{key}.accept_dad=0"], netns=name)
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def link_exists(netns: str, ifname: str) -> bool:
    return run(["ip", "-n", netns, "link", "show", "dev", ifname], check=False).returncode == 0


def ensure_veth(ns_a: str, if_a: str, ns_b: str, if_b: str) -> None:
    """A veth pair created directly inside both namespaces, so no end ever sits in the host
    namespace (where a crash could strand it)."""
    have_a, have_b = link_exists(ns_a, if_a), link_exists(ns_b, if_b)
    if not (have_a and have_b):
        # A half pair cannot exist (deleting one end deletes both), but a stale end with a
        # different peer could: remove whatever is there and make the pair afresh.
        for ns, ifname, have in ((ns_a, if_a, have_a), (ns_b, if_b, have_b)):
            if have:
                run(["ip", "-n", ns, "link", "del", "dev", ifname], check=False)
        run(
            ["ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
             "netns", ns_b]
        )  # fmt: skip
    run(["ip", "-n", ns_a, "link", "set", if_a, "up"])
    run(["ip", "-n", ns_b, "link", "set", if_b, "up"])


def ensure_addresses(netns: str, ifname: str, addresses: Iterable[IPNetwork]) -> None:
    for net in addresses:
        argv = ["ip", "-n", netns, "addr", "replace", str(net), "dev", ifname]
        if net.version == 6:
            argv.append("nodad")  # usable at once, no duplicate-address wait
        run(argv)


def ensure_default_routes(netns: str, gateways: Iterable[IPAddress]) -> None:
    done: set[int] = set()
    for gw in gateways:
        if gw.version in done:
            continue
        done.add(gw.version)
        run(["ip", f"-{gw.version}", "-n", netns, "route", "replace", "default", "via", str(gw)])


def enable_forwarding(netns: str) -> None:
    run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], netns=netns)
    run(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"], netns=netns)


def namespace_pids(netns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def kill_all(pids: Iterable[int], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL what is still there after `grace` seconds."""
    alive = set(pids)
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if _exists(p)}
        if alive:
            time.sleep(0.05)
    for pid in alive:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _exists(pid: int) -> bool:
    # A zombie still "exists" for kill(0); it holds no namespace any more, so treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def delete_namespace(name: str) -> None:
    """Kill every process inside, then delete it (its veth ends go with it)."""
    if name in list_namespaces():
        kill_all(namespace_pids(name))
        run(["ip", "netns", "del", name], check=False)
    etc = NETNS_ETC / name
    if etc.is_dir():
        for child in etc.iterdir():
            child.unlink(missing_ok=True)
        etc.rmdir()


def write_resolver_files(netns: str, entries: Iterable[tuple[IPAddress, str]] = ()) -> None:
    """`ip netns exec` bind-mounts /etc/netns/NAME/* over /etc: a hosts file with the names
    that exist only inside the lab (the servers' certificate names) and this host's own name,
    and a resolv.conf pointing at loopback, so that a lookup made inside the lab (libldap and
    slapd look up the host name) fails at once instead of sending DNS queries anywhere."""
    etc = NETNS_ETC / netns
    etc.mkdir(parents=True, exist_ok=True)
    lines = [
        "127.0.0.1 localhost",
        f"127.0.1.1 {socket.gethostname()}",
        "::1 localhost ip6-localhost ip6-loopback",
    ]
    lines += [f"{ip} {name}" for ip, name in entries]
    (etc / "hosts").write_text("\n".join(lines) + "\n")
    (etc / "resolv.conf").write_text("# auditor lab: no DNS inside the lab\nnameserver 127.0.0.1\n")


def host_links_with_prefix(prefix: str) -> list[str]:
    """Interfaces in the host namespace named `<prefix>-...` (left by a crash mid-create)."""
    out = run(["ip", "-o", "link", "show"]).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            name = parts[1].strip().split("@", 1)[0]
            if name.startswith(f"{prefix}-"):
                names.append(name)
    return names


def delete_host_link(name: str) -> None:
    run(["ip", "link", "del", "dev", name], check=False)
