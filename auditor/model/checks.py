"""What every stage needs to know of a check, without running one: its transport, its role, the
check it builds on, and which of its statuses mean ok. The probe modules of the registry
(`auditor.probe.checks`) implement these checks; `tests/test_registry.py` holds the two equal,
so this table and the registry are one list of checks.

- A *reachability* check (`tcp`, `udp`) speaks only of the path: open, blocked, or not tested.
  A ruleset's record is always one of these, whatever the flow's application.
- An *application* check asks the provider itself. One that runs first on its flow (the UDP
  ones: RADIUS, Kerberos, DNS, NTP, CLDAP) is also the flow's only probe of the path: an answer
  proves it, silence is a block. One that builds on `tcp` (TLS, bind, SMTP) says nothing of
  the path the `tcp` check did not say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from auditor.evidence.record import Status
from auditor.inventory.model import Check, Protocol


class CheckRole(StrEnum):
    REACHABILITY = "reachability"
    APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class CheckMeta:
    name: Check
    transport: Protocol
    role: CheckRole
    ok: frozenset[Status]  # the statuses that mean this check passed
    requires: Check | None = None  # the check that must pass first on the same flow

    @property
    def speaks_for_path(self) -> bool:
        """Its statuses say whether the path is open: a reachability check, or an application
        check that runs first on its flow (only an answer proves a UDP path)."""
        return self.role is CheckRole.REACHABILITY or self.requires is None


_R, _A = CheckRole.REACHABILITY, CheckRole.APPLICATION
_TCP, _UDP = Protocol.TCP, Protocol.UDP

CHECKS: Mapping[Check, CheckMeta] = {
    m.name: m
    for m in (
        CheckMeta(Check.TCP, _TCP, _R, frozenset({Status.OPEN})),
        # the placeholder of a UDP port with no probe; a ruleset's record proves `open`
        CheckMeta(Check.UDP, _UDP, _R, frozenset({Status.OPEN})),
        CheckMeta(Check.TLS, _TCP, _A, frozenset({Status.TLS_OK}), Check.TCP),
        CheckMeta(Check.LDAP_BIND, _TCP, _A, frozenset({Status.BIND_OK}), Check.TCP),
        CheckMeta(Check.RADIUS, _UDP, _A, frozenset({Status.RADIUS_ANSWERED})),
        CheckMeta(Check.KERBEROS, _UDP, _A, frozenset({Status.KDC_ANSWERED})),
        CheckMeta(Check.KERBEROS_TCP, _TCP, _A, frozenset({Status.KDC_ANSWERED}), Check.TCP),
        CheckMeta(Check.DNS, _UDP, _A, frozenset({Status.DNS_ANSWERED})),
        CheckMeta(Check.DNS_TCP, _TCP, _A, frozenset({Status.DNS_ANSWERED}), Check.TCP),
        CheckMeta(Check.NTP, _UDP, _A, frozenset({Status.NTP_ANSWERED})),
        CheckMeta(Check.SMTP, _TCP, _A, frozenset({Status.SMTP_OK}), Check.TCP),
        CheckMeta(Check.CLDAP, _UDP, _A, frozenset({Status.CLDAP_ANSWERED})),
        # syslog over UDP has no answer: nothing proves it (always `untested`)
        CheckMeta(Check.SYSLOG, _UDP, _A, frozenset()),
    )
}

REACH_CHECKS: frozenset[str] = frozenset(
    c.value for c, m in CHECKS.items() if m.role is CheckRole.REACHABILITY
)
# Application checks over UDP: their silence may be the server ignoring an address rather than
# the firewall dropping it (the allow-list finding).
UDP_APPLICATION_CHECKS: frozenset[str] = frozenset(
    c.value
    for c, m in CHECKS.items()
    if m.role is CheckRole.APPLICATION and m.transport is _UDP and m.ok
)


def meta(check: str) -> CheckMeta:
    """The metadata of a check by its registry name."""
    return CHECKS[Check(check)]


def transport_check(protocol: str) -> Check:
    """The reachability check of a transport: where a ruleset's record of a flow sits."""
    return next(
        c for c, m in CHECKS.items() if m.role is CheckRole.REACHABILITY and m.transport == protocol
    )
