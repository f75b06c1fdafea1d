"""Load and validate a pair inventory (YAML) into the model. Validation happens here, once.

Every problem in the file is collected and reported at once, one line each, as
`FILE:LINE: field.path: what is wrong (what was expected)`. The field checks live in
auditor.inventory.fields (shapes) and .addresses (addresses, endpoints); this module reads
the sections.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from netaddr import IPAddress

from auditor.documents.yamlsource import YamlDocument, join, load_yaml
from auditor.errors import InputError, Problem
from auditor.inventory import appparams, spec
from auditor.inventory.addresses import AddressReader
from auditor.inventory.fields import show
from auditor.inventory.healthspec import read_health  # HEALTH_KEYS, the health: table, lives there
from auditor.inventory.secretsource import read_source, refuse_literals
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
from auditor.values import port_text

# The keys each mapping accepts (name -> required), read from the inventory's one definition,
# auditor.inventory.spec, from which its JSON Schema is generated too.
TOP_KEYS = spec.INVENTORY.table
SITE_KEYS = spec.SITE.table
PAIR_KEYS = spec.PAIR.table
APPLIANCE_KEYS = spec.APPLIANCE.table
ADDRESS_KEYS = spec.ADDRESS.table
FAILOVER_KEYS = spec.FAILOVER.table
PROVIDER_KEYS = spec.PROVIDER.table
BIND_KEYS = spec.BIND.table
BIND_PASSWORD = spec.BIND_PASSWORD
MOVED_KEYS = spec.MOVED_KEYS
MAX_PORTS_PER_PROVIDER = spec.MAX_PORTS_PER_PROVIDER


def load_inventory(path: Path, *, display: str | None = None) -> Inventory:
    """Read, validate and convert an inventory file. Raises InputError listing every problem."""
    return read_inventory(load_yaml(path, display=display), path)


def read_inventory(doc: YamlDocument, path: Path) -> Inventory:
    """Validate and convert an inventory already read from `path` (relative file paths in it
    are relative to `path`'s folder). Raises InputError listing every problem."""
    return _Reader(doc, path).inventory()


class _Reader(AddressReader):
    # -- sections ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        raw = self.doc.data
        if isinstance(raw, dict):
            for key in MOVED_KEYS.keys() & raw.keys():
                self.problem(key, MOVED_KEYS[key])
            raw = {k: v for k, v in raw.items() if k not in MOVED_KEYS}
        data = self.mapping("", raw, TOP_KEYS)
        site = pair = None
        providers: list[Provider] = []
        if data is not None:
            if "site" in data:
                site = self.site(data["site"])
            if "pair" in data:
                pair = self.pair(data["pair"])
            if "providers" in data:
                providers = self.providers(data["providers"])
        if self.problems or site is None or pair is None:
            raise InputError(self.problems or [Problem(self.doc.file, None, "", "invalid")])
        return Inventory(
            source=Path(self.doc.file),
            digest="sha256:" + hashlib.sha256(self.doc.raw).hexdigest(),
            site=site,
            pair=pair,
            providers=tuple(providers),
            locations=dict(self.doc.lines),
        )

    def site(self, value: Any) -> Site | None:
        data = self.mapping("site", value, SITE_KEYS)
        if data is None:
            return None
        name = self.name("site.name", data.get("name")) if "name" in data else None
        description = self.text("site.description", data.get("description"), optional=True)
        return Site(name=name, description=description) if name is not None else None

    def pair(self, value: Any) -> Pair | None:
        data = self.mapping("pair", value, PAIR_KEYS)
        if data is None:
            return None
        primary = self.appliance("pair.primary", data.get("primary"), Side.PRIMARY)
        backup = self.appliance("pair.backup", data.get("backup"), Side.BACKUP)
        failover = self.failover("pair.failover", data.get("failover", {}))
        if primary is not None and backup is not None and primary.name == backup.name:
            self.problem(
                "pair.backup.name",
                f"'{backup.name}' is also the primary's name (expected two different names)",
            )
        if primary is None or backup is None or failover is None:
            return None
        return Pair(primary=primary, backup=backup, failover=failover)

    def appliance(self, path: str, value: Any, side: Side) -> Appliance | None:
        if value is None:
            return None  # reported as a missing key
        data = self.mapping(path, value, APPLIANCE_KEYS)
        if data is None:
            return None
        name = self.name(join(path, "name"), data.get("name")) if "name" in data else None
        hostname = None
        if data.get("hostname") is not None:
            hostname = self.hostname(join(path, "hostname"), data["hostname"])
        self.text(join(path, "description"), data.get("description"), optional=True)
        addresses: list[Address] = []
        seen: dict[IPAddress, str] = {}
        items = []
        if "addresses" in data:
            items = self.sequence(
                join(path, "addresses"), data["addresses"], "address", allow_empty=False
            )
        for i, item in enumerate(items):
            item_path = join(join(path, "addresses"), i)
            address = self.address(item_path, item)
            if address is None:
                continue
            if address.ip in seen:
                self.problem(
                    join(item_path, "ip"),
                    f"{address.ip} is listed twice on this appliance (first at {seen[address.ip]}; "
                    "expected each address once)",
                )
                continue
            seen[address.ip] = join(item_path, "ip")
            addresses.append(address)
        health = None
        if data.get("health") is not None:
            health = read_health(self, join(path, "health"), data["health"])
            if health is None:
                return None
        if name is None or len(addresses) != len(items) or not items:
            return None
        return Appliance(
            name=name, side=side, addresses=tuple(addresses), hostname=hostname, health=health
        )

    def address(self, path: str, value: Any) -> Address | None:
        data = self.mapping(path, value, ADDRESS_KEYS)
        if data is None:
            return None
        interface = self.interface(join(path, "ip"), data["ip"]) if "ip" in data else None
        role = None
        if "role" in data:
            role = self.choice(join(path, "role"), data["role"], Role, [r.value for r in Role])
        enabled = True
        if "enabled" in data:
            flag = self.boolean(join(path, "enabled"), data["enabled"])
            enabled = True if flag is None else flag
        self.text(join(path, "description"), data.get("description"), optional=True)
        if interface is None or role is None:
            return None
        return Address(interface=interface, role=role, enabled=enabled)

    def failover(self, path: str, value: Any) -> Failover | None:
        data = self.mapping(path, value, FAILOVER_KEYS)
        if data is None:
            return None
        site_ip = None
        ok = True
        if data.get("site_instance_ip") is not None:
            raw = data["site_instance_ip"]
            if isinstance(raw, str) and "/" in raw:
                self.problem(
                    join(path, "site_instance_ip"),
                    f"{raw!r} has a prefix length (expected a plain address like 198.51.100.10)",
                )
                ok = False
            else:
                site_ip = self.ip_address(join(path, "site_instance_ip"), raw)
                ok = site_ip is not None
        peer_port = 443
        if "peer_port" in data:
            port = self.port(join(path, "peer_port"), data["peer_port"])
            ok = ok and port is not None
            peer_port = port if port is not None else peer_port
        return Failover(site_instance_ip=site_ip, peer_port=peer_port) if ok else None

    def providers(self, value: Any) -> list[Provider]:
        out: list[Provider] = []
        names: dict[str, str] = {}
        for i, item in enumerate(self.sequence("providers", value, "provider")):
            path = join("providers", i)
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name in names:
                self.problem(
                    join(path, "name"),
                    f"provider '{name}' is defined twice "
                    f"(first at {names[name]}; expected unique names)",
                )
            elif isinstance(name, str):
                names[name] = join(path, "name")
            provider = self.provider(path, item)
            if provider is not None:
                out.append(provider)
        return out

    def provider(self, path: str, value: Any) -> Provider | None:
        data = self.mapping(path, value, PROVIDER_KEYS)
        if data is None:
            return None
        before = len(self.problems)
        name = self.name(join(path, "name"), data.get("name")) if "name" in data else None
        kind = self.name(join(path, "kind"), data.get("kind")) if "kind" in data else None
        endpoints = []
        if "endpoints" in data:
            endpoints = self.endpoints(join(path, "endpoints"), data["endpoints"])
        ports = None
        if data.get("ports") is not None:
            ports = self.port_overrides(join(path, "ports"), data["ports"])
        tls_name = None
        if data.get("tls_name") is not None:
            tls_name = self.hostname(join(path, "tls_name"), data["tls_name"])
        base_dn = self.text(join(path, "base_dn"), data.get("base_dn"), optional=True)
        bind = None
        if data.get("bind") is not None:
            bind = self.bind(join(path, "bind"), data["bind"])
        ca_file = None
        if data.get("ca_file") is not None:
            ca_file = self.file_path(join(path, "ca_file"), data["ca_file"])
        starttls = False
        if data.get("starttls") is not None:
            starttls = bool(self.boolean(join(path, "starttls"), data["starttls"]))
        description = self.text(join(path, "description"), data.get("description"), optional=True)
        apps = appparams.read_all(self, path, data)
        if len(self.problems) != before or name is None or kind is None:
            return None
        return Provider(
            name=name,
            kind=kind.lower(),
            endpoints=tuple(endpoints),
            ports=ports,
            tls_name=tls_name,
            base_dn=base_dn,
            bind=bind,
            ca_file=ca_file,
            starttls=starttls,
            description=description,
            **apps,
        )

    def port_overrides(self, path: str, value: Any) -> tuple[PortOverride, ...] | None:
        items = self.sequence(path, value, "port like 636 or 88/udp", allow_empty=False)
        if len(items) > MAX_PORTS_PER_PROVIDER:
            self.problem(
                path,
                f"{len(items)} ports (expected at most {MAX_PORTS_PER_PROVIDER} per provider)",
            )
            return None
        out: list[PortOverride] = []
        for i, item in enumerate(items):
            item_path = join(path, i)
            if isinstance(item, int) and not isinstance(item, bool):
                port = self.port(item_path, item)
                if port is not None:
                    out.append(PortOverride(port=port))
                continue
            parsed = port_text(item) if isinstance(item, str) else None
            if parsed is None:
                self.problem(item_path, f"expected a port like 636 or 88/udp, got {show(item)}")
                continue
            proto = Protocol(parsed[1]) if parsed[1] else None
            out.append(PortOverride(port=parsed[0], protocol=proto))
        if len(set(out)) != len(out):
            self.problem(path, "a port is listed twice (expected each once)")
        return tuple(out) if len(out) == len(items) else None

    def bind(self, path: str, value: Any) -> BindSpec | None:
        value, refused = refuse_literals(self, path, value, [("password", BIND_PASSWORD)])
        data = self.mapping(path, value, BIND_KEYS)
        if data is None:
            return None
        dn = self.text(join(path, "dn"), data.get("dn")) if "dn" in data else None
        source = read_source(self, path, data, BIND_PASSWORD, required=BIND_PASSWORD not in refused)
        if dn is None or not source.ok:
            return None
        return BindSpec(dn=dn, password_env=source.env, password_file=source.file)
