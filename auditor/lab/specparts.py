"""The lab file's lists: `servers:` (one slapd each), `directory:` (what they hold) and
`rules:` (the router's deliberately incomplete FORWARD chain). Read by auditor.lab.spec."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from netaddr import IPAddress, IPNetwork

from auditor.documents.yamlsource import YamlDocument, join

if TYPE_CHECKING:
    from auditor.lab.spec import SpecReader
    from auditor.model.inventory import Inventory

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_SERVER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# Plain DNs only (no escapes, no multi-valued RDNs): enough for a service account.
_RDN = re.compile(r"^(dc|o|ou|cn|uid)=[^,=+\\\"<>;#]+$", re.IGNORECASE)
_COMMENT = re.compile(r"[\w .,:/()-]{1,200}")
SERVER_KEYS = {"name", "addresses", "cert_name", "ldap_port", "ldaps_port"}
RULE_KEYS = {"source", "destination", "protocol", "port", "action", "comment"}
DIRECTORY_KEYS = {"suffix", "accounts"}


class Action(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """One slapd: OpenLDAP has one server certificate per process, so one per certificate."""

    name: str
    addresses: tuple[IPAddress, ...]
    cert_name: str
    ldap_port: int = 389
    ldaps_port: int = 636


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule of the router's deliberately incomplete FORWARD chain."""

    version: int
    source: IPNetwork | None
    destination: IPNetwork | None
    protocol: str
    ports: tuple[int, ...]
    action: Action
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class DirectorySpec:
    suffix: str
    accounts: tuple[str, ...]


# -- servers ------------------------------------------------------------------------------


def servers(
    reader: SpecReader, value: Any, provider_side: tuple[IPNetwork, ...]
) -> tuple[ServerSpec, ...]:
    """`servers:`: the directory servers, each on provider-side addresses."""
    if value is None:
        return ()  # a lab of plain TCP flows needs no directory
    if not isinstance(value, list):
        reader.problem("servers", "expected a list of LDAP servers (name, addresses, cert_name)")
        return ()
    out: list[ServerSpec] = []
    names: set[str] = set()
    used: set[tuple[IPAddress, int]] = set()  # (address, port): one listener each
    for i, entry in enumerate(value):
        here = join("servers", i)
        if not isinstance(entry, dict):
            reader.problem(here, "expected a mapping (name, addresses, cert_name)")
            continue
        reader.unknown_keys(here, entry, SERVER_KEYS)
        server = _server(reader, here, entry, names, _Sockets(provider_side, used))
        if server is not None:
            out.append(server)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Sockets:
    provider_side: tuple[IPNetwork, ...]
    used: set[tuple[IPAddress, int]]


def _server(
    reader: SpecReader, here: str, entry: dict[str, Any], names: set[str], sockets: _Sockets
) -> ServerSpec | None:
    name = entry.get("name")
    if not isinstance(name, str) or not _SERVER_NAME.fullmatch(name):
        reader.problem(
            join(here, "name"),
            f"{name!r} is not a server name (expected [a-z][a-z0-9-], at most 20)",
        )
        name = None
    elif name in names:
        reader.problem(join(here, "name"), f"duplicate server name {name!r}")
    else:
        names.add(name)
    ldap_port = reader.port(join(here, "ldap_port"), entry.get("ldap_port", 389))
    ldaps_port = reader.port(join(here, "ldaps_port"), entry.get("ldaps_port", 636))
    ports = [p for p in (ldap_port, ldaps_port) if p is not None]
    addresses = _server_addresses(reader, join(here, "addresses"), entry, ports, sockets)
    cert_name = entry.get("cert_name")
    if not isinstance(cert_name, str) or not _DNS_NAME.fullmatch(cert_name):
        reader.problem(
            join(here, "cert_name"), f"{cert_name!r} is not a DNS name (the certificate's SAN)"
        )
        return None
    if not name or not addresses or ldap_port is None or ldaps_port is None:
        return None
    return ServerSpec(name, addresses, cert_name, ldap_port=ldap_port, ldaps_port=ldaps_port)


def _server_addresses(
    reader: SpecReader, path: str, entry: dict[str, Any], ports: list[int], sockets: _Sockets
) -> tuple[IPAddress, ...]:
    raw = entry.get("addresses")
    if not isinstance(raw, list) or not raw:
        reader.problem(path, "missing or empty (expected a list of addresses)")
        return ()
    side = sockets.provider_side
    addresses: list[IPAddress] = []
    for j, text in enumerate(raw):
        apath = join(path, j)
        ip = reader.address(apath, text)
        if ip is None:
            continue
        # Servers may share an address on other ports (several slapd, several ports).
        mine = {(ip, p) for p in ports}
        if not any(ip in r.cidr for r in side if r.version == ip.version):
            reader.problem(apath, f"{ip} is on none of router.provider_side's networks")
        elif any(ip == r.ip for r in side):
            reader.problem(apath, f"{ip} is the router's own address")
        elif ip in addresses or mine & sockets.used:
            reader.problem(apath, f"{ip} is listed twice with the same port")
        sockets.used.update(mine)
        addresses.append(ip)
    return tuple(addresses)


# -- directory ----------------------------------------------------------------------------


