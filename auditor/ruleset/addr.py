"""Addresses as integers, fast: rulesets and ipsets hold tens of thousands of them."""

from __future__ import annotations

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


def _int(family: int, text: str) -> int:
    return int.from_bytes(socket.inet_pton(family, text), "big")


def fast_split(line: str, slow: Callable[[str], list[str]]) -> list[str]:
    """Whitespace split unless the line quotes or escapes something (then `slow`, shlex)."""
    if '"' in line or "'" in line or "\\" in line:
        return slow(line)
    return line.split()
