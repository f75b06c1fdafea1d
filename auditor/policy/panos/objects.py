"""Names in a PAN-OS rule resolved to values: addresses (objects, static groups, literals),
services (objects, groups, predefined), applications (groups, the application table and the
configuration's own applications). Lookups go from the innermost scope out (vsys, then
shared; a device group, its ancestors, then shared), as PAN-OS resolves them.

What the configuration does not decide is unknown with why; what no firewall would have
committed (a bad address, a port out of range, a group that contains itself) is refused with
its line."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.errors import Problem
from auditor.policy.model import ANY, AddressSet, ServiceSet
from auditor.policy.panos.apps import parse_ports, port_spans, shipped_table
from auditor.policy.panos.xmlsource import line_of
from auditor.ruleset.model import Intervals

# The predefined services (PAN-OS `predefined/service`).
PREDEFINED_SERVICES = {"service-http": "tcp/80,8080", "service-https": "tcp/443"}
MAX_NESTING = 32
Resolver = Callable[[str], Sequence[str]]  # FQDN -> addresses (--resolve)


@dataclass(slots=True)
class _Addresses:
    v4: list[tuple[int, int]] = field(default_factory=list)
    v6: list[tuple[int, int]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    any: bool = False

    def add(self, other: _Addresses) -> None:
        self.v4 += other.v4
        self.v6 += other.v6
        self.unknown += other.unknown
        self.any = self.any or other.any

    def frozen(self) -> AddressSet:
        if self.any:
            return AddressSet(any=True)
        return AddressSet(False, Intervals(self.v4), Intervals(self.v6), tuple(self.unknown))


def system_resolver(name: str) -> Sequence[str]:
    """--resolve: the addresses the system resolver gives for an FQDN object."""
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return sorted({str(info[4][0]) for info in found})


def _ipv4(text: str) -> tuple[int, tuple[int, int]] | None:
    """The common case without netaddr: `a.b.c.d` or `a.b.c.d/n` (None: not of that shape)."""
    address, slash, length = text.partition("/")
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return None
    if slash and not (length.isascii() and length.isdigit() and int(length) <= 32):
        raise ValueError(f"address {text!r} (expected an address, a CIDR or a range)")
    octets = [int(p) for p in parts]
    if max(octets) > 255:
        raise ValueError(f"address {text!r} (expected an address, a CIDR or a range)")
    value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    host = (1 << (32 - int(length or 32))) - 1
    return 4, (value & ~host, (value & ~host) | host)


def literal_spans(text: str) -> tuple[int, tuple[int, int]] | None:
    """`10.0.0.1`, `10.0.0.0/24`, `10.0.0.1-10.0.0.9` (and IPv6) -> (version, span); None when
    the text is none of them. A malformed one raises ValueError."""
    if "-" not in text:
        fast = _ipv4(text)
        if fast is not None:
            return fast
    if "-" in text:
        low, _, high = text.partition("-")
        try:
            a, b = IPAddress(low.strip()), IPAddress(high.strip())
        except (AddrFormatError, ValueError):
            return None
        if a.version != b.version or int(a) > int(b):
            raise ValueError(f"range {text!r} (expected LOW-HIGH of one IP version, LOW <= HIGH)")
        return a.version, (int(a), int(b))
    if not any(ch.isdigit() for ch in text) or not all(
        ch in "0123456789abcdefABCDEF.:/" for ch in text
    ):
        return None
    try:
        net = IPNetwork(text)
    except (AddrFormatError, ValueError):
        raise ValueError(f"address {text!r} (expected an address, a CIDR or a range)") from None
    return net.version, (int(net.first), int(net.last))


class Objects:
    """Address, service and application names of one scope chain (innermost first)."""

    def __init__(
        self,
        scopes: Sequence[tuple[str, Element]],
        source: str,
        problems: list[Problem],
        resolver: Resolver | None = None,
    ) -> None:
        self.scopes = scopes  # (label, element): ("vsys1", <entry>), ("shared", <shared>)
        self.source = source
        self.problems = problems
        self.resolver = resolver
        self.names = " or ".join(label for label, _ in scopes)
        self._index: dict[str, dict[str, Element]] = {}
        self._addresses: dict[str, _Addresses] = {}
        self._address_sets: dict[tuple[str, ...], AddressSet] = {}
        self._service_sets: dict[tuple[str, ...], ServiceSet] = {}
        self.applications = shipped_table()
        self.unknown_applications: dict[str, str] = {}
        self._own_applications()

    def entries(self, kind: str) -> dict[str, Element]:
        got = self._index.get(kind)
        if got is None:
            got = {}
            for _, scope in reversed(self.scopes):  # inner scopes override outer names
                for entry in scope.findall(f"{kind}/entry"):
                    got[entry.get("name", "")] = entry
            self._index[kind] = got
        return got

    def problem(self, element: Element | None, field_name: str, message: str) -> None:
        line = line_of(element) if element is not None else 0
        self.problems.append(Problem(self.source, line, field_name, message))

    # addresses -------------------------------------------------------------------------------

    def addresses(self, members: Sequence[Element], field_name: str) -> AddressSet:
        names = tuple((member.text or "").strip() for member in members)
        got = self._address_sets.get(names)  # rules share their sources and destinations
        if got is not None:
            return got
        out = _Addresses()
        for name, member in zip(names, members, strict=True):
            if name == ANY:
                out.any = True
            else:
                out.add(self._address(name, member, field_name, ()))
        got = self._address_sets[names] = out.frozen()
        return got

    def _address(
        self, name: str, at: Element, field_name: str, seen: tuple[str, ...]
    ) -> _Addresses:
        cached = self._addresses.get(name)
        if cached is not None:
            return cached
        out = _Addresses()
        objects, groups = self.entries("address"), self.entries("address-group")
        if name in objects:
            self._address_object(objects[name], name, out)
        elif name in groups:
            if name in seen or len(seen) > MAX_NESTING:
                chain = " > ".join((*seen, name))
                self.problem(groups[name], "address-group", f"contains itself: {chain}")
                return out
            self._group(groups[name], name, out, (*seen, name))
        elif name in self.entries("external-list"):
            out.unknown.append(f"external dynamic list {name}: its entries are fetched at runtime")
        elif name in self.entries("region") or (
            len(name) == 2 and name.isalpha() and name.isupper()
        ):
            out.unknown.append(f"region {name}: its addresses are not in the configuration")
        else:
            try:
                found = literal_spans(name)
            except ValueError as exc:
                self.problem(at, field_name, str(exc))
                return out
            if found is None:
                out.unknown.append(f"no address or address group named {name} in {self.names}")
            else:
                (out.v4 if found[0] == 4 else out.v6).append(found[1])
        self._addresses[name] = out
        return out

    def _address_object(self, entry: Element, name: str, out: _Addresses) -> None:
        for kind in ("ip-netmask", "ip-range"):
            value = entry.findtext(kind)
            if value is not None:
                try:
                    found = literal_spans(value.strip())
                except ValueError as exc:
                    self.problem(entry.find(kind), f"address {name} {kind}", str(exc))
                    return
                if found is None:
                    message = f"{value.strip()!r} (expected an address, a CIDR or a range)"
                    self.problem(entry.find(kind), f"address {name} {kind}", message)
                    return
                (out.v4 if found[0] == 4 else out.v6).append(found[1])
                return
        fqdn = entry.findtext("fqdn")
        if fqdn is not None:
            if self.resolver is None:
                out.unknown.append(f"address {name} is the FQDN {fqdn.strip()} (give --resolve)")
                return
            resolved = self.resolver(fqdn.strip())
            if not resolved:
                out.unknown.append(f"address {name}: the FQDN {fqdn.strip()} did not resolve")
            for text in resolved:
                address = IPAddress(text)
                (out.v4 if address.version == 4 else out.v6).append((int(address), int(address)))
            return
        if entry.find("ip-wildcard") is not None:
            out.unknown.append(f"address {name} is an ip-wildcard mask (not modelled)")
            return
        out.unknown.append(f"address {name} has no ip-netmask, ip-range or fqdn")

    def _group(self, entry: Element, name: str, out: _Addresses, seen: tuple[str, ...]) -> None:
        if entry.find("dynamic") is not None:
            out.unknown.append(
                f"address group {name} is dynamic (its members are tagged at runtime)"
            )
            return
        for member in entry.findall("static/member"):
            out.add(self._address((member.text or "").strip(), member, "address-group", seen))

    # services --------------------------------------------------------------------------------

    def services(self, members: Sequence[Element]) -> ServiceSet:
        key = tuple((m.text or "").strip() for m in members)
        got = self._service_sets.get(key)
        if got is None:
            got = self._service_sets[key] = self._services_of(list(key) or [ANY], members)
        return got

    def _services_of(self, names: list[str], members: Sequence[Element]) -> ServiceSet:
        if ANY in names:
            return ServiceSet(any=True)
        if "application-default" in names:
            return ServiceSet(app_default=True)
        ports: dict[str, list[tuple[int, int]]] = {}
        unknown: list[str] = []
        for name, member in zip(names, members, strict=False):
            self._service(name, member, ports, unknown, ())
        return ServiceSet(
            ports={p: Intervals(spans) for p, spans in ports.items()}, unknown=tuple(unknown)
        )

    def _service(
        self,
        name: str,
        at: Element,
        ports: dict[str, list[tuple[int, int]]],
        unknown: list[str],
        seen: tuple[str, ...],
    ) -> None:
        objects, groups = self.entries("service"), self.entries("service-group")
        if name in objects:
            self._service_object(objects[name], name, ports, unknown)
        elif name in groups:
            if name in seen or len(seen) > MAX_NESTING:
                chain = " > ".join((*seen, name))
                self.problem(groups[name], "service-group", f"contains itself: {chain}")
                return
            for member in groups[name].findall("members/member"):
                self._service((member.text or "").strip(), member, ports, unknown, (*seen, name))
        elif name in PREDEFINED_SERVICES:
            for proto, spans in parse_ports(PREDEFINED_SERVICES[name]).items():
                ports.setdefault(proto, []).extend(spans)
        else:
            unknown.append(f"no service or service group named {name} in {self.names}")

    def _service_object(
        self,
        entry: Element,
        name: str,
        ports: dict[str, list[tuple[int, int]]],
        unknown: list[str],
    ) -> None:
        protocol = entry.find("protocol")
        kinds = list(protocol) if protocol is not None else []
        if not kinds:
            self.problem(entry, f"service {name}", "no protocol (expected tcp, udp or sctp)")
            return
        kind = kinds[0]
        try:
            spans = port_spans(kind.findtext("port", "").strip())
            source = kind.findtext("source-port")
            if source is not None and port_spans(source.strip()) not in (
                [(0, 65535)],
                [(1, 65535)],
            ):
                unknown.append(
                    f"service {name} matches source port {source.strip()} (the flow's source "
                    "port is the system's choice)"
                )
        except ValueError as exc:
            port = kind.find("port")
            self.problem(
                port if port is not None else kind, f"service {name} {kind.tag} port", str(exc)
            )
            return
        ports.setdefault(kind.tag, []).extend(spans)

    # applications ----------------------------------------------------------------------------

    def _own_applications(self) -> None:
        """Applications the configuration defines, with their default ports, join the table."""
        for name, entry in self.entries("application").items():
            members = [(m.text or "").strip() for m in entry.findall("default/port/member")]
            try:
                spans = parse_ports(" ".join(members)) if members else {}
            except ValueError as exc:
                self.problem(entry, f"application {name} default port", str(exc))
                continue
            if spans:
                self.applications[name] = {p: Intervals(s) for p, s in spans.items()}
            else:
                self.unknown_applications[name] = "a custom application without default ports"
        for name in self.entries("application-filter"):
            self.unknown_applications[name] = "an application filter (decided by App-ID tags)"

    def application_names(self, members: Sequence[Element]) -> tuple[str, ...]:
        """`any`, or the application names with groups expanded."""
        names: list[str] = []
        groups = self.entries("application-group")
        todo = [(m.text or "").strip() for m in members] or [ANY]
        if ANY in todo:
            return (ANY,)
        seen: set[str] = set()
        while todo:
            name = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            if name in groups:
                todo += [(m.text or "").strip() for m in groups[name].findall("members/member")]
            else:
                names.append(name)
        return tuple(dict.fromkeys(names))
