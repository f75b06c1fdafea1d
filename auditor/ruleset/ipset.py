"""`ipset save` reader and the `-m set --match-set NAME FLAGS` match."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from netaddr import AddrFormatError

from auditor.errors import InputError, Problem
from auditor.ruleset.addr import fast_split, span
from auditor.ruleset.matches import proto_number
from auditor.ruleset.model import Answer, Intervals, Packet

ADDRESS_DIMS = ("ip", "net")
KNOWN_DIMS = (*ADDRESS_DIMS, "port")
_PORT_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "udplite": 136}


@dataclass(frozen=True, slots=True)
class IpSet:
    name: str
    type: str  # hash:ip, hash:net,port, bitmap:port, list:set ...
    version: int
    dims: tuple[str, ...]
    elements: tuple[tuple[tuple[int, int, int], ...], ...]  # per dim: (proto or 0, lo, hi)
    members: tuple[str, ...] = ()  # list:set
    unknown: str = ""  # why this set cannot be evaluated
    single: Intervals | None = None  # one address dimension: a bisect lookup
    mask: int | None = None  # `netmask N` / `bitmask M`: the address is masked before lookup

    def contains(self, values: tuple[tuple[int, int], ...]) -> bool:
        """values: per dimension (proto or 0, value)."""
        if self.mask is not None:
            values = tuple(
                (p, v & self.mask) if dim in ADDRESS_DIMS else (p, v)
                for dim, (p, v) in zip(self.dims, values, strict=True)
            )
        if self.single is not None:
            return values[0][1] in self.single
        for element in self.elements:
            if all(
                lo <= v <= hi and proto in (0, p)
                for (proto, lo, hi), (p, v) in zip(element, values, strict=True)
            ):
                return True
        return False


def _port(text: str) -> tuple[int, int, int]:
    proto, _, port = text.rpartition(":")
    number = _PORT_PROTOS.get(proto or "tcp")
    if number is None:
        return _other_protocol(proto, port, text)
    lo, _, hi = port.partition("-")
    if not (lo + hi).isascii() or not lo.isdigit() or not (hi or lo).isdigit():
        raise ValueError(f"port {port!r} in {text!r} is not a port or range (ASCII digits)")
    first, last = int(lo), int(hi or lo)
    if not 0 <= first <= last <= 65535:
        raise ValueError(f"port {port!r} in {text!r} is out of range 0-65535")
    return number, first, last


_ICMP = re.compile(r"[a-z][a-z0-9-]*|[0-9]{1,3}/[0-9]{1,3}")


def _other_protocol(proto: str, port: str, text: str) -> tuple[int, int, int]:
    """`icmp:echo-request`, `icmpv6:1/0`, `gre:0`: ipset's `[proto:]port` for a protocol
    without ports; such an element never holds a TCP or UDP flow."""
    number = proto_number(proto)
    if number is None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", proto):
            raise ValueError(f"protocol {proto!r} in {text!r} is not a protocol name")
        number = 256  # a name from /etc/protocols we do not list: never a TCP or UDP flow
    if number in (1, 58):
        if not _ICMP.fullmatch(port):
            raise ValueError(f"{port!r} in {text!r} is not an ICMP type name or TYPE/CODE")
    elif port != "0":
        raise ValueError(f"{text!r}: a protocol without ports takes port 0")
    return number, 0, 0


def _element(text: str, dims: tuple[str, ...], version: int) -> tuple[tuple[int, int, int], ...]:
    parts = text.split(",")
    if len(parts) != len(dims):
        raise ValueError(f"{text!r} does not have the {len(dims)} parts of its type")
    out = []
    for dim, part in zip(dims, parts, strict=True):
        if dim in ADDRESS_DIMS:
            out.append((0, *span(part, version)))
        else:
            out.append(_port(part))
    return tuple(out)


def _any_protocol(element: tuple[tuple[int, int, int], ...]) -> tuple[tuple[int, int, int], ...]:
    """bitmap:port stores bare port numbers: they match TCP and UDP alike."""
    return tuple((0, lo, hi) for _, lo, hi in element)


@dataclass
class _Draft:
    name: str
    type: str
    version: int
    line: int
    elements: list[tuple[tuple[int, int, int], ...]]
    members: list[str]
    unknown: str = ""
    mask: int | None = None

    @property
    def dims(self) -> tuple[str, ...]:
        if self.type.startswith("bitmap:ip"):
            return ("ip", *self.type.split(":", 1)[1].split(",")[1:])
        return tuple(self.type.split(":", 1)[1].split(","))

    def build(self) -> IpSet:
        single = None
        if self.dims in (("ip",), ("net",)) and not self.unknown:
            single = Intervals((e[0][1], e[0][2]) for e in self.elements)
        return IpSet(
            self.name,
            self.type,
            self.version,
            self.dims,
            tuple(self.elements),
            tuple(self.members),
            self.unknown,
            single,
            self.mask,
        )


def parse_ipset(text: str, source: str) -> dict[str, IpSet]:
    """Every set of an `ipset save` document, by name; bad lines are located errors."""
    drafts: dict[str, _Draft] = {}
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = fast_split(line, shlex.split)
            _line(words, number, drafts)
        except IndexError:
            problems.append(Problem(source, number, "ipset", f"{line[:40]!r}: a word is missing"))
        except (ValueError, AddrFormatError) as exc:
            problems.append(Problem(source, number, "ipset", str(exc) or "unreadable line"))
    problems += _member_problems(drafts, source)
    if problems:
        raise InputError(problems)
    return {name: draft.build() for name, draft in drafts.items()}


def _member_problems(drafts: dict[str, _Draft], source: str) -> list[Problem]:
    """A list:set holds sets that exist and are not list:sets themselves (the kernel's rule)."""
    problems = []
    for draft in drafts.values():
        for member in draft.members:
            inner = drafts.get(member)
            if inner is None or inner.type == "list:set":
                why = "no such set" if inner is None else "a list:set cannot hold a list:set"
                problems.append(
                    Problem(source, draft.line, "ipset", f"{draft.name}: {member}: {why}")
                )
    return problems


def _line(words: list[str], number: int, drafts: dict[str, _Draft]) -> None:
    verb = words[0]
    if verb in ("create", "-N", "-exist"):
        name, type_ = words[1], words[2]
        if name in drafts:
            raise ValueError(f"set {name} created twice (first on line {drafts[name].line})")
        if ":" not in type_:
            raise ValueError(f"{type_!r} is not an ipset type (like hash:ip)")
        opts = words[3:]
        version = 6 if "family" in opts and opts[opts.index("family") + 1] == "inet6" else 4
        if type_ in ("bitmap:port", "list:set"):
            version = 0  # no family: ports match for iptables and ip6tables alike
        draft = _Draft(name, type_, version, number, [], [], mask=_mask(opts, version))
        if type_ != "list:set" and any(d not in KNOWN_DIMS for d in draft.dims):
            draft.unknown = f"ipset type {type_} is not modelled"
        drafts[name] = draft
    elif verb in ("add", "-A"):
        name = words[1]
        if name not in drafts:
            raise ValueError(f"add to set {name!r} before its create line")
        draft = drafts[name]
        if draft.type == "list:set":
            draft.members.append(words[2])
        elif "nomatch" in words[3:]:
            draft.unknown = f"set {name} has nomatch entries (exceptions are not modelled)"
        elif not draft.unknown:
            element = _element(words[2], draft.dims, draft.version)
            bitmap_port = draft.type == "bitmap:port"
            draft.elements.append(_any_protocol(element) if bitmap_port else element)
    else:
        raise ValueError(f"{verb!r} is not an ipset save line (create or add)")


def _mask(opts: list[str], version: int) -> int | None:
    """`netmask N` (a prefix length) or `bitmask M` (an address): ipset masks the packet's
    address with it before the lookup, as it masked each element when it was added."""
    width = 128 if version == 6 else 32
    if "netmask" in opts:
        text = opts[opts.index("netmask") + 1]
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= width:
            raise ValueError(f"netmask {text!r} is not a prefix length 1-{width}")
        return ((1 << width) - 1) ^ ((1 << (width - int(text))) - 1)
    if "bitmask" in opts:
        return span(opts[opts.index("bitmask") + 1], version)[0]
    return None


@dataclass(frozen=True, slots=True)
class SetMatch:
    """`-m set [!] --match-set NAME src,dst`: the flags pick, per dimension, which side."""

    name: str
    flags: tuple[str, ...]
    sets: Mapping[str, IpSet]
    negate: bool = False

    def test(self, packet: Packet) -> Answer:
        answer = self._test(self.name, packet, 0)
        return answer if isinstance(answer, str) else answer != self.negate

    def _test(self, name: str, packet: Packet, depth: int) -> Answer:
        the_set = self.sets.get(name)
        if the_set is None:
            return f"ipset {name} is not given (pass its `ipset save` with --ipset)"
        if the_set.unknown:
            return the_set.unknown
        if the_set.members:
            if depth > 4:
                return f"list:set {name} nests too deep"
            unknown = ""
            for member in the_set.members:
                answer = self._test(member, packet, depth + 1)
                if answer is True:
                    return True
                if isinstance(answer, str):
                    unknown = answer
            return unknown or False
        if the_set.version not in (0, packet.version):
            return False
        if len(self.flags) < len(the_set.dims):
            return f"--match-set {name} gives fewer flags than the set has dimensions"
        values = []
        for dim, flag in zip(the_set.dims, self.flags, strict=False):
            if dim in ADDRESS_DIMS:
                values.append((0, packet.source if flag == "src" else packet.destination))
            else:
                port = packet.sport if flag == "src" else packet.dport
                if port is None:
                    return f"set {name} matches the source port, which the flow leaves open"
                values.append((packet.proto_number, port))
        return the_set.contains(tuple(values))
