"""A claim session: claim, yield, release everything, also on Ctrl-C and SIGTERM.

Before each namespace is made, its name is written to /run/auditor-claim/PID.json, so what a
SIGKILLed run leaves is removed by the next run or by `auditor claim cleanup`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from netaddr import IPAddress, IPNetwork

from auditor.claim.arp import probe_addresses
from auditor.claim.dad import DadTarget, detect_duplicates
from auditor.claim.detect import ModeChoice, Parent, choose_mode, inspect_parent, require_root
from auditor.claim.iproute import delete_namespace, namespaces
from auditor.claim.namespace import (
    CLAIM_IFNAME,
    CLAIM_PREFIX,
    Claim,
    Claimed,
    ClaimRequest,
    InUse,
    add_default_route,
    check_gateways,
    child_mac,
    configure_ipv4,
    gateway_for,
    local_addresses,
    make_namespace,
)
from auditor.errors import terminate_raises

STATE_DIR = Path("/run/auditor-claim")
_PID_IN_NAME = re.compile(rf"^{CLAIM_PREFIX}(?:detect-)?(\d+)")


def _start_time(pid: int) -> str | None:
    """The process's start time (to tell it from a later process with its pid); None when it
    is gone, or dead and not yet reaped (a zombie holds nothing: its claims are stale)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


class _State:
    """The namespaces this run owns, on disk before they exist."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.path = STATE_DIR / f"{self.pid}.json"
        self.names: list[str] = []

    def add(self, name: str) -> None:
        self.names.append(name)
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        doc = {"pid": self.pid, "start": _start_time(self.pid), "namespaces": self.names}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc) + "\n")
        os.replace(tmp, self.path)

    def release(self) -> None:
        for name in reversed(self.names):
            delete_namespace(name)
        self.path.unlink(missing_ok=True)


def _live(pid: int, start: str | None) -> bool:
    now = _start_time(pid)
    return now is not None and (start is None or now == start)


def cleanup_stale() -> list[str]:
    """Remove what runs that are no longer alive left: their namespaces and state files.
    Returns the namespaces removed. A live run's namespaces are never touched."""
    removed: list[str] = []
    live: set[int] = set()
    for path in sorted(STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else []:
        try:
            doc = json.loads(path.read_text())
            pid, start, names = int(doc["pid"]), doc.get("start"), list(doc["namespaces"])
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if _live(pid, start) and pid != os.getpid():
            live.add(pid)
            continue
        for name in names:
            if name in namespaces():
                delete_namespace(name)
                removed.append(name)
        path.unlink(missing_ok=True)
    for name in sorted(namespaces()):
        match = _PID_IN_NAME.match(name)
        if match and int(match[1]) not in live and not _live(int(match[1]), None):
            delete_namespace(name)
            removed.append(name)
    return removed


def _release(state: _State) -> None:
    """Release with Ctrl-C and SIGTERM held off, so a second signal cannot strand a namespace."""
    held = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, signal.SIG_IGN) for s in held}
    try:
        state.release()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _unique(addresses: Sequence[IPNetwork]) -> list[IPNetwork]:
    seen: dict[IPAddress, IPNetwork] = {}
    for a in addresses:
        seen.setdefault(a.ip, a)
    return sorted(seen.values(), key=lambda a: (a.version, int(a.ip)))


@contextlib.contextmanager
def claim_session(
    request: ClaimRequest, addresses: Sequence[IPNetwork], *, configure: bool = True
) -> Iterator[Claim]:
    """Claim every address not already on this host; yield the Claim; release on exit.
    `configure=False` only detects (IPv6 still needs a tentative address for the kernel's DAD)."""
    require_root()
    check_gateways(request.gateways)
    cleanup_stale()
    parent = inspect_parent(request.parent)
    held = local_addresses()
    todo = [a for a in _unique(addresses) if a.ip not in held]
    gateways = {a.ip: gateway_for(a, request.gateways, parent) for a in todo} if configure else {}
    choice = choose_mode(parent, request.mode)
    state = _State()
    with terminate_raises(": the claimed addresses were released"):
        try:
            claim = _claim(
                request,
                parent,
                choice=choice,
                todo=todo,
                gateways=gateways,
                state=state,
                configure=configure,
            )
            yield Claim(
                parent=parent.name,
                mode=choice,
                claimed=claim[0],
                in_use=claim[1],
                held=tuple(a.ip for a in _unique(addresses) if a.ip in held),
            )
        finally:
            _release(state)


class _Background:
    """A call in a daemon thread (a SIGTERM'd run does not wait for it); `result` joins and
    returns its value or raises its exception."""

    def __init__(self, fn: Callable[..., dict[IPAddress, str | None]], *args: Any) -> None:
        self._value: dict[IPAddress, str | None] = {}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., dict[IPAddress, str | None]], *args: Any) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc

    def result(self) -> dict[IPAddress, str | None]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _claim(
    request: ClaimRequest,
    parent: Parent,
    *,
    choice: ModeChoice,
    todo: Sequence[IPNetwork],
    gateways: dict[IPAddress, IPAddress],
    state: _State,
    configure: bool,
) -> tuple[tuple[Claimed, ...], tuple[InUse, ...]]:
    macs = {a.ip: child_mac(parent, choice.mode) for a in todo}
    names = {a.ip: f"{CLAIM_PREFIX}{state.pid}-{i}" for i, a in enumerate(todo)}
    v4 = [a for a in todo if a.version == 4]
    v6 = [a for a in todo if a.version == 6]
    # ARP probing (seconds of RFC 5227 waiting) runs while IPv6 does its DAD.
    arp = _Background(probe_addresses, parent.name, {a.ip: macs[a.ip] for a in v4}, request.arp)
    for a in v6:
        state.add(names[a.ip])
        make_namespace(names[a.ip], parent, choice, macs[a.ip])
    targets = {a.ip: DadTarget(a, names[a.ip], CLAIM_IFNAME) for a in v6}
    found = detect_duplicates(parent.name, targets, request.dad_timeout) if targets else {}
    found |= arp.result()
    free_v4 = [a for a in v4 if found[a.ip] is None and configure]
    for a in free_v4:
        state.add(names[a.ip])
        make_namespace(names[a.ip], parent, choice, macs[a.ip])
    wanted = free_v4 + v6
    claimed: list[Claimed] = []
    for a in wanted:
        if found[a.ip] is not None:
            delete_namespace(names[a.ip])  # never configured; nothing of it stays
            continue
        if a.version == 4:
            configure_ipv4(names[a.ip], a)
        gateway = gateways.get(a.ip)
        if configure and gateway is not None:
            add_default_route(names[a.ip], a, gateway)
        claimed.append(Claimed(a, names[a.ip], macs[a.ip], gateway))
    if not configure:
        claimed = [Claimed(a, "", macs[a.ip], None) for a in todo if found[a.ip] is None]
    in_use = tuple(InUse(a.ip, mac) for a in todo if (mac := found[a.ip]) is not None)
    return tuple(claimed), in_use


def detect_only(request: ClaimRequest, addresses: Sequence[IPNetwork]) -> Claim:
    """`auditor claim check`: which addresses are free, which in use and by which MAC."""
    with claim_session(request, addresses, configure=False) as claim:
        return claim
