"""`ldap-bind`: a real LDAP bind with the provider's service account (or an anonymous RootDSE
read without one), from the bound source address, over LDAPS, StartTLS or plain LDAP."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model.checks import LDAPS_PORTS, uses_starttls
from auditor.model.inventory import Check
from auditor.model.inventory import Protocol as Transport
from auditor.model.record import Status
from auditor.probe.checks.base import Observation, Services, Target


@dataclass(frozen=True, slots=True)
class LdapBindCheck:
    name: Check = Check.LDAP_BIND
    transport: Transport = Transport.TCP
    requires: Check | None = Check.TCP
    statuses: frozenset[Status] = frozenset(
        {
            Status.BIND_OK,
            Status.BIND_INVALID_CREDENTIALS,
            Status.BIND_FAILED,
            Status.TLS_FAILED,
            Status.REFUSED,
            Status.FILTERED,
            Status.UNREACHABLE,
            Status.NOT_LOCAL,
            Status.ERROR,
        }
    )

    async def run(self, target: Target, services: Services) -> Observation:
        # ldap3 costs 0.1 s to import and blocks: loaded here, run in the engine's thread pool.
        from auditor.probe.ldapcheck import LdapTarget, ldap_check  # noqa: PLC0415

        provider = target.provider
        bind_dn = provider.bind.dn if provider is not None and provider.bind else None
        password: str | None = None
        if bind_dn is not None:
            secret = services.secret(target.flow.provider)
            if secret is None:
                return Observation(Status.ERROR, "no bind password was read")
            password = secret.reveal()
        starttls = uses_starttls(provider, target.port)
        implicit = Check.TLS in target.flow.checks or target.port in LDAPS_PORTS
        ldap_target = LdapTarget(
            source=target.source,
            destination=target.address,
            port=target.port,
            tls_name=target.tls_name,
            ca_file=provider.ca_file if provider is not None else None,
            implicit_tls=implicit and not starttls,
            starttls=starttls,
            bind_dn=bind_dn,
        )
        ldap = await services.in_thread(ldap_check, ldap_target, password, target.timeout)
        return Observation(ldap.status, ldap.reason, ldap.latency_ms)


CHECK = LdapBindCheck()
