"""nft JSON expressions (libnftables-json(5)) as matches: the left side is a field of the packet,
the right side a value, prefix, range, anonymous or named set (intervals, concatenations)."""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.ruleset.matches import (
    ADDRESS_TYPES,
    STATUS_KNOWN,
    AddrType,
    proto_number,
    status_bits,
    status_reasons,
)
from auditor.ruleset.model import Answer, Intervals, Match, Packet, Target
from auditor.ruleset.nft_sets import ConcatIndex, Packed, columns_of, compile_packed
from auditor.textout import quoted
from auditor.values import address_problem


@dataclass(frozen=True, slots=True)
class Bits:
    """A bit field only partly known: `bits` set, of the `known` ones (ct status)."""

    bits: int
    known: int


Value = int | str | frozenset[str] | tuple[int, int] | Bits  # a tuple: the ephemeral sports
Dim = tuple[int, int] | tuple[str, bool]  # numeric interval, or interface name + wildcard
Element = tuple[Dim, ...]
_PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136, "dccp": 33}
# Transport headers whose other fields are not modelled: the payload expression carries nft's
# dependency on the protocol (`icmp type` holds only for ICMP), so on another protocol it is a
# plain non-match, never unknown.
_L4_HEADERS = {**_PORT_PROTOS, "icmp": 1, "icmpv6": 58, "igmp": 2, "ah": 51, "esp": 50}
_L4_HEADERS |= {"comp": 108, "gre": 47}
# nft's bit values (tcp flags: the TCP header; ct state: nf_conntrack's state bits).
FLAG_BITS = {
    "tcpflags": {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64,
                 "cwr": 128},
    "ctstate": {"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64},
    # nf_conntrack's status bits as nft names them (nft 1.1 adds the *-done, seq-adjust,
    # fixed-timeout names; it maps helper, offload and hw-offload to the bit numbers 13, 14
    # and 15, not their masks, and what nft means is what it loads)
    "ctstatus": {"expected": 1, "seen-reply": 2, "assured": 4, "confirmed": 8, "snat": 16,
                 "dnat": 32, "seq-adjust": 64, "snat-done": 128, "dnat-done": 256,
                 "dying": 512, "fixed-timeout": 1024, "helper": 13, "offload": 14,
                 "hw-offload": 15},
}  # fmt: skip
_FULL = 0xFFFFFFFF
_CT_NAMES = {"none": "invalid", "new": "new", "untracked": "untracked"}


class Unmodelled(ValueError):
    """An expression the evaluator does not model: the rule answers unknown."""


class Malformed(ValueError):
    """A value no `nft -j` listing holds (a bad address, a reversed range): bad input."""


_BOUNDS = {"port": 65535, "l4proto": 255}
_ADDRESS_BITS = {4: 32, 6: 128}
CATCH_ALL: Dim = (0, 2**128)
CATCH_ALL_NAME: Dim = ("", True)


@dataclass(frozen=True, slots=True)
class Field:
    """One packet field named by an nft expression."""

    kind: str  # addr, port, l4proto, nfproto, iface, ctstate, ctstatus, tcpflags, mark, l4only
    attr: str = ""  # source/destination, dport/sport, in/out; l4only: the expression as text
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
        if self.kind == "ctstatus":  # no connection (before conntrack, untracked): it breaks
            if p.ct == "?":
                return "?ct"
            return Bits(*status_bits(p)) if p.ct == "new" else None
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
        if key in ("iifname", "oifname", "iif", "oif"):  # iif: the index of the device named
            return Field("iface", "in" if key.startswith("i") else "out")
        if key == "mark":
            return Field("mark", "meta")
        if key == "protocol":
            return Field("nfproto")
    ct = expr.get("ct") if isinstance(expr, dict) else None
    if isinstance(ct, dict) and ct.get("key") == "state" and ct.get("dir") is None:
        return Field("ctstate")
    if isinstance(ct, dict) and ct.get("key") == "mark" and ct.get("dir") is None:
        return Field("mark", "ct")
    if isinstance(ct, dict) and ct.get("key") == "status" and ct.get("dir") is None:
        return Field("ctstatus")
    raise Unmodelled(f"{render(expr)} is not modelled")


def parse_key(expr: object) -> tuple[Field, ...]:
    if isinstance(expr, dict) and "concat" in expr:
        fields = tuple(parse_field(e) for e in expr["concat"])
        if any(f.kind == "ctstatus" for f in fields):
            raise Unmodelled(f"{render(expr)} is not modelled")
        return fields
    if isinstance(expr, dict) and "&" in expr:
        inner, mask = expr["&"]
        field = parse_field(inner)
        if field.kind == "mark" and type(mask) is int:
            return (Field("mark", field.attr, mask=mask & 0xFFFFFFFF),)
        if field.kind not in FLAG_BITS:
            raise Unmodelled(f"{render(expr)} is not modelled")
        return (Field(field.kind, attr=str(flag_bits(field.kind, mask))),)
    return (parse_field(expr),)


def flag_bits(kind: str, value: object) -> int:
    """A tcp flags / ct state value as nft writes it: a name, a number, a list of names
    (older nft) or `{"|": [...]}` (nft 1.1), as the bits it stands for."""
    if isinstance(value, bool):
        raise Malformed(f"{kind} value {quoted(value)} is not a flag")
    if isinstance(value, int):
        if not 0 <= value < 2**32:
            raise Malformed(f"{kind} value {value} is out of range 0-{2**32 - 1}")
        return value
    if isinstance(value, str):
        bits = FLAG_BITS[kind].get(value)
        if bits is None:
            raise Malformed(f"{quoted(value)} is not one of {', '.join(FLAG_BITS[kind])}")
        return bits
    parts = value.get("|") if isinstance(value, dict) and len(value) == 1 else value
    if isinstance(parts, list) and parts:
        out = 0
        for part in parts:
            out |= flag_bits(kind, part)
        return out
    raise Unmodelled(f"{kind} value {render(value)} is not modelled")


def _dim(field: Field, item: object) -> Dim:
    kind = field.kind
    if kind == "addr" and type(item) is str:  # the common cases first: a million elements
        value = _address(field, item)
        return (value, value)
    if kind == "port" and type(item) is int and 0 <= item <= 65535:
        return (item, item)
    if kind == "addr" and type(item) is dict and "prefix" in item:
        return _network(field, item["prefix"])
    if isinstance(item, dict) and "elem" in item:
        item = item["elem"]["val"]
    if field.kind == "ctstate" and isinstance(item, str):
        return (item, False)  # a verdict map keyed on ct state
    if field.kind == "ctstatus":  # a verdict map keyed on ct status: exact values
        value = flag_bits("ctstatus", item)
        return (value, value)
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
        return _network(field, item["prefix"])
    value = _scalar(field, item)
    return (value, value)


def _network(field: Field, prefix: object) -> tuple[int, int]:
    addr = prefix.get("addr") if type(prefix) is dict else None
    length = prefix.get("len") if type(prefix) is dict else None
    bits = 128 if field.version == 6 else 32
    if type(addr) is not str or type(length) is not int:
        raise Unmodelled(f"prefix {render(prefix)} is not modelled")
    named = address_problem(addr)
    if named is not None:
        raise Malformed(f"prefix {render({'prefix': prefix})}: the address {named}")
    if not 0 <= length <= bits:
        raise Malformed(f"prefix {render({'prefix': prefix})}: length out of range 0-{bits}")
    if field.kind != "addr":
        raise Unmodelled(f"prefix {render({'prefix': prefix})} on {field.kind} is not modelled")
    base = _address(field, addr)
    host = (1 << (bits - length)) - 1
    return base & ~host, base | host


def _address(field: Field, text: str) -> int:
    """One address: nft -j writes a range as {"range": [...]}, never as "a-b"."""
    family = socket.AF_INET6 if field.version == 6 else socket.AF_INET
    try:
        return int.from_bytes(socket.inet_pton(family, text), "big")
    except (OSError, ValueError):
        pass
    hint = ' (a range is written {"range": [FIRST, LAST]})' if "-" in text else ""
    named = address_problem(text)
    if named is not None:
        raise Malformed(f"address {quoted(text)} {named}")
    raise Malformed(f"{quoted(text)} is not an IPv{field.version} address{hint}")


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
        if field.kind == "addr" and not 0 <= item < 2 ** _ADDRESS_BITS[field.version]:
            raise Malformed(f"{item} is out of the IPv{field.version} address range")
        return item
    if field.kind == "addr":
        raise Malformed(f"{render(item)} is not an IPv{field.version} address")
    if isinstance(item, str) and item.isascii() and item.isdigit():
        return int(item)
    raise Unmodelled(f"value {render(item)} is not modelled")


def elements(fields: Sequence[Field], right: object, sets: Mapping[str, object]) -> list[Element]:
    """The right side of a match as elements: one Dim per field of the key."""
    if isinstance(right, str) and right.startswith("@"):
        named = sets.get(right[1:])
        if named is None:
            raise Unmodelled(f"set {right} is not in the ruleset")
        right = {"set": named.decoded() if isinstance(named, Packed) else named}
    items = right["set"] if isinstance(right, dict) and "set" in right else [right]
    out: list[Element] = []
    single = len(fields) == 1
    first = fields[0]
    for raw in items:
        item = raw["elem"]["val"] if type(raw) is dict and "elem" in raw else raw
        if item == "*":  # the catch-all element: every packet
            names = ("iface", "ctstate")
            out.append(tuple(CATCH_ALL_NAME if f.kind in names else CATCH_ALL for f in fields))
        elif single and not (type(item) is dict and "concat" in item):
            out.append((_dim(first, item),))
        else:
            parts = item["concat"] if type(item) is dict and "concat" in item else [item]
            if len(parts) != len(fields):
                raise Unmodelled(f"{render(right)} does not fit a key of {len(fields)} fields")
            out.append(tuple([_dim(f, part) for f, part in zip(fields, parts, strict=True)]))
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
    elements: Sequence[Element]  # a tuple, or a large set's columns (`nft_sets.Columns`)
    flags: tuple[int, ...]  # ct state / tcp flags on the right, as bits
    lookup: Intervals | None  # one numeric field, many elements: bisect
    flag_set: bool = False  # flags: the right side is a set of exact values
    index: ConcatIndex | None = None  # numeric fields, many elements

    def test(self, packet: Packet) -> Answer:
        values = [f.value(packet) for f in self.fields]
        if any(v is None for v in values):
            return False
        if self.fields[0].kind == "l4only" or values[0] == "?ct":
            return _unknown_value(str(values[0]))
        if self.fields[0].kind in FLAG_BITS:
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
        if self.index is not None and all(isinstance(v, int) for v in values):
            return self.index.hit(values)  # type: ignore[arg-type]
        unknown = ""
        for element in self.elements:
            answer = contains(element, values)  # type: ignore[arg-type]
            if answer is True:
                return True
            if isinstance(answer, str):
                unknown = answer
        return unknown or False

    def _flags(self, value: Value | None) -> Answer:
        """nft's semantics: `flags syn,ack` (op in) is any of the bits, `! syn` (op !) none of
        them; `==`/`!=` compare the (masked) value exactly; a set `{ syn, syn|ack }` holds
        exact values. A bit that is not known (ct status) decides only when the others
        cannot."""
        field = self.fields[0]
        if isinstance(value, Bits):
            bits, known = value.bits, value.known
        else:
            assert isinstance(value, frozenset)
            names = FLAG_BITS[field.kind]
            bits, known = 0, _FULL
            for name in value:
                bits |= names[name]
        if field.attr:  # `& MASK`: the bits outside it read 0
            mask = int(field.attr)
            bits &= mask
            known |= ~mask & _FULL
        unsure = ~known & _FULL
        if self.flag_set:
            answers = {_equal(bits, known, want) for want in self.flags}
            hit: bool | None = True if True in answers else None if None in answers else False
        elif self.op in ("in", "!"):
            (want,) = self.flags
            unsure &= want
            hit = True if bits & want else None if unsure else False
        else:
            hit = _equal(bits, known, self.flags[0])
        if hit is None:
            return _unknown_bits(unsure)
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


def _equal(bits: int, known: int, want: int) -> bool | None:
    """Is the value `want`, of which the `known` bits are `bits`? None: it depends."""
    if (bits ^ want) & known:
        return False
    return True if known == _FULL else None


def _unknown_bits(unsure: int) -> str:
    """Why a ct status test depends on bits that are not known (`unsure`)."""
    parts = status_reasons(unsure)
    rest = unsure & ~STATUS_KNOWN
    if rest:
        names = [n for n, b in FLAG_BITS["ctstatus"].items() if b & (b - 1) == 0 and b & rest]
        more = " and the higher bits" if rest >> 11 else ""
        parts.append(
            f"{','.join(names)}{more}, not modelled on a new connection's first packet (only "
            "expected, seen-reply, assured, confirmed, snat and dnat are)"
        )
    return "ct status depends on " + "; ".join(parts)


def _fib_type(body: Mapping[str, object]) -> AddrType | None:
    """`fib saddr/daddr type TYPES`: the address type, as -m addrtype."""
    fib = body.get("left")
    fib = fib.get("fib") if isinstance(fib, dict) else None
    if not isinstance(fib, dict):
        return None
    flags = fib.get("flags")
    flags = [flags] if isinstance(flags, str) else flags
    if fib.get("result") in ("oif", "oifname"):
        raise Unmodelled(_route_lookup(fib, flags, body.get("right")))
    if fib.get("result") != "type":
        return None
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


def _route_lookup(fib: Mapping[str, object], flags: object, right: object) -> str:
    """Why `fib ... oif` is not decided: it is a route lookup, and no routes are given."""
    names = flags if isinstance(flags, list) else []
    shown = f"{render({'fib': fib})} {render(right)}"
    if "saddr" in names and "iif" in names:
        return (
            f"{shown}: whether a route back to the source leaves by the input interface "
            "(reverse-path filter) depends on the routing table, which is not given"
        )
    return f"{shown}: the route lookup depends on the routing table, which is not given"


def build_match(
    body: Mapping[str, object],
    sets: Mapping[str, object],
    cache: dict[object, tuple[Any, ...]] | None = None,
) -> Match:
    """One `match` statement; `cache` shares a named set's elements and index among rules."""
    fib = _fib_type(body)
    if fib is not None:
        return fib
    fields = parse_key(body.get("left"))
    op, right = str(body.get("op", "==")), body.get("right")
    flags = len(fields) == 1 and fields[0].kind in FLAG_BITS
    if op not in ("==", "!=", "in", "<", ">", "<=", ">=") and not (flags and op == "!"):
        raise Unmodelled(f"operator {op} is not modelled")
    if any(f.kind == "l4only" for f in fields):
        return NftMatch(fields, op, (), (), None)  # decided by the protocol, else unknown
    if flags and op in ("<", ">", "<=", ">="):
        raise Unmodelled(f"operator {op} on {fields[0].kind} is not modelled")
    if flags:
        kind = fields[0].kind
        if isinstance(right, str) and right.startswith("@"):  # a named set of values
            named = sets.get(right[1:])
            if named is None:
                raise Unmodelled(f"set {right} is not in the ruleset")
            right = {"set": named}
        if isinstance(right, dict) and "set" in right:
            items = right["set"]
            if not isinstance(items, list):
                raise Unmodelled(f"{render(right)} is not modelled")
            values = tuple(flag_bits(kind, _elem_value(i)) for i in items)
            return NftMatch(fields, op, (), values, None, flag_set=True)
        return NftMatch(fields, op, (), (flag_bits(kind, right),), None)
    key = (right, fields) if isinstance(right, str) and right.startswith("@") else None
    if cache is not None and key in cache:
        elems, lookup, index = cache[key]
    else:
        elems, lookup, index = _compiled(fields, right, sets)
        if cache is not None and key is not None:
            cache[key] = (elems, lookup, index)
    if op in ("<", ">", "<=", ">="):
        if len(fields) != 1 or len(elems) != 1 or fields[0].kind == "iface":
            raise Malformed(f"operator {op} compares one field with one value")
        if elems[0][0][0] != elems[0][0][1]:
            raise Malformed(f"operator {op} compares with one value, not {render(right)}")
    return NftMatch(fields, op, elems, (), lookup, index=index)


def _compiled(
    fields: tuple[Field, ...], right: object, sets: Mapping[str, object]
) -> tuple[Sequence[Element], Intervals | None, ConcatIndex | None]:
    named = sets.get(right[1:]) if isinstance(right, str) and right.startswith("@") else None
    columns = compile_packed(named, fields) if isinstance(named, Packed) else None
    if columns is not None:  # a large set read into arrays: its elements stay there
        if len(fields) == 1:
            return columns, columns.intervals(), None
        return columns, None, ConcatIndex(columns)
    elems = tuple(elements(fields, right, sets))
    lookup = index = None
    numeric = all(f.kind not in ("iface", "ctstate") for f in fields)
    if len(fields) == 1 and numeric and len(elems) > 8:
        lookup = Intervals(e[0] for e in elems)  # type: ignore[misc]
    elif numeric and len(elems) > 8:
        index = ConcatIndex(columns_of(elems))  # type: ignore[arg-type]
    return elems, lookup, index


def _elem_value(item: object) -> object:
    return item["elem"]["val"] if isinstance(item, dict) and "elem" in item else item


@dataclass(frozen=True, slots=True)
class NftVmap:
    """`KEY vmap { k : verdict, ... }` or `vmap @name`."""

    fields: tuple[Field, ...]
    entries: tuple[tuple[Element, Target], ...]

    def lookup(self, packet: Packet) -> Target | str | None:
        values = [f.value(packet) for f in self.fields]
        if any(v is None for v in values):
            return None
        if isinstance(values[0], Bits | str) and self.fields[0].kind == "ctstatus":
            return self._status(values[0])
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

    def _status(self, value: Bits | str) -> Target | str | None:
        """`ct status vmap { dnat : accept, ... }`: the entry equal to the status."""
        if isinstance(value, str):
            return _unknown_value(value)
        unsure = ""
        for element, target in self.entries:
            lo, hi = element[0]
            assert isinstance(lo, int) and isinstance(hi, int)
            hit = True if (lo, hi) == CATCH_ALL else _equal(value.bits, value.known, lo)
            if hit is None:
                unsure = unsure or _unknown_bits(~value.known & _FULL)
            elif hit and not (unsure and (lo, hi) == CATCH_ALL):
                return target
        return unsure or None


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
        if "fib" in expr:
            fib = expr["fib"]
            flags = fib.get("flags")
            flags = [flags] if isinstance(flags, str) else flags
            return f"fib {' . '.join(str(f) for f in flags)} {fib.get('result')}"
    if isinstance(expr, bool):  # fib and extension headers: `exists` / `missing`
        return "exists" if expr else "missing"
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
