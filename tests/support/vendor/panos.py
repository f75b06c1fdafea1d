"""PAN-OS configuration-mode `set` / `move` commands (PAN-OS CLI reference: `set address NAME
ip-netmask`, `set address-group NAME static [ ... ]`, `set service NAME protocol tcp|udp port
LIST`, `set rulebase security rules NAME from/to/source/destination/application/service/action`,
`move rulebase security rules NAME top|bottom|before|after`; Panorama: the same under
`device-group DG`, rules in `pre-rulebase`)."""

from __future__ import annotations

from netaddr import IPNetwork

from support.vendor.common import (
    Allow,
    Policy,
    ReaderError,
    define,
    lookup,
    network,
    port_range,
    tokens,
)

_RULE_KEYS = ("from", "to", "source", "destination", "application", "service", "action")


def _values(words: list[str], at: int) -> tuple[list[str], int]:
    """One value or a `[ a b ]` list starting at `at`; returns the values and the next index."""
    if words[at] != "[":
        return [words[at]], at + 1
    end = words.index("]", at)
    return words[at + 1 : end], end + 1


class _State:
    def __init__(self, device_group: str | None, zones: tuple[str, str]) -> None:
        self.scope = ["device-group", device_group] if device_group else []
        self.rulebase = "pre-rulebase" if device_group else "rulebase"
        self.zones = zones
        self.addresses: dict[str, IPNetwork] = {}
        self.groups: dict[str, list[str]] = {}
        self.services: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
        self.rules: dict[str, dict[str, list[str]]] = {}
        self.policy = Policy()

    def resolve(self, name: str) -> list[IPNetwork]:
        if name in self.addresses:
            return [self.addresses[name]]
        members = lookup(self.groups, name, "address or group")
        return [n for m in members for n in self.resolve(m)]  # type: ignore[union-attr]


def _set(st: _State, w: list[str]) -> None:
    match w:
        case ["address", name, "ip-netmask", cidr]:
            define(st.addresses, name, network(cidr))
        case ["address-group", name, "static", "[", *rest] if rest and rest[-1] == "]":
            members = rest[:-1]
            if not members or "[" in members or "]" in members:
                raise ReaderError(f"bad member list of {name}")
            define(st.groups, name, members)
        case ["address-group", name, "description", _]:
            lookup(st.groups, name, "address-group")
        case ["service", name, "protocol", ("tcp" | "udp") as proto, "port", ports]:
            define(st.services, name, (proto, tuple(port_range(p) for p in ports.split(","))))
        case [st.rulebase, "security", "rules", name, "description", _]:
            lookup(st.rules, name, "rule")
        case [st.rulebase, "security", "rules", name, *rest]:
            fields: dict[str, list[str]] = {}
            i = 0
            while i < len(rest):
                key = rest[i]
                if key not in _RULE_KEYS or key in fields:
                    raise ReaderError(f"rule {name}: unexpected {key!r}")
                fields[key], i = _values(rest, i + 1)
            if set(fields) != set(_RULE_KEYS):
                raise ReaderError(f"rule {name}: missing {set(_RULE_KEYS) - set(fields)}")
            define(st.rules, name, fields)
        case _:
            raise ReaderError(f"unknown command: set {' '.join(w)}")


def _allow(st: _State, name: str, f: dict[str, list[str]]) -> Allow | None:
    if f["action"] != ["allow"]:
        return None
    if f["from"] != [st.zones[0]] or f["to"] != [st.zones[1]] or f["application"] != ["any"]:
        raise ReaderError(f"rule {name}: zones or application not as asked: {f}")
    services = [lookup(st.services, s, "service") for s in f["service"]]
    protos = {s[0] for s in services}  # type: ignore[index]
    if len(protos) != 1:
        raise ReaderError(f"rule {name}: one protocol per rule expected")
    return Allow(
        name,
        tuple(n for s in f["source"] for n in st.resolve(s)),
        tuple(n for d in f["destination"] for n in st.resolve(d)),
        protos.pop(),
        tuple(r for s in services for r in s[1]),  # type: ignore[index]
    )


def read(
    text: str, device_group: str | None = None, zones: tuple[str, str] = ("any", "any")
) -> Policy:
    st = _State(device_group, zones)
    for line in text.splitlines():
        if not line.strip():
            continue
        w = tokens(line)
        if w[: 1 + len(st.scope)] == ["set", *st.scope]:
            _set(st, w[1 + len(st.scope) :])
        elif w[: 1 + len(st.scope)] == ["move", *st.scope]:
            match w[1 + len(st.scope) :]:
                case [st.rulebase, "security", "rules", name, "top"]:
                    st.policy.placement[name] = "top"
                case [st.rulebase, "security", "rules", name, "before", other]:
                    st.policy.placement[name] = f"before {other}"
                case _:
                    raise ReaderError(f"unknown move: {line!r}")
            lookup(st.rules, name, "rule")
        else:
            raise ReaderError(f"unknown line: {line!r}")
    for name, fields in st.rules.items():
        allow = _allow(st, name, fields)
        if allow is not None:
            st.policy.rules.append(allow)
    st.policy.objects = set(st.addresses) | set(st.groups) | set(st.services) | set(st.rules)
    return st.policy
