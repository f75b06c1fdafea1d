"""The firewall's own addresses for `-m addrtype` / nft `fib ... type`: `--local-address
IP[/LEN]` options and an `ip -j addr` dump. With every address's prefix known, the local
table's IPv4 subnet broadcasts are known too; and the ephemeral source-port range."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.jsonsource import parse_json
from auditor.documents.yamlsource import read_bytes
from auditor.errors import InputError, Problem
from auditor.ruleset.model import Site

DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's net.ipv4.ip_local_port_range
_MAX_DUMP = 16 * 1024 * 1024


def ephemeral_range(text: str) -> tuple[int, int]:
    """`LOW-HIGH` (1-65535, LOW <= HIGH); InputError naming the option otherwise."""
    low, sep, high = text.partition("-")
    if sep and low.isascii() and low.isdigit() and high.isascii() and high.isdigit():
        lo, hi = int(low), int(high)
        if 1 <= lo <= hi <= 65535:
            return lo, hi
    raise InputError(
        [Problem("--source-ports", None, "", f"{text!r} is not LOW-HIGH (1-65535, LOW <= HIGH)")]
    )


def _add(text: str, prefix: int | None, into: set[tuple[int, int]], bcast: set[int]) -> bool:
    """One address; returns whether its subnet (so its broadcast) is known."""
    address = IPAddress(text)
    into.add((address.version, int(address)))
    if address.version != 4 or prefix is None:
        return address.version == 6
    if prefix < 31:
        bcast.add(int(IPNetwork(f"{address}/{prefix}").broadcast or 0))
    return True


def read_site(addresses: Sequence[str], dump: Path | None) -> Site | None:
    """The addresses given; None when neither option was used."""
    if not addresses and dump is None:
        return None
    found: set[tuple[int, int]] = set()
    bcast: set[int] = set()
    complete = True
    problems: list[Problem] = []
    for text in addresses:
        addr, _, length = text.partition("/")
        try:
            if length and not (length.isascii() and length.isdigit()):
                raise ValueError
            prefix = int(length) if length else None
            if prefix is not None and prefix > (32 if ":" not in addr else 128):
                raise ValueError
            complete = _add(addr, prefix, found, bcast) and complete
        except (AddrFormatError, ValueError):
            problems.append(
                Problem("--local-address", None, "", f"{text!r} is not an address (IP[/LEN])")
            )
    if dump is not None:
        _dump(dump, found, bcast, problems)
    if problems:
        raise InputError(problems)
    return Site(frozenset(found), frozenset(bcast), complete)


def _dump(
    path: Path, found: set[tuple[int, int]], bcast: set[int], problems: list[Problem]
) -> None:
    """`ip -j addr` (a list of interfaces, each with `addr_info`)."""
    display = str(path)
    raw = read_bytes(path, display, _MAX_DUMP, "an `ip -j addr` dump")
    try:
        document = parse_json(raw.decode("utf-8"), display)
    except UnicodeDecodeError:
        problems.append(Problem(display, 1, "ip addr", "not UTF-8 text"))
        return
    if not isinstance(document, list):
        problems.append(Problem(display, 1, "ip addr", "expected the list `ip -j addr` prints"))
        return
    for n, link in enumerate(document):
        infos = link.get("addr_info", []) if isinstance(link, dict) else None
        if not isinstance(infos, list):
            problems.append(Problem(display, None, f"[{n}].addr_info", "expected a list"))
            continue
        for m, info in enumerate(infos):
            local = info.get("local") if isinstance(info, dict) else None
            prefix = info.get("prefixlen") if isinstance(info, dict) else None
            if not isinstance(local, str) or type(prefix) is not int:
                where = f"[{n}].addr_info[{m}]"
                problems.append(Problem(display, None, where, "expected local and prefixlen"))
                continue
            try:
                _add(local, prefix, found, bcast)
                if isinstance(info.get("broadcast"), str):
                    bcast.add(int(IPAddress(info["broadcast"], 4)))
            except (AddrFormatError, ValueError):
                where = f"[{n}].addr_info[{m}].local"
                problems.append(Problem(display, None, where, f"{local!r} is not an address"))
