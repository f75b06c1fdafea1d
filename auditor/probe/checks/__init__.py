"""The check registry: one module per check, each with one `CHECK` (see `base.CheckSpec`).

Adding a check is one module here, its `Check` name, one line in `_MODULES`, and its tests.
Requirement packs name checks by these names; `required_checks` is the only place that decides
which checks a provider's port gets, and in which order.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.inventory.model import Check, PortSpec, Provider
from auditor.inventory.model import Protocol as Transport
from auditor.probe.checks import ldap_bind, tcp, tls, udp
from auditor.probe.checks.base import CheckSpec, Observation, Services, Target

# Registration order is run order: reachability first, then what builds on it.
_MODULES = (tcp, udp, tls, ldap_bind)

REGISTRY: Mapping[Check, CheckSpec] = {m.CHECK.name: m.CHECK for m in _MODULES}
ORDER: Mapping[Check, int] = {name: i for i, name in enumerate(REGISTRY)}


def get(name: Check) -> CheckSpec:
    return REGISTRY[name]


def required_checks(provider: Provider | None, spec: PortSpec) -> tuple[Check, ...]:
    """The checks a provider's port gets, in run order: what its pack names, what the
    provider's settings imply (a TCP connect on every TCP port, TLS under StartTLS); a
    UDP port whose pack names no check gets the `udp` placeholder (untested)."""
    wanted = {c for c in spec.checks if REGISTRY[c].transport is spec.protocol}
    if provider is not None:
        wanted |= {c for c, chk in REGISTRY.items() if chk.implied(provider, spec)}
    if not wanted and spec.protocol is Transport.UDP:
        wanted.add(Check.UDP)
    return tuple(sorted(wanted, key=ORDER.__getitem__))


__all__ = [
    "ORDER",
    "REGISTRY",
    "CheckSpec",
    "Observation",
    "Services",
    "Target",
    "get",
    "required_checks",
]
