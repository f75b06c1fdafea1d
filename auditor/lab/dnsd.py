"""dnsmasq as the lab's DNS server in the provider namespace: authoritative answers from its
own hosts file for the lab zone (NXDOMAIN for other names in it), no upstream, no DHCP."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon

PORT = 53


def write_config(root: Path, zone: str, records: Sequence[tuple[IPAddress, str]]) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    (root / "hosts").write_text("".join(f"{ip} {name}\n" for ip, name in records))


def start(root: Path, addresses: Sequence[IPAddress], zone: str, netns: str) -> int:
    wanted = {daemon.sock(ip, PORT) for ip in addresses}
    argv = [
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
        "--no-hosts", f"--addn-hosts={root / 'hosts'}", f"--local=/{zone}/",
        "--bind-interfaces", "--except-interface=lo", f"--port={PORT}", "--user=root",
        f"--pid-file={root / 'dnsmasq.pid'}", "--log-facility=-",
    ]  # fmt: skip
    argv += [f"--listen-address={ip}" for ip in addresses]
    return daemon.launch(
        argv,
        netns=netns,
        pidfile=root / "lab.pid",
        marker=str(root),
        ready=lambda: (
            daemon.listening(netns, wanted, udp=True) and daemon.listening(netns, wanted, udp=False)
        ),
        what="dnsmasq",
        log=root / "stdout.log",
    )


def stop(root: Path) -> None:
    daemon.stop(root / "lab.pid", str(root))
