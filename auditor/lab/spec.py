"""The lab file: what the namespace lab builds around a pair.

A lab file names its inventory (`inventory: pair.yaml`, relative to the lab file) and holds the
lab's settings at its top level: the router (`router:`), the directory servers (`servers:`,
`directory:`), the router's deliberately incomplete rules (`rules:`) and the application
servers (`apps:`, auditor/lab/appspec.py). The inventory is an ordinary one, read by the
product's own loader: the product knows nothing of the lab. Problems point at the lines of the
file they are in. Every address the lab would configure must be in a documentation range: the
lab never puts a real address on an interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.yamlsource import YamlDocument, join, load_yaml
from auditor.errors import InputError, Problem
from auditor.inventory.load import read_inventory
from auditor.lab.appspec import AppsSpec, read_apps
from auditor.lab.specparts import DirectorySpec, RuleSpec, ServerSpec, directory, rules, servers
from auditor.model.inventory import Inventory

DOC_RANGES = tuple(
    IPNetwork(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
LAB_KEYS = {"inventory", "router", "servers", "rules", "directory", "apps"}
REQUIRED_KEYS = ("inventory", "router")
ROUTER_KEYS = {"probe_side", "provider_side", "firewall"}
# Top-level keys of an inventory: a file with these was given where a lab file belongs.
INVENTORY_KEYS = {"site", "pair", "providers", "lab"}
EXAMPLE = "see examples/lab.yaml"


class Firewall(StrEnum):
    """Which framework holds the router's base ruleset (see auditor/lab/router.py)."""

    IPTABLES = "iptables"
    NFTABLES = "nftables"


@dataclass(frozen=True, slots=True)
class LabSpec:
    source: Path  # the lab file
    inventory_path: Path  # the inventory it names
    inventory: Inventory
    inventory_document: Any  # the inventory as plain data, for the lab's ready-to-use copy
    probe_addresses: tuple[IPNetwork, ...]  # interface form: host bits and mask
    router_probe_side: tuple[IPNetwork, ...]
    router_provider_side: tuple[IPNetwork, ...]
    servers: tuple[ServerSpec, ...]
    directory: DirectorySpec
    rules: tuple[RuleSpec, ...]
    firewall: Firewall
    apps: AppsSpec | None = None  # application servers (auditor/lab/appspec.py)


def load_spec(path: Path) -> LabSpec:
    """Read a lab file and the inventory it names. Raises InputError with located problems."""
    doc = load_yaml(path)
    return SpecReader(doc, path).read()


