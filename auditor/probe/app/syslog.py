"""syslog over UDP 514 has no answer: nothing proves the flow from the sender's side. The
check stays `untested` with that reason; TCP 514 and TLS 6514 are checked like any TCP/TLS
service (the tcp and tls checks)."""

from __future__ import annotations

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome

REASON = (
    "syslog over UDP sends no answer: no probe can prove this flow (check the firewall's "
    "ruleset, or look for the messages at the collector)"
)


async def probe_syslog(source: str, address: str, port: int, timeout: float) -> AppOutcome:
    """Sends nothing: a datagram without a reply proves nothing."""
    del source, address, port, timeout
    return AppOutcome(Status.UNTESTED, REASON)
