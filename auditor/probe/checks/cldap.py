"""`cldap`: the LDAP ping over UDP 389 that Active Directory domain controllers answer.
OpenLDAP serves no CLDAP: name this check only for domain controllers."""

from __future__ import annotations

from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.probe.app.udp import Request
from auditor.probe.checks.base import Services, Target, UdpAppCheck


def build(target: Target, services: Services) -> Request:
    from auditor.probe.app.cldap import cldap_request  # noqa: PLC0415 - lazily

    return cldap_request()


CHECK = UdpAppCheck(Check.CLDAP, frozenset({Status.CLDAP_ANSWERED}), build)
