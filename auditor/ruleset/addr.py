"""Addresses as integers, fast: rulesets and ipsets hold tens of thousands of them."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

from netaddr import IPNetwork, IPRange


def span(text: str, version: int) -> tuple[int, int]:
    """`a`, `a/len` or `a-b` of one IP version as an inclusive integer interval."""
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    bits = 128 if version == 6 else 32
    try:
        if "-" in text:
            first, last = text.split("-", 1)
            lo, hi = _int(family, first), _int(family, last)
            if lo > hi:
                raise ValueError(f"{text}: the range ends before it starts")
            return lo, hi
        addr, _, length = text.partition("/")
        if length and not length.isdigit():
            raise OSError  # a dotted mask: netaddr below
        size = int(length) if length else bits
        if not 0 <= size <= bits:
            raise ValueError(f"{text}: prefix length out of range")
        base = _int(family, addr)
        host = (1 << (bits - size)) - 1
        return base & ~host, base | host
    except OSError:
        pass
    # A mask written as an address (iptables -s 10.0.0.0/255.0.0.0) or another family.
    parsed = IPRange(*text.split("-", 1)) if "-" in text else IPNetwork(text)
    if parsed.version != version:
        raise ValueError(f"{text} is not an IPv{version} address")
    return int(parsed.first), int(parsed.last)


def masked(text: str, version: int) -> tuple[int, int] | None:
    """`addr/MASK` with the mask written as an address (iptables -s 10.0.0.0/255.0.255.0) as
    (base, mask), the base masked as iptables masks it; None when `text` is no such thing."""
    addr, sep, mask = text.partition("/")
    if not sep or mask.isdigit() or "-" in text:
        return None
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    try:
        bits = _int(family, mask)
        return _int(family, addr) & bits, bits
    except OSError:
        raise ValueError(f"{text} is not an IPv{version} address with a mask") from None


def contiguous(mask: int, version: int) -> int | None:
    """The prefix length of a mask that is one, else None."""
    width = 128 if version == 6 else 32
    inverted = ~mask & ((1 << width) - 1)
    return width - inverted.bit_length() if inverted & (inverted + 1) == 0 else None


def _int(family: int, text: str) -> int:
    return int.from_bytes(socket.inet_pton(family, text), "big")


_WORDS = re.compile(r'"((?:[^"\\]|\\.)*)"(?=\s|$)|([^\s"\']+)(?=\s|$)')


def fast_split(line: str, slow: Callable[[str], list[str]]) -> list[str]:
    """Shell-like words: whitespace, and double quotes as iptables-save writes them
    (`--comment "a b"`, `\\"` inside); anything else goes to `slow` (shlex)."""
    if '"' not in line and "'" not in line and "\\" not in line:
        return line.split()
    words = []
    at = 0
    for match in _WORDS.finditer(line):
        if line[at : match.start()].strip():
            return slow(line)
        quoted, bare = match.groups()
        words.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
        at = match.end()
    return words if not line[at:].strip() else slow(line)