def directory(
    reader: SpecReader, value: Any, inventory: tuple[YamlDocument, Inventory] | None
) -> DirectorySpec:
    """`directory:` when written; else the inventory providers' base_dn and bind DNs."""
    if value is None:
        return _directory_of(reader, inventory)
    if not isinstance(value, dict):
        reader.problem("directory", "expected a mapping (suffix, accounts)")
        return DirectorySpec("", ())
    reader.unknown_keys("directory", value, DIRECTORY_KEYS)
    suffix = _dn(reader, "directory.suffix", value.get("suffix"))
    raw = value.get("accounts", [])
    if not isinstance(raw, list):
        reader.problem("directory.accounts", "expected a list of DNs")
        raw = []
    accounts = [_dn(reader, join("directory.accounts", i), text) for i, text in enumerate(raw)]
    return _checked(reader, suffix, [dn for dn in accounts if dn])


def _directory_of(
    reader: SpecReader, inventory: tuple[YamlDocument, Inventory] | None
) -> DirectorySpec:
    if inventory is None:
        return DirectorySpec("", ())  # its problems are reported already
    doc, inv = inventory
    suffix: str | None = None
    accounts: list[str] = []
    for i, provider in enumerate(inv.providers):
        here = join("providers", i)
        if suffix is None and provider.base_dn is not None:
            suffix = _dn(reader, join(here, "base_dn"), provider.base_dn, doc)
        if provider.bind is not None:
            dn = _dn(reader, join(join(here, "bind"), "dn"), provider.bind.dn, doc)
            if dn and dn not in accounts:
                accounts.append(dn)
    if suffix is None:
        reader.problem(
            "servers",
            "no directory suffix for the servers (set directory.suffix, or a base_dn on a "
            "provider of the inventory)",
        )
    return _checked(reader, suffix, accounts)


def _checked(reader: SpecReader, suffix: str | None, accounts: list[str]) -> DirectorySpec:
    if suffix:
        for dn in accounts:
            if not dn.lower().endswith("," + suffix.lower()):
                reader.problem("directory", f"account {dn} is not under the suffix {suffix}")
    return DirectorySpec(suffix or "", tuple(accounts))


def _dn(reader: SpecReader, path: str, value: Any, doc: YamlDocument | None = None) -> str | None:
    if not isinstance(value, str) or not all(_RDN.fullmatch(r.strip()) for r in value.split(",")):
        reader.problem(
            path,
            f"{value!r} is not a plain DN the lab can create (RDNs of dc, o, ou, cn, uid)",
            doc,
        )
        return None
    return ",".join(r.strip() for r in value.split(","))


# -- rules --------------------------------------------------------------------------------


def rules(reader: SpecReader, value: Any) -> tuple[RuleSpec, ...]:
    """`rules:`: the router's FORWARD rules after its DROP policy and established accept."""
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem("rules", "expected a list of rules")
        return ()
    out: list[RuleSpec] = []
    for i, entry in enumerate(value):
        here = join("rules", i)
        if not isinstance(entry, dict):
            reader.problem(here, "expected a mapping (source, destination, protocol, port, action)")
            continue
        reader.unknown_keys(here, entry, RULE_KEYS)
        rule = _rule(reader, here, entry)
        if rule is not None:
            out.append(rule)
    return tuple(out)


def _rule(reader: SpecReader, here: str, entry: dict[str, Any]) -> RuleSpec | None:
    ends = _ends(reader, here, entry)
    if ends is None:
        return None
    src, dst = ends
    protocol = entry.get("protocol", "tcp")
    if protocol not in ("tcp", "udp"):
        reader.problem(join(here, "protocol"), f"{protocol!r} is not tcp or udp")
        return None
    raw_ports = entry.get("port", [])
    raw_ports = raw_ports if isinstance(raw_ports, list) else [raw_ports]
    ports = [reader.port(join(here, "port"), p) for p in raw_ports]
    action_text = entry.get("action")
    try:
        action = Action(str(action_text))
    except ValueError:
        reader.problem(join(here, "action"), f"{action_text!r} is not accept, drop or reject")
        return None
    comment = entry.get("comment")
    if comment is not None and (not isinstance(comment, str) or not _COMMENT.fullmatch(comment)):
        reader.problem(join(here, "comment"), "expected plain text (letters, digits, .,:/()-)")
        return None
    if None in ports:
        return None
    return RuleSpec(
        version=int((src or dst).version),  # type: ignore[union-attr]
        source=src,
        destination=dst,
        protocol=protocol,
        ports=tuple(p for p in ports if p is not None),
        action=action,
        comment=comment,
    )


def _ends(
    reader: SpecReader, here: str, entry: dict[str, Any]
) -> tuple[IPNetwork | None, IPNetwork | None] | None:
    """A rule's source and destination (at least one, of one IP version), or None."""
    src = reader.network(join(here, "source"), entry["source"]) if "source" in entry else None
    dst = None
    if "destination" in entry:
        dst = reader.network(join(here, "destination"), entry["destination"])
    if src is None and dst is None:
        if "source" not in entry and "destination" not in entry:
            reader.problem(here, "needs a source or a destination (the family comes from them)")
        return None
    if src is not None and dst is not None and src.version != dst.version:
        reader.problem(here, "source and destination are of different IP versions")
        return None
    return src, dst
