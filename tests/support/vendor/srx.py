"""Junos SRX `set` commands as `load set terminal` takes them (Junos CLI reference): `set
security address-book global address NAME PREFIX`, `... address-set NAME address MEMBER`,
`set applications application NAME protocol tcp|udp destination-port N[-M]`, `set applications
application-set NAME application APP`, `set security policies (global | from-zone A to-zone B)
policy P match source-address|destination-address|application|from-zone|to-zone X`, `... then
permit`, `... description "TEXT"`, `insert security policies CTX policy P before policy Q`.
`#` starts a comment line."""

from __future__ import annotations

from netaddr import IPNetwork

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

_BOOK = ["set", "security", "address-book", "global"]


class _State:
    def __init__(self) -> None:
        self.nets: dict[str, list[IPNetwork]] = {}
        self.sets: set[str] = set()
        self.apps: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        self.app_sets: set[str] = set()
        self.policies: dict[tuple[str, str], dict[str, list[str]]] = {}


def _context(words: list[str]) -> tuple[str, list[str]]:
    match words:
        case ["global", *rest]:
            return "global", rest
        case ["from-zone", a, "to-zone", b, *rest]:
            return f"from-zone {a} to-zone {b}", rest
    raise ReaderError(f"bad policy context {words}")


def _policy(st: _State, words: list[str]) -> None:
    ctx, rest = _context(words)
    match rest:
        case ["policy", name, "match", key, value] if key in (
            "source-address", "destination-address", "application", "from-zone", "to-zone",
        ):  # fmt: skip
            st.policies.setdefault((ctx, name), {}).setdefault(key, []).append(value)
        case ["policy", name, "then", ("permit" | "deny" | "reject") as action]:
            got = st.policies.setdefault((ctx, name), {})
            if "then" in got:
                raise ReaderError(f"policy {name}: two actions")
            got["then"] = [action]
        case ["policy", name, "description", _]:
            st.policies.setdefault((ctx, name), {})
        case _:
            raise ReaderError(f"unknown policy statement {words}")


def _set(st: _State, w: list[str]) -> None:
    match w:
        case [*head, "address", name, prefix] if head == _BOOK:
            define(st.nets, name, [network(prefix)])
        case [*head, "address-set", name, "address", member] if head == _BOOK:
            if name not in st.nets:
                define(st.nets, name, [])
                st.sets.add(name)
            if name not in st.sets:
                raise ReaderError(f"{name} is an address, not a set")
            st.nets[name] += lookup(st.nets, member, "address")  # type: ignore[arg-type]
        case [*head, "address-set", name, "description", _] if head == _BOOK:
            lookup(st.nets, name, "address-set")
        case ["set", "applications", "application", name, "protocol", proto, "destination-port", r]:
            if proto not in ("tcp", "udp"):
                raise ReaderError(f"protocol {proto}")
            define(st.apps, name, (proto, [port_range(r)]))
        case ["set", "applications", "application-set", name, "application", app]:
            if name not in st.apps:
                define(st.apps, name, ("", []))
                st.app_sets.add(name)
            if name not in st.app_sets:
                raise ReaderError(f"{name} is an application, not a set")
            proto, ranges = lookup(st.apps, app, "application")  # type: ignore[misc]
            have = st.apps[name]
            if have[0] not in ("", proto):
                raise ReaderError(f"application-set {name} mixes protocols")
            st.apps[name] = (proto, have[1] + ranges)
        case ["set", "security", "policies", *rest]:
            _policy(st, rest)
        case _:
            raise ReaderError(f"unknown line {' '.join(w)!r}")


def read(text: str, context: str = "global", zones: tuple[str, ...] = ()) -> Policy:
    st = _State()
    policy = Policy()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w = tokens(line)
        if w[:3] == ["insert", "security", "policies"]:
            ctx, rest = _context(w[3:])
            match rest:
                case ["policy", name, "before", "policy", other]:
                    lookup(st.policies, (ctx, name), "policy")
                    policy.placement[name] = f"before {other}"
                case _:
                    raise ReaderError(f"unknown insert {line!r}")
            continue
        _set(st, w)
    for (ctx, name), f in st.policies.items():
        if ctx != context:
            raise ReaderError(f"policy {name} in {ctx}, expected {context}")
        if f.get("then") != ["permit"]:
            continue
        got_zones = tuple(f"{k} {z}" for k in ("from-zone", "to-zone") for z in f.get(k, []))
        if got_zones != zones:
            raise ReaderError(f"policy {name}: zones {got_zones}, expected {zones}")
        apps = [lookup(st.apps, a, "application") for a in f.get("application", [])]
        if len({a[0] for a in apps}) != 1:  # type: ignore[index]
            raise ReaderError(f"policy {name}: one protocol expected")
        policy.rules.append(
            Allow(
                name,
                tuple(n for a in f["source-address"] for n in st.nets[a]),
                tuple(n for a in f["destination-address"] for n in st.nets[a]),
                apps[0][0],  # type: ignore[index]
                tuple(r for a in apps for r in a[1]),  # type: ignore[index]
            )
        )
    policy.objects = set(st.nets) | set(st.apps) | {name for _, name in st.policies}
    return policy
