"""Run the system tools the lab is made of (ip, iptables, openssl, slapd) and turn a failure
into a RunError that says which tool failed and why."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from auditor.errors import RunError

# What the lab needs on PATH, and the Debian package that brings it (the Makefile's deps).
TOOLS: dict[str, str] = {
    "ip": "iproute2",
    "iptables-restore": "iptables",
    "ip6tables-restore": "iptables",
    "nft": "nftables",
    "openssl": "openssl",
    "slapd": "slapd",
    "slapadd": "slapd",
}


def missing_tools() -> list[str]:
    """The tools (with their package) that are not installed."""
    return [f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]


def run(
    argv: Sequence[str],
    *,
    netns: str | None = None,
    stdin: str | None = None,
    check: bool = True,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (inside `netns` when given); raise RunError on a non-zero exit if `check`.

    Never pass a secret in `argv`: command lines are visible to every user of the host."""
    full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    try:
        proc = subprocess.run(
            full,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise RunError(f"lab: {argv[0]} is not installed (run `make deps`)") from None
    except subprocess.TimeoutExpired:
        raise RunError(f"lab: `{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        where = f" in namespace {netns}" if netns else ""
        detail = " ".join((proc.stderr or proc.stdout).split())[:300] or "no output"
        raise RunError(f"lab: `{' '.join(argv)}`{where} failed (exit {proc.returncode}): {detail}")
    return proc
