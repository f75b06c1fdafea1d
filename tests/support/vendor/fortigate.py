"""FortiOS CLI (FortiOS CLI reference, 7.x): `config firewall address|address6|addrgrp|addrgrp6|
service custom|policy`, `edit NAME|ID`, `set FIELD VALUE...`, `next`, `end`, and `move ID
before|after ID` inside `config firewall policy`. `#` starts a comment line.

Loading is cumulative, as on the device: `Device.load` applies one file to the configuration a
previous load left. `edit NAME` of an existing entry edits it (`set` replaces a field's values),
`edit 0` creates a policy with the next free ID (one above the highest), a policy whose name
another policy has is refused (policy names are unique per VDOM) and not saved. FortiOS 6.4
keeps IPv6 policies in `config firewall policy6` (srcaddr/dstaddr of address6 objects).

`Device.apply` follows the apply step of the FortiGate ticket for a change's two files: load
`fortigate.conf`; then `show firewall policy | grep -f PREFIX` (PREFIX as the policies file
states it): none listed, load `fortigate.policies.conf`; all listed, stop; some listed, delete
those by ID and load it. FortiOS has no delete by name: the IDs come from the listing."""

from __future__ import annotations

import re

from netaddr import IPAddress, IPNetwork

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

_TABLES = {
    ("address",): "address",
    ("address6",): "address6",
    ("addrgrp",): "addrgrp",
    ("addrgrp6",): "addrgrp6",
    ("service", "custom"): "service",
    ("policy",): "policy",
    ("policy6",): "policy6",
}
_FIELDS = {
    "address": {"subnet", "comment"},
    "address6": {"ip6", "comment"},
    "addrgrp": {"member", "comment"},
    "addrgrp6": {"member", "comment"},
    "service": {"protocol", "tcp-portrange", "udp-portrange", "comment"},
    "policy": {
        "name",
        "srcintf",
        "dstintf",
        "srcaddr",
        "dstaddr",
        "srcaddr6",
        "dstaddr6",
        "action",
        "schedule",
        "service",
        "logtraffic",
        "comments",
    },
}
_FIELDS["policy6"] = _FIELDS["policy"] - {"srcaddr6", "dstaddr6"}
_Tables = dict[str, dict[str, dict[str, list[str]]]]


def _parse(
    text: str, tables: _Tables | None = None, errors: list[str] | None = None
) -> tuple[_Tables, list[list[str]]]:
    """{table: {entry: {field: values}}} and the move commands, in order, applied to `tables`
    (a previous load's) when given; refused entries are listed in `errors`."""
    tables = tables if tables is not None else {t: {} for t in _FIELDS}
    errors = errors if errors is not None else []
    moves: list[list[str]] = []
    table: str | None = None
    entry: dict[str, list[str]] | None = None
    key = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        w = tokens(line)
        if table is None:
            if w[:2] != ["config", "firewall"] or tuple(w[2:]) not in _TABLES:
                raise ReaderError(f"expected config firewall ...: {line!r}")
            table = _TABLES[tuple(w[2:])]
        elif entry is None:
            match w:
                case ["edit", "0"] if table.startswith("policy"):
                    ids = [int(i) for t in ("policy", "policy6") for i in tables[t]]
                    key = str(max(ids, default=0) + 1)
                    entry = {}
                case ["edit", name] if table.startswith("policy") and not name.isdigit():
                    raise ReaderError(f"policy id {name!r}")
                case ["edit", name]:
                    key = name
                    entry = dict(tables[table].get(name, {}))
                case ["end"]:
                    table = None
                case ["move", a, ("before" | "after"), b] if table.startswith("policy"):
                    moves.append([a, w[2], b])
                case _:
                    raise ReaderError(f"unexpected in config {table}: {line!r}")
        else:
            match w:
                case ["set", field, *values] if field in _FIELDS[table] and values:
                    entry[field] = values
                case ["next"]:
                    name = entry.get("name", [""])[0] if table.startswith("policy") else ""
                    taken = [
                        i
                        for t in ("policy", "policy6")
                        for i, e in tables[t].items()
                        if name and e.get("name") == [name] and i != key
                    ]
                    if taken:
                        errors.append(f"policy name {name} is used by policy {taken[0]}")
                    else:
                        tables[table][key] = entry
                    entry = None
                case _:
                    raise ReaderError(f"unexpected in an entry of {table}: {line!r}")
    if table is not None or entry is not None:
        raise ReaderError("unterminated config block")
    return tables, moves


def _address(fields: dict[str, list[str]], family: int) -> IPNetwork:
    if family == 4:
        match fields.get("subnet"):
            case [ip, mask]:
                return network(f"{IPAddress(ip)}/{IPAddress(mask).netmask_bits()}", 4)
            case _:
                raise ReaderError(f"bad subnet {fields}")
    match fields.get("ip6"):
        case [cidr]:
            return network(cidr, 6)
        case _:
            raise ReaderError(f"bad ip6 {fields}")