class SpecReader:
    def __init__(self, doc: YamlDocument, path: Path) -> None:
        self.doc = doc
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str, doc: YamlDocument | None = None) -> None:
        """A problem in the lab file, or in `doc` (the inventory) when given."""
        where = doc or self.doc
        self.problems.append(Problem(where.file, where.line(field), field, message))

    def read(self) -> LabSpec:
        data = self.top(self.doc.data)
        inventory = self.inventory(data.get("inventory"))
        probe = self.pair_addresses(*inventory) if inventory else ()
        probe_side, provider_side, firewall = self.router(data.get("router"))
        self.check_on_link("router.probe_side", probe, probe_side)
        server_specs = servers(self, data.get("servers"), provider_side)
        lab_directory = DirectorySpec("", ())
        if server_specs:
            lab_directory = directory(self, data.get("directory"), inventory)
        rule_specs = rules(self, data.get("rules"))
        apps = read_apps(self, data.get("apps"), provider_side)
        if self.problems or inventory is None:
            raise InputError(self.problems)
        inv_doc, inv = inventory
        return LabSpec(
            source=self.path,
            inventory_path=inv.source,
            inventory=inv,
            inventory_document=inv_doc.data,
            probe_addresses=probe,
            router_probe_side=probe_side,
            router_provider_side=provider_side,
            servers=server_specs,
            directory=lab_directory,
            rules=rule_specs,
            firewall=firewall,
            apps=apps,
        )

    # -- the file and its inventory -------------------------------------------------------

    def top(self, data: Any) -> dict[str, Any]:
        """The lab file's mapping; an inventory given instead is refused as one problem."""
        if not isinstance(data, dict):
            raise InputError(
                [Problem(self.doc.file, 1, "", f"expected a mapping (a lab file; {EXAMPLE})")]
            )
        if data.keys() & INVENTORY_KEYS:
            where = "lab" if "lab" in data else ""
            raise InputError(
                [
                    Problem(
                        self.doc.file,
                        self.doc.line(where) if where else 1,
                        where,
                        "this is an inventory, not a lab file: a lab file names its inventory "
                        "(`inventory: pair.yaml`, relative to the lab file) and holds the lab "
                        f"settings (router, servers, rules, directory, apps) at its top level; "
                        f"{EXAMPLE}",
                    )
                ]
            )
        self.unknown_keys("", data, LAB_KEYS)
        for key in REQUIRED_KEYS:
            if key not in data:
                self.problem("", f"missing required key '{key}' ({EXAMPLE})")
        return data

    def inventory(self, value: Any) -> tuple[YamlDocument, Inventory] | None:
        """The inventory the lab file names, read and validated by the product's loader."""
        if value is None:
            return None  # reported as a missing key
        if not isinstance(value, str) or not value or not value.isprintable():
            self.problem("inventory", "expected the path of the pair's inventory file")
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = self.path.parent / path
        if not path.is_file():
            self.problem(
                "inventory",
                f"{value!r}: no such file (expected the pair's inventory, relative to the lab "
                f"file's folder {self.path.parent})",
            )
            return None
        try:
            doc = load_yaml(path)
            return doc, read_inventory(doc, path)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def pair_addresses(self, doc: YamlDocument, inventory: Inventory) -> tuple[IPNetwork, ...]:
        """Every address of the pair, once, in interface form: the probe namespace holds them."""
        seen: dict[IPAddress, IPNetwork] = {}
        for appliance in inventory.pair.appliances:
            for i, address in enumerate(appliance.addresses):
                field = f"pair.{appliance.side}.addresses[{i}].ip"
                if self.in_doc_range(field, address.ip, doc):
                    seen.setdefault(address.ip, address.interface)
        return tuple(seen.values())

    # -- the router -----------------------------------------------------------------------

    def router(self, value: Any) -> tuple[tuple[IPNetwork, ...], tuple[IPNetwork, ...], Firewall]:
        """The router's addresses on the probe and provider sides, and its firewall."""
        if value is None:
            return (), (), Firewall.IPTABLES  # reported as a missing key
        if not isinstance(value, dict):
            self.problem("router", "not a mapping (expected probe_side, provider_side)")
            return (), (), Firewall.IPTABLES
        self.unknown_keys("router", value, ROUTER_KEYS)
        probe_side = self.interfaces("router.probe_side", value.get("probe_side"))
        provider_side = self.interfaces("router.provider_side", value.get("provider_side"))
        fw_text = value.get("firewall", "iptables")
        try:
            firewall = Firewall(str(fw_text))
        except ValueError:
            self.problem("router.firewall", f"{fw_text!r} is not iptables or nftables")
            firewall = Firewall.IPTABLES
        return probe_side, provider_side, firewall

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

    # -- values ---------------------------------------------------------------------------

    def unknown_keys(self, path: str, data: dict[str, Any], known: set[str]) -> None:
        for key in data:
            if key not in known:
                self.problem(
                    join(path, key), f"unknown key (expected one of {', '.join(sorted(known))})"
                )

    def in_doc_range(self, path: str, ip: IPAddress, doc: YamlDocument | None = None) -> bool:
        if any(ip in net for net in DOC_RANGES):
            return True
        self.problem(
            path,
            f"{ip} is not in a documentation range (the lab only uses 192.0.2.0/24, "
            "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)",
            doc,
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

    def port(self, path: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.problem(path, f"{value!r} is not a port (expected 1-65535)")
            return None
        return value
