"""`syslog`: syslog over UDP gets no answer, so nothing proves the flow: always `untested`,
with that reason (TCP 514 and TLS 6514 take the `tcp` and `tls` checks)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target

REASON = (
    "syslog over UDP sends no answer: no probe can prove this flow (check the firewall's "
    "ruleset, or look for the messages at the collector)"
)


@dataclass(frozen=True, slots=True)
class SyslogCheck:
    name: Check = Check.SYSLOG
    transport: Transport = Transport.UDP
    requires: Check | None = None
    statuses: frozenset[Status] = frozenset({Status.UNTESTED})

    async def run(self, target: Target, services: Services) -> Observation:
        return Observation(Status.UNTESTED, REASON)


CHECK = SyslogCheck()
