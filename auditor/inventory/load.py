"""Load and validate a pair inventory (YAML) into the model. Validation happens here, once.

Every problem in the file is collected and reported at once, one line each, as
`FILE:LINE: field.path: what is wrong (what was expected)`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.errors import InputError, Problem
from auditor.health.spec import read_health  # HEALTH_KEYS, the health: table, lives there
from auditor.inventory import appparams
from auditor.inventory.model import (
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
from auditor.inventory.yamlsource import YamlDocument, join, load_yaml
from auditor.values import (
    NAME_EXPECTED,
    has_control,
    is_env_name,
    is_hostname,
    is_name,
    port_text,
    prefix_length,
)

# The keys each mapping accepts: name -> required. tests/test_schema.py keeps the JSON Schema
# (auditor/schemas/inventory.schema.json) in step with these tables.
TOP_KEYS = {"site": True, "pair": True, "providers": True, "lab": False}
SITE_KEYS = {"name": True, "description": False}
PAIR_KEYS = {"primary": True, "backup": True, "failover": False}
APPLIANCE_KEYS = {
    "name": True,
    "hostname": False,
    "addresses": True,
    "description": False,
    "health": False,
}
ADDRESS_KEYS = {"ip": True, "role": True, "enabled": False, "description": False}
FAILOVER_KEYS = {"site_instance_ip": False, "peer_port": False}
PROVIDER_KEYS = {
    "name": True,
    "kind": True,
    "endpoints": True,
    "ports": False,
    "tls_name": False,
    "base_dn": False,
    "bind": False,
    "ca_file": False,
    "starttls": False,
    "description": False,
    "radius": False,
    "kerberos": False,
    "dns": False,
}
BIND_KEYS = {"dn": True, "password_env": False, "password_file": False}

# Names reach firewall comments, chain names, file names and shell commands in tickets:
# a conservative alphabet, refused at load rather than escaped in every output. The patterns
# live in auditor.values (one validation path per kind of value, matched whole).
MAX_TEXT = 200
MAX_NETWORK_HOSTS = 256
# Counted before anything is expanded: an inventory of a few KB must not become a million flows.
MAX_ENDPOINTS_PER_PROVIDER = 1024  # after networks are expanded to their hosts
MAX_PORTS_PER_PROVIDER = 64
# An appliance interface shorter than this is a typo (a /0 puts the whole Internet on-link).
MIN_INTERFACE_PREFIX = {4: 8, 6: 16}

T = TypeVar("T")


def load_inventory(path: Path, *, display: str | None = None) -> Inventory:
    """Read, validate and convert an inventory file. Raises InputError listing every problem."""
    doc = load_yaml(path, display=display)
    return _Reader(doc, path).inventory()


class _Reader:
    def __init__(self, doc: YamlDocument, path: Path) -> None:
        self.doc = doc
        self.base = path.resolve().parent
        self.problems: list[Problem] = []

    # -- reporting -----------------------------------------------------------------------

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(path), path, message))

    # -- generic shapes ------------------------------------------------------------------

    def mapping(self, path: str, value: Any, keys: Mapping[str, bool]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping with keys {_keys(keys)}, got {_kind(value)}")
            return None
        for key in value:
            if key not in keys:
                hint = difflib.get_close_matches(str(key), list(keys), n=1)
                expected = (
                    f"did you mean '{hint[0]}'?" if hint else f"expected one of {_keys(keys)}"
                )
                self.problem(join(path, key), f"unknown key ({expected})")
        for key, required in keys.items():
            if required and key not in value:
                self.problem(path, f"missing required key '{key}'")
        return value

    def sequence(self, path: str, value: Any, what: str, *, allow_empty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            self.problem(path, f"expected a list (of {what}), got {_kind(value)}")
            return []
        if not value and not allow_empty:
            self.problem(path, f"list is empty (expected at least one {what})")
        return value

    def text(self, path: str, value: Any, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.problem(path, f"expected a string, got {_kind(value)}")
            return None
        if has_control(value):
            self.problem(path, "contains a control character or line break (expected one line)")
            return None
        if len(value) > MAX_TEXT:
            self.problem(path, f"is {len(value)} characters long (expected at most {MAX_TEXT})")
            return None
        return value

    def name(self, path: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"expected a name ({NAME_EXPECTED}), got {_kind(value)}")
            return None
        if not is_name(value):
            shown = value if len(value) <= 40 and not has_control(value) else "this value"
            self.problem(path, f"'{shown}' is not a valid name (expected {NAME_EXPECTED})")
            return None
        return value

    def hostname(self, path: str, value: Any) -> str | None:
        if not is_hostname(value):
            self.problem(
                path, f"expected a DNS hostname like ad.corp.example.com, got {_show(value)}"
            )
            return None
        return value.rstrip(".").lower()

    def boolean(self, path: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {_show(value)}")
            return None
        return value

    def port(self, path: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.problem(path, f"expected a port number 1-65535, got {_show(value)}")
            return None
        return value

    def file_path(self, path: str, value: Any) -> Path | None:
        text = self.text(path, value)
        if text is None:
            return None
        if not text:
            self.problem(path, "is empty (expected a file path)")
            return None
        try:
            candidate = Path(text).expanduser()
        except RuntimeError:  # ~user of a user this host does not know
            self.problem(path, f"{_show(text)}: cannot expand '~' (no such user's home here)")
            return None
        return candidate if candidate.is_absolute() else self.base / candidate

    def choice(self, path: str, value: Any, enum: Callable[[str], T], names: list[str]) -> T | None:
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        hint = difflib.get_close_matches(str(value), names, n=1)
        extra = f"; did you mean '{hint[0]}'?" if hint else ""
        self.problem(path, f"{_show(value)} is not one of {', '.join(names)}{extra}")
        return None

    # -- addresses -----------------------------------------------------------------------

    def interface(self, path: str, value: Any) -> IPNetwork | None:
        """An appliance address: host address with its prefix length (198.51.100.11/24)."""
        if not isinstance(value, str) or "/" not in value:
            self.problem(
                path,
                f"expected an address with its prefix length, like 198.51.100.11/24 or "
                f"2001:db8::11/64, got {_show(value)}",
            )
            return None
        ip_text, _, mask_text = value.partition("/")
        ip = self.ip_address(path, ip_text, whole=value)
        if ip is None:
            return None
        limit = 32 if ip.version == 4 else 128
        low = MIN_INTERFACE_PREFIX[ip.version]
        prefix = prefix_length(mask_text, limit)
        if prefix is None or prefix < low:
            self.problem(
                path,
                f"bad prefix length {_show('/' + mask_text)} in {_show(value)} "
                f"(expected /{low} to /{limit}: the interface's own subnet)",
            )
            return None
        if not _usable(ip):
            self.problem(path, f"{ip} cannot be an appliance address ({_what(ip)})")
            return None
        net = IPNetwork(f"{ip}/{prefix}")
        if ip.version == 4 and net.prefixlen < 31 and ip in (net.network, net.broadcast):
            what = "network" if ip == net.network else "broadcast"
            self.problem(
                path, f"{ip} is the {what} address of {net.cidr} (expected a host address)"
            )
            return None
        return net

    def ip_address(self, path: str, value: Any, *, whole: Any = None) -> IPAddress | None:
        shown = whole if whole is not None else value
        if not isinstance(value, str) or not value:
            self.problem(path, f"expected an IP address, got {_show(shown)}")
            return None
        try:
            version = 6 if ":" in value else 4
            return IPAddress(value, version)
        except (AddrFormatError, ValueError, TypeError):
            self.problem(path, f"{_show(shown)} is not a valid IP address")
            return None

    def endpoint(self, path: str, value: Any, room: int = MAX_ENDPOINTS_PER_PROVIDER) -> list[str]:
        """An address, a hostname, or a network (no host bits) expanded to its hosts (at most
        `room` of them: the provider's endpoint budget, counted before expanding)."""
        if not isinstance(value, str) or not value:
            self.problem(path, f"expected an IP address or hostname, got {_show(value)}")
            return []
        if "/" in value:
            return self.endpoint_network(path, value, room)
        if ":" in value or re.fullmatch(r"[0-9.]+", value):
            ip = self.ip_address(path, value)
            if ip is not None and not _usable(ip):
                self.problem(path, f"{ip} cannot be a provider endpoint ({_what(ip)})")
                return []
            return [str(ip)] if ip is not None else []
        host = self.hostname(path, value)
        return [host] if host is not None else []

    def endpoint_network(self, path: str, value: str, room: int) -> list[str]:
        ip_text, _, mask_text = value.partition("/")
        ip = self.ip_address(path, ip_text, whole=value)
        if ip is None:
            return []
        limit = 32 if ip.version == 4 else 128
        prefix = prefix_length(mask_text, limit)
        if prefix is None:
            self.problem(
                path,
                f"bad prefix length {_show('/' + mask_text)} in {_show(value)} "
                f"(expected /0 to /{limit})",
            )
            return []
        net = IPNetwork(f"{ip}/{prefix}")
        if not _usable(ip) or ip.is_multicast():
            self.problem(path, f"{net.cidr} cannot hold provider endpoints ({_what(ip)})")
            return []
        if ip != net.network:
            self.problem(
                path,
                f"{value} has host bits set (expected the network {net.cidr}, "
                f"or the single host {ip} without a prefix length)",
            )
            return []
        if net.size > MAX_NETWORK_HOSTS:
            self.problem(
                path,
                f"network {net.cidr} holds {net.size} addresses (expected at most "
                f"{MAX_NETWORK_HOSTS}: list the provider's servers instead)",
            )
            return []
        hosts = net.size - 2 if net.size > 2 else net.size
        if hosts > room:
            self.problem(
                path,
                f"network {net.cidr} adds {hosts} endpoints to this provider, over its limit of "
                f"{MAX_ENDPOINTS_PER_PROVIDER} (expected the provider's servers, listed)",
            )
            return []
        return [str(h) for h in (net.iter_hosts() if net.size > 2 else net)]

    # -- sections ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        data = self.mapping("", self.doc.data, TOP_KEYS)
        site = pair = None
        providers: list[Provider] = []
        if data is not None:
            if "site" in data:
                site = self.site(data["site"])
            if "pair" in data:
                pair = self.pair(data["pair"])
            if "providers" in data:
                providers = self.providers(data["providers"])
            if "lab" in data and not isinstance(data["lab"], dict):
                self.problem("lab", f"expected a mapping, got {_kind(data['lab'])}")
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

    def endpoints(self, path: str, value: Any) -> list[str]:
        if value is None or value == []:
            self.problem(path, "no endpoints (expected at least one address or hostname)")
            return []
        items = self.sequence(path, value, "address or hostname", allow_empty=False)
        if len(items) > MAX_ENDPOINTS_PER_PROVIDER:
            self.problem(
                path,
                f"{len(items)} endpoints (expected at most {MAX_ENDPOINTS_PER_PROVIDER} per "
                "provider: split it into several providers)",
            )
            return []
        out: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            room = MAX_ENDPOINTS_PER_PROVIDER - len(out)
            before = len(self.problems)
            expanded = self.endpoint(join(path, i), item, room)
            if len(self.problems) > before and "over its limit" in self.problems[-1].message:
                break  # one line for the overflow, not one per network after it
            for endpoint in expanded:
                if endpoint in seen:
                    self.problem(
                        join(path, i), f"endpoint {endpoint} is listed twice (expected each once)"
                    )
                    continue
                seen.add(endpoint)
                out.append(endpoint)
        return out

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
                self.problem(item_path, f"expected a port like 636 or 88/udp, got {_show(item)}")
                continue
            proto = Protocol(parsed[1]) if parsed[1] else None
            out.append(PortOverride(port=parsed[0], protocol=proto))
        if len(set(out)) != len(out):
            self.problem(path, "a port is listed twice (expected each once)")
        return tuple(out) if len(out) == len(items) else None

    def bind(self, path: str, value: Any) -> BindSpec | None:
        literal = isinstance(value, dict) and "password" in value
        if literal:
            self.problem(
                join(path, "password"),
                "a literal password is refused: inventories end up in version control, tickets "
                "and reports (expected password_env: VARIABLE or password_file: PATH)",
            )
            value = {k: v for k, v in value.items() if k != "password"}
        data = self.mapping(path, value, BIND_KEYS)
        if data is None:
            return None
        dn = self.text(join(path, "dn"), data.get("dn")) if "dn" in data else None
        env = None
        if data.get("password_env") is not None:
            raw = data["password_env"]
            if is_env_name(raw):
                env = raw
            else:
                self.problem(
                    join(path, "password_env"),
                    # never echo it: a password pasted here by mistake must not reach a log
                    "is not an environment variable name (value not shown; expected a name "
                    "like AUDITOR_BIND_PASSWORD)",
                )
        pw_file = None
        if data.get("password_file") is not None:
            pw_file = self.file_path(join(path, "password_file"), data["password_file"])
        if "password_env" in data and "password_file" in data:
            self.problem(path, "both password_env and password_file are set (expected one)")
        elif "password_env" not in data and "password_file" not in data and not literal:
            self.problem(path, "no password source (expected password_env or password_file)")
        if dn is None:
            return None
        return BindSpec(dn=dn, password_env=env, password_file=pw_file)


def _keys(keys: Mapping[str, bool]) -> str:
    return ", ".join(keys)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _usable(ip: IPAddress) -> bool:
    """Not an address that is never a host: unspecified, limited broadcast, multicast."""
    return not (ip.value == 0 or ip == IPAddress("255.255.255.255") or ip.is_multicast())


def _what(ip: IPAddress) -> str:
    if ip.value == 0:
        return "the unspecified address"
    if ip.is_multicast():
        return "a multicast address"
    if ip == IPAddress("255.255.255.255"):
        return "the limited broadcast address"
    return "not a host address"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if value is None:
        return "nothing"
    return _kind(value) if isinstance(value, list | dict) else repr(value)
