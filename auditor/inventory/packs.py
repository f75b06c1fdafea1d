"""Requirement packs: which protocols, ports and checks each provider kind needs.

A pack is one YAML file in `rules/` (shipped) or in a user folder (`--rules DIR`):

    pack: ldap
    description: LDAP directories and Active Directory.
    kinds:
      ldaps:
        description: LDAP over TLS
        ports:
          - {port: 636, protocol: tcp, checks: [tcp, tls, ldap-bind]}

Packs are validated like inventories: every problem at once, each located to its line.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from auditor.documents.yamlsource import YamlDocument, join, load_yaml
from auditor.errors import InputError, Problem
from auditor.model.checks import CHECKS, required_checks
from auditor.model.inventory import (
    PEER_KIND,
    Check,
    Inventory,
    KindSpec,
    PortSpec,
    Protocol,
    Provider,
)
from auditor.resources import rules_dir
from auditor.values import has_control, is_pack_name

_E = TypeVar("_E", Protocol, Check)

PACK_SUFFIXES = (".yaml", ".yml")
MAX_PACK_BYTES = 256 * 1024
MAX_PORTS_PER_KIND = 64
MAX_TEXT = 500
_PACK_KEYS = ("pack", "description", "kinds")
_KIND_KEYS = ("description", "ports", "source")
_PORT_KEYS = ("port", "protocol", "checks")
# A check that makes no sense on a protocol (a TLS handshake over UDP) is a pack error.
CHECKS_FOR: Mapping[Protocol, frozenset[Check]] = MappingProxyType(
    {p: frozenset(c for c, chk in CHECKS.items() if chk.transport is p) for p in Protocol}
)


@dataclass(frozen=True, slots=True)
class Pack:
    """One pack file, validated."""

    name: str
    description: str
    file: Path
    kinds: tuple[KindSpec, ...]


def load_packs(user_dirs: Sequence[Path] = ()) -> Mapping[str, KindSpec]:
    """Every kind: the shipped packs first, then each user folder in turn adds or overrides kinds.

    Raises InputError listing every problem in every pack.
    """
    problems: list[Problem] = []
    kinds: dict[str, KindSpec] = {}
    for folder, shipped in [(rules_dir(), True), *((Path(d), False) for d in user_dirs)]:
        try:
            packs = _shipped_packs(folder) if shipped else read_pack_dir(folder)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        for pack in packs:
            for spec in pack.kinds:
                kinds[spec.kind] = spec
    if problems:
        raise InputError(problems)
    return MappingProxyType(dict(sorted(kinds.items())))


def _shipped_packs(folder: Path) -> tuple[Pack, ...]:
    """The shipped packs, read once per process while their files stay as they are (a run of
    several inventories, or of many tests, parses them once)."""
    stamp = tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*"))
    )
    return _read_once(folder, stamp)


@cache
def _read_once(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> tuple[Pack, ...]:
    del stamp  # the cache's key: a changed file is read again
    return read_pack_dir(folder, require_packs=False)


def read_pack_dir(folder: Path, *, require_packs: bool = True) -> tuple[Pack, ...]:
    """The packs of one folder, by file name. A kind defined twice in one folder is an error:
    which one wins would depend on file names."""
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise InputError(
            [Problem(str(folder), None, "", f"{what} (expected a folder of *.yaml packs)")]
        )
    files = sorted(p for p in folder.iterdir() if p.suffix in PACK_SUFFIXES and p.is_file())
    if not files and require_packs:
        raise InputError(
            [Problem(str(folder), None, "", "no requirement packs here (expected *.yaml files)")]
        )
    problems: list[Problem] = []
    packs: list[Pack] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            pack = read_pack(path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        for spec in pack.kinds:
            if spec.kind in seen:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        f"kinds.{spec.kind}",
                        f"kind {spec.kind!r} is also defined in {seen[spec.kind].name} "
                        "(expected each kind in one pack per folder)",
                    )
                )
            seen.setdefault(spec.kind, path)
        packs.append(pack)
    if problems:
        raise InputError(problems)
    return tuple(packs)


def read_pack(path: Path) -> Pack:
    """Load and validate one pack file."""
    doc = load_yaml(path, max_bytes=MAX_PACK_BYTES)
    return parse_pack(doc, path)


def parse_pack(doc: YamlDocument, path: Path) -> Pack:
    v = _Validator(doc)
    data = doc.data
    if not isinstance(data, dict):
        v.problem("", f"is {_type_name(data)} (expected a mapping with pack, description, kinds)")
        raise InputError(v.problems)
    v.unknown_keys(data, "", _PACK_KEYS)
    name = v.name(data, "pack", required=True)
    description = v.text(data, "description")
    kinds: list[KindSpec] = []
    raw_kinds = data.get("kinds")
    if raw_kinds is None:
        v.problem("kinds" if "kinds" in data else "", "missing kinds (expected a mapping)")
    elif not isinstance(raw_kinds, dict) or not raw_kinds:
        v.problem("kinds", f"is {_type_name(raw_kinds)} (expected a non-empty mapping of kinds)")
    else:
        for kind, body in raw_kinds.items():
            spec = v.kind(kind, body, name or path.stem)
            if spec is not None:
                kinds.append(spec)
    if v.problems:
        raise InputError(v.problems)
    return Pack(name=name or path.stem, description=description, file=path, kinds=tuple(kinds))


class _Validator:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line(field), field, message))

    def unknown_keys(self, data: dict[str, Any], path: str, allowed: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                self.problem(join(path, key), f"unknown key {key!r} ({_suggest(key, allowed)})")

    def name(self, data: dict[str, Any], key: str, *, required: bool) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key if key in data else "", f"missing {key} (expected a name)")
            return ""
        if not is_pack_name(value):
            self.problem(
                key,
                f"bad name {value!r} (expected lower-case letters, digits, '-', '_', '.')",
            )
            return ""
        return value

    def text(self, data: dict[str, Any], path: str, key: str = "description") -> str:
        value = data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problem(join(path, key), f"is {_type_name(value)} (expected text)")
            return ""
        if has_control(value.strip()) or len(value) > MAX_TEXT:
            self.problem(
                join(path, key), f"expected one line of at most {MAX_TEXT} printable characters"
            )
            return ""
        return value.strip()

    def kind(self, kind: Any, body: Any, pack: str) -> KindSpec | None:
        path = f"kinds.{kind}"
        if not is_pack_name(kind):
            self.problem(
                path, f"bad kind name {kind!r} (expected lower-case letters, digits, '-', '_', '.')"
            )
            return None
        if kind == PEER_KIND:
            self.problem(
                path,
                f"kind {PEER_KIND!r} is reserved for the pair's own failover flows "
                "(expected another name; set the peer port in pair.failover.peer_port)",
            )
            return None
        if not isinstance(body, dict):
            self.problem(
                path, f"is {_type_name(body)} (expected a mapping with description, ports)"
            )
            return None
        self.unknown_keys(body, path, _KIND_KEYS)
        description = self.text(body, path)
        raw_ports = body.get("ports")
        if not isinstance(raw_ports, list) or not raw_ports:
            where = join(path, "ports") if "ports" in body else path
            self.problem(where, f"ports is {_type_name(raw_ports)} (expected a non-empty list)")
            return None
        if len(raw_ports) > MAX_PORTS_PER_KIND:
            self.problem(
                join(path, "ports"),
                f"{len(raw_ports)} ports (expected at most {MAX_PORTS_PER_KIND} per kind)",
            )
            return None
        ports: list[PortSpec] = []
        seen: dict[tuple[Protocol, int], int] = {}
        for i, raw in enumerate(raw_ports):
            spec = self.port(raw, join(join(path, "ports"), i))
            if spec is None:
                continue
            key = (spec.protocol, spec.port)
            if key in seen:
                self.problem(
                    join(join(path, "ports"), i),
                    f"duplicate port {spec.port}/{spec.protocol} "
                    f"(first at ports[{seen[key]}]; list each port/protocol once)",
                )
                continue
            seen[key] = i
            ports.append(spec)
        if len(ports) != len(raw_ports):
            return None
        source = self.text(body, path, "source")
        return KindSpec(
            kind=kind, ports=tuple(ports), description=description, pack=pack, source=source
        )

    def port(self, raw: Any, path: str) -> PortSpec | None:
        if not isinstance(raw, dict):
            self.problem(
                path, f"is {_type_name(raw)} (expected a mapping with port, protocol, checks)"
            )
            return None
        before = len(self.problems)
        self.unknown_keys(raw, path, _PORT_KEYS)
        number = raw.get("port")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 65535:
            self.problem(
                join(path, "port") if "port" in raw else path,
                f"{_is('port', number)} (expected an integer 1-65535)",
            )
        protocol = _enum(Protocol, raw.get("protocol"))
        if protocol is None:
            self.problem(
                join(path, "protocol") if "protocol" in raw else path,
                f"{_is('protocol', raw.get('protocol'))} (expected one of: tcp, udp)",
            )
        checks = self.checks(raw.get("checks"), join(path, "checks") if "checks" in raw else path)
        if protocol is not None and checks:
            for i, check in enumerate(checks):
                if check not in CHECKS_FOR[protocol]:
                    allowed = ", ".join(sorted(CHECKS_FOR[protocol]))
                    self.problem(
                        join(join(path, "checks"), i),
                        f"check {check.value!r} does not apply to {protocol.value} "
                        f"(expected one of: {allowed})",
                    )
        if len(self.problems) != before or protocol is None or not checks:
            return None
        assert isinstance(number, int)
        return PortSpec(protocol=protocol, port=number, checks=checks)

    def checks(self, raw: Any, path: str) -> tuple[Check, ...]:
        valid = ", ".join(c.value for c in Check)
        if not isinstance(raw, list) or not raw:
            self.problem(path, f"checks is {_type_name(raw)} (expected a non-empty list: {valid})")
            return ()
        out: list[Check] = []
        for i, item in enumerate(raw):
            check = _enum(Check, item)
            if check is None:
                names = [c.value for c in Check]
                hint = _suggest(str(item), names) if isinstance(item, str) else f"one of: {valid}"
                self.problem(join(path, i), f"unknown check {item!r} ({hint})")
            elif check in out:
                self.problem(join(path, i), f"duplicate check {check.value!r} (list it once)")
            else:
                out.append(check)
        return tuple(out) if len(out) == len(raw) else ()


def ports_for(provider: Provider, kinds: Mapping[str, KindSpec]) -> tuple[PortSpec, ...]:
    """The ports a provider is reached on: its kind's, or its inventory `ports:` override.

    An override without a protocol takes the pack's first protocol. Its checks are those of the
    pack's spec with the same port and protocol, else of the pack's first spec with that
    protocol, else plain reachability; the registry adds what the provider implies. Call
    `check_kinds` first for located errors.
    """
    spec = kinds.get(provider.kind)
    if spec is None:
        raise InputError(
            [
                Problem(
                    f"provider {provider.name}",
                    None,
                    "kind",
                    f"unknown kind {provider.kind!r} ({_suggest(provider.kind, list(kinds))})",
                )
            ]
        )
    if provider.ports is None:
        return spec.ports
    out: list[PortSpec] = []
    for override in provider.ports:
        protocol = override.protocol or spec.ports[0].protocol
        same = [p for p in spec.ports if p.protocol is protocol]
        exact = [p for p in same if p.port == override.port]
        if exact:
            checks = exact[0].checks
        elif same:
            checks = same[0].checks
        else:
            bare = PortSpec(protocol=protocol, port=override.port, checks=())
            checks = required_checks(None, bare)  # plain reachability
        port = PortSpec(protocol=protocol, port=override.port, checks=checks)
        if port not in out:
            out.append(port)
    return tuple(out)


def check_kinds(inv: Inventory, kinds: Mapping[str, KindSpec]) -> None:
    """Raise one InputError naming every provider whose kind is in no pack."""
    problems = [
        Problem(
            str(inv.source),
            inv.line_of(f"providers[{i}].kind"),
            f"providers[{i}].kind",
            f"unknown kind {provider.kind!r} ({_suggest(provider.kind, list(kinds))}; "
            "or add a pack for it with --rules DIR)",
        )
        for i, provider in enumerate(inv.providers)
        if provider.kind not in kinds
    ]
    if problems:
        raise InputError(problems)


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    listed = ", ".join(sorted(choices))
    if close:
        return f"did you mean {close[0]!r}? expected one of: {listed}"
    return f"expected one of: {listed}"


def _enum(enum: type[_E], value: Any) -> _E | None:
    if not isinstance(value, str):
        return None
    try:
        return enum(value)
    except ValueError:
        return None


def _is(key: str, value: Any) -> str:
    return f"missing {key}" if value is None else f"{key} is {value!r}"


def _type_name(value: Any) -> str:
    if value is None:
        return "missing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
