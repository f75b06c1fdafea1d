"""chrony as the lab's NTP server in the provider namespace. With `stratum` it serves its
local clock at that stratum (`local stratum N`); without, it has no source and answers as
unsynchronised (leap 3), which a probe reports as `ntp-unsynchronized`. `-x`: never set the
host's clock; no command port."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon

PORT = 123


def write_config(
    root: Path, addresses: Sequence[IPAddress], stratum: int | None, deny: Sequence[IPAddress] = ()
) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = [
        "# Written by `auditor lab up`; removed by `auditor lab down`.",
        f"pidfile {root}/chronyd.pid",
        f"driftfile {root}/drift",
        "cmdport 0",
        f"port {PORT}",
    ]
    lines.append("allow all")
    lines += [f"deny {ip}" for ip in deny]  # after `allow all`, which would override them
    lines += [f"bindaddress {ip}" for ip in addresses]
    if stratum is not None:
        lines.append(f"local stratum {stratum}")
    (root / "chrony.conf").write_text("\n".join(lines) + "\n")


def start(root: Path, addresses: Sequence[IPAddress], netns: str) -> int:
    wanted = {daemon.sock(ip, PORT) for ip in addresses}
    return daemon.launch(
        ["chronyd", "-d", "-x", "-u", "root", "-f", str(root / "chrony.conf")],
        netns=netns,
        pidfile=root / "lab.pid",
        marker=str(root),
        ready=lambda: daemon.listening(netns, wanted, udp=True),
        what="chronyd",
        log=root / "stdout.log",
    )


def stop(root: Path) -> None:
    daemon.stop(root / "lab.pid", str(root))
