"""The appliances' own TLS port in the lab: both appliances live in the probe namespace, so a
peer flow (unique IP to unique IP on the peer port) never crosses the router. A small TCP
listener on each unique address stands in for the appliance's web server, so peer flows are
`open` as they are on a healthy pair."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.errors import RunError
from auditor.lab.netns import kill_all

START_TIMEOUT = 5.0


def running_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"auditor.lab.peers" in cmdline else None


def start(netns: str, endpoints: Sequence[tuple[IPAddress, int]], pidfile: Path) -> int | None:
    """Start the listener in `netns` unless it already runs; wait until it is bound."""
    if not endpoints:
        return None
    pid = running_pid(pidfile)
    if pid is not None:
        return pid
    pidfile.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "auditor.lab.peers", "--pidfile", str(pidfile)]
    argv += [f"{ip},{port}" for ip, port in endpoints]
    subprocess.Popen(
        ["ip", "netns", "exec", netns, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        pid = running_pid(pidfile)
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise RunError(f"lab: the peer-port listener did not start within {START_TIMEOUT:.0f} s")


def stop(pidfile: Path) -> None:
    pid = running_pid(pidfile)
    if pid is not None:
        kill_all([pid])
    pidfile.unlink(missing_ok=True)


async def _serve(endpoints: Sequence[tuple[str, int]], pidfile: Path) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    servers = [await asyncio.start_server(accept, host, port) for host, port in endpoints]
    tmp = pidfile.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, pidfile)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    await stop_event.wait()
    for server in servers:
        server.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m auditor.lab.peers")
    parser.add_argument("--pidfile", type=Path, required=True)
    parser.add_argument("endpoints", nargs="+", help="ADDRESS,PORT")
    args = parser.parse_args(argv)
    endpoints = []
    for item in args.endpoints:
        host, _, port = item.rpartition(",")
        endpoints.append((host, int(port)))
    asyncio.run(_serve(endpoints, args.pidfile))


if __name__ == "__main__":
    main()
