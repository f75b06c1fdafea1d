"""Cisco ASA configuration (ASA CLI reference, 9.x): `object network NAME` with `host`/`subnet`,
`object-group network NAME` with `network-object object|host|ADDR MASK`, `object-group service
NAME tcp|udp` with `port-object eq|range`, `description TEXT` (to the end of the line) and
`access-list ACL line N remark TEXT` / `access-list ACL line N extended permit PROTO
object-group SRC object-group DST object-group SVC`. `!` starts a comment line; an indented line
belongs to the object above it; an ACE may end in `log`.

Loading is cumulative, as on the device: `Device.load` applies one file to the running
configuration a previous load left. Entering an existing object re-opens it (`host`/`subnet`
replace the object's address, `network-object`/`port-object` add to the group what it does not
hold yet); `line N` inserts ahead of the entry that is line N now; an ACE equal to one the ACL
holds already is not added again (the ASA refuses duplicate entries)."""

from __future__ import annotations

from netaddr import IPAddress, IPNetwork

from support.vendor.common import (
    Allow,
    Policy,
    ReaderError,
    lookup,
    network,
    port,
    tokens,
)


def _host(text: str) -> IPNetwork:
    ip = IPAddress(text)
    return network(f"{ip}/{32 if ip.version == 4 else 128}")


def _subnet(words: list[str]) -> IPNetwork:
    match words:
        case [ip, mask] if "." in mask:
            return network(f"{ip}/{IPAddress(mask).netmask_bits()}", 4)
        case [cidr] if ":" in cidr:
            return network(cidr, 6)
    raise ReaderError(f"bad subnet {words}")


class _State:
    def __init__(self) -> None:
        self.objects: dict[str, IPNetwork] = {}
        self.groups: dict[str, list[IPNetwork]] = {}
        self.services: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        self.acl: list[tuple[str, list[str] | None]] = []  # (acl, permit words | None=remark)
        self.refused: list[str] = []


def _sub(st: _State, kind: str, name: str, line: str) -> None:
    w = line.split()
    if w[0] == "description":
        return  # free text to the end of this line
    w = tokens(line)
    if kind == "object":
        match w:
            case ["host", ip]:
                st.objects[name] = _host(ip)
            case ["subnet", *rest]:
                st.objects[name] = _subnet(rest)
            case _:
                raise ReaderError(f"object {name}: {line!r}")
    elif kind == "network":
        match w:
            case ["network-object", "object", obj]:
                _add(st.groups[name], lookup(st.objects, obj, "object"))
            case ["network-object", "host", ip]:
                _add(st.groups[name], _host(ip))
            case ["network-object", *rest]:
                _add(st.groups[name], _subnet(rest))
            case _:
                raise ReaderError(f"object-group {name}: {line!r}")
    else:
        match w:
            case ["port-object", "eq", p]:
                _add(st.services[name][1], (port(p), port(p)))
            case ["port-object", "range", lo, hi] if port(lo) <= port(hi):
                _add(st.services[name][1], (port(lo), port(hi)))
            case _:
                raise ReaderError(f"object-group service {name}: {line!r}")


def _add(items: list, item: object) -> None:
    if item not in items:
        items.append(item)


def _insert(st: _State, acl: str, line_no: str, entry: list[str] | None) -> None:
    if entry is not None and (acl, entry) in st.acl:
        st.refused.append(f"duplicate entry in {acl}: {' '.join(entry)}")
        return
    n = int(line_no)
    if not 1 <= n <= len(st.acl) + 1:
        raise ReaderError(f"line {n} past the end of {acl}")
    st.acl.insert(n - 1, (acl, entry))


class Device:
    """An ASA's running configuration that files are loaded into, one after the other;
    `existing`: entries already in the ACL (placeholders), so `line N` can be checked."""

    def __init__(self, acl: str, existing: int = 0) -> None:
        self.acl = acl
        self.st = _State()
        self.st.acl = [(acl, ["existing"]) for _ in range(existing)]

    def load(self, text: str) -> Device:
        _load(self.st, text)
        return self

    def policy(self) -> Policy:
        return _policy(self.st, self.acl)


def read(text: str, acl: str, existing: int = 0) -> Policy:
    return Device(acl, existing).load(text).policy()


def _load(st: _State, text: str) -> None:
    current: tuple[str, str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("!"):
            continue
        if line.startswith(" "):
            if current is None:
                raise ReaderError(f"indented line outside an object: {line!r}")
            _sub(st, current[0], current[1], line.strip())
            continue
        current = None
        words = line.split()
        if words[:1] == ["access-list"] and words[2:3] == ["line"] and words[4:5] == ["remark"]:
            _insert(st, words[1], words[3], None)  # a remark is free text to the end
            continue
        w = tokens(line)
        match w:
            case ["object", "network", name]:
                if name in st.groups:
                    raise ReaderError(f"{name} is an object-group")
                current = ("object", name)
            case ["object-group", "network", name]:
                st.groups.setdefault(name, [])
                current = ("network", name)
            case ["object-group", "service", name, ("tcp" | "udp") as proto]:
                if st.services.setdefault(name, (proto, []))[0] != proto:
                    raise ReaderError(f"object-group service {name} is not {proto}")
                current = ("service", name)
            case ["access-list", name, "line", n, "extended", "permit", *rest]:
                _insert(st, name, n, rest)
            case _:
                raise ReaderError(f"unknown line: {line!r}")


def _policy(st: _State, acl: str) -> Policy:
    policy = Policy(objects=set(st.objects) | set(st.groups) | set(st.services))
    for index, (name, entry) in enumerate(st.acl, start=1):
        if entry is None or entry == ["existing"]:
            continue
        if name != acl:
            raise ReaderError(f"entry in another access-list {name}")
        words = entry[:-1] if entry[-1:] == ["log"] else entry
        match words:
            case [proto, "object-group", src, "object-group", dst, "object-group", svc]:
                sproto, ranges = lookup(st.services, svc, "service group")  # type: ignore[misc]
                if sproto != proto:
                    raise ReaderError(f"{proto} ACE with a {sproto} service group")
                policy.rules.append(
                    Allow(
                        f"line {index}",
                        tuple(lookup(st.groups, src, "group")),  # type: ignore[arg-type]
                        tuple(lookup(st.groups, dst, "group")),  # type: ignore[arg-type]
                        proto,
                        tuple(ranges),
                    )
                )
                policy.placement[f"line {index}"] = str(index)
            case _:
                raise ReaderError(f"unknown access-list entry {entry}")
    return policy
