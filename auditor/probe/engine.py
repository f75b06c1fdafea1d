"""The probe engine: every check of every flow, from the flow's own source address.

asyncio for connects and handshakes, blocking libraries (ldap3) in a bounded thread pool; a
global cap and a per-destination cap on concurrent checks. What each check does is in the
registry (`auditor.probe.checks`); the checks of one flow run in registry order, and a later
one is `skipped` when an earlier one failed. Progress goes to an observer;
the engine never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from netaddr import IPAddress

from auditor.inventory.secrets import Secret
from auditor.model.checks import ORDER
from auditor.model.inventory import Check, Flow, Provider, flow_sort_key
from auditor.model.inventory import Protocol as IpProtocol
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import Outcome, outcome_of
from auditor.probe import checks as registry
from auditor.probe.checks.base import Observation, Pending, Target, UdpAppCheck
from auditor.probe.options import ProbeOptions

T = TypeVar("T")


class ProbeObserver(Protocol):
    """Progress of a run; called on the event loop thread."""

    def planned(self, total: int) -> None: ...

    def started(self, flow: Flow, check: Check) -> None: ...

    def finished(self, record: ProbeRecord) -> None: ...


class NullObserver:
    def planned(self, total: int) -> None:
        pass

    def started(self, flow: Flow, check: Check) -> None:
        pass

    def finished(self, record: ProbeRecord) -> None:
        pass


class Observers:
    """Several observers as one (a progress bar and a journal, say)."""

    def __init__(self, *observers: ProbeObserver) -> None:
        self._observers = observers

    def planned(self, total: int) -> None:
        for o in self._observers:
            o.planned(total)

    def started(self, flow: Flow, check: Check) -> None:
        for o in self._observers:
            o.started(flow, check)

    def finished(self, record: ProbeRecord) -> None:
        for o in self._observers:
            o.finished(record)


def checks_for(flow: Flow) -> tuple[Check, ...]:
    """The checks a flow gets, in run order (decided by the registry when the flow was built)."""
    return flow.checks


class _Run:
    """One probe run; lends the checks their `Services`."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        passwords: Mapping[str, Secret],
        options: ProbeOptions,
        observer: ProbeObserver,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.providers = providers
        self.passwords = passwords
        self.options = options
        self.observer = observer
        self.executor = executor
        self.global_cap = asyncio.Semaphore(options.concurrency)
        self.dest_caps: dict[str, asyncio.Semaphore] = {}
        # (flow's place in the run's order, check's place in the registry, record): sorted
        # by the first two at the end, which is record_sort_key's order without re-parsing
        # thousands of addresses after the last answer.
        self.records: list[tuple[int, int, ProbeRecord]] = []
        self.origin = socket.gethostname()
        self.contexts: dict[Path | None, ssl.SSLContext | None] = {}
        # First checks sent before any task ran (see presend), by the flow's place in the run.
        self.early: dict[int, Pending | Observation] = {}

    # -- Services ----------------------------------------------------------------------------

    @property
    def retries(self) -> int:
        return self.options.retries

    def ssl_context(self, ca_file: Path | None) -> ssl.SSLContext | None:
        """One client context per CA file per run; None (probe_tls reports it) if unloadable."""
        if ca_file not in self.contexts:
            from auditor.probe.tls import make_context  # noqa: PLC0415

            try:
                self.contexts[ca_file] = make_context(ca_file)
            except (OSError, ssl.SSLError):
                self.contexts[ca_file] = None
        return self.contexts[ca_file]

    def secret(self, provider: str) -> Secret | None:
        return self.passwords.get(provider)

    def in_thread(self, fn: Callable[..., T], *args: object) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- the run -----------------------------------------------------------------------------

    def _record(
        self, index: int, flow: Flow, check: Check, seen: Observation, *, source: str, dest: str
    ) -> ProbeRecord:
        record = ProbeRecord(
            source=source,
            destination=dest,
            protocol=flow.protocol.value,
            port=flow.port,
            provider=flow.provider,
            check=check.value,
            status=seen.status,
            reason=seen.reason,
            latency_ms=seen.latency_ms,
            cert=seen.cert,
            attempts=seen.attempts,
            origin=self.origin,
            observed_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            detail=tuple(sorted(seen.detail.items())),
        )
        self.records.append((index, ORDER[check], record))
        self.observer.finished(record)
        return record

    async def _address(self, flow: Flow) -> str | None:
        if isinstance(flow.destination, IPAddress):
            return str(flow.destination)
        family = socket.AF_INET6 if flow.source.version == 6 else socket.AF_INET
        kind = socket.SOCK_DGRAM if flow.protocol is IpProtocol.UDP else socket.SOCK_STREAM
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                flow.destination, flow.port, family=family, type=kind
            )
        except OSError:
            return None
        return str(infos[0][4][0]) if infos else None

    def presend(self, ordered: Sequence[Flow]) -> None:
        """Send the first check of every flow that starts with a UDP application check, in one
        pass before any task runs: a UDP run lasts from its last send plus one timeout, and
        the tasks' own work no longer comes before the sends. Within the caps: what these
        checks hold is taken from the caps now and given back as each answer is read."""
        budget, taken = self.options.concurrency, dict[str, int]()
        for index, flow in enumerate(ordered):
            spec = registry.get(flow.checks[0]) if flow.checks else None
            if not isinstance(spec, UdpAppCheck) or not isinstance(flow.destination, IPAddress):
                continue
            address = str(flow.destination)
            if budget == 0 or taken.get(address, 0) >= self.options.per_destination:
                continue
            budget, taken[address] = budget - 1, taken.get(address, 0) + 1
            self.observer.started(flow, spec.name)
            provider = self.providers.get(flow.provider)
            target = Target(flow, provider, address, self.options.timeout, str(flow.source))
            self.early[index] = spec.start(target, self)
        self.global_cap = asyncio.Semaphore(budget)
        for address, count in taken.items():
            self.dest_caps[address] = asyncio.Semaphore(self.options.per_destination - count)

    def close_early(self) -> None:
        """Close the sockets of early checks no task finished (the run was interrupted)."""
        for early in self.early.values():
            if isinstance(early, Pending):
                early.close()
        self.early.clear()

    async def _finish_early(
        self, early: Pending | Observation, address: str, name: Check
    ) -> Observation:
        try:
            if isinstance(early, Observation):
                return early
            spec = registry.get(name)
            assert isinstance(spec, UdpAppCheck)  # presend starts only these
            return await spec.finish(early)
        finally:
            self.dest_caps[address].release()
            self.global_cap.release()

    async def _check(self, flow: Flow, name: Check, address: str, source: str) -> Observation:
        cap = self.dest_caps.get(address)
        if cap is None:
            cap = self.dest_caps[address] = asyncio.Semaphore(self.options.per_destination)
        target = Target(
            flow, self.providers.get(flow.provider), address, self.options.timeout, source
        )
        async with cap, self.global_cap:
            return await registry.get(name).run(target, self)

    async def flow(self, index: int, flow: Flow) -> None:
        early = self.early.pop(index, None)
        address = await self._address(flow)
        # As text once per flow: netaddr's str() costs microseconds, thousands of times a run.
        source, dest = str(flow.source), str(flow.destination)
        failed: ProbeRecord | None = None
        for name in checks_for(flow):
            # Checks build on each other (no TLS handshake on a filtered port, no bind after a
            # failed handshake): after the first failure the rest are recorded as skipped.
            if early is not None and address is not None:
                seen = await self._finish_early(early, address, name)  # started by presend
                early = None
            elif failed is not None:
                self.observer.started(flow, name)
                reason = f"{failed.check} check was {failed.status.value}"
                skipped = Observation(Status.SKIPPED, reason)
                self._record(index, flow, name, skipped, source=source, dest=dest)
                continue
            elif address is None:
                self.observer.started(flow, name)
                seen = Observation(Status.ERROR, f"{flow.destination} does not resolve")
            else:
                self.observer.started(flow, name)
                seen = await self._check(flow, name, address, source)
            record = self._record(index, flow, name, seen, source=source, dest=dest)
            if outcome_of(record.status) is not Outcome.OK:
                failed = record


