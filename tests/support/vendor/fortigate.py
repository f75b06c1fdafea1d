"""FortiOS CLI (FortiOS CLI reference, 7.x): `config firewall address|address6|addrgrp|addrgrp6|
service custom|policy`, `edit NAME|ID`, `set FIELD VALUE...`, `next`, `end`, and `move ID
before|after ID` inside `config firewall policy`. `#` starts a comment line."""

from __future__ import annotations

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


def _parse(text: str) -> tuple[dict[str, dict[str, dict[str, list[str]]]], list[list[str]]]:
    """{table: {entry: {field: values}}} and the move commands, in order."""
    tables: dict[str, dict[str, dict[str, list[str]]]] = {t: {} for t in _FIELDS}
    moves: list[list[str]] = []
    table: str | None = None
    entry: dict[str, list[str]] | None = None
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
                case ["edit", name]:
                    entry = {}
                    define(tables[table], name, entry)
                case ["end"]:
                    table = None
                case ["move", a, ("before" | "after"), b] if table == "policy":
                    moves.append([a, w[2], b])
                case _:
                    raise ReaderError(f"unexpected in config {table}: {line!r}")
        else:
            match w:
                case ["set", key, *values] if key in _FIELDS[table] and values:
                    if key in entry:
                        raise ReaderError(f"{key} set twice")
                    entry[key] = values
                case ["next"]:
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


def read(text: str, intf: tuple[str, str] = ("any", "any")) -> Policy:
    tables, moves = _parse(text)
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
        if fields.get("protocol", ["TCP/UDP/SCTP"]) != ["TCP/UDP/SCTP"]:
            raise ReaderError(f"service {name}: unexpected protocol")
        kinds = [k for k in ("tcp-portrange", "udp-portrange") if k in fields]
        if len(kinds) != 1:
            raise ReaderError(f"service {name}: one of tcp-/udp-portrange expected")
        ranges = tuple(port_range(r) for r in fields[kinds[0]])
        services[name] = (kinds[0][:3], ranges)
    policy = Policy(objects=set(nets[4]) | set(nets[6]) | set(services))
    for pid, f in tables["policy"].items():
        if not pid.isdigit():
            raise ReaderError(f"policy id {pid!r}")
        policy.objects.add(pid)
        if f.get("srcintf") != [intf[0]] or f.get("dstintf") != [intf[1]]:
            raise ReaderError(f"policy {pid}: interfaces {f.get('srcintf')} {f.get('dstintf')}")
        if f.get("action") != ["accept"] or f.get("schedule") != ["always"]:
            continue
        family = 6 if "srcaddr6" in f else 4
        src, dst = ("srcaddr6", "dstaddr6") if family == 6 else ("srcaddr", "dstaddr")
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
        lookup(tables["policy"], a, "policy")
        policy.placement[a] = f"{how} {b}"
    return policy
