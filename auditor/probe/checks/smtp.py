"""`smtp`: banner 220, EHLO, then STARTTLS where offered (25/587) or TLS from the first byte
(465), the certificate checked against the provider's CA and name like LDAPS."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class SmtpCheck:
    name: Check = Check.SMTP
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = frozenset(
        {
            Status.SMTP_OK,
            Status.SMTP_FAILED,
            Status.TLS_FAILED,
            Status.REFUSED,
            Status.FILTERED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.ERROR,
        }
    )

    async def run(self, target: Target, services: Services) -> Observation:
        from auditor.probe.app.smtp import probe_smtp  # noqa: PLC0415 - lazily

        ca_file = target.provider.ca_file if target.provider is not None else None
        seen = await probe_smtp(
            target.source,
            target.address,
            target.port,
            target.timeout,
            tls_name=target.tls_name,
            ca_file=ca_file,
            context=services.ssl_context(ca_file),
        )
        return Observation(seen.status, seen.reason, seen.latency_ms, detail=seen.detail)


CHECK = SmtpCheck()