class Device:
    """A FortiGate (one VDOM) that files are loaded into, one after the other."""

    def __init__(self, intf: tuple[str, str] = ("any", "any")) -> None:
        self.intf = intf
        self.tables: _Tables = {t: {} for t in _FIELDS}
        self.errors: list[str] = []
        self.moves: list[list[str]] = []

    def load(self, text: str) -> Device:
        _, moves = _parse(text, self.tables, self.errors)
        self.moves += moves
        return self

    def policy(self) -> Policy:
        return _policy(self.tables, self.moves, self.intf)

    def listed(self, prefix: str) -> list[tuple[str, str]]:
        """(table, id) of each policy `show firewall policy | grep -f PREFIX` shows."""
        return [
            (t, pid)
            for t in ("policy", "policy6")
            for pid, fields in self.tables[t].items()
            if prefix in fields.get("name", [""])[0]
        ]

    def apply(self, files: dict[str, str]) -> Device:
        """The ticket's apply step (module docstring)."""
        self.load(files["fortigate.conf"])
        policies = files.get("fortigate.policies.conf")
        if policies is None:
            return self
        found = re.search(r"grep -f (\S+)` lists", policies)
        if found is None:
            raise ReaderError("the policies file names no grep prefix")
        names = re.findall(r'^\s+set name "([^"]+)"$', policies, re.MULTILINE)
        if not names or not all(n.startswith(found[1]) for n in names):
            raise ReaderError(f"policy names {names} do not start with {found[1]}")
        listed = self.listed(found[1])
        if len(listed) == len(names):
            return self
        for table, pid in listed:
            del self.tables[table][pid]
        return self.load(policies)

    def policy_named(self, name: str) -> tuple[str, str, dict[str, list[str]]]:
        """(table, id, fields) of the policy of this name."""
        for t in ("policy", "policy6"):
            for pid, fields in self.tables[t].items():
                if fields.get("name") == [name]:
                    return t, pid, fields
        raise KeyError(name)


def read(text: str, intf: tuple[str, str] = ("any", "any")) -> Policy:
    tables, moves = _parse(text)
    return _policy(tables, moves, intf)


def _policy(tables: _Tables, moves: list[list[str]], intf: tuple[str, str]) -> Policy:
    nets: dict[int, dict[str, list[IPNetwork]]] = {4: {}, 6: {}}
    for family, addr, grp in ((4, "address", "addrgrp"), (6, "address6", "addrgrp6")):
        for name, fields in tables[addr].items():
            nets[family][name] = [_address(fields, family)]
        for name, fields in tables[grp].items():
            members = fields.get("member", [])
            found = [lookup(nets[family], m, f"{addr} member") for m in members]
            define(nets[family], name, [n for f in found for n in f])  # type: ignore[attr-defined]
    services: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {}
    for name, fields in tables["service"].items():
        # the default protocol type of a custom service: TCP/UDP/SCTP (7.6: with UDP-Lite)
        if fields.get("protocol", ["TCP/UDP/SCTP"])[0] not in (
            "TCP/UDP/SCTP",
            "TCP/UDP/UDP-Lite/SCTP",
        ):
            raise ReaderError(f"service {name}: unexpected protocol")
        kinds = [k for k in ("tcp-portrange", "udp-portrange") if k in fields]
        if len(kinds) != 1:
            raise ReaderError(f"service {name}: one of tcp-/udp-portrange expected")
        ranges = tuple(port_range(r) for r in fields[kinds[0]])
        services[name] = (kinds[0][:3], ranges)
    policy = Policy(objects=set(nets[4]) | set(nets[6]) | set(services))
    for table in ("policy", "policy6"):
        for pid, f in tables[table].items():
            policy.objects.add(pid)
            if f.get("srcintf") != [intf[0]] or f.get("dstintf") != [intf[1]]:
                raise ReaderError(f"policy {pid}: interfaces {f.get('srcintf')} {f.get('dstintf')}")
            if f.get("action") != ["accept"] or f.get("schedule") != ["always"]:
                continue
            family = 6 if "srcaddr6" in f or table == "policy6" else 4
            src, dst = ("srcaddr6", "dstaddr6") if "srcaddr6" in f else ("srcaddr", "dstaddr")
            if set(f) & {"srcaddr", "dstaddr", "srcaddr6", "dstaddr6"} != {src, dst}:
                raise ReaderError(f"policy {pid}: addresses of one family expected")
            svc = [lookup(services, s, "service") for s in f.get("service", [])]
            if len({s[0] for s in svc}) != 1:  # type: ignore[index]
                raise ReaderError(f"policy {pid}: one protocol expected")
            policy.rules.append(
                Allow(
                    pid,
                    tuple(n for a in f[src] for n in lookup(nets[family], a, src)),  # type: ignore[attr-defined]
                    tuple(n for a in f[dst] for n in lookup(nets[family], a, dst)),  # type: ignore[attr-defined]
                    svc[0][0],  # type: ignore[index]
                    tuple(r for s in svc for r in s[1]),  # type: ignore[index]
                )
            )
    for a, how, b in moves:
        if a not in tables["policy"] and a not in tables["policy6"]:
            raise ReaderError(f"policy {a} is not defined")
        policy.placement[a] = f"{how} {b}"
    return policy
