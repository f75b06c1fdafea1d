"""iproute2 and sysctl calls for claim mode, with failures turned into one-line RunErrors."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.errors import RunError

NETNS_DIR = "/run/netns"


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a system tool; RunError naming the tool and its message on failure if `check`."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise RunError(f"claim: {argv[0]} is not installed (Debian package iproute2)") from None
    except subprocess.TimeoutExpired:
        raise RunError(f"claim: `{' '.join(argv)}` did not finish within 30 s") from None
    if check and proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())[:300] or "no output"
        raise RunError(f"claim: `{' '.join(argv)}` failed (exit {proc.returncode}): {detail}")
    return proc


def ip_json(args: Sequence[str], netns: str | None = None) -> list[dict[str, Any]]:
    """`ip -j ARGS` (in `netns` when given), parsed."""
    where = ["-n", netns] if netns else []
    out = run(["ip", "-j", *where, *args]).stdout.strip()
    return list(json.loads(out)) if out else []


def sysctls(netns: str, values: Mapping[str, int]) -> None:
    """Set sysctls inside `netns` (its /proc/sys/net is the namespace's own), in one call."""
    run(
        [
            "ip",
            "netns",
            "exec",
            netns,
            "sysctl",
            "-q",
            "-w",
            *(f"{k}={v}" for k, v in values.items()),
        ]
    )


def namespaces() -> set[str]:
    out = run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def delete_namespace(name: str) -> None:
    """Delete the claim link first (so it is gone even while a thread still holds the
    namespace), then the namespace."""
    if name not in namespaces():
        return
    for link in ip_json(["link", "show"], name) if _exists(name) else []:
        if link.get("ifname") != "lo":
            run(["ip", "-n", name, "link", "del", "dev", str(link["ifname"])], check=False)
    run(["ip", "netns", "del", name], check=False)


def _exists(name: str) -> bool:
    return run(["ip", "-n", name, "link", "show"], check=False).returncode == 0
