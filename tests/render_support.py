"""Helpers for the renderer tests: IPv6 flows for a dual-stack plan, a throwaway network
namespace, the real tools (golden files: golden_support)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from plan_factories import flow, record

from auditor.model.inventory import Check, Flow, Role
from auditor.model.record import ProbeRecord, Status

V6_PRIMARY_UNIQUE = "2001:db8:100::11"
V6_BACKUP_UNIQUE = "2001:db8:100::12"
V6_SHARED = "2001:db8:100::10"
V6_AD = "2001:db8:113::10"
_V6_OWNERS = {
    V6_PRIMARY_UNIQUE: (frozenset({"site1"}), Role.UNIQUE),
    V6_BACKUP_UNIQUE: (frozenset({"site2"}), Role.UNIQUE),
    V6_SHARED: (frozenset({"site1", "site2"}), Role.SHARED),
}


def ipv6_flows() -> tuple[Flow, ...]:
    """LDAPS from each of the pair's IPv6 addresses to an IPv6 AD server."""
    out = []
    for source, (appliances, role) in _V6_OWNERS.items():
        f = flow(source, V6_AD, 636, checks=(Check.TCP, Check.TLS, Check.LDAP_BIND))
        out.append(replace(f, appliances=appliances, source_role=role))
    return tuple(out)


def ipv6_records() -> tuple[ProbeRecord, ...]:
    """The example's story in IPv6: the primary's unique address binds, the backup's is
    dropped, the shared one is refused."""
    out: list[ProbeRecord] = []
    for f in ipv6_flows():
        if str(f.source) == V6_PRIMARY_UNIQUE:
            out += [
                record(f, Status.OPEN),
                record(f, Status.TLS_OK, check="tls"),
                record(f, Status.BIND_OK, check="ldap-bind"),
            ]
        elif str(f.source) == V6_BACKUP_UNIQUE:
            out.append(record(f, Status.FILTERED, reason="no answer in 2.0 s"))
        else:
            out.append(record(f, Status.REFUSED, reason="connection refused"))
    return tuple(out)


def run(args: list[str], ns: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def namespace() -> Iterator[str]:
    """A namespace of our own (unique name), deleted whatever happens."""
    name = f"plan{os.getpid() % 100000}-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


def restore_test(ns: str, tool: str, text: str) -> subprocess.CompletedProcess[str]:
    return run([f"{tool}-restore", "-w", "--test", "--noflush"], ns, stdin=text)


def nft_check(ns: str, path: Path) -> subprocess.CompletedProcess[str]:
    return run(["nft", "-c", "-f", str(path)], ns)


def load_iptables(
    ns: str, tool: str, files: dict[str, str], chain: str, hook: str = "FORWARD"
) -> None:
    """Load the chain fragment, then the jump unless `-C` finds it: the documented procedure."""
    rules = run([f"{tool}-restore", "-w", "--noflush"], ns, stdin=files[f"{tool}.rules"])
    assert rules.returncode == 0, rules.stderr
    present = run([tool, "-w", "-C", hook, "-j", chain], ns)
    if present.returncode != 0:
        jump = run([f"{tool}-restore", "-w", "--noflush"], ns, stdin=files[f"{tool}.jump.rules"])
        assert jump.returncode == 0, jump.stderr


def rules_listing(ns: str, tool: str) -> list[str]:
    out = run([tool, "-w", "-S"], ns)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()
