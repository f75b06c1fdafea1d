"""Junos SRX `set` commands as `load set terminal` takes them (Junos CLI reference): `set
security address-book global address NAME PREFIX`, `... address-set NAME address MEMBER`,
`set applications application NAME protocol tcp|udp destination-port N[-M]`, `set applications
application-set NAME application APP`, `set security policies (global | from-zone A to-zone B)
policy P match source-address|destination-address|application|from-zone|to-zone X`, `... then
permit`, `... description "TEXT"`, `insert security policies CTX policy P before policy Q`.
`then log session-init|session-close`. `#` starts a comment line.

Loading is cumulative, as `load set` on the candidate configuration: `Device.load` applies one
file to what a previous load left. `set` of a leaf replaces its value, `set` of a list member
(an address-set's address, an application-set's application, a policy's match value) adds it
when it is not there yet."""

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
            values = st.policies.setdefault((ctx, name), {}).setdefault(key, [])
            if value not in values:
                values.append(value)
        case ["policy", name, "then", ("permit" | "deny" | "reject") as action]:
            got = st.policies.setdefault((ctx, name), {})
            if got.get("then", [action]) != [action]:
                raise ReaderError(f"policy {name}: two actions")
            got["then"] = [action]
        case ["policy", name, "then", "log", ("session-init" | "session-close")]:
            lookup(st.policies, (ctx, name), "policy")
        case ["policy", name, "description", _]:
            st.policies.setdefault((ctx, name), {})
        case _:
            raise ReaderError(f"unknown policy statement {words}")


def _set(st: _State, w: list[str]) -> None:
    match w:
        case [*head, "address", name, "description", _] if head == _BOOK:
            lookup(st.nets, name, "address")
        case [*head, "address", name, prefix] if head == _BOOK:
            if name in st.sets:
                raise ReaderError(f"{name} is an address-set")
            st.nets[name] = [network(prefix)]
        case [*head, "address-set", name, "address", member] if head == _BOOK:
            if name not in st.nets:
                define(st.nets, name, [])
                st.sets.add(name)
            if name not in st.sets:
                raise ReaderError(f"{name} is an address, not a set")
            for net in lookup(st.nets, member, "address"):  # type: ignore[attr-defined]
                if net not in st.nets[name]:
                    st.nets[name].append(net)
        case [*head, "address-set", name, "description", _] if head == _BOOK:
            lookup(st.nets, name, "address-set")
        case ["set", "applications", "application", name, "protocol", proto, "destination-port", r]:
            if proto not in ("tcp", "udp"):
                raise ReaderError(f"protocol {proto}")
            if name in st.app_sets:
                raise ReaderError(f"{name} is an application-set")
            st.apps[name] = (proto, [port_range(r)])
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
            st.apps[name] = (proto, have[1] + [r for r in ranges if r not in have[1]])
        case ["set", "security", "policies", *rest]:
            _policy(st, rest)
        case _:
            raise ReaderError(f"unknown line {' '.join(w)!r}")


class Device:
    """A Junos candidate configuration that files are loaded into, one after the other."""

    def __init__(self, context: str = "global", zones: tuple[str, ...] = ()) -> None:
        self.context = context
        self.zones = zones
        self.st = _State()
        self.placement: dict[str, str] = {}

    def load(self, text: str) -> Device:
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            w = tokens(line)
            if w[:3] == ["insert", "security", "policies"]:
                ctx, rest = _context(w[3:])
                match rest:
                    case ["policy", name, "before", "policy", other]:
                        lookup(self.st.policies, (ctx, name), "policy")
                        self.placement[name] = f"before {other}"
                    case _:
                        raise ReaderError(f"unknown insert {line!r}")
                continue
            _set(self.st, w)
        return self

    def policy(self) -> Policy:
        return _admitted(self.st, self.context, self.zones, self.placement)


def read(text: str, context: str = "global", zones: tuple[str, ...] = ()) -> Policy:
    return Device(context, zones).load(text).policy()


def _admitted(
    st: _State, context: str, zones: tuple[str, ...], placement: dict[str, str]
) -> Policy:
    policy = Policy(placement=dict(placement))
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
