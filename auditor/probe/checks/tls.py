"""`tls`: a handshake validated against the provider's CA file and name (implicit TLS, or
StartTLS on a plain LDAP port). A certificate problem is an outage, not a warning."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.checks import uses_starttls
from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class TlsCheck:
    name: Check = Check.TLS
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = frozenset(
        {
            Status.TLS_OK,
            Status.TLS_FAILED,
            Status.REFUSED,
            Status.FILTERED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.ERROR,
        }
    )

    async def run(self, target: Target, services: Services) -> Observation:
        from auditor.probe.tls import probe_tls  # noqa: PLC0415 - ssl and asyncio, lazily

        provider = target.provider
        ca_file = provider.ca_file if provider is not None else None
        tls = await probe_tls(
            target.source,
            target.address,
            target.port,
            target.timeout,
            tls_name=target.tls_name,
            ca_file=ca_file,
            starttls=uses_starttls(provider, target.port),
            context=services.ssl_context(ca_file),
        )
        return Observation(tls.status, tls.reason, tls.latency_ms, cert=tls.cert)


CHECK = TlsCheck()
