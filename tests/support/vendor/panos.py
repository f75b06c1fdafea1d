"""PAN-OS configuration-mode `set` / `move` commands (PAN-OS CLI reference: `set address NAME
ip-netmask`, `set address-group NAME static [ ... ]`, `set service NAME protocol tcp|udp port
LIST`, `set rulebase security rules NAME from/to/source/destination/application/service/action`,
`move rulebase security rules NAME top|bottom|before|after`; Panorama: the same under
`device-group DG`, rules in `pre-rulebase`).

Loading is cumulative, as on the device: `Device.load` applies one file to the candidate
configuration a previous load left. `set` on an existing leaf replaces its value, `set` of a
member list adds the members to those there (PAN-OS merges lists; replacing takes `delete`
first), a rule's fields are merged the same way. Names follow the PAN-OS rule: letters, digits,
spaces, hyphens, underscores, at most 63 characters."""

from __future__ import annotations

import re

from netaddr import IPNetwork

from support.vendor.common import (
    Allow,
    Policy,
    ReaderError,
    lookup,
    network,
    port_range,
    tokens,
)

_RULE_KEYS = ("from", "to", "source", "destination", "application", "service", "action")
_RULE_EXTRA = ("log-end", "log-setting", "profile-setting", "tag")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,62}$")


def _named(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ReaderError(f"not a PAN-OS name: {name!r}")
    return name


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
        self.tags: set[str] = set()
        self.policy = Policy()

    def resolve(self, name: str) -> list[IPNetwork]:
        if name in self.addresses:
            return [self.addresses[name]]
        members = lookup(self.groups, name, "address or group")
        return [n for m in members for n in self.resolve(m)]  # type: ignore[union-attr]


def _merge(have: list[str], new: list[str]) -> list[str]:
    return have + [v for v in new if v not in have]


def _set(st: _State, w: list[str]) -> None:
    match w:
        case ["tag", name, "comments", _]:
            st.tags.add(_named(name))
        case ["address", name, "ip-netmask", cidr]:
            if name in st.groups:
                raise ReaderError(f"{name} is an address-group")
            st.addresses[_named(name)] = network(cidr)
        case ["address", name, "description", _]:
            lookup(st.addresses, name, "address")
        case ["address-group", name, "static", "[", *rest] if rest and rest[-1] == "]":
            members = rest[:-1]
            if not members or "[" in members or "]" in members:
                raise ReaderError(f"bad member list of {name}")
            if name in st.addresses:
                raise ReaderError(f"{name} is an address")
            for m in members:
                if m not in st.addresses and m not in st.groups:
                    raise ReaderError(f"address-group {name}: member {m} is not defined")
            st.groups[_named(name)] = _merge(st.groups.get(name, []), members)
        case ["address-group", name, "description", _]:
            lookup(st.groups, name, "address-group")
        case ["service", name, "protocol", ("tcp" | "udp") as proto, "port", ports]:
            st.services[_named(name)] = (proto, tuple(port_range(p) for p in ports.split(",")))
        case ["service", name, "description", _]:
            lookup(st.services, name, "service")
        case [st.rulebase, "security", "rules", name, "description", _]:
            lookup(st.rules, name, "rule")
        case [st.rulebase, "security", "rules", name, key, *value] if key in _RULE_EXTRA:
            rule = lookup(st.rules, name, "rule")
            match key, value:
                case (
                    ("log-end", ["yes"]) | ("log-setting", [_]) | ("profile-setting", ["group", _])
                ):
                    rule[key] = value  # type: ignore[index]
                case ("tag", [tag]) if tag in st.tags:
                    rule["tag"] = _merge(rule.get("tag", []), [tag])  # type: ignore[union-attr]
                case _:
                    raise ReaderError(f"rule {name}: bad {key} {value}")
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
            have = st.rules.setdefault(_named(name), {})
            for key, values in fields.items():
                single = key == "action"
                have[key] = values if single else _merge(have.get(key, []), values)
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


class Device:
    """A PAN-OS candidate configuration that files are loaded into, one after the other."""

    def __init__(
        self, device_group: str | None = None, zones: tuple[str, str] = ("any", "any")
    ) -> None:
        self.st = _State(device_group, zones)
        self.order: list[str] = []  # the rulebase, top first

    def load(self, text: str) -> Device:
        st = self.st
        for line in text.splitlines():
            if not line.strip():
                continue
            w = tokens(line)
            if w[: 1 + len(st.scope)] == ["set", *st.scope]:
                _set(st, w[1 + len(st.scope) :])
                for name in st.rules:
                    if name not in self.order:
                        self.order.append(name)  # a new rule goes to the end
            elif w[: 1 + len(st.scope)] == ["move", *st.scope]:
                match w[1 + len(st.scope) :]:
                    case [st.rulebase, "security", "rules", name, "top"]:
                        st.policy.placement[name] = "top"
                        self.order.remove(name)
                        self.order.insert(0, name)
                    case [st.rulebase, "security", "rules", name, "before", other]:
                        st.policy.placement[name] = f"before {other}"
                        if other in self.order:
                            self.order.remove(name)
                            self.order.insert(self.order.index(other), name)
                    case _:
                        raise ReaderError(f"unknown move: {line!r}")
                lookup(st.rules, name, "rule")
            else:
                raise ReaderError(f"unknown line: {line!r}")
        return self

    def policy(self) -> Policy:
        st = self.st
        policy = Policy(placement=dict(st.policy.placement))
        for name in self.order:
            allow = _allow(st, name, st.rules[name])
            if allow is not None:
                policy.rules.append(allow)
        policy.objects = set(st.addresses) | set(st.groups) | set(st.services) | set(st.rules)
        return policy

    def rule(self, name: str) -> dict[str, list[str]]:
        return self.st.rules[name]


def read(
    text: str, device_group: str | None = None, zones: tuple[str, str] = ("any", "any")
) -> Policy:
    return Device(device_group, zones).load(text).policy()
