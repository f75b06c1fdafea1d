"""The check registry: one module per check, each with one `CHECK` (see `base.CheckSpec`).

Adding a check is one module here, its `Check` name, one line in `_MODULES`, its line in
`auditor.model.checks` (transport, run order, the check it builds on), and its tests.
Requirement packs name checks by these names; `auditor.model.checks.required_checks` is the
only place that decides which checks a provider's port gets, and in which order.
"""

from __future__ import annotations

from collections.abc import Mapping

from auditor.model.inventory import Check
from auditor.probe.checks import (
    cldap,
    dns,
    dns_tcp,
    kerberos,
    kerberos_tcp,
    ldap_bind,
    ntp,
    radius,
    smtp,
    syslog,
    tcp,
    tls,
    udp,
)
from auditor.probe.checks.base import CheckSpec, Observation, Services, Target

# The run order is `auditor.model.checks.ORDER`.
_MODULES = (
    tcp,
    udp,
    tls,
    ldap_bind,
    radius,
    kerberos,
    kerberos_tcp,
    dns,
    dns_tcp,
    ntp,
    smtp,
    cldap,
    syslog,
)

REGISTRY: Mapping[Check, CheckSpec] = {m.CHECK.name: m.CHECK for m in _MODULES}


def get(name: Check) -> CheckSpec:
    return REGISTRY[name]


__all__ = [
    "REGISTRY",
    "CheckSpec",
    "Observation",
    "Services",
    "Target",
    "get",
]
