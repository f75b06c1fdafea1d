"""`nft -j list ruleset` reader: tables of every family, base chains with hook, priority and
policy, user chains, named sets and maps, rules as matches and one verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from auditor.errors import InputError, Problem
from auditor.ruleset.effects import nft_effect
from auditor.ruleset.matches import Const, ProtoMatch
from auditor.ruleset.model import (
    Answer,
    Chain,
    Effect,
    Kind,
    Match,
    Packet,
    Rule,
    Ruleset,
    Table,
    Target,
    TargetKind,
)
from auditor.ruleset.nft_expr import (
    CATCH_ALL,
    CATCH_ALL_NAME,
    Malformed,
    NftVmap,
    Unmodelled,
    build_match,
    elements,
    parse_key,
    render,
)
from auditor.ruleset.nft_json import items_with_lines
from auditor.ruleset.nft_shape import MAX_ELEMENTS

_NON_TERMINAL = {"counter", "log", "comment", "nftrace"}
_MODIFYING = {"mangle", "dnat", "snat", "masquerade", "redirect", "tproxy", "notrack"}
_MODIFYING |= {"set", "map", "ct helper", "ct timeout", "ct expectation", "synproxy", "dup", "fwd"}
_NAMED_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50}
_NAMED_PRIORITIES |= {"srcnat": 100}
# Statements that let the packet through or not by earlier traffic: followed both ways.
_UNDECIDED = {
    "limit": "depends on a rate limit",
    "quota": "depends on a byte quota",
    "ct count": "depends on the number of open connections",
}


@dataclass
class _TableDraft:
    family: str
    name: str
    dormant: bool | None = False
    sets: dict[str, object] = field(default_factory=dict)
    compiled: dict[object, tuple[Any, ...]] = field(default_factory=dict)  # named sets, built once
    maps: dict[str, list[object]] = field(default_factory=dict)
    chains: dict[str, dict[str, object]] = field(default_factory=dict)
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    raw_rules: list[tuple[int, dict[str, object]]] = field(default_factory=list)


def parse_nft(text: str, source: str) -> Ruleset:
    drafts: dict[tuple[str, str], _TableDraft] = {}
    problems: list[Problem] = []
    counted = 0
    for line, item in items_with_lines(text, source):
        ((kind, body),) = item.items()
        if kind == "metainfo" or not isinstance(body, dict):
            continue
        if kind in ("set", "map"):
            counted += len(body.get("elem", []))
            if counted > MAX_ELEMENTS:
                message = f"more than {MAX_ELEMENTS} set elements in one file (split it)"
                raise InputError([Problem(source, line, "nft", message)])
        try:
            _item(drafts, kind, body, line, source=source, problems=problems)
        except KeyError as exc:
            problems.append(Problem(source, line, "nft", f"{kind} without {exc} (or its table)"))
    for draft in drafts.values():
        for line, body in draft.raw_rules:
            chain = str(body.get("chain"))
            if chain not in draft.rules:
                problems.append(Problem(source, line, "nft", f"rule of unknown chain {chain}"))
                continue
            try:
                draft.rules[chain].append(_rule(draft, body, line, len(draft.rules[chain]) + 1))
            except Malformed as exc:
                problems.append(Problem(source, line, "nft", str(exc)))
    if problems:
        raise InputError(problems)
    return Ruleset(Kind.NFT, source, tuple(_table(d, source) for d in drafts.values()), text)


def _item(
    drafts: dict[tuple[str, str], _TableDraft],
    kind: str,
    body: dict[str, object],
    line: int,
    *,
    source: str,
    problems: list[Problem],
) -> None:
    """One table, chain, set, map or rule into its table's draft (KeyError: a field missing)."""
    key = (str(body["family"]), str(body["table"] if kind != "table" else body["name"]))
    if kind == "table":
        if key in drafts:
            problems.append(Problem(source, line, "nft", f"table {key[0]} {key[1]} twice"))
        drafts[key] = _TableDraft(*key, dormant=_dormant(body.get("flags")))
        return
    draft = drafts[key]
    if kind == "chain" and str(body["name"]) in draft.chains:
        problems.append(Problem(source, line, "nft", f"chain {body['name']} twice"))
    elif kind == "chain":
        draft.chains[str(body["name"])] = {**body, "_line": line}
        draft.rules[str(body["name"])] = []
    elif kind == "set":
        draft.sets[str(body["name"])] = body.get("elem", [])
    elif kind == "map":
        draft.maps[str(body["name"])] = list(body.get("elem", []))  # type: ignore[call-overload]
    elif kind == "rule":
        draft.raw_rules.append((line, body))


