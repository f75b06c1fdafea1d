"""A syslog-over-TLS listener (RFC 5425, TCP 6514) in the provider namespace: socat accepts
TLS with the lab's certificate and discards what it receives. Enough for the probe, which
checks TCP and the TLS handshake; UDP 514 has no answer to test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.lab import daemon

PORT = 6514


def _argv(ip: IPAddress, cert: Path, key: Path, ca: Path) -> list[str]:
    family = "6" if ip.version == 6 else "4"
    listen = (
        f"OPENSSL-LISTEN:{PORT},pf=ip{family},bind={ip},reuseaddr,fork,"
        f"cert={cert},key={key},cafile={ca},verify=0"
    )
    return ["socat", "-u", listen, "OPEN:/dev/null,wronly"]


def start(
    root: Path, addresses: Sequence[IPAddress], tls: tuple[Path, Path, Path], netns: str
) -> list[int]:
    """One socat per address (socat binds one); `tls` is (certificate, key, CA)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert, key, ca = tls
    pids = []
    for i, ip in enumerate(addresses):
        pids.append(
            daemon.launch(
                _argv(ip, cert, key, ca),
                netns=netns,
                pidfile=root / f"lab{i}.pid",
                marker=str(cert),
                ready=_ready(netns, daemon.sock(ip, PORT)),
                what="socat (syslog over TLS)",
                log=root / "stdout.log",
            )
        )
    return pids


def _ready(netns: str, wanted: str) -> Callable[[], bool]:
    return lambda: daemon.listening(netns, {wanted}, udp=False)


def stop(root: Path, cert: Path) -> None:
    for pidfile in sorted(root.glob("lab*.pid")):
        daemon.stop(pidfile, str(cert))
