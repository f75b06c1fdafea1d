"""The jump graph of a ruleset, checked as the kernel checks it when the ruleset is loaded: every
jump, goto and verdict-map target names a chain of the same table, and no chain reaches itself
(iptables-restore and nft refuse a loop with ELOOP). A dump that breaks either was not taken
from a running firewall: refused, located at the rule, instead of walked 64 levels deep."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.errors import Problem
from auditor.ruleset.model import Kind, Rule, Ruleset, Table, Target, TargetKind

_Edge = tuple[str, Rule]  # the chain jumped to, and the rule that jumps


def _targets(target: Target) -> Iterator[Target]:
    if target.kind in (TargetKind.JUMP, TargetKind.GOTO):
        yield target
    elif target.kind is TargetKind.VMAP and target.vmap is not None:
        for _element, inner in getattr(target.vmap, "entries", ()):
            yield from _targets(inner)


def _edges(
    table: Table, field: str, problems: list[Problem], source: str
) -> dict[str, list[_Edge]]:
    out: dict[str, list[_Edge]] = {name: [] for name in table.chains}
    for name, chain in table.chains.items():
        for rule in chain.rules:
            for target in _targets(rule.target):
                if target.chain in table.chains:
                    out[name].append((target.chain, rule))
                else:
                    problems.append(
                        Problem(
                            source,
                            rule.line,
                            field,
                            f"{target.kind.value} {target.chain}: no such chain in table "
                            f"{table.family} {table.name}",
                        )
                    )
    return out


def _loop(edges: dict[str, list[_Edge]]) -> tuple[list[str], Rule] | None:
    """The first loop (its chains, and the rule that closes it), found without recursion."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(edges):
        if state.get(root):
            continue
        path = [root]
        stack = [iter(edges[root])]
        state[root] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            callee, rule = step
            if state.get(callee) == 1:
                return [*path[path.index(callee) :], callee], rule
            if not state.get(callee):
                state[callee] = 1
                path.append(callee)
                stack.append(iter(edges[callee]))
    return None


def jump_problems(ruleset: Ruleset) -> list[Problem]:
    """One located problem per jump to a missing chain, and per table with a loop."""
    field = "nft" if ruleset.kind is Kind.NFT else "iptables"
    problems: list[Problem] = []
    for table in ruleset.tables:
        edges = _edges(table, field, problems, ruleset.source)
        found = _loop(edges)
        if found is not None:
            chains, rule = found
            problems.append(
                Problem(
                    ruleset.source,
                    rule.line,
                    field,
                    f"jump loop {' -> '.join(chains)} in table {table.family} {table.name} "
                    "(the kernel refuses a ruleset whose chains reach themselves)",
                )
            )
    return problems
