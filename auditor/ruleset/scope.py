"""What a change can do to a flow, so that its proof evaluates only the flows it can affect.

A change that only inserts rules (into chains that exist, or into new chains they jump to) and
changes no policy leaves every flow that matches none of the new rules exactly where it was:
the same verdict by the same rule, whose number may have moved (the decision is carried over
renumbered). "Matches none" is decided from what no rule changes on the way (addresses,
protocol, destination port), and only where no rule of the ruleset rewrites an address or a
port; anything else (a deleted rule, a policy, NAT, a jump into an existing chain, a goto, an
nft ruleset) has no scope, and the proof evaluates every flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from auditor.ruleset.index import FlowIndex
from auditor.ruleset.matches import AddrMatch, Const, PortMatch, ProtoMatch
from auditor.ruleset.model import (
    Chain,
    Decision,
    Kind,
    Packet,
    Rule,
    Ruleset,
    Table,
    TargetKind,
    Verdict,
)

# Effects that leave the addresses, the protocol and the ports as they were.
_KEEPS_ADDRESSES = {"mark", "ctmark", "savemark", "restoremark", "loadmark", "notrack"}
# Matches whose answer is the flow index's (`candidates`): True exactly for those flows.
_INDEXED = (AddrMatch, Const, PortMatch, ProtoMatch)


@dataclass(frozen=True, slots=True)
class ChangeScope:
    """The rules a change inserted and how the old rules were renumbered."""

    inserted: tuple[tuple[Table, Rule], ...]  # in chains that existed, with their table
    new_chains: dict[tuple[str, str], Chain]  # (table, chain) -> a chain the change declared
    renumbered: dict[tuple[str, str], dict[str, str]]  # (table, chain) -> old ref -> new ref

    def affected(self, packets: Sequence[Packet | None]) -> set[int]:
        """The positions of the packets the change may decide differently (None: a flow
        without a packet, always affected)."""
        known = [(at, p) for at, p in enumerate(packets) if p is not None]
        out = {at for at, p in enumerate(packets) if p is None}
        if not known or not self.inserted:
            return out
        index = FlowIndex([p for _, p in known])
        cache: dict[object, frozenset[int] | None] = {}
        hit: set[int] = set()
        for table, rule in self.inserted:
            reach = self._reach(table, rule, index, cache, callee=False, seen=())
            if reach is None:  # every flow
                return set(range(len(packets)))
            hit |= reach
        return out | {known[i][0] for i in hit}

    def _reach(
        self,
        table: Table,
        rule: Rule,
        index: FlowIndex,
        cache: dict[object, frozenset[int] | None],
        *,
        callee: bool,
        seen: tuple[str, ...],
    ) -> frozenset[int] | None:
        """The flows for which `rule` may change the outcome (None: every flow)."""
        target = rule.target
        if not target.effects and (
            target.kind is TargetKind.CONTINUE or (callee and target.kind is TargetKind.RETURN)
        ):
            return frozenset()  # LOG, or a return from a new chain: the next rule decides
        matched = _matched(rule, index, cache)
        if matched is not None and not matched:
            return matched
        chain = self.new_chains.get((table.name, target.chain))
        if target.kind is not TargetKind.JUMP or target.effects or chain is None:
            return matched
        if chain.name in seen:
            return None
        inner: set[int] = set()
        for each in chain.rules:
            found = self._reach(table, each, index, cache, callee=True, seen=(*seen, chain.name))
            if found is None:
                return matched
            inner |= found
        return frozenset(inner) if matched is None else matched & inner

    def carry(self, decision: Decision) -> Decision:
        """A decision the change cannot alter, with the rule numbers it has after it."""
        rule = decision.rule
        if rule is not None and rule.ref != "policy":
            moved = self.renumbered.get((rule.table, rule.chain))
            if moved and rule.ref in moved:
                rule = replace(rule, ref=moved[rule.ref])
        path = tuple(self._step(step) for step in decision.path)
        if rule is decision.rule and path == decision.path:
            return decision
        return replace(decision, rule=rule, path=path)

    def _step(self, step: str) -> str:
        head, sep, ref = step.partition("#")
        table, _, chain = head.partition("/")
        moved = self.renumbered.get((table, chain))
        if not sep or not moved or ref not in moved:
            return step
        return f"{head}#{moved[ref]}"


def _matched(
    rule: Rule, index: FlowIndex, cache: dict[object, frozenset[int] | None]
) -> frozenset[int] | None:
    """The flows the rule can match, from its indexed matches (None: it may match any)."""
    found: frozenset[int] | None = None  # every flow
    for m in rule.matches:
        if not isinstance(m, _INDEXED):
            continue
        if m not in cache:
            cache[m] = m.candidates(index)
        these = cache[m]
        if these is not None:
            found = these if found is None else found & these
    return found


def change_scope(before: Sequence[Ruleset], after: Sequence[Ruleset]) -> ChangeScope | None:
    """The scope of the change that made `after` from `before`; None when the change does
    more than insert rules (every flow must be evaluated again)."""
    if len(before) != len(after):
        return None
    pairs = [(b, a) for b, a in zip(before, after, strict=True) if b is not a]
    if not pairs:
        return ChangeScope((), {}, {})
    if len(pairs) > 1:
        return None
    old, new = pairs[0]
    if old.kind is Kind.NFT or old.kind is not new.kind or not _keeps_addresses(new):
        return None
    if [(t.family, t.name) for t in old.tables] != [(t.family, t.name) for t in new.tables]:
        return None
    inserted: list[tuple[Table, Rule]] = []
    new_chains: dict[tuple[str, str], Chain] = {}
    renumbered: dict[tuple[str, str], dict[str, str]] = {}
    for was, now in zip(old.tables, new.tables, strict=True):
        if not set(was.chains) <= set(now.chains):
            return None
        for name, chain in now.chains.items():
            if name not in was.chains:
                if chain.base:
                    return None
                new_chains[(now.name, name)] = chain
                continue
            aligned = _align(was.chains[name], chain)
            if aligned is None:
                return None
            added, moved = aligned
            inserted += [(now, rule) for rule in added]
            if moved:
                renumbered[(now.name, name)] = moved
    # The path names chains as table/chain: another ruleset with those names is ambiguous.
    for other in after:
        for table in other.tables if other is not new else ():
            if any((table.name, c) in renumbered for c in table.chains):
                return None
    return ChangeScope(tuple(inserted), new_chains, renumbered)


def _keeps_addresses(ruleset: Ruleset) -> bool:
    return all(
        effect.kind in _KEEPS_ADDRESSES
        for table in ruleset.tables
        for chain in table.chains.values()
        for rule in chain.rules
        for effect in rule.target.effects
    )


def _same(was: Rule, now: Rule) -> bool:
    return was.text == now.text and was.matches is now.matches and was.target == now.target


def _align(was: Chain, now: Chain) -> tuple[list[Rule], dict[str, str]] | None:
    """The rules `now` adds to `was`, and the old rule numbers that moved; None when `now`
    is not `was` with rules inserted (a rule deleted or changed, another policy)."""
    if (was.policy, was.base, was.hook, was.priority, was.type) != (
        now.policy,
        now.base,
        now.hook,
        now.priority,
        now.type,
    ):
        return None
    added: list[Rule] = []
    moved: dict[str, str] = {}
    at = 0
    for rule in now.rules:
        if at < len(was.rules) and _same(was.rules[at], rule):
            if was.rules[at].ref != rule.ref:
                moved[was.rules[at].ref] = rule.ref
            at += 1
        else:
            added.append(rule)
    return (added, moved) if at == len(was.rules) else None


def is_carried(decision: Decision) -> bool:
    """Whether a decision can be carried over unchanged when the flow is not affected: an
    unknown one names the rule numbers of its ways in its reason, so it is evaluated again."""
    return decision.verdict is not Verdict.UNKNOWN
