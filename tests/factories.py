"""Plain factory functions for model objects.

`example_inventory()` is examples/pair.yaml as the loader builds it; the small builders vary it
one thing at a time, so a test reads as "the example, but with the shared IP enabled on both".
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from auditor.documents.yamlsource import parse_yaml
from auditor.model.inventory import (
    Address,
    Appliance,
    BindSpec,
    Failover,
    Inventory,
    Pair,
    PortOverride,
    Protocol,
    Provider,
    Role,
    Side,
    Site,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pair.yaml"


def address(cidr: str, role: str = "unique", *, enabled: bool = True) -> Address:
    """`address("198.51.100.11/24")`, `address("198.51.100.10/24", "shared", enabled=False)`."""
    return Address(interface=IPNetwork(cidr), role=Role(role), enabled=enabled)


def unique(cidr: str, *, enabled: bool = True) -> Address:
    return address(cidr, "unique", enabled=enabled)


def shared(cidr: str, *, enabled: bool = True) -> Address:
    return address(cidr, "shared", enabled=enabled)


def appliance(name: str, side: str, *addresses: Address, hostname: str | None = None) -> Appliance:
    return Appliance(name=name, side=Side(side), addresses=tuple(addresses), hostname=hostname)


def primary(*addresses: Address) -> Appliance:
    return appliance("site1", "primary", *addresses, hostname="site1.example.com")


def backup(*addresses: Address) -> Appliance:
    return appliance("site2", "backup", *addresses, hostname="site2.example.com")


def pair(
    primary_addresses: Sequence[Address],
    backup_addresses: Sequence[Address],
    *,
    site_instance_ip: str | None = "198.51.100.10",
    peer_port: int = 443,
) -> Pair:
    return Pair(
        primary=primary(*primary_addresses),
        backup=backup(*backup_addresses),
        failover=Failover(
            site_instance_ip=IPAddress(site_instance_ip) if site_instance_ip else None,
            peer_port=peer_port,
        ),
    )


def provider(
    name: str,
    kind: str,
    *endpoints: str,
    ports: Sequence[int | tuple[int, str]] | None = None,
    **fields: object,
) -> Provider:
    """`provider("corp-ad", "ldaps", "203.0.113.10", ports=[1636, (88, "udp")])`."""
    overrides = None
    if ports is not None:
        overrides = tuple(
            PortOverride(port=p[0], protocol=Protocol(p[1]))
            if isinstance(p, tuple)
            else PortOverride(port=p)
            for p in ports
        )
    return Provider(name=name, kind=kind, endpoints=tuple(endpoints), ports=overrides, **fields)  # type: ignore[arg-type]


def example_pair() -> Pair:
    return pair(
        [unique("198.51.100.11/24"), shared("198.51.100.10/24", enabled=True)],
        [unique("198.51.100.12/24"), shared("198.51.100.10/24", enabled=False)],
    )


def example_providers() -> tuple[Provider, ...]:
    return (
        Provider(
            name="corp-ad",
            kind="ldaps",
            endpoints=("203.0.113.10", "203.0.113.11"),
            tls_name="ad.corp.example.com",
            base_dn="dc=corp,dc=example,dc=com",
            bind=BindSpec(
                dn="cn=svc-bt,ou=service,dc=corp,dc=example,dc=com",
                password_env="AUDITOR_BIND_PASSWORD",
            ),
        ),
        Provider(name="corp-radius", kind="radius", endpoints=("203.0.113.20",)),
        Provider(name="time", kind="ntp", endpoints=("203.0.113.30",)),
    )


def inventory(
    pair_: Pair | None = None,
    providers: Sequence[Provider] | None = None,
    *,
    source: Path = EXAMPLE,
) -> Inventory:
    """An inventory built in code. Field lines are those of examples/pair.yaml, so a finding on
    a field the example has points at the example's line."""
    raw = EXAMPLE.read_bytes()
    return Inventory(
        source=source,
        digest="sha256:" + hashlib.sha256(raw).hexdigest(),
        site=Site(name="support.example.com"),
        pair=pair_ if pair_ is not None else example_pair(),
        providers=tuple(providers) if providers is not None else example_providers(),
        locations=dict(parse_yaml(raw, str(source)).lines),
    )


def example_inventory(source: Path = EXAMPLE) -> Inventory:
    """examples/pair.yaml, built in code (equal to what the loader reads from `source`)."""
    return inventory(source=source)


def replace_appliance(
    inv: Inventory, side: str, change: Callable[[tuple[Address, ...]], Sequence[Address]]
) -> Inventory:
    """The inventory with one appliance's address list changed by `change`."""
    pair_ = inv.pair
    old = pair_.primary if side == "primary" else pair_.backup
    new = dataclasses.replace(old, addresses=tuple(change(old.addresses)))
    if side == "primary":
        return dataclasses.replace(inv, pair=dataclasses.replace(pair_, primary=new))
    return dataclasses.replace(inv, pair=dataclasses.replace(pair_, backup=new))


def with_failover(inv: Inventory, **changes: object) -> Inventory:
    """`with_failover(inv, peer_port=8443)`; `site_instance_ip` may be given as text."""
    if isinstance(changes.get("site_instance_ip"), str):
        changes["site_instance_ip"] = IPAddress(changes["site_instance_ip"])
    failover = dataclasses.replace(inv.pair.failover, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(inv, pair=dataclasses.replace(inv.pair, failover=failover))


def with_providers(inv: Inventory, *providers: Provider) -> Inventory:
    return dataclasses.replace(inv, providers=tuple(providers))
