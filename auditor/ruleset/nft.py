"""`nft -j list ruleset` reader: tables of every family, base chains with hook, priority and
policy, user chains, named sets and maps, rules as matches and one verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from auditor.documents.jsonsource import parse_json
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
    Malformed,
    NftVmap,
    Unmodelled,
    build_match,
    elements,
    parse_key,
    render,
)
from auditor.ruleset.nft_shape import item_problem

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


def items_with_lines(text: str, source: str) -> list[tuple[int, dict[str, object]]]:
    """The objects of the top-level `nftables` array, each with the line it starts on."""
    try:
        document = parse_json(text, source)  # bounded: depth, number length, no NaN
    except InputError as exc:
        raise InputError([_nft_problem(p) for p in exc.problems]) from None
    if not isinstance(document, dict) or not isinstance(document.get("nftables"), list):
        raise InputError([Problem(source, 1, "nft", "expected an object with an 'nftables' array")])
    decoder = json.JSONDecoder()
    start = text.index("[", text.index('"nftables"'))
    out: list[tuple[int, dict[str, object]]] = []
    at = start + 1
    for item in document["nftables"]:
        while text[at] in " \t\r\n,":
            at += 1
        line = text.count("\n", 0, at) + 1
        _, at = decoder.raw_decode(text, at)
        if not isinstance(item, dict) or len(item) != 1:
            raise InputError([Problem(source, line, "nft", "each item holds exactly one object")])
        problem = item_problem(item)
        if problem:
            raise InputError([Problem(source, line, "nft", problem)])
        out.append((line, item))
    return out


def _nft_problem(problem: Problem) -> Problem:
    message = problem.message.replace("not valid JSON:", "not JSON:", 1)
    return replace(problem, field="nft", message=message.replace("an auditor document", "nft -j"))


@dataclass
class _TableDraft:
    family: str
    name: str
    sets: dict[str, object] = field(default_factory=dict)
    maps: dict[str, list[object]] = field(default_factory=dict)
    chains: dict[str, dict[str, object]] = field(default_factory=dict)
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    raw_rules: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    dormant: bool | None = False


def parse_nft(text: str, source: str) -> Ruleset:
    drafts: dict[tuple[str, str], _TableDraft] = {}
    problems: list[Problem] = []
    for line, item in items_with_lines(text, source):
        ((kind, body),) = item.items()
        if kind == "metainfo" or not isinstance(body, dict):
            continue
        try:
            key = (str(body["family"]), str(body["table"] if kind != "table" else body["name"]))
            if kind == "table":
                if key in drafts:
                    problems.append(Problem(source, line, "nft", f"table {key[0]} {key[1]} twice"))
                drafts[key] = _TableDraft(*key, dormant=_dormant(body.get("flags")))
                continue
            draft = drafts[key]
            if kind == "chain" and str(body["name"]) in draft.chains:
                problems.append(Problem(source, line, "nft", f"chain {body['name']} twice"))
            elif kind == "chain":
                draft.chains[str(body["name"])] = {**body, "_line": line}
                draft.rules[str(body["name"])] = []
            elif kind == "set":
                draft.sets[str(body["name"])] = body.get("elem", [])
            elif kind == "map":
                draft.maps[str(body["name"])] = list(body.get("elem", []))
            elif kind == "rule":
                draft.raw_rules.append((line, body))
        except KeyError as exc:
            problems.append(Problem(source, line, "nft", f"{kind} without {exc} (or its table)"))
    for draft in drafts.values():
        for line, body in draft.raw_rules:
            chain = str(body.get("chain"))
            if chain not in draft.rules:
                problems.append(Problem(source, line, "nft", f"rule of unknown chain {chain}"))
                continue
            try:
                draft.rules[chain].append(_rule(draft, body, line))
            except Malformed as exc:
                problems.append(Problem(source, line, "nft", str(exc)))
    if problems:
        raise InputError(problems)
    return Ruleset(Kind.NFT, source, tuple(_table(d, source) for d in drafts.values()), text)


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


def _rule(draft: _TableDraft, body: Mapping[str, object], line: int) -> Rule:
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
                matches.append(build_match(value, draft.sets))
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
    handle = body.get("handle")
    return Rule(
        draft.name, str(body.get("chain")), f"handle {handle}", text, line, tuple(matches), target
    )


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
    if word in ("counter", "log"):
        return word
    return f"{word} {render(value)}"
