"""What every stage needs to know of a check without running one: its transport, the check it
builds on, its place in the run order, and which checks a provider's port gets. The probe
modules of the registry (`auditor.probe.checks`) implement these checks;
`tests/test_registry.py` holds the two equal, so this table and the registry are one list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.model.inventory import Check, PortSpec, Provider
from auditor.model.inventory import Protocol as Transport

# Ports that speak TLS from the first byte: never StartTLS there.
LDAPS_PORTS = frozenset({636, 3269})


def uses_starttls(provider: Provider | None, port: int) -> bool:
    """A StartTLS provider upgrades its plain LDAP ports; its LDAPS ports are TLS already."""
    return bool(provider is not None and provider.starttls and port not in LDAPS_PORTS)


@dataclass(frozen=True, slots=True)
class CheckMeta:
    name: Check
    transport: Transport
    requires: Check | None = None  # the check that must pass first on the same flow


_TCP, _UDP = Transport.TCP, Transport.UDP

# Table order is run order: reachability first, then what builds on it.
CHECKS: Mapping[Check, CheckMeta] = {
    m.name: m
    for m in (
        CheckMeta(Check.TCP, _TCP),
        CheckMeta(Check.UDP, _UDP),
        CheckMeta(Check.TLS, _TCP, Check.TCP),
        CheckMeta(Check.LDAP_BIND, _TCP, Check.TCP),
        CheckMeta(Check.RADIUS, _UDP),
        CheckMeta(Check.KERBEROS, _UDP),
        CheckMeta(Check.KERBEROS_TCP, _TCP, Check.TCP),
        CheckMeta(Check.DNS, _UDP),
        CheckMeta(Check.DNS_TCP, _TCP, Check.TCP),
        CheckMeta(Check.NTP, _UDP),
        CheckMeta(Check.SMTP, _TCP, Check.TCP),
        CheckMeta(Check.CLDAP, _UDP),
        CheckMeta(Check.SYSLOG, _UDP),
    )
}
ORDER: Mapping[Check, int] = {name: i for i, name in enumerate(CHECKS)}


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
