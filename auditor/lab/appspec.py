"""The `apps:` section of a lab file: the application servers of the provider namespace
(RADIUS, a KDC, DNS, NTP, SMTP, syslog over TLS), all on the same addresses, each on its own
port.

    apps:
      addresses: [203.0.113.20, "2001:db8:203::20"]
      cert_name: apps.lab.example.com     # SMTP and syslog-TLS certificate
      radius_clients: [198.51.100.11, ...] # the addresses freeradius answers (leave one out)
      realm: LAB.EXAMPLE.COM               # the KDC's realm
      principals: [auditor-probe]          # created with random keys, pre-auth required
      zone: lab.example.com                # dnsmasq answers for it from the lab's names
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netaddr import IPAddress, IPNetwork

from auditor.documents.yamlsource import join

if TYPE_CHECKING:
    from auditor.lab.spec import SpecReader

APPS_KEYS = {"addresses", "cert_name", "radius_clients", "realm", "principals", "zone"}
_REALM = re.compile(r"^[A-Z0-9][A-Z0-9.-]{0,62}$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$")
_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True)
class AppsSpec:
    addresses: tuple[IPAddress, ...]
    cert_name: str
    radius_clients: tuple[IPAddress, ...]
    realm: str
    principals: tuple[str, ...]
    zone: str


def read_apps(
    reader: SpecReader, value: Any, provider_side: tuple[IPNetwork, ...]
) -> AppsSpec | None:
    """`apps:`, or None when the lab has none; problems go to `reader`."""
    path = "apps"
    if value is None:
        return None
    if not isinstance(value, dict):
        reader.problem(path, "not a mapping (expected addresses, cert_name, radius_clients, ...)")
        return None
    reader.unknown_keys(path, value, APPS_KEYS)
    addresses = _addresses(reader, join(path, "addresses"), value.get("addresses"))
    for i, ip in enumerate(addresses):
        if provider_side and not any(
            ip in n.cidr for n in provider_side if n.version == ip.version
        ):
            reader.problem(join(join(path, "addresses"), i), f"{ip} is not on the provider side")
    clients = _addresses(reader, join(path, "radius_clients"), value.get("radius_clients", []))
    texts = {}
    for key, pattern, default in (
        ("cert_name", _NAME, "apps.lab.example.com"),
        ("realm", _REALM, "LAB.EXAMPLE.COM"),
        ("zone", _NAME, "lab.example.com"),
    ):
        text = value.get(key, default)
        if not isinstance(text, str) or not pattern.match(text):
            reader.problem(join(path, key), f"{text!r} is not a valid {key}")
        texts[key] = str(text)
    principals = value.get("principals", ["auditor-probe"])
    if not isinstance(principals, list) or not all(
        isinstance(p, str) and _PRINCIPAL.match(p) for p in principals
    ):
        reader.problem(join(path, "principals"), "expected a list of principal names")
        principals = []
    return AppsSpec(
        addresses=addresses,
        cert_name=texts["cert_name"],
        radius_clients=clients,
        realm=texts["realm"],
        principals=tuple(principals),
        zone=texts["zone"],
    )


def _addresses(reader: SpecReader, path: str, value: Any) -> tuple[IPAddress, ...]:
    if not isinstance(value, list):
        reader.problem(path, "expected a list of addresses")
        return ()
    out = [reader.address(join(path, i), item) for i, item in enumerate(value)]
    return tuple(ip for ip in out if ip is not None)
