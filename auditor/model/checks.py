"""What every stage needs to know of a check without running one: its transport, its role, the
check it builds on, which of its statuses mean ok, its place in the run order, and which checks
a provider's port gets. The probe modules of the registry (`auditor.probe.checks`) implement
these checks; `tests/test_registry.py` holds the two equal, so this table and the registry are
one list. Drift, the findings, the plan and the allow-list finding read it.

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

from auditor.model.inventory import Check, PortSpec, Provider
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status

# Ports that speak TLS from the first byte: never StartTLS there.
LDAPS_PORTS = frozenset({636, 3269})


def uses_starttls(provider: Provider | None, port: int) -> bool:
    """A StartTLS provider upgrades its plain LDAP ports; its LDAPS ports are TLS already."""
    return bool(provider is not None and provider.starttls and port not in LDAPS_PORTS)


class CheckRole(StrEnum):
    REACHABILITY = "reachability"
    APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class CheckMeta:
    name: Check
    transport: Transport
    role: CheckRole
    ok: frozenset[Status]  # the statuses that mean this check passed
    requires: Check | None = None  # the check that must pass first on the same flow

    @property
    def speaks_for_path(self) -> bool:
        """Its statuses say whether the path is open: a reachability check, or an application
        check that runs first on its flow (only an answer proves a UDP path)."""
        return self.role is CheckRole.REACHABILITY or self.requires is None


_TCP, _UDP = Transport.TCP, Transport.UDP
_R, _A = CheckRole.REACHABILITY, CheckRole.APPLICATION

# Table order is run order: reachability first, then what builds on it.
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
ORDER: Mapping[Check, int] = {name: i for i, name in enumerate(CHECKS)}

REACH_CHECKS: frozenset[str] = frozenset(
    c.value for c, m in CHECKS.items() if m.role is CheckRole.REACHABILITY
)
# Application checks over UDP that can answer: their silence may be the server ignoring an
# address rather than the firewall dropping it (the allow-list finding).
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
        c
        for c, m in CHECKS.items()
        if m.role is CheckRole.REACHABILITY and m.transport.value == protocol
    )


def implied(check: Check, provider: Provider, spec: PortSpec) -> bool:
    """Whether a provider's port needs `check` though its pack does not name it: a TCP connect
    on every TCP port, and TLS on a StartTLS provider's bind port (as on LDAPS). Only a pack
    names an application check."""
    if check is Check.TCP:
        return spec.protocol is _TCP
    if check is Check.TLS:
        return Check.LDAP_BIND in spec.checks and uses_starttls(provider, spec.port)
    return False


def required_checks(provider: Provider | None, spec: PortSpec) -> tuple[Check, ...]:
    """The checks a provider's port gets, in run order: what its pack names, what the
    provider's settings imply (a TCP connect on every TCP port, TLS under StartTLS); a
    UDP port whose pack names no check gets the `udp` placeholder (untested)."""
    wanted = {c for c in spec.checks if CHECKS[c].transport is spec.protocol}
    if provider is not None:
        wanted |= {c for c in CHECKS if implied(c, provider, spec)}
    if not wanted and spec.protocol is _UDP:
        wanted.add(Check.UDP)
    return tuple(sorted(wanted, key=ORDER.__getitem__))
