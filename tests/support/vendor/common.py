"""What every reader returns, the tokenizer the CLI formats share, and the admitted flow set."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netaddr import IPNetwork


class ReaderError(ValueError):
    """The file holds something the reader does not understand, or that is wrong."""


@dataclass(frozen=True, slots=True)
class Allow:
    """One allow rule as the firewall would evaluate it."""

    name: str
    sources: tuple[IPNetwork, ...]
    destinations: tuple[IPNetwork, ...]
    protocol: str
    ports: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Policy:
    rules: list[Allow] = field(default_factory=list)
    objects: set[str] = field(default_factory=set)  # every object name defined
    placement: dict[str, str] = field(default_factory=dict)  # rule -> "top" / "before X" / ...


Flow = tuple[int, int, str, int]

_TOKEN = re.compile(r'\s*(?:"([^"\\\x00-\x1f]*)"|([^\s"\\]+))')
# A whole line of tokens, each followed by white space or the end: what the loop below reads
# without an error, matched at once (the readers tokenize tens of thousands of lines a test).
_TOKENS = re.compile(r'(?:\s*(?:"[^"\\\x00-\x1f]*"|[^\s"\\]+)(?=\s|\Z))*')
_CONTROL = re.compile(r"[\x00-\x1f]")


def tokens(line: str) -> list[str]:
    """Words and double-quoted strings; a stray quote, a backslash or a control character is
    refused (none of the CLI grammars read here needs them)."""
    if _CONTROL.search(line):
        raise ReaderError(f"control character in {line!r}")
    line = line.rstrip()
    if _TOKENS.fullmatch(line):
        return [m[1] if m[1] is not None else m[2] for m in _TOKEN.finditer(line)]
    out: list[str] = []  # a line with an error: the loop finds it and says where
    pos = 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None or m.end() == pos:
            raise ReaderError(f"cannot tokenize {line!r} at {pos}")
        out.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
        if pos < len(line) and not line[pos].isspace():
            raise ReaderError(f"token glued to the next in {line!r}")
    return out


def network(text: str, family: int | None = None) -> IPNetwork:
    try:
        net = IPNetwork(text)
    except Exception as exc:
        raise ReaderError(f"not a network: {text!r}") from exc
    if net.network != net.ip:
        raise ReaderError(f"host bits set in {text!r}")
    if family is not None and net.version != family:
        raise ReaderError(f"{text!r} is not IPv{family}")
    return net


def port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ReaderError(f"not a port: {text!r}")
    return int(text)


def port_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    lo = port(low)
    hi = port(high) if sep else lo
    if hi < lo:
        raise ReaderError(f"empty port range {text!r}")
    return lo, hi


def define(table: dict, name: str, value: object) -> None:
    if name in table:
        raise ReaderError(f"{name} defined twice")
    table[name] = value


def lookup(table: dict, name: str, what: str) -> object:
    if name not in table:
        raise ReaderError(f"{what} {name} is not defined")
    return table[name]


def admitted(policy: Policy) -> set[Flow]:
    """Every (source, destination, protocol, port) the allow rules admit, one address each."""
    out: set[Flow] = set()
    for rule in policy.rules:
        for src in rule.sources:
            for dst in rule.destinations:
                if src.version != dst.version:
                    continue  # no packet has a v4 source and a v6 destination
                for s in range(src.first, src.last + 1):
                    for d in range(dst.first, dst.last + 1):
                        for lo, hi in rule.ports:
                            out.update((s, d, rule.protocol, p) for p in range(lo, hi + 1))
    return out
