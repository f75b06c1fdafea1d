"""Start, find and stop one foreground daemon of the lab inside a namespace: its pid file is
written here (the daemon runs in the foreground, so `ip netns exec` becomes it), and a pid only
counts while its command line still names this daemon's own config."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from auditor.errors import RunError
from auditor.lab.command import run
from auditor.lab.netns import kill_all

START_TIMEOUT = 10.0


def running_pid(pidfile: Path, marker: str) -> int | None:
    """The pid in `pidfile` if that process still runs with `marker` on its command line."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if marker.encode() in cmdline else None


def launch(
    argv: Sequence[str],
    *,
    netns: str,
    pidfile: Path,
    marker: str,
    ready: Callable[[], bool],
    what: str,
    log: Path,
) -> int:
    """Start `argv` in `netns` unless it already runs; wait until `ready()`."""
    pid = running_pid(pidfile, marker)
    if pid is not None:
        return pid
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    pidfile.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if ready():
            return proc.pid
        time.sleep(0.05)
    exited = proc.poll() is not None
    stop(pidfile, marker)
    tail = " ".join(log.read_text(errors="replace").split())[-300:] or "no output"
    how = f"exited (status {proc.returncode})" if exited else f"not ready in {START_TIMEOUT:.0f} s"
    raise RunError(f"lab: {what} {how} (log {log}: {tail})")


def stop(pidfile: Path, marker: str) -> None:
    pid = running_pid(pidfile, marker)
    if pid is not None:
        kill_all([pid], grace=5.0)
    pidfile.unlink(missing_ok=True)


def sock(ip: object, port: int) -> str:
    text = str(ip)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"


def listening(netns: str, wanted: set[str], udp: bool) -> bool:
    """True if every `address:port` in `wanted` has a listening socket in `netns`."""
    out = run(["ss", "-Hlnu" if udp else "-Hltn"], netns=netns).stdout
    have = {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}
    return wanted <= have
