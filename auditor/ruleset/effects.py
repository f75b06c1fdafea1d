"""What non-verdict targets do to the packet on its way, as the evaluator follows them: marks
and connection marks set, saved and restored, NOTRACK, and the NAT bindings (DNAT and SNAT to
one address, MASQUERADE). Whatever else a target does stays `unknown`."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import replace

from auditor.ruleset.matches import mark_value
from auditor.ruleset.model import Effect, Packet

FULL = 0xFFFFFFFF
# The conntrack status bits a NAT binding sets when it changes the connection's tuple (the
# kernel's nf_nat_setup_info): nft `ct status snat` / `dnat`.
SNAT_BIT = 0x10
DNAT_BIT = 0x20


def _address(text: str, version: int) -> int | None:
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    try:
        return int.from_bytes(socket.inet_pton(family, text), "big")
    except OSError:
        return None


def nat_to(text: str, version: int) -> tuple[int, int | None] | None:
    """`A`, `A:P`, `[A6]:P`, `A6` of one address and at most one port; None for ranges."""
    port: int | None = None
    if version == 6 and text.startswith("["):
        addr, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
    elif version == 4 and ":" in text:
        addr, _, ports = text.partition(":")
        if not ports.isdigit():
            return None
        port = int(ports)
    else:
        addr = text
    value = _address(addr, version)
    if value is None or (port is not None and not 0 < port <= 65535):
        return None
    return value, port


def _mark_ops(kind: str, opts: dict[str, str]) -> Effect | None:
    """MARK / CONNMARK --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark."""
    if "--set-xmark" in opts:
        value, mask = mark_value(opts["--set-xmark"])
        return Effect(kind, value=value, mask=mask)
    if "--set-mark" in opts:
        value, mask = mark_value(opts["--set-mark"])
        return Effect(kind, value=value, mask=(mask | value) & FULL)
    for opt, build in (
        ("--and-mark", lambda v: Effect(kind, value=0, mask=~v & FULL)),
        ("--or-mark", lambda v: Effect(kind, value=v, mask=v)),
        ("--xor-mark", lambda v: Effect(kind, value=v, mask=0)),
    ):
        if opt in opts:
            return build(mark_value(opts[opt])[0])
    return None


def iptables_effects(name: str, options: Sequence[tuple[str, str]], version: int) -> tuple[
    Effect, ...] | None:  # fmt: skip
    """The effects of `-j NAME OPTIONS`; None when the evaluator does not follow them."""
    opts = dict(options)
    try:
        if name == "MARK":
            found = _mark_ops("mark", opts)
            return None if found is None else (found,)
        if name == "CONNMARK":
            if any(o.endswith("shift-mark") or o.endswith("shift-bits") for o in opts):
                return None
            mask = opts.get("--mask")
            nfmask = int(opts.get("--nfmask", mask or "0xffffffff"), 0) & FULL
            ctmask = int(opts.get("--ctmask", mask or "0xffffffff"), 0) & FULL
            if "--save-mark" in opts:
                return (Effect("savemark", value=nfmask, mask=ctmask),)
            if "--restore-mark" in opts:
                return (Effect("restoremark", value=nfmask, mask=ctmask),)
            found = _mark_ops("ctmark", opts)
            return None if found is None else (found,)
    except ValueError:
        return None
    if name == "NOTRACK" or (name == "CT" and "--notrack" in opts):
        return (Effect("notrack"),)
    if name == "CT":
        return ()  # a zone, helper or timeout template: the first packet's verdict is the same
    if name in ("DNAT", "SNAT"):
        option = "--to-destination" if name == "DNAT" else "--to-source"
        to = nat_to(opts.get(option, ""), version)
        if to is None:
            return None
        return (Effect(name.lower(), address=to[0], port=to[1], terminal=True),)
    if name == "MASQUERADE":
        return (Effect("masquerade", terminal=True),)
    return None


def _mark_source(value: object) -> str:
    if isinstance(value, dict) and isinstance(value.get("ct"), dict):
        return "ct" if value["ct"].get("key") == "mark" and value["ct"].get("dir") is None else ""
    if isinstance(value, dict) and isinstance(value.get("meta"), dict):
        return "meta" if value["meta"].get("key") == "mark" else ""
    return ""


def _tcp_option(key: object) -> bool:
    return isinstance(key, dict) and isinstance(key.get("tcp option"), dict)


def nft_effect(word: str, value: object) -> Effect | None:
    """An nft statement (`meta mark set`, `ct mark set`, `notrack`, `dnat`, `snat`,
    `masquerade`) as an effect; None when it is not followed."""
    if word == "notrack":
        return Effect("notrack")
    if word == "masquerade":
        return Effect("masquerade", terminal=True)
    if word in ("dnat", "snat") and isinstance(value, dict):
        addr, port = value.get("addr"), value.get("port")
        family = value.get("family")
        if not isinstance(addr, str) or not (port is None or type(port) is int):
            return None
        version = 6 if family == "ip6" or ":" in addr else 4
        number = _address(addr, version)
        if number is None or (port is not None and not 0 < port <= 65535):
            return None
        return Effect(word, address=number, port=port, terminal=True)
    if word == "ct helper":  # as -j CT --helper: the first packet's verdict is the same
        return Effect("helper")
    if word == "mangle" and isinstance(value, dict) and _tcp_option(value.get("key")):
        return Effect("tcpoption")  # MSS clamping: no field the evaluator reads changes
    if word == "mangle" and isinstance(value, dict):
        key, new = _mark_source(value.get("key")), value.get("value")
        if not key:
            return None
        if type(new) is int and 0 <= new <= FULL:
            return Effect("mark" if key == "meta" else "ctmark", value=new, mask=FULL)
        source = _mark_source(new)
        if key == "meta" and source == "ct":
            return Effect("loadmark", value=FULL, mask=FULL)
        if key == "ct" and source == "meta":
            return Effect("savemark", value=FULL, mask=FULL)
    return None


def apply(effect: Effect, packet: Packet) -> Packet | None:
    """The packet after the effect; None when an nft `ct mark` read breaks the rule (no
    connection: the rest of the rule is not run)."""
    kind = effect.kind
    tracked = packet.ct == "new"
    if kind == "mark":
        return replace(packet, mark=(packet.mark & ~effect.mask & FULL) ^ effect.value)
    if kind == "ctmark":
        if not tracked:
            return packet  # no connection to mark
        return replace(packet, ctmark=(packet.ctmark & ~effect.mask & FULL) ^ effect.value)
    if kind == "savemark":
        if not tracked:
            return packet
        new = (packet.ctmark & ~effect.mask & FULL) ^ (packet.mark & effect.value)
        return replace(packet, ctmark=new)
    if kind in ("restoremark", "loadmark"):
        if not tracked:  # nft `meta mark set ct mark` reads a missing connection: it breaks
            return None if kind == "loadmark" else packet
        new = (packet.mark & ~effect.value & FULL) ^ (packet.ctmark & effect.mask)
        return replace(packet, mark=new)
    if kind == "notrack":
        return replace(packet, ct="untracked") if packet.ct == "none" else packet
    if kind == "dnat":
        assert effect.address is not None
        port = effect.port if effect.port is not None else packet.dport
        moved = (effect.address, port) != (packet.destination, packet.dport)
        nat = packet.ct_status | (DNAT_BIT if moved else 0)
        first = packet.destination if packet.orig_destination is None else packet.orig_destination
        return replace(
            packet, destination=effect.address, dport=port, ct_status=nat, orig_destination=first
        )
    if kind == "snat":
        assert effect.address is not None
        sport = effect.port if effect.port is not None else packet.sport
        nat, unsure = packet.ct_status, packet.ct_status_unsure
        if effect.address != packet.source or (
            effect.port is not None and packet.sport is not None and sport != packet.sport
        ):
            nat |= SNAT_BIT
        elif effect.port is not None and packet.sport is None:  # from the ephemeral range
            lo, hi = packet.ephemeral
            if lo <= effect.port <= hi:
                unsure |= SNAT_BIT
            else:
                nat |= SNAT_BIT
        first = packet.source if packet.orig_source is None else packet.orig_source
        return replace(
            packet,
            source=effect.address,
            sport=sport,
            ct_status=nat,
            ct_status_unsure=unsure,
            orig_source=first,
        )
    return packet
