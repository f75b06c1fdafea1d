"""Failover lint: the rules a shared-IP failover pair must obey, checked on the inventory alone.

Each finding names its rule, the offending field (and its line) and how to fix it. Error-level
findings break the site (now or at the first failover); warnings are worth a look.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from netaddr import IPAddress, valid_ipv4, valid_ipv6

from auditor.model.inventory import Address, Appliance, Inventory, Role


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class LintFinding:
    rule: str
    severity: Severity
    field: str
    line: int | None
    message: str
    hint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "field": self.field,
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }


def lint(inv: Inventory) -> tuple[LintFinding, ...]:
    """Every finding, ordered by line, then field, then rule."""
    findings: list[LintFinding] = []
    for rule, severity, field, message, hint in _all_checks(inv):
        findings.append(LintFinding(rule, severity, field, inv.line_of(field), message, hint))
    return sort_findings(findings)


def sort_findings(findings: Iterable[LintFinding]) -> tuple[LintFinding, ...]:
    """Ordered by line, then field, then rule; each once."""
    ordered = sorted(
        findings, key=lambda f: (f.line is None, f.line or 0, f.field, f.rule, f.message)
    )
    return tuple(dict.fromkeys(ordered))


_Raw = tuple[str, Severity, str, str, str]


def _all_checks(inv: Inventory) -> Iterator[_Raw]:
    yield from _shared_ip(inv)
    yield from _unique_ip(inv)
    yield from _duplicates(inv)
    yield from _shared_in_unique_subnet(inv)
    yield from _site_instance_ip(inv)
    yield from _peer(inv)
    yield from _endpoint_versions(inv)
    yield from _endpoint_addresses(inv)


def _side(app: Appliance) -> str:
    return f"pair.{app.side.value}"


def _addr(app: Appliance, index: int, leaf: str = "") -> str:
    path = f"{_side(app)}.addresses[{index}]"
    return f"{path}.{leaf}" if leaf else path


def _indexed(app: Appliance, role: Role) -> list[tuple[int, Address]]:
    return [(i, a) for i, a in enumerate(app.addresses) if a.role is role]


def _who(app: Appliance) -> str:
    return f"the {app.side.value} ({app.name})"


def _shared_ip(inv: Inventory) -> Iterator[_Raw]:
    primary, backup = inv.pair.primary, inv.pair.backup
    if not primary.shared() and not backup.shared():
        yield (
            "no-shared-ip",
            Severity.ERROR,
            f"{_side(primary)}.addresses",
            "no shared IP on either appliance",
            "add the site's address with role: shared to both appliances "
            "(enabled on the primary, enabled: false on the backup)",
        )
        return
    for app, other in ((primary, backup), (backup, primary)):
        other_shared = {a.ip: (i, a) for i, a in _indexed(other, Role.SHARED)}
        for i, addr in _indexed(app, Role.SHARED):
            match = other_shared.get(addr.ip)
            if match is None:
                enabled = "false" if app is primary else "true"
                yield (
                    "shared-ip-on-one-appliance",
                    Severity.ERROR,
                    _addr(app, i, "ip"),
                    f"shared IP {addr.ip} is configured on {_who(app)} but not on {_who(other)}",
                    f"add {addr.interface} with role: shared, enabled: {enabled} to "
                    f"{_side(other)}.addresses; after a failover {_who(other)} must hold it",
                )
            elif app is backup and match[1].interface.prefixlen != addr.interface.prefixlen:
                yield (
                    "shared-ip-mask-differs",
                    Severity.ERROR,
                    _addr(app, i, "ip"),
                    f"shared IP {addr.ip} is /{addr.interface.prefixlen} on {_who(app)} but "
                    f"/{match[1].interface.prefixlen} on {_who(other)}",
                    f"use the same mask on both appliances ({match[1].interface} as on the "
                    "primary)",
                )
    yield from _shared_ip_enabled(inv)


def _shared_ip_enabled(inv: Inventory) -> Iterator[_Raw]:
    """Each shared IP on both appliances is enabled on exactly one: the primary."""
    primary, backup = inv.pair.primary, inv.pair.backup
    backup_shared = {a.ip: (i, a) for i, a in _indexed(backup, Role.SHARED)}
    for i, addr in _indexed(primary, Role.SHARED):
        if addr.ip not in backup_shared:
            continue
        j, twin = backup_shared[addr.ip]
        if addr.enabled and twin.enabled:
            yield (
                "shared-ip-enabled-on-both",
                Severity.ERROR,
                _addr(backup, j, "enabled"),
                f"shared IP {addr.ip} is enabled on both appliances: an IP conflict",
                "set enabled: false on the backup; it takes the shared IP over only at failover",
            )
        elif not addr.enabled and not twin.enabled:
            yield (
                "shared-ip-enabled-nowhere",
                Severity.ERROR,
                _addr(primary, i, "enabled"),
                f"shared IP {addr.ip} is enabled on neither appliance: the site is down",
                "set enabled: true on the primary",
            )
        elif not addr.enabled:
            yield (
                "shared-ip-enabled-on-backup",
                Severity.WARNING,
                _addr(primary, i, "enabled"),
                f"shared IP {addr.ip} is enabled on the backup, not the primary: the pair is "
                "failed over, or the roles are swapped",
                "if the backup is active after a failover, fail back; otherwise enable the "
                "shared IP on the primary and disable it on the backup",
            )


def _unique_ip(inv: Inventory) -> Iterator[_Raw]:
    for app in inv.pair.appliances:
        uniques = _indexed(app, Role.UNIQUE)
        if not uniques:
            yield (
                "no-unique-ip",
                Severity.ERROR,
                f"{_side(app)}.addresses",
                f"{_who(app)} has no unique IP",
                "add the appliance's own address with role: unique; the pair's peer "
                "traffic and management use it",
            )
            continue
        any_enabled = any(a.enabled for _, a in uniques)
        for i, addr in uniques:
            if addr.enabled:
                continue
            yield (
                "unique-ip-disabled",
                Severity.WARNING if any_enabled else Severity.ERROR,
                _addr(app, i, "enabled"),
                f"unique IP {addr.ip} of {_who(app)} is disabled"
                + ("" if any_enabled else "; the appliance has no enabled unique IP"),
                "a unique IP is always enabled; set enabled: true (only shared IPs move)",
            )


def _duplicates(inv: Inventory) -> Iterator[_Raw]:
    seen: dict[IPAddress, tuple[Appliance, int, Address]] = {}
    for app in inv.pair.appliances:
        for i, addr in enumerate(app.addresses):
            first = seen.get(addr.ip)
            if first is None:
                seen[addr.ip] = (app, i, addr)
                continue
            first_app, first_i, first_addr = first
            if first_app is not app and first_addr.role is Role.SHARED and addr.role is Role.SHARED:
                continue
            where = (
                f"{_addr(first_app, first_i)}"
                if first_app is not app
                else f"addresses[{first_i}] of the same appliance"
            )
            yield (
                "duplicate-address",
                Severity.ERROR,
                _addr(app, i, "ip"),
                f"{addr.ip} ({addr.role.value}) is already configured at {where} "
                f"({first_addr.role.value})",
                "each address once per appliance; only a shared IP appears on both appliances, "
                "with role: shared on each",
            )


def _shared_in_unique_subnet(inv: Inventory) -> Iterator[_Raw]:
    for app in inv.pair.appliances:
        subnets = [a.network for a in app.unique()]
        for i, addr in _indexed(app, Role.SHARED):
            if any(addr.ip in net for net in subnets if net.version == addr.version):
                continue
            listed = ", ".join(str(n) for n in subnets if n.version == addr.version) or "none"
            yield (
                "shared-ip-outside-unique-subnet",
                Severity.ERROR,
                _addr(app, i, "ip"),
                f"shared IP {addr.ip} is in no subnet of a unique IP of {_who(app)} "
                f"(unique subnets of IPv{addr.version}: {listed})",
                "shared-IP failover needs the shared IP in the same subnet as a unique IP on "
                "each appliance; fix the address or the mask",
            )


def _site_instance_ip(inv: Inventory) -> Iterator[_Raw]:
    field = "pair.failover.site_instance_ip"
    site_ip = inv.pair.failover.site_instance_ip
    shared = sorted({a.ip for app in inv.pair.appliances for a in app.shared()})
    listed = ", ".join(str(ip) for ip in shared) or "none configured"
    if site_ip is None:
        yield (
            "site-instance-ip-missing",
            Severity.WARNING,
            "pair.failover",
            "the failover site-instance IP is not recorded",
            f"set pair.failover.site_instance_ip to the shared IP ({listed}) as configured in "
            "/login > Primary/Backup Site Instance Configuration on both appliances",
        )
        return
    if site_ip in shared:
        return
    uniques = {a.ip: app for app in inv.pair.appliances for a in app.unique()}
    what = f"a unique IP of {_who(uniques[site_ip])}" if site_ip in uniques else "not a shared IP"
    yield (
        "site-instance-ip-not-shared",
        Severity.ERROR,
        field,
        f"the failover site-instance IP {site_ip} is {what}",
        f"set the failover IP to the shared IP ({listed}) on both appliances in /login > "
        "Primary/Backup Site Instance Configuration",
    )


def _peer(inv: Inventory) -> Iterator[_Raw]:
    port = inv.pair.failover.peer_port
    if not 1 <= port <= 65535:
        yield (
            "peer-port-invalid",
            Severity.ERROR,
            "pair.failover.peer_port",
            f"peer port {port} is not a TCP port",
            "use the TLS port the appliances are reached on (443 by default), 1-65535",
        )
    primary, backup = inv.pair.primary, inv.pair.backup
    mine = {a.version for a in primary.unique() if a.enabled}
    theirs = {a.version for a in backup.unique() if a.enabled}
    # With no enabled unique IP on a side, no-unique-ip or unique-ip-disabled says what to fix.
    if mine and theirs and not mine & theirs:
        yield (
            "peer-flow-impossible",
            Severity.ERROR,
            f"{_side(backup)}.addresses",
            f"no peer flow is possible: the primary's enabled unique IPs are IPv"
            f"{'/'.join(map(str, sorted(mine)))}, the backup's IPv"
            f"{'/'.join(map(str, sorted(theirs)))}",
            f"give both appliances an enabled unique IP of the same IP version; they reach "
            f"each other on tcp/{port} between unique IPs",
        )


def _endpoint_versions(inv: Inventory) -> Iterator[_Raw]:
    versions = {a.version for app in inv.pair.appliances for a in app.addresses}
    for i, provider in enumerate(inv.providers):
        for j, endpoint in enumerate(provider.endpoints):
            if valid_ipv4(endpoint):
                version = 4
            elif valid_ipv6(endpoint):
                version = 6
            else:
                continue  # a hostname: its versions are known only once resolved
            if version in versions:
                continue
            yield (
                "endpoint-ip-version-missing",
                Severity.WARNING,
                f"providers[{i}].endpoints[{j}]",
                f"endpoint {endpoint} of provider {provider.name} is IPv{version} but the pair "
                f"has no IPv{version} address: no flow can reach it",
                f"add an IPv{version} address to the appliances or use an IPv"
                f"{6 if version == 4 else 4} endpoint",
            )


def _endpoint_kind(endpoint: str, own: set[IPAddress]) -> str | None:
    """Why `endpoint` cannot be a provider the firewall stands in front of, or None."""
    if not (valid_ipv4(endpoint) or valid_ipv6(endpoint)):
        name = endpoint.rstrip(".").lower()
        return "localhost" if name == "localhost" or name.endswith(".localhost") else None
    ip = IPAddress(endpoint)
    if ip in own:
        return "one of the pair's own addresses"
    if ip.is_loopback():
        return "a loopback address"
    if ip.is_link_local():
        return "a link-local address"
    return None


def _endpoint_addresses(inv: Inventory) -> Iterator[_Raw]:
    own = {a.ip for app in inv.pair.appliances for a in app.addresses}
    for i, provider in enumerate(inv.providers):
        for j, endpoint in enumerate(provider.endpoints):
            what = _endpoint_kind(endpoint, own)
            if what is None:
                continue
            yield (
                "endpoint-not-remote",
                Severity.ERROR,
                f"providers[{i}].endpoints[{j}]",
                f"endpoint {endpoint} of provider {provider.name} is {what}: traffic to it never "
                "crosses the firewall this audit is about",
                "give the provider's server address or name",
            )