def _within_fd_limit(options: ProbeOptions) -> ProbeOptions:
    """Each check in flight holds a socket: raise the soft descriptor limit as far as the hard
    one allows, and lower the cap if even that is too small (EMFILE would be a false `error`)."""
    needed = options.concurrency + options.ldap_workers + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < needed:
        room = max(1, soft - options.ldap_workers - 64)
        return replace(options, concurrency=min(options.concurrency, room))
    return options


def record_sort_key(record: ProbeRecord) -> tuple[object, ...]:
    try:
        src = IPAddress(record.source)
        src_key: tuple[int, int] = (int(src.version), int(src))
    except (ValueError, TypeError):
        src_key = (9, 0)
    try:
        dst = IPAddress(record.destination)
        dst_key: tuple[int, int, int, str] = (0, int(dst.version), int(dst), "")
    except (ValueError, TypeError):
        dst_key = (1, 0, 0, record.destination)
    order = next((v for k, v in ORDER.items() if k.value == record.check), 99)
    return (*src_key, *dst_key, record.protocol, record.port, order)


async def probe_flows_async(
    flows: Sequence[Flow],
    providers: Iterable[Provider],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    observer: ProbeObserver | None = None,
) -> tuple[ProbeRecord, ...]:
    """Probe every flow; return one record per flow and check, in a deterministic order."""
    observer = observer or NullObserver()
    options = _within_fd_limit(options)
    by_name = {p.name: p for p in providers}
    ordered = sorted(flows, key=flow_sort_key)
    observer.planned(sum(len(checks_for(f)) for f in ordered))
    with ThreadPoolExecutor(
        max_workers=max(1, options.ldap_workers), thread_name_prefix="ldap-probe"
    ) as executor:
        run = _Run(by_name, passwords, options, observer, executor)
        try:
            run.presend(ordered)
            await asyncio.gather(*(run.flow(i, f) for i, f in enumerate(ordered)))
        finally:
            run.close_early()
    run.records.sort(key=lambda item: item[:2])
    return tuple(record for _, _, record in run.records)


def probe_flows(
    flows: Sequence[Flow],
    providers: Iterable[Provider],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    observer: ProbeObserver | None = None,
) -> tuple[ProbeRecord, ...]:
    """The blocking entry point: run the engine on a fresh event loop."""
    return asyncio.run(probe_flows_async(flows, providers, passwords, options, observer))
