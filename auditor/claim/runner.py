"""Probing from claimed addresses: the engine runs in a worker thread that entered the
address's namespace with setns(2).

Why a thread and not `ip netns exec auditor probe`: setns changes the network namespace of the
calling thread only, and every socket the engine makes (asyncio connects, the getaddrinfo
executor, ldap3's pool, whose threads are started from that thread and inherit it) is created
in that thread; so one process keeps one observer (progress bar, journal), the passwords stay
in memory instead of crossing a process boundary, and a failure is a record, not a lost
subprocess. Flows from an address someone else holds get `in-use` records and no probe.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from auditor.claim.iproute import NETNS_DIR
from auditor.claim.namespace import Claim, Claimed
from auditor.inventory.secrets import Secret
from auditor.model.inventory import Check, Flow, Provider
from auditor.model.record import ProbeRecord, Status, flow_record
from auditor.probe.engine import (
    NullObserver,
    ProbeObserver,
    ProbeOptions,
    checks_for,
    probe_flows_async,
    record_sort_key,
)

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move the calling thread (only) into the named network namespace."""
    fd = os.open(f"{NETNS_DIR}/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


class LockedObserver:
    """One observer fed from several engine threads."""

    def __init__(self, inner: ProbeObserver) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def planned(self, total: int) -> None:
        with self._lock:
            self._inner.planned(total)

    def started(self, flow: Flow, check: Check) -> None:
        with self._lock:
            self._inner.started(flow, check)

    def finished(self, record: ProbeRecord) -> None:
        with self._lock:
            self._inner.finished(record)


class _Engine:
    """One engine's view of the shared observer: its `planned` is swallowed (the total is
    announced once, up front) and its records say where they came from (`origin`)."""

    def __init__(self, inner: ProbeObserver, origin: str | None) -> None:
        self._inner = inner
        self.origin = origin

    def planned(self, total: int) -> None:
        pass

    def started(self, flow: Flow, check: Check) -> None:
        self._inner.started(flow, check)

    def finished(self, record: ProbeRecord) -> None:
        self._inner.finished(self.mark(record))

    def mark(self, record: ProbeRecord) -> ProbeRecord:
        return record if self.origin is None else replace(record, origin=self.origin)


def claimed_origin(claimed: Claimed, claim: Claim) -> str:
    """Where a record from a claimed address was observed: this host, borrowing the address."""
    return (
        f"{socket.gethostname()} claiming {claimed.ip} on {claim.parent} "
        f"({claim.mode.mode.value}, MAC {claimed.mac})"
    )


def in_use_records(flows: Iterable[Flow], claim: Claim) -> list[ProbeRecord]:
    """`in-use` for the first check of each flow from an address someone else holds (reason:
    the MAC that answered); its later checks are `skipped`."""
    holders = {u.ip: u.mac for u in claim.in_use}
    records = []
    for flow in flows:
        mac = holders.get(flow.source)
        if mac is None:
            continue
        for i, check in enumerate(checks_for(flow)):
            status = Status.IN_USE if i == 0 else Status.SKIPPED
            reason = (
                f"{flow.source} is in use on the segment (answered by {mac}); not claimed"
                if i == 0
                else "the source address is in use by another host"
            )
            records.append(_record(flow, check, status, reason, claim))
    return records


def _record(flow: Flow, check: Check, status: Status, reason: str, claim: Claim) -> ProbeRecord:
    return flow_record(
        flow,
        check,
        status,
        reason=reason,
        origin=f"{socket.gethostname()} on {claim.parent}: ARP/NDP duplicate detection",
        observed_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )


def probe_with_claim(
    flows: Sequence[Flow],
    providers: Iterable[Provider],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    observer: ProbeObserver | None = None,
    *,
    claim: Claim,
) -> tuple[ProbeRecord, ...]:
    """Like `probe_flows`: flows from claimed addresses are probed inside their namespace,
    flows from addresses in use get `in-use`, the rest are probed here as usual."""
    by_name = {p.name: p for p in providers}
    shared = LockedObserver(observer or NullObserver())
    groups = _by_namespace(flows, claim)
    origins = {c.netns: claimed_origin(c, claim) for c in claim.claimed}
    shared.planned(sum(len(checks_for(f)) for f in flows))
    records = in_use_records(flows, claim)
    for record in records:
        shared.finished(record)
    each = _share(options, len(groups))
    results: dict[str | None, Any] = {}
    threads = [
        threading.Thread(
            target=_engine,
            args=(netns,),
            kwargs={
                "flows": group,
                "providers": list(by_name.values()),
                "passwords": passwords,
                "options": each,
                "observer": _Engine(shared, origins.get(netns) if netns else None),
                "results": results,
            },
            name=f"claim-{netns or 'host'}",
            daemon=True,  # a SIGTERM'd run must not wait for them to exit
        )
        for netns, group in groups.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for netns in groups:
        outcome = results.get(netns)
        if isinstance(outcome, BaseException):
            raise outcome
        records.extend(outcome or ())
    return tuple(sorted(records, key=record_sort_key))


def _by_namespace(flows: Sequence[Flow], claim: Claim) -> dict[str | None, list[Flow]]:
    """The flows each engine probes, by the namespace of their claimed source (None: this
    host's own addresses); flows from addresses in use are left out (they get `in-use`)."""
    in_use = {u.ip for u in claim.in_use}
    netns_of = {c.ip: c.netns for c in claim.claimed}
    groups: dict[str | None, list[Flow]] = {}
    for flow in flows:
        if flow.source not in in_use:
            groups.setdefault(netns_of.get(flow.source), []).append(flow)
    return groups


def _share(options: ProbeOptions, engines: int) -> ProbeOptions:
    """The caps split across the engines, so the whole run keeps the limits asked for."""
    share = max(1, options.concurrency // max(1, engines))
    return ProbeOptions(
        timeout=options.timeout,
        concurrency=share,
        per_destination=min(options.per_destination, share),
        retries=options.retries,
        ldap_workers=max(1, options.ldap_workers // max(1, engines)),
    )


def _engine(
    netns: str | None,
    *,
    flows: Sequence[Flow],
    providers: Sequence[Provider],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    observer: _Engine,
    results: dict[str | None, Any],
) -> None:
    try:
        if netns is not None:
            enter_netns(netns)
        records = asyncio.run(probe_flows_async(flows, providers, passwords, options, observer))
        results[netns] = [observer.mark(r) for r in records]
    except BaseException as exc:  # handed to the caller's thread, which raises it
        results[netns] = exc
