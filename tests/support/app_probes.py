"""The protocol code of the UDP application checks, run once outside the probe engine: the lab
tests (test_app_probes_lab.py) call these in a namespace of the lab. The engine itself builds
the same requests (`*_request`) through the check registry."""

from __future__ import annotations

from auditor.model.record import Status
from auditor.probe.app.cldap import cldap_request
from auditor.probe.app.ntp import ntp_request
from auditor.probe.app.outcome import AppOutcome
from auditor.probe.app.radius import radius_request
from auditor.probe.app.udp import ask
from auditor.probe.checks.syslog import REASON


async def probe_radius(
    source: str,
    address: str,
    port: int,
    timeout: float,
    *,
    secret: bytes,
    user: str | None = None,
) -> AppOutcome:
    """One RADIUS request from `source`; `secret` is the shared secret (never in the outcome)."""
    return await ask(source, address, port, timeout, radius_request(source, secret, user))


async def probe_cldap(source: str, address: str, port: int, timeout: float) -> AppOutcome:
    """One LDAP ping from `source`."""
    return await ask(source, address, port, timeout, cldap_request())


async def probe_ntp(source: str, address: str, port: int, timeout: float) -> AppOutcome:
    """One client request from `source`."""
    return await ask(source, address, port, timeout, ntp_request())


async def probe_syslog(source: str, address: str, port: int, timeout: float) -> AppOutcome:
    """Sends nothing: a datagram without a reply proves nothing."""
    del source, address, port, timeout
    return AppOutcome(Status.UNTESTED, REASON)
