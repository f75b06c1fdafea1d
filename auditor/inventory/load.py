"""Load and validate a pair inventory (YAML) into the model. Validation happens here, once.

Every problem in the file is collected and reported at once, one line each, as
`FILE:LINE: field.path: what is wrong (what was expected)`. The field checks live in
auditor.inventory.fields (shapes) and .addresses (addresses, endpoints); this module reads
the sections, key by key as their definition (auditor.model.inventory_spec) says
(auditor.inventory.sections.read_keys), into the model's dataclasses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from netaddr import IPAddress

from auditor.documents.yamlsource import YamlDocument, join, load_yaml
from auditor.errors import InputError, Problem
from auditor.inventory import appparams
from auditor.inventory.addresses import AddressReader
from auditor.inventory.fields import show
from auditor.inventory.healthspec import read_health  # HEALTH_KEYS, the health: table, lives there
from auditor.inventory.secretsource import read_source, refuse_literals
from auditor.inventory.sections import read_keys
from auditor.model import inventory_spec as spec
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
from auditor.textout import quoted
from auditor.values import port_text

# The keys each mapping accepts (name -> required), read from the inventory's one definition,
# auditor.model.inventory_spec, from which its JSON Schema is generated too.
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
        fields: dict[str, Any] = {}
        if data is not None:
            fields = read_keys(
                self,
                "",
                data,
                spec.INVENTORY,
                site=lambda _path, v: self.site(v),
                pair=lambda _path, v: self.pair(v),
                providers=lambda _path, v: tuple(self.providers(v)),
            )
        if self.problems or "site" not in fields or "pair" not in fields:
            raise InputError(self.problems or [Problem(self.doc.file, None, "", "invalid")])
        return Inventory(
            source=Path(self.doc.file),
            digest="sha256:" + hashlib.sha256(self.doc.raw).hexdigest(),
            **{"providers": (), **fields},
            locations=dict(self.doc.lines),
        )

    def site(self, value: Any) -> Site | None:
        data = self.mapping("site", value, SITE_KEYS)
        if data is None:
            return None
        fields = read_keys(self, "site", data, spec.SITE)
        return Site(**fields) if "name" in fields else None

    def pair(self, value: Any) -> Pair | None:
        data = self.mapping("pair", value, PAIR_KEYS)
        if data is None:
            return None
        fields = read_keys(
            self,
            "pair",
            data,
            spec.PAIR,
            primary=lambda path, v: self.appliance(path, v, Side.PRIMARY),
            backup=lambda path, v: self.appliance(path, v, Side.BACKUP),
            failover=self.failover,
        )
        primary, backup = fields.get("primary"), fields.get("backup")
        if primary is not None and backup is not None and primary.name == backup.name:
            self.problem(
                "pair.backup.name",
                f"'{backup.name}' is also the primary's name (expected two different names)",
            )
        if primary is None or backup is None or ("failover" in data) != ("failover" in fields):
            return None
        return Pair(**fields)

    def appliance(self, path: str, value: Any, side: Side) -> Appliance | None:
        if value is None:
            return None  # reported as a missing key
        data = self.mapping(path, value, APPLIANCE_KEYS)
        if data is None:
            return None
        fields = read_keys(
            self,
            path,
            data,
            spec.APPLIANCE,
            addresses=self.addresses,
            health=lambda health_path, v: read_health(self, health_path, v),
        )
        if data.get("health") is not None and "health" not in fields:
            return None
        if "name" not in fields or "addresses" not in fields:
            return None
        return Appliance(side=side, **fields)

    def addresses(self, path: str, value: Any) -> tuple[Address, ...] | None:
        """An appliance's addresses, each once; None when any is wrong or there are none."""
        items = self.sequence(path, value, "address", allow_empty=False)
        addresses: list[Address] = []
        seen: dict[IPAddress, str] = {}
        for i, item in enumerate(items):
            item_path = join(path, i)
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
        return tuple(addresses) if items and len(addresses) == len(items) else None

    def address(self, path: str, value: Any) -> Address | None:
        data = self.mapping(path, value, ADDRESS_KEYS)
        if data is None:
            return None
        fields = read_keys(
            self,
            path,
            data,
            spec.ADDRESS,
            role=lambda role_path, v: self.choice(role_path, v, Role, [r.value for r in Role]),
        )
        return Address(**fields) if "interface" in fields and "role" in fields else None

    def failover(self, path: str, value: Any) -> Failover | None:
        data = self.mapping(path, value, FAILOVER_KEYS)
        if data is None:
            return None
        before = len(self.problems)
        fields = read_keys(self, path, data, spec.FAILOVER, site_instance_ip=self.site_instance_ip)
        return Failover(**fields) if len(self.problems) == before else None

    def site_instance_ip(self, path: str, value: Any) -> IPAddress | None:
        if isinstance(value, str) and "/" in value:
            self.problem(
                path,
                f"{quoted(value)} has a prefix length (expected a plain address like "
                "198.51.100.10)",
            )
            return None
        return self.ip_address(path, value)

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
        before = len(self.problems)  # a missing key too: no provider is built without it
        data = self.mapping(path, value, PROVIDER_KEYS)
        if data is None:
            return None
        fields = read_keys(
            self,
            path,
            data,
            spec.PROVIDER,
            endpoints=lambda endpoints_path, v: tuple(self.endpoints(endpoints_path, v)),
            ports=self.port_overrides,
            bind=self.bind,
            radius=lambda app_path, v: appparams.read_radius(self, app_path, v),
            kerberos=lambda app_path, v: appparams.read_kerberos(self, app_path, v),
            dns=lambda app_path, v: appparams.read_dns(self, app_path, v),
        )
        if len(self.problems) != before or "name" not in fields or "kind" not in fields:
            return None
        return Provider(**{**fields, "kind": fields["kind"].lower()})

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
        fields = read_keys(self, path, data, spec.BIND)
        source = read_source(self, path, data, BIND_PASSWORD, required=BIND_PASSWORD not in refused)
        if "dn" not in fields or not source.ok:
            return None
        return BindSpec(**fields, password_env=source.env, password_file=source.file)
