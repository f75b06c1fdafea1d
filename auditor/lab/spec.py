"""The `lab:` section of an inventory: what the namespace lab builds around the pair.

The inventory loader passes `lab:` through untouched; this module gives it meaning. It reads
the same YAML file (so problems point at its lines), takes the pair's addresses and the
providers' directory facts from the inventory part, and the router, servers and firewall rules
from `lab:`. Every address the lab would configure must be in a documentation range: the lab
never puts a real address on an interface.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.errors import InputError, Problem
from auditor.inventory.yamlsource import YamlDocument, join, load_yaml
from auditor.lab.appspec import AppsSpec, read_apps

DOC_RANGES = tuple(
    IPNetwork(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_SERVER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# Plain DNs only (no escapes, no multi-valued RDNs): enough for a service account.
_RDN = re.compile(r"^(dc|o|ou|cn|uid)=[^,=+\\\"<>;#]+$", re.IGNORECASE)
LAB_KEYS = {"router", "servers", "rules", "directory", "apps"}
ROUTER_KEYS = {"probe_side", "provider_side", "firewall"}
SERVER_KEYS = {"name", "addresses", "cert_name", "ldap_port", "ldaps_port"}
RULE_KEYS = {"source", "destination", "protocol", "port", "action", "comment"}
DIRECTORY_KEYS = {"suffix", "accounts"}


class Firewall(StrEnum):
    """Which framework holds the router's base ruleset (see auditor/lab/router.py)."""

    IPTABLES = "iptables"
    NFTABLES = "nftables"


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


@dataclass(frozen=True, slots=True)
class LabSpec:
    source: Path
    probe_addresses: tuple[IPNetwork, ...]  # interface form: host bits and mask
    router_probe_side: tuple[IPNetwork, ...]
    router_provider_side: tuple[IPNetwork, ...]
    servers: tuple[ServerSpec, ...]
    directory: DirectorySpec
    rules: tuple[RuleSpec, ...]
    firewall: Firewall
    document: Any  # the whole YAML document as plain data, for the ready-to-use copy
    apps: AppsSpec | None = None  # application servers (auditor/lab/appspec.py)


def load_spec(path: Path) -> LabSpec:
    """Read an inventory with a `lab:` section. Raises InputError with located problems."""
    doc = load_yaml(path)
    return _Reader(doc, path).read()