_TABLE_FLAGS = ("dormant", "owner", "persist")


def _dormant(flags: object) -> bool | None:
    """`flags dormant`: nft lists it as "dormant" or ["dormant", ...]. None: flags that are
    none of nft's (nft 1.0.6 prints a table's single flag as garbage), so it may be."""
    names = flags if isinstance(flags, list) else [] if flags is None else [flags]
    if any(n not in _TABLE_FLAGS for n in names):
        return None
    return "dormant" in names


def _devices(body: Mapping[str, object]) -> tuple[str, ...]:
    dev = body.get("dev")
    if isinstance(dev, str):
        return (dev,)
    return tuple(str(d) for d in dev) if isinstance(dev, list) else ()


def _table(draft: _TableDraft, source: str) -> Table:
    chains = {}
    for name, body in draft.chains.items():
        hook = body.get("hook")
        prio = body.get("prio", 0)
        if isinstance(prio, str):
            prio = _NAMED_PRIORITIES.get(prio, 0)
        chains[name] = Chain(
            name,
            tuple(draft.rules[name]),
            hook=str(hook) if hook else None,
            priority=int(prio),  # type: ignore[call-overload]
            policy=str(body.get("policy", "accept")) if hook else None,
            base=hook is not None,
            line=int(body["_line"]),  # type: ignore[call-overload]
            type=str(body.get("type", "filter")),
            devices=_devices(body),
        )
    return Table(draft.family, draft.name, chains, dormant=draft.dormant)


def _rule(draft: _TableDraft, body: Mapping[str, object], line: int, number: int) -> Rule:
    exprs = body.get("expr", [])
    assert isinstance(exprs, list)
    text = " ".join(_render_stmt(s) for s in exprs)
    if body.get("comment"):
        text += f' comment "{body["comment"]}"'
    matches: list[Match] = []
    target = Target(TargetKind.CONTINUE)
    effects: list[Effect] = []
    for stmt in exprs:
        ((word, value),) = stmt.items()
        try:
            on_the_way = _on_the_way(stmt, matches, effects)
            if on_the_way is not None:
                if on_the_way.kind is not TargetKind.CONTINUE:
                    target = on_the_way
                    break
            elif word == "match":
                matches.append(build_match(value, draft.sets, draft.compiled))
            elif word == "xt" and isinstance(value, dict) and value.get("type") == "match":
                matches.append(Const(f"iptables match {value.get('name')} (xt) is not modelled"))
            elif word in _NON_TERMINAL:
                continue
            elif word in _MODIFYING:
                target = Target(
                    TargetKind.MODIFY,
                    detail=f"{_render_stmt(stmt)} changes the packet or its state",
                )
                break
            elif word == "vmap":
                target = _vmap(draft, value)
                break
            else:
                target = _verdict(word, value)
                break
        except Malformed:
            raise
        except (
            Unmodelled, ValueError, KeyError, TypeError, IndexError, AssertionError, AttributeError
        ) as exc:  # fmt: skip
            reason = (
                str(exc) if isinstance(exc, Unmodelled) else f"{_render_stmt(stmt)} is not modelled"
            )
            if word != "match":
                target = Target(TargetKind.UNKNOWN, detail=reason)
                break
            matches.append(Const(reason))
    matches += _reject_dependencies(target)
    if effects and target.kind is not TargetKind.UNKNOWN:
        target = replace(target, effects=tuple(effects))
    handle = body.get("handle")  # nft -j always lists it; a hand-made document may not
    ref = f"handle {handle}" if handle is not None else f"rule {number}"
    return Rule(draft.name, str(body.get("chain")), ref, text, line, tuple(matches), target)


