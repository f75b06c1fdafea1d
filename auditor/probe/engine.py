"""The probe engine: every check of every flow, from the flow's own source address.

asyncio for connects and handshakes, ldap3 in a bounded thread pool; a global cap and a
per-destination cap on concurrent checks. Checks of one flow run in order tcp -> tls ->
ldap-bind; a later one is `skipped` when an earlier one failed. Progress goes to an observer;
the engine never prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from netaddr import IPAddress

from auditor.evidence.record import GOOD, CertInfo, ProbeRecord, Status
from auditor.inventory.model import Check, Flow, Provider, flow_sort_key
from auditor.inventory.model import Protocol as IpProtocol
from auditor.probe.ldapcheck import LdapTarget, ldap_check
from auditor.probe.secrets import Secret
from auditor.probe.tcp import probe_tcp
from auditor.probe.tls import make_context, probe_tls

LDAPS_PORTS = frozenset({636, 3269})
_CHECK_ORDER = {Check.TCP: 0, Check.TLS: 1, Check.LDAP_BIND: 2, Check.UDP: 0}


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    timeout: float = 3.0
    concurrency: int = 2048
    per_destination: int = 64
    retries: int = 0  # extra attempts for a `filtered` TCP connect
    ldap_workers: int = 32


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


def _starttls(flow: Flow, provider: Provider | None) -> bool:
    return bool(provider and provider.starttls and flow.port not in LDAPS_PORTS)


def checks_for(flow: Flow, provider: Provider | None) -> tuple[Check, ...]:
    """The checks a flow gets, in order. UDP: one (untested) record. TCP: always a connect;
    a StartTLS provider's LDAP port also gets its TLS handshake checked."""
    if flow.protocol is IpProtocol.UDP:
        return (Check.UDP,)
    wanted = {Check.TCP, *flow.checks} - {Check.UDP}
    if Check.LDAP_BIND in wanted and _starttls(flow, provider):
        wanted.add(Check.TLS)
    return tuple(sorted(wanted, key=_CHECK_ORDER.__getitem__))


def _tls_name(flow: Flow, provider: Provider | None) -> str:
    if provider is not None and provider.tls_name:
        return provider.tls_name
    return flow.endpoint or str(flow.destination)


class _Run:
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
        self.records: list[ProbeRecord] = []
        self.contexts: dict[Path | None, ssl.SSLContext | None] = {}

    def _context(self, ca_file: Path | None) -> ssl.SSLContext | None:
        """One client context per CA file per run; None (probe_tls reports it) if unloadable."""
        if ca_file not in self.contexts:
            try:
                self.contexts[ca_file] = make_context(ca_file)
            except (OSError, ssl.SSLError):
                self.contexts[ca_file] = None
        return self.contexts[ca_file]

    def _record(
        self,
        flow: Flow,
        check: Check,
        status: Status,
        reason: str = "",
        latency_ms: float | None = None,
        *,
        cert: CertInfo | None = None,
        attempts: int = 1,
    ) -> ProbeRecord:
        record = ProbeRecord(
            source=str(flow.source),
            destination=str(flow.destination),
            protocol=flow.protocol.value,
            port=flow.port,
            provider=flow.provider,
            check=check.value,
            status=status,
            reason=reason,
            latency_ms=latency_ms,
            cert=cert,
            attempts=attempts,
        )
        self.records.append(record)
        self.observer.finished(record)
        return record

    async def _address(self, flow: Flow) -> str | None:
        if isinstance(flow.destination, IPAddress):
            return str(flow.destination)
        family = socket.AF_INET6 if flow.source.version == 6 else socket.AF_INET
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                flow.destination, flow.port, family=family, type=socket.SOCK_STREAM
            )
        except OSError:
            return None
        return str(infos[0][4][0]) if infos else None

    async def flow(self, flow: Flow) -> None:
        provider = self.providers.get(flow.provider)
        checks = checks_for(flow, provider)
        if flow.protocol is IpProtocol.UDP:
            self.observer.started(flow, Check.UDP)
            self._record(
                flow,
                Check.UDP,
                Status.UNTESTED,
                "no UDP application probe yet: a UDP send proves nothing without a reply",
            )
            return
        address = await self._address(flow)
        failed: ProbeRecord | None = None
        for check in checks:
            self.observer.started(flow, check)
            if failed is not None:
                self._record(
                    flow, check, Status.SKIPPED, f"{failed.check} check was {failed.status.value}"
                )
                continue
            if address is None:
                failed = self._record(
                    flow, check, Status.ERROR, f"{flow.destination} does not resolve"
                )
                continue
            cap = self.dest_caps.get(address)
            if cap is None:
                cap = self.dest_caps[address] = asyncio.Semaphore(self.options.per_destination)
            async with cap, self.global_cap:
                record = await self._check(flow, check, provider, address)
            if record.status not in GOOD:
                failed = record

    async def _check(
        self, flow: Flow, check: Check, provider: Provider | None, address: str
    ) -> ProbeRecord:
        source = str(flow.source)
        timeout = self.options.timeout
        if check is Check.TCP:
            attempts = 0
            while True:
                attempts += 1
                tcp = await probe_tcp(source, address, flow.port, timeout)
                if tcp.status is not Status.FILTERED or attempts > self.options.retries:
                    break
            return self._record(
                flow, check, tcp.status, tcp.reason, tcp.latency_ms, attempts=attempts
            )
        if check is Check.TLS:
            ca_file = provider.ca_file if provider else None
            tls = await probe_tls(
                source,
                address,
                flow.port,
                timeout,
                tls_name=_tls_name(flow, provider),
                ca_file=ca_file,
                starttls=_starttls(flow, provider),
                context=self._context(ca_file),
            )
            return self._record(flow, check, tls.status, tls.reason, tls.latency_ms, cert=tls.cert)
        # LDAP bind
        bind_dn = provider.bind.dn if provider is not None and provider.bind else None
        password: str | None = None
        if bind_dn is not None:
            secret = self.passwords.get(flow.provider)
            if secret is None:
                return self._record(flow, check, Status.ERROR, "no bind password was read")
            password = secret.reveal()
        starttls = _starttls(flow, provider)
        target = LdapTarget(
            source=source,
            destination=address,
            port=flow.port,
            tls_name=_tls_name(flow, provider),
            ca_file=provider.ca_file if provider else None,
            implicit_tls=(Check.TLS in flow.checks or flow.port in LDAPS_PORTS) and not starttls,
            starttls=starttls,
            bind_dn=bind_dn,
        )
        loop = asyncio.get_running_loop()
        ldap = await loop.run_in_executor(self.executor, ldap_check, target, password, timeout)
        return self._record(flow, check, ldap.status, ldap.reason, ldap.latency_ms)


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
    order = next((v for k, v in _CHECK_ORDER.items() if k.value == record.check), 9)
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
    observer.planned(sum(len(checks_for(f, by_name.get(f.provider))) for f in ordered))
    with ThreadPoolExecutor(
        max_workers=max(1, options.ldap_workers), thread_name_prefix="ldap-probe"
    ) as executor:
        run = _Run(by_name, passwords, options, observer, executor)
        await asyncio.gather(*(run.flow(f) for f in ordered))
    return tuple(sorted(run.records, key=record_sort_key))


def probe_flows(
    flows: Sequence[Flow],
    providers: Iterable[Provider],
    passwords: Mapping[str, Secret],
    options: ProbeOptions,
    observer: ProbeObserver | None = None,
) -> tuple[ProbeRecord, ...]:
    """The blocking entry point: run the engine on a fresh event loop."""
    return asyncio.run(probe_flows_async(flows, providers, passwords, options, observer))