class _Reader:
    def __init__(self, doc: YamlDocument, path: Path) -> None:
        self.doc = doc
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(field), field, message))

    def read(self) -> LabSpec:
        data = self.doc.data
        if not isinstance(data, dict):
            raise InputError([Problem(self.doc.file, 1, "", "expected a YAML mapping")])
        lab = data.get("lab")
        if not isinstance(lab, dict):
            where = "lab" if "lab" in data else ""
            raise InputError(
                [
                    Problem(
                        self.doc.file,
                        self.doc.line(where) if where else None,
                        "lab",
                        "missing or not a mapping (expected a `lab:` section with router, "
                        "servers and rules; see examples/lab.yaml)",
                    )
                ]
            )
        self.unknown_keys("lab", lab, LAB_KEYS)
        probe = self.pair_addresses(data.get("pair"))
        router = lab.get("router")
        probe_side: tuple[IPNetwork, ...] = ()
        provider_side: tuple[IPNetwork, ...] = ()
        firewall = Firewall.IPTABLES
        if not isinstance(router, dict):
            self.problem(
                "lab.router", "missing or not a mapping (expected probe_side, provider_side)"
            )
        else:
            self.unknown_keys("lab.router", router, ROUTER_KEYS)
            probe_side = self.interfaces("lab.router.probe_side", router.get("probe_side"))
            provider_side = self.interfaces("lab.router.provider_side", router.get("provider_side"))
            fw_text = router.get("firewall", "iptables")
            try:
                firewall = Firewall(str(fw_text))
            except ValueError:
                self.problem("lab.router.firewall", f"{fw_text!r} is not iptables or nftables")
        self.check_on_link("lab.router.probe_side", probe, probe_side)
        servers = self.servers(lab.get("servers"), provider_side)
        directory = (
            self.directory(lab.get("directory"), data.get("providers"))
            if servers
            else DirectorySpec("", ())
        )
        rules = self.rules(lab.get("rules"))
        apps = read_apps(self, lab.get("apps"), provider_side)
        if self.problems:
            raise InputError(self.problems)
        return LabSpec(
            source=self.path,
            probe_addresses=probe,
            router_probe_side=probe_side,
            router_provider_side=provider_side,
            servers=servers,
            directory=directory,
            rules=rules,
            firewall=firewall,
            document=data,
            apps=apps,
        )

    # -- pieces ---------------------------------------------------------------------------

    def unknown_keys(self, path: str, data: dict[str, Any], known: set[str]) -> None:
        for key in data:
            if key not in known:
                self.problem(
                    join(path, key), f"unknown key (expected one of {', '.join(sorted(known))})"
                )

    def in_doc_range(self, path: str, ip: IPAddress) -> bool:
        if any(ip in net for net in DOC_RANGES):
            return True
        self.problem(
            path,
            f"{ip} is not in a documentation range (the lab only uses 192.0.2.0/24, "
            "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)",
        )
        return False

    def interface(self, path: str, value: Any) -> IPNetwork | None:
        if not isinstance(value, str) or "/" not in value:
            self.problem(
                path, f"{value!r} is not an address with a prefix length (e.g. 198.51.100.1/24)"
            )
            return None
        try:
            net = IPNetwork(value)
        except (AddrFormatError, ValueError, TypeError):
            self.problem(path, f"{value!r} is not an address with a prefix length")
            return None
        return net if self.in_doc_range(path, net.ip) else None

    def interfaces(self, path: str, value: Any) -> tuple[IPNetwork, ...]:
        if not isinstance(value, list) or not value:
            self.problem(path, "missing or empty (expected a list of addresses with prefix length)")
            return ()
        nets = [self.interface(join(path, i), v) for i, v in enumerate(value)]
        return tuple(n for n in nets if n is not None)

    def address(self, path: str, value: Any) -> IPAddress | None:
        try:
            ip = IPAddress(str(value))
        except (AddrFormatError, ValueError, TypeError):
            self.problem(path, f"{value!r} is not an IP address")
            return None
        return ip if self.in_doc_range(path, ip) else None

    def network(self, path: str, value: Any) -> IPNetwork | None:
        try:
            net = IPNetwork(str(value))
        except (AddrFormatError, ValueError, TypeError):
            self.problem(path, f"{value!r} is not an address or network")
            return None
        return net.cidr if self.in_doc_range(path, net.ip) else None

    def pair_addresses(self, pair: Any) -> tuple[IPNetwork, ...]:
        seen: dict[IPAddress, IPNetwork] = {}
        if not isinstance(pair, dict):
            self.problem("pair", "missing or not a mapping (the lab needs the pair's addresses)")
            return ()
        for side in ("primary", "backup"):
            appliance = pair.get(side)
            addresses = appliance.get("addresses") if isinstance(appliance, dict) else None
            if not isinstance(addresses, list):
                self.problem(join("pair", side), "no addresses list (the lab needs them)")
                continue
            for i, entry in enumerate(addresses):
                path = join(join(join("pair", side), "addresses"), i)
                ip_text = entry.get("ip") if isinstance(entry, dict) else None
                net = self.interface(join(path, "ip"), ip_text)
                if net is not None:
                    seen.setdefault(net.ip, net)
        return tuple(seen.values())

    def check_on_link(
        self, path: str, addresses: tuple[IPNetwork, ...], side: tuple[IPNetwork, ...]
    ) -> None:
        if not side:
            return
        for net in addresses:
            if not any(net.ip in r.cidr for r in side if r.version == net.version):
                self.problem(
                    path,
                    f"no router address on the network of {net.ip} (expected one address in "
                    f"{net.cidr} for the default route)",
                )
            if any(net.ip == r.ip for r in side):
                self.problem(path, f"{net.ip} is also a pair address (expected another one)")

    def servers(self, value: Any, provider_side: tuple[IPNetwork, ...]) -> tuple[ServerSpec, ...]:
        path = "lab.servers"
        if value is None:
            return ()  # a lab of plain TCP flows needs no directory
        if not isinstance(value, list):
            self.problem(path, "expected a list of LDAP servers (name, addresses, cert_name)")
            return ()
        out: list[ServerSpec] = []
        names: set[str] = set()
        used: set[tuple[IPAddress, int]] = set()
        for i, entry in enumerate(value):
            here = join(path, i)
            if not isinstance(entry, dict):
                self.problem(here, "expected a mapping (name, addresses, cert_name)")
                continue
            self.unknown_keys(here, entry, SERVER_KEYS)
            name = entry.get("name")
            if not isinstance(name, str) or not _SERVER_NAME.fullmatch(name):
                self.problem(
                    join(here, "name"),
                    f"{name!r} is not a server name (expected [a-z][a-z0-9-], at most 20)",
                )
                name = None
            elif name in names:
                self.problem(join(here, "name"), f"duplicate server name {name!r}")
            else:
                names.add(name)
            ports = [
                self.port(join(here, k), entry.get(k, d))
                for k, d in (("ldap_port", 389), ("ldaps_port", 636))
            ]
            addresses: list[IPAddress] = []
            raw = entry.get("addresses")
            if not isinstance(raw, list) or not raw:
                self.problem(
                    join(here, "addresses"), "missing or empty (expected a list of addresses)"
                )
                raw = []
            for j, text in enumerate(raw):
                apath = join(join(here, "addresses"), j)
                ip = self.address(apath, text)
                if ip is None:
                    continue
                # Servers may share an address on other ports (several slapd, several ports).
                sockets = {(ip, p) for p in ports if p is not None}
                if not any(ip in r.cidr for r in provider_side if r.version == ip.version):
                    self.problem(apath, f"{ip} is on none of lab.router.provider_side's networks")
                elif any(ip == r.ip for r in provider_side):
                    self.problem(apath, f"{ip} is the router's own address")
                elif ip in addresses or sockets & used:
                    self.problem(apath, f"{ip} is listed twice with the same port")
                used |= sockets
                addresses.append(ip)
            cert_name = entry.get("cert_name")
            if not isinstance(cert_name, str) or not _DNS_NAME.fullmatch(cert_name):
                self.problem(
                    join(here, "cert_name"),
                    f"{cert_name!r} is not a DNS name (the certificate's SAN)",
                )
                cert_name = None
            if name and cert_name and addresses and None not in ports:
                out.append(
                    ServerSpec(
                        name=name,
                        addresses=tuple(addresses),
                        cert_name=cert_name,
                        ldap_port=int(ports[0] or 389),
                        ldaps_port=int(ports[1] or 636),
                    )
                )
        return tuple(out)

    def port(self, path: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.problem(path, f"{value!r} is not a port (expected 1-65535)")
            return None
        return value

    def dn(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str) or not all(
            _RDN.fullmatch(r.strip()) for r in value.split(",")
        ):
            self.problem(
                path, f"{value!r} is not a plain DN the lab can create (RDNs of dc, o, ou, cn, uid)"
            )
            return None
        return ",".join(r.strip() for r in value.split(","))

    def directory(self, value: Any, providers: Any) -> DirectorySpec:
        """`lab.directory` when written; else the providers' base_dn and bind DNs."""
        suffix: str | None = None
        accounts: list[str] = []
        if value is not None:
            if not isinstance(value, dict):
                self.problem("lab.directory", "expected a mapping (suffix, accounts)")
                return DirectorySpec("", ())
            self.unknown_keys("lab.directory", value, DIRECTORY_KEYS)
            suffix = self.dn("lab.directory.suffix", value.get("suffix"))
            raw = value.get("accounts", [])
            if not isinstance(raw, list):
                self.problem("lab.directory.accounts", "expected a list of DNs")
                raw = []
            for i, text in enumerate(raw):
                dn = self.dn(join("lab.directory.accounts", i), text)
                if dn:
                    accounts.append(dn)
        else:
            for i, prov in enumerate(providers if isinstance(providers, list) else []):
                if not isinstance(prov, dict):
                    continue
                here = join("providers", i)
                if suffix is None and prov.get("base_dn") is not None:
                    suffix = self.dn(join(here, "base_dn"), prov.get("base_dn"))
                bind = prov.get("bind")
                if isinstance(bind, dict) and bind.get("dn") is not None:
                    dn = self.dn(join(join(here, "bind"), "dn"), bind.get("dn"))
                    if dn and dn not in accounts:
                        accounts.append(dn)
            if suffix is None:
                self.problem(
                    "lab", "no directory suffix (set lab.directory.suffix or a provider's base_dn)"
                )
        if suffix:
            for dn in accounts:
                if not dn.lower().endswith("," + suffix.lower()):
                    self.problem("lab.directory", f"account {dn} is not under the suffix {suffix}")
        return DirectorySpec(suffix or "", tuple(accounts))

    def rules(self, value: Any) -> tuple[RuleSpec, ...]:
        path = "lab.rules"
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, "expected a list of rules")
            return ()
        out: list[RuleSpec] = []
        for i, entry in enumerate(value):
            here = join(path, i)
            if not isinstance(entry, dict):
                self.problem(
                    here, "expected a mapping (source, destination, protocol, port, action)"
                )
                continue
            self.unknown_keys(here, entry, RULE_KEYS)
            src = self.network(join(here, "source"), entry["source"]) if "source" in entry else None
            dst = (
                self.network(join(here, "destination"), entry["destination"])
                if "destination" in entry
                else None
            )
            if src is None and dst is None:
                if "source" not in entry and "destination" not in entry:
                    self.problem(
                        here, "needs a source or a destination (the family comes from them)"
                    )
                continue
            if src is not None and dst is not None and src.version != dst.version:
                self.problem(here, "source and destination are of different IP versions")
                continue
            protocol = entry.get("protocol", "tcp")
            if protocol not in ("tcp", "udp"):
                self.problem(join(here, "protocol"), f"{protocol!r} is not tcp or udp")
                continue
            raw_ports = entry.get("port", [])
            raw_ports = raw_ports if isinstance(raw_ports, list) else [raw_ports]
            ports = [self.port(join(here, "port"), p) for p in raw_ports]
            action_text = entry.get("action")
            try:
                action = Action(str(action_text))
            except ValueError:
                self.problem(join(here, "action"), f"{action_text!r} is not accept, drop or reject")
                continue
            comment = entry.get("comment")
            if comment is not None and (
                not isinstance(comment, str) or not re.fullmatch(r"[\w .,:/()-]{1,200}", comment)
            ):
                self.problem(
                    join(here, "comment"), "expected plain text (letters, digits, .,:/()-)"
                )
                continue
            if None in ports:
                continue
            version = int((src or dst).version)  # type: ignore[union-attr]
            out.append(
                RuleSpec(
                    version=version,
                    source=src,
                    destination=dst,
                    protocol=protocol,
                    ports=tuple(int(p) for p in ports if p is not None),
                    action=action,
                    comment=comment,
                )
            )
        return tuple(out)
