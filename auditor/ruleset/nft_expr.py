"""nft JSON expressions (libnftables-json(5)) as matches: the left side is a field of the packet,
the right side a value, prefix, range, anonymous or named set (intervals, concatenations)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange

from auditor.ruleset.matches import ADDRESS_TYPES, AddrType, proto_number
from auditor.ruleset.model import Answer, Intervals, Match, Packet, Target

Value = int | str | frozenset[str] | tuple[int, int]  # a tuple: the ephemeral source ports
Dim = tuple[int, int] | tuple[str, bool]  # numeric interval, or interface name + wildcard
Element = tuple[Dim, ...]
_PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "dccp": 33}
# Header fields of these protocols never match a packet of another protocol (nft adds the
# dependency): `icmp type` on a TCP flow is a non-match, not unknown.
_L4_HEADERS = {**_PORT_PROTOS, "icmp": 1, "icmpv6": 58, "igmp": 2, "esp": 50, "ah": 51}
_L4_HEADERS |= {"comp": 108}
_CT_NAMES = {"none": "invalid", "new": "new", "untracked": "untracked"}


class Unmodelled(ValueError):
    """An expression the evaluator does not model: the rule answers unknown."""


class Malformed(ValueError):
    """A value no `nft -j` listing holds (a bad address, a reversed range): bad input."""


_BOUNDS = {"port": 65535, "l4proto": 255}


@dataclass(frozen=True, slots=True)
class Field:
    """One packet field named by an nft expression."""

    kind: str  # addr, port, l4proto, nfproto, iface, ctstate, tcpflags, mark, l4only
    attr: str = ""  # source/destination, dport/sport, in/out
    version: int = 0  # addr (and ip protocol / ip6 nexthdr): the family dependency
    protocols: frozenset[int] | None = None  # port: the l4 dependency (None: th, any)
    mask: int = 0xFFFFFFFF  # mark: `meta mark & MASK`

    def value(self, p: Packet) -> Value | None:
        """The field's value, None when the expression's dependency fails (no match)."""
        if self.version and p.version != self.version:
            return None
        if self.kind == "addr":
            return p.source if self.attr == "source" else p.destination
        if self.kind == "port":
            if self.protocols is not None and p.proto_number not in self.protocols:
                return None
            port = p.dport if self.attr == "dport" else p.sport
            return port if port is not None else p.ephemeral
        if self.kind == "l4proto":
            return p.proto_number
        if self.kind == "nfproto":
            return p.version
        if self.kind == "iface":
            name = p.in_interface if self.attr == "in" else p.out_interface
            return name if name is not None else f"?{self.attr}"
        if self.kind == "ctstate":
            name = _CT_NAMES.get(p.ct)
            return frozenset({name}) if name else "?ct"
        if self.kind == "mark":
            if self.attr == "ct":  # no connection, no value: the rule breaks
                return p.ctmark & self.mask if p.ct == "new" else None
            return p.mark & self.mask
        if self.kind == "l4only":
            return "?l4" if self.protocols and p.proto_number in self.protocols else None
        if p.protocol != "tcp":
            return None
        return frozenset({"syn"})  # tcpflags of a connection's first packet


def parse_field(expr: object) -> Field:
    if isinstance(expr, dict) and "payload" in expr:
        proto, name = expr["payload"].get("protocol"), expr["payload"].get("field")
        if proto in ("ip", "ip6") and name in ("saddr", "daddr"):
            side = "source" if name == "saddr" else "destination"
            return Field("addr", side, 4 if proto == "ip" else 6)
        if (proto, name) in (("ip", "protocol"), ("ip6", "nexthdr")):
            return Field("l4proto", version=4 if proto == "ip" else 6)
        if name in ("dport", "sport") and (proto in _PORT_PROTOS or proto == "th"):
            protos = None if proto == "th" else frozenset({_PORT_PROTOS[proto]})
            return Field("port", name, protocols=protos)
        if (proto, name) == ("tcp", "flags"):
            return Field("tcpflags")
        if proto in _L4_HEADERS:
            return Field("l4only", f"{proto} {name}", protocols=frozenset({_L4_HEADERS[proto]}))
    if isinstance(expr, dict) and "meta" in expr:
        key = expr["meta"].get("key")
        if key == "l4proto":
            return Field("l4proto")
        if key == "nfproto":
            return Field("nfproto")
        if key in ("iifname", "oifname"):
            return Field("iface", "in" if key == "iifname" else "out")
        if key == "mark":
            return Field("mark", "meta")
        if key == "protocol":
            return Field("nfproto")
    ct = expr.get("ct") if isinstance(expr, dict) else None
    if isinstance(ct, dict) and ct.get("key") == "state" and ct.get("dir") is None:
        return Field("ctstate")
    if isinstance(ct, dict) and ct.get("key") == "mark" and ct.get("dir") is None:
        return Field("mark", "ct")
    raise Unmodelled(f"{render(expr)} is not modelled")


def parse_key(expr: object) -> tuple[Field, ...]:
    if isinstance(expr, dict) and "concat" in expr:
        return tuple(parse_field(e) for e in expr["concat"])
    if isinstance(expr, dict) and "&" in expr:
        inner, _mask = expr["&"]
        field = parse_field(inner)
        if field.kind == "mark" and type(_mask) is int:
            return (Field("mark", field.attr, mask=_mask & 0xFFFFFFFF),)
        if field.kind != "tcpflags":
            raise Unmodelled(f"{render(expr)} is not modelled")
        return (Field("tcpflags", attr=json.dumps(_mask)),)
    return (parse_field(expr),)


def _dim(field: Field, item: object) -> Dim:
    if isinstance(item, dict) and "elem" in item:
        item = item["elem"]["val"]
    if field.kind == "ctstate" and isinstance(item, str):
        return (item, False)  # a verdict map keyed on ct state
    if field.kind == "iface":
        if not isinstance(item, str):
            raise Unmodelled(f"interface {render(item)} is not modelled")
        return (item.rstrip("*"), item.endswith("*") and not item.endswith("\\*"))
    if isinstance(item, dict) and "range" in item:
        lo, hi = (_scalar(field, v) for v in item["range"])
        if lo > hi:
            raise Malformed(f"range {render(item)} ends before it starts")
        return (lo, hi)
    if isinstance(item, dict) and "prefix" in item:
        net = _network(field, item["prefix"])
        return (int(net.first), int(net.last))
    value = _scalar(field, item)
    return (value, value)


def _network(field: Field, prefix: object) -> IPNetwork:
    addr = prefix.get("addr") if isinstance(prefix, dict) else None
    length = prefix.get("len") if isinstance(prefix, dict) else None
    bits = 128 if field.version == 6 else 32
    if not isinstance(addr, str) or isinstance(length, bool) or not isinstance(length, int):
        raise Unmodelled(f"prefix {render(prefix)} is not modelled")
    if not 0 <= length <= bits:
        raise Malformed(f"prefix {render({'prefix': prefix})}: length out of range 0-{bits}")
    try:
        return IPNetwork(f"{addr}/{length}")
    except (AddrFormatError, ValueError):
        raise Malformed(f"prefix {render({'prefix': prefix})} is not an address") from None


def _address(field: Field, text: str) -> int:
    try:
        if "-" in text:
            return int(IPRange(*text.split("-", 1)).first)
        return int(IPAddress(text, field.version or None))
    except (AddrFormatError, ValueError):
        raise Malformed(f"{text} is not an IPv{field.version or ''} address") from None


def _scalar(field: Field, item: object) -> int:
    value = _number(field, item)
    bound = _BOUNDS.get(field.kind)
    if bound is not None and not 0 <= value <= bound:
        raise Malformed(f"{field.kind} {value} is out of range 0-{bound}")
    return value


def _number(field: Field, item: object) -> int:
    if field.kind == "addr" and isinstance(item, str):
        return _address(field, item)
    if field.kind == "l4proto":
        number = proto_number(str(item))
        if number is None:
            raise Unmodelled(f"protocol {item} is not modelled")
        return number
    if field.kind == "nfproto":
        return {"ipv4": 4, "ipv6": 6, "ip": 4, "ip6": 6}.get(str(item), 0)
    if isinstance(item, int) and not isinstance(item, bool):
        return item
    if isinstance(item, str) and item.isascii() and item.isdigit():
        return int(item)
    raise Unmodelled(f"value {render(item)} is not modelled")


def elements(fields: Sequence[Field], right: object, sets: Mapping[str, object]) -> list[Element]:
    """The right side of a match as elements: one Dim per field of the key."""
    if isinstance(right, str) and right.startswith("@"):
        named = sets.get(right[1:])
        if named is None:
            raise Unmodelled(f"set {right} is not in the ruleset")
        right = {"set": named}
    items = right["set"] if isinstance(right, dict) and "set" in right else [right]
    out = []
    for raw in items:
        item = raw["elem"]["val"] if isinstance(raw, dict) and "elem" in raw else raw
        parts = item["concat"] if isinstance(item, dict) and "concat" in item else [item]
        if len(parts) != len(fields):
            raise Unmodelled(f"{render(right)} does not fit a key of {len(fields)} fields")
        out.append(tuple(_dim(f, part) for f, part in zip(fields, parts, strict=True)))
    return out


def contains(element: Element, values: Sequence[Value]) -> Answer:
    for dim, value in zip(element, values, strict=True):
        if isinstance(value, tuple):  # the ephemeral source ports, all or none inside
            inside = Intervals([dim]).covers(*value)  # type: ignore[list-item]
            if inside is not True:
                return _unknown_value("?sport") if isinstance(inside, str) else False
        elif isinstance(value, str):
            if value.startswith("?"):
                return _unknown_value(value)
            name, wildcard = dim
            assert isinstance(name, str)
            if not (value.startswith(name) if wildcard else value == name):
                return False
        elif isinstance(value, int):
            lo, hi = dim
            assert isinstance(lo, int) and isinstance(hi, int)
            if not lo <= value <= hi:
                return False
    return True


def _unknown_value(value: str) -> str:
    if value == "?sport":
        return (
            "the rule matches part of the ephemeral source ports "
            "(pass --source-ports LOW-HIGH if the system's range differs)"
        )
    if value == "?l4":
        return "a header field of the flow's own protocol is not modelled"
    if value == "?ct":
        return "a base chain at priority -200 runs beside conntrack: its state is unknown"
    option = "--in-interface" if value == "?in" else "--out-interface"
    return f"the rule depends on the {value[1:]}put interface (pass {option})"


@dataclass(frozen=True, slots=True)
class NftMatch:
    fields: tuple[Field, ...]
    op: str
    elements: tuple[Element, ...]
    flags: frozenset[str]  # ct state / tcp flags names on the right
    lookup: Intervals | None  # one numeric field, many elements: bisect

    def test(self, packet: Packet) -> Answer:
        values = [f.value(packet) for f in self.fields]
        if any(v is None for v in values):
            return False
        if self.fields[0].kind == "l4only" or values[0] == "?ct":
            return _unknown_value(str(values[0]))
        if self.fields[0].kind in ("ctstate", "tcpflags"):
            return self._flags(values[0])
        if self.op in ("<", ">", "<=", ">="):
            return self._compare(values[0])
        hit = self.member(values)
        return hit if isinstance(hit, str) else hit == (self.op in ("==", "in"))

    def member(self, values: Sequence[Value | None]) -> Answer:
        if self.lookup is not None and isinstance(values[0], int):
            return values[0] in self.lookup
        if len(values) == 1 and isinstance(values[0], tuple):
            spans = self.lookup or Intervals(e[0] for e in self.elements)  # type: ignore[misc]
            inside = spans.covers(*values[0])
            return _unknown_value("?sport") if isinstance(inside, str) else inside
        unknown = ""
        for element in self.elements:
            answer = contains(element, values)  # type: ignore[arg-type]
            if answer is True:
                return True
            if isinstance(answer, str):
                unknown = answer
        return unknown or False

    def _flags(self, value: Value | None) -> Answer:
        assert isinstance(value, frozenset)
        field = self.fields[0]
        if field.kind == "tcpflags" and field.attr:
            value = value & frozenset(json.loads(field.attr))
            return (value == self.flags) == (self.op == "==")
        hit = bool(value & self.flags)
        return hit if self.op in ("==", "in") else not hit

    def _compare(self, value: Value | None) -> Answer:
        if isinstance(value, str):
            return _unknown_value(value)
        bound = self.elements[0][0][0]
        if isinstance(value, tuple):
            ends = {self._compare(value[0]), self._compare(value[1])}
            return ends.pop() if len(ends) == 1 else _unknown_value("?sport")
        assert isinstance(value, int) and isinstance(bound, int)
        ops = {"<": value < bound, ">": value > bound, "<=": value <= bound, ">=": value >= bound}
        return ops[self.op]


def _fib_type(body: Mapping[str, object]) -> AddrType | None:
    """`fib saddr/daddr type TYPES`: the address type, as -m addrtype."""
    fib = body.get("left")
    fib = fib.get("fib") if isinstance(fib, dict) else None
    if not isinstance(fib, dict) or fib.get("result") != "type":
        return None
    flags = fib.get("flags")
    flags = [flags] if isinstance(flags, str) else flags
    if flags not in (["saddr"], ["daddr"]):
        raise Unmodelled(f"fib {flags} type is not modelled")
    right = body.get("right")
    names = right["set"] if isinstance(right, dict) and "set" in right else right
    names = names if isinstance(names, list) else [names]
    types = frozenset(str(n).upper() for n in names)
    op = str(body.get("op", "=="))
    if types - ADDRESS_TYPES or op not in ("==", "!=", "in"):
        raise Unmodelled(f"fib type {render(right)} is not modelled")
    return AddrType("source" if flags == ["saddr"] else "destination", types, op == "!=")


def build_match(body: Mapping[str, object], sets: Mapping[str, object]) -> Match:
    fib = _fib_type(body)
    if fib is not None:
        return fib
    fields = parse_key(body.get("left"))
    op, right = str(body.get("op", "==")), body.get("right")
    if fields[0].kind == "l4only":
        return NftMatch(fields, op, (), frozenset(), None)
    if fields[0].kind in ("ctstate", "tcpflags"):
        names = right if isinstance(right, list) else [right]
        if isinstance(right, dict) and "set" in right:
            names = right["set"]
        return NftMatch(fields, op, (), frozenset(str(n) for n in names), None)
    if op not in ("==", "!=", "in", "<", ">", "<=", ">="):
        raise Unmodelled(f"operator {op} is not modelled")
    elems = tuple(elements(fields, right, sets))
    lookup = None
    if len(fields) == 1 and fields[0].kind != "iface" and len(elems) > 8:
        lookup = Intervals(e[0] for e in elems)  # type: ignore[misc]
    return NftMatch(fields, op, elems, frozenset(), lookup)


@dataclass(frozen=True, slots=True)
class NftVmap:
    """`KEY vmap { k : verdict, ... }` or `vmap @name`."""

    fields: tuple[Field, ...]
    entries: tuple[tuple[Element, Target], ...]

    def lookup(self, packet: Packet) -> Target | str | None:
        values = [f.value(packet) for f in self.fields]
        if any(v is None for v in values):
            return None
        values = [
            (_CT_NAMES.get(packet.ct, "?ct") if f.kind == "ctstate" else v)
            for f, v in zip(self.fields, values, strict=True)
        ]
        for element, target in self.entries:
            answer = contains(element, values)  # type: ignore[arg-type]
            if answer is True:
                return target
            if isinstance(answer, str):
                return answer
        return None


def render(expr: object) -> str:
    """nft syntax for the expressions the reader knows; compact JSON for the rest."""
    try:
        return _render(expr)
    except (AttributeError, TypeError, KeyError, IndexError):  # a shape nft never writes
        return json.dumps(expr, separators=(",", ":"))


def _render(expr: object) -> str:
    if isinstance(expr, dict):
        if "payload" in expr:
            return f"{expr['payload'].get('protocol')} {expr['payload'].get('field')}"
        if "meta" in expr:
            key = expr["meta"].get("key")
            return key if key in ("iifname", "oifname", "mark") else f"meta {key}"
        if "ct" in expr:
            return f"ct {expr['ct'].get('key')}"
        if "prefix" in expr:
            return f"{expr['prefix'].get('addr')}/{expr['prefix'].get('len')}"
        if "range" in expr:
            return "-".join(render(v) for v in expr["range"])
        if "concat" in expr:
            return " . ".join(render(v) for v in expr["concat"])
        if "set" in expr and isinstance(expr["set"], list):
            return "{ " + ", ".join(render(v) for v in expr["set"]) + " }"
        if "elem" in expr:
            return render(expr["elem"].get("val"))
        if "&" in expr:
            return " & ".join(render(v) for v in expr["&"])
    if isinstance(expr, list):
        if len(expr) == 2 and isinstance(expr[1], dict) and _verdict_word(expr[1]):
            return f"{render(expr[0])} : {_verdict_word(expr[1])}"
        return ",".join(render(v) for v in expr)
    if isinstance(expr, str):
        return f'"{expr}"' if " " in expr else expr
    return json.dumps(expr, separators=(",", ":"))


def _verdict_word(stmt: Mapping[str, Any]) -> str:
    for word in ("accept", "drop", "return", "continue"):
        if word in stmt:
            return word
    for word in ("jump", "goto"):
        if word in stmt and isinstance(stmt[word], dict):
            return f"{word} {stmt[word].get('target')}"
    return ""