def _on_the_way(
    stmt: Mapping[str, object], matches: list[Match], effects: list[Effect]
) -> Target | None:
    """Statements the evaluator follows: a rate or quota (a match it cannot decide), a mark
    set, notrack, a NAT binding. None: not one of them; CONTINUE: taken, the rule goes on."""
    ((word, value),) = stmt.items()
    if effects and (word == "match" or word in _UNDECIDED):
        return Target(TargetKind.UNKNOWN, detail="a match after a statement")
    if word in _UNDECIDED:
        matches.append(Const(f"{_render_stmt(stmt)} {_UNDECIDED[word]}"))
        return Target(TargetKind.CONTINUE)
    effect = nft_effect(word, value) if word in _MODIFYING else None
    if effect is None:
        return None
    effects.append(effect)
    if effect.terminal:
        return Target(TargetKind.MODIFY, detail=_render_stmt(stmt))
    return Target(TargetKind.CONTINUE)


@dataclass(frozen=True, slots=True)
class _Family:
    version: int

    def test(self, packet: Packet) -> Answer:
        return packet.version == self.version


def _reject_dependencies(target: Target) -> list[Match]:
    """What a reject type implies: nft adds the dependency (`reject with tcp reset` only for
    TCP, `with icmp` only for IPv4) and its JSON listing may leave it out."""
    if target.kind is not TargetKind.REJECT:
        return []
    if target.detail.startswith("tcp reset"):
        return [ProtoMatch(frozenset({6}))]
    if target.detail.startswith("icmp ") or target.detail == "icmp":
        return [_Family(4)]
    if target.detail.startswith("icmpv6"):
        return [_Family(6)]
    return []


def _verdict(word: str, value: object) -> Target:
    if word in ("accept", "drop", "return"):
        return Target(TargetKind(word))
    if word == "continue":
        return Target(TargetKind.CONTINUE)
    if word == "reject":
        detail = ""
        if isinstance(value, dict):
            detail = " ".join(str(v) for v in (value.get("type"), value.get("expr")) if v)
        return Target(TargetKind.REJECT, detail=detail)
    if word in ("jump", "goto") and isinstance(value, dict):
        return Target(TargetKind(word), chain=str(value["target"]))
    if word in ("limit", "quota", "xt", "queue", "meter", "ct count", "numgen"):
        raise Unmodelled(f"{word} is not modelled")
    raise Unmodelled(f"statement {word} is not modelled")


def _vmap(draft: _TableDraft, value: Mapping[str, object]) -> Target:
    fields = parse_key(value["key"])
    data = value["data"]
    if isinstance(data, str) and data.startswith("@"):
        pairs = draft.maps.get(data[1:])
        if pairs is None:
            raise Unmodelled(f"map {data} is not in the ruleset")
    else:
        assert isinstance(data, dict)
        pairs = data["set"]
    entries = []
    for pair in pairs:
        assert isinstance(pair, list)
        key, verdict = pair
        ((word, arg),) = verdict.items()
        element = elements(fields, key, {})[0]
        entries.append((element, _verdict(word, arg)))
    # The catch-all `*` element applies only when no other element does.
    entries.sort(key=lambda pair: pair[0][0] in (CATCH_ALL, CATCH_ALL_NAME))
    return Target(TargetKind.VMAP, vmap=NftVmap(fields, tuple(entries)))


def _render_stmt(stmt: Mapping[str, object]) -> str:
    ((word, value),) = stmt.items()
    if word == "match" and isinstance(value, dict):
        op = value.get("op", "==")
        shown = "" if op in ("==", "in") else f"{op} "
        return f"{render(value.get('left'))} {shown}{render(value.get('right'))}"
    if word in ("jump", "goto") and isinstance(value, dict):
        return f"{word} {value.get('target')}"
    if word == "vmap" and isinstance(value, dict):
        return f"{render(value.get('key'))} vmap {render(value.get('data'))}"
    if word == "reject" and isinstance(value, dict):
        return "reject with " + " ".join(
            str(v) for v in (value.get("type"), value.get("expr")) if v
        )
    if value is None:
        return word
    if word == "limit" and isinstance(value, dict) and "rate" in value:
        over = "over " if value.get("inv") else ""
        unit = f" {value['rate_unit']}" if value.get("rate_unit") not in (None, "packets") else ""
        burst = f" burst {value['burst']}" if value.get("burst") else ""
        return f"limit rate {over}{value['rate']}{unit}/{value.get('per', 'second')}{burst}"
    if word in ("counter", "log"):
        return word
    return f"{word} {render(value)}"
