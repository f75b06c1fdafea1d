"""The evaluator: what the rulesets do with the first packet of each new connection.

Every base chain the packet meets runs, in order: the prerouting chains (for FORWARD and INPUT),
then the chains of the hook itself, each group by priority. iptables tables are base chains at
their fixed priorities (raw -300, mangle -150, nat -100, filter 0, security 50); nft base chains
at theirs. An accept ends only its own base chain; a drop or reject anywhere is final. A rule
that may change the packet (a mark, a DNAT) or that cannot be decided makes the flow unknown.

Flows are walked through chains as sets, so a rule only touches the flows it can match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from auditor.ruleset.index import FlowIndex
from auditor.ruleset.model import (
    Chain,
    Decision,
    Hook,
    Kind,
    Match,
    Packet,
    Rule,
    RuleRef,
    Ruleset,
    Table,
    Target,
    TargetKind,
    Verdict,
)

MAX_DEPTH = 64
_GROUPS = {
    Hook.FORWARD: (("prerouting",), ("forward",)),
    Hook.INPUT: (("prerouting",), ("input",)),
    Hook.OUTPUT: ((), ("output",)),
}
_FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}


@dataclass(frozen=True, slots=True)
class Stage:
    ruleset: Ruleset
    table: Table
    chain: Chain
    main: bool  # a chain of the hook itself (not prerouting)


def stages(rulesets: Sequence[Ruleset], hook: Hook, version: int) -> list[Stage]:
    """Base chains a packet of this IP version meets on the hook, in the order they run."""
    out: list[Stage] = []
    for group_index, hooks in enumerate(_GROUPS[hook]):
        group: list[tuple[int, int, Stage]] = []
        for ruleset in rulesets:
            for table in ruleset.tables:
                if table.family not in _FAMILIES[version] or table.dormant:
                    continue
                for chain in table.chains.values():
                    if chain.base and chain.hook in hooks:
                        stage = Stage(ruleset, table, chain, main=group_index == 1)
                        group.append((chain.priority, len(group), stage))
        out += [s for _, _, s in sorted(group, key=lambda g: (g[0], g[1]))]
    return out


def covers(ruleset: Ruleset, version: int) -> bool:
    if ruleset.kind is Kind.IPTABLES:
        return version == 4
    if ruleset.kind is Kind.IP6TABLES:
        return version == 6
    return ruleset.kind is Kind.NFT


def unmodelled_families(rulesets: Sequence[Ruleset]) -> str:
    """netdev/bridge base chains run before ip: the reason every verdict is unknown, or ''."""
    for ruleset in rulesets:
        for table in ruleset.tables:
            if table.family not in ("netdev", "bridge") or table.dormant:
                continue
            for chain in table.chains.values():
                if chain.base and (chain.rules or chain.policy == "drop"):
                    return f"{table.family} table {table.name} chain {chain.name} is not modelled"
    return ""


def rule_ref(ruleset: Ruleset, table: Table, rule: Rule) -> RuleRef:
    return RuleRef(ruleset.source, table.family, table.name, rule.chain, rule.ref, rule.text)


def policy_ref(ruleset: Ruleset, table: Table, chain: Chain) -> RuleRef:
    if ruleset.kind is Kind.NFT:
        text = f"policy {chain.policy}"
    else:
        text = f":{chain.name} {(chain.policy or '').upper()}"
    return RuleRef(ruleset.source, table.family, table.name, chain.name, "policy", text)


@dataclass
class _StageRun:
    """One base chain over a set of flows."""

    stage: Stage
    index: FlowIndex
    cache: dict[object, frozenset[int] | None]
    accepted: dict[int, Decision] = field(default_factory=dict)
    final: dict[int, Decision] = field(default_factory=dict)
    # (chain, flows) walks that decided nothing, so gave every flow back: a chain called twice
    # from each of 30 chains must not be walked 2**30 times.
    quiet: set[tuple[str, frozenset[int]]] = field(default_factory=set)

    def run(self, pending: set[int]) -> None:
        chain = self.stage.chain
        path = (f"{self.stage.table.name}/{chain.name}",)
        fell = self.walk(chain, pending, path, 0)
        ref = policy_ref(self.stage.ruleset, self.stage.table, chain)
        for fid in fell:
            if chain.policy == "drop":
                self.final[fid] = Decision(Verdict.DENIED, "drop", ref, path, "chain policy")
            else:
                self.accepted[fid] = Decision(Verdict.ADMITTED, "accept", ref, path, "chain policy")

    def walk(self, chain: Chain, pending: set[int], path: tuple[str, ...], depth: int) -> set[int]:
        """Flows leaving `chain` by RETURN or its end; the others are decided on the way."""
        returned: set[int] = set()
        for rule in chain.rules:
            if not pending:
                break
            if rule.target.kind is TargetKind.CONTINUE:
                continue  # LOG, counters: matching or not, the next rule decides
            hit, unknown = self.match(rule, pending)
            for fid, reason in unknown.items():
                self.unknown(fid, rule, path, reason)
                pending.discard(fid)
            if hit:
                pending -= hit
                pending |= self.apply(
                    rule, rule.target, hit, path=path, depth=depth, returned=returned
                )
        return returned | pending

    def apply(
        self,
        rule: Rule,
        target: Target,
        hit: set[int],
        *,
        path: tuple[str, ...],
        depth: int,
        returned: set[int],
    ) -> set[int]:
        """Decide `hit` by `target`; returns the flows that go on with the next rule."""
        kind = target.kind
        here = (*path[:-1], f"{path[-1]}#{rule.ref}")
        ref = rule_ref(self.stage.ruleset, self.stage.table, rule)
        if kind is TargetKind.ACCEPT:
            for fid in hit:
                self.accepted[fid] = Decision(Verdict.ADMITTED, "accept", ref, here)
        elif kind in (TargetKind.DROP, TargetKind.REJECT):
            action = kind.value + (f" {target.detail}" if target.detail else "")
            for fid in hit:
                self.final[fid] = Decision(Verdict.DENIED, action, ref, here)
        elif kind is TargetKind.RETURN:
            returned |= hit
        elif kind in (TargetKind.JUMP, TargetKind.GOTO):
            callee = self.stage.table.chains.get(target.chain)
            if callee is None or depth >= MAX_DEPTH:
                for fid in hit:
                    self.unknown(fid, rule, path, f"chain {target.chain} missing or too deep")
                return set()
            back = self.call(callee, hit, (*here, f"{self.stage.table.name}/{callee.name}"), depth)
            if kind is TargetKind.JUMP:
                return back
            returned |= back
        elif kind is TargetKind.VMAP:
            return self.vmap(rule, target, hit, path=path, depth=depth, returned=returned)
        else:
            for fid in hit:
                self.unknown(fid, rule, path, target.detail or f"target {kind} is not modelled")
        return set()

    def call(self, callee: Chain, hit: set[int], path: tuple[str, ...], depth: int) -> set[int]:
        """walk(), once per (chain, flows) when the walk decides none of them."""
        key = (callee.name, frozenset(hit))
        if key in self.quiet:
            return set(hit)
        decided = len(self.final) + len(self.accepted)
        back = self.walk(callee, set(hit), path, depth + 1)
        if len(self.final) + len(self.accepted) == decided:
            self.quiet.add(key)
        return back

    def vmap(
        self,
        rule: Rule,
        target: Target,
        hit: set[int],
        *,
        path: tuple[str, ...],
        depth: int,
        returned: set[int],
    ) -> set[int]:
        assert target.vmap is not None
        groups: dict[Target, set[int]] = {}
        going_on: set[int] = set()
        for fid in hit:
            found = target.vmap.lookup(self.index.packets[fid])
            if found is None:
                going_on.add(fid)
            elif isinstance(found, str):
                self.unknown(fid, rule, path, found)
            else:
                groups.setdefault(found, set()).add(fid)
        for each, ids in groups.items():
            going_on |= self.apply(rule, each, ids, path=path, depth=depth, returned=returned)
        return going_on

    def unknown(self, fid: int, rule: Rule, path: tuple[str, ...], reason: str) -> None:
        ref = rule_ref(self.stage.ruleset, self.stage.table, rule)
        here = (*path[:-1], f"{path[-1]}#{rule.ref}")
        self.final[fid] = Decision(Verdict.UNKNOWN, "", ref, here, reason)

    def match(self, rule: Rule, pending: set[int]) -> tuple[set[int], dict[int, str]]:
        """The flows of `pending` the rule matches, and those it cannot decide (with why)."""
        candidates: set[int] | frozenset[int] = pending
        tested: list[Match] = []
        for m in rule.matches:
            # Equal matches (`-p tcp`, one ipset) share one candidate set: keyed by identity,
            # 20,000 rules held 20,000 copies of the same large set.
            key = _cache_key(m)
            if key not in self.cache:
                finder = getattr(m, "candidates", None)
                self.cache[key] = finder(self.index) if finder is not None else None
            found = self.cache[key]
            if found is None:
                tested.append(m)
            else:
                candidates = candidates & found
                if not candidates:
                    return set(), {}
        if not tested:
            return set(candidates), {}
        hit: set[int] = set()
        unknown: dict[int, str] = {}
        packets = self.index.packets
        for fid in candidates:
            packet = packets[fid]
            reason = ""
            for m in tested:
                answer = m.test(packet)
                if answer is False:
                    break
                if answer is not True and not reason:
                    reason = str(answer)
            else:
                if reason:
                    unknown[fid] = reason
                else:
                    hit.add(fid)
        return hit, unknown


def _cache_key(m: Match) -> object:
    try:
        hash(m)
    except TypeError:
        return id(m)
    return m


def evaluate(rulesets: Sequence[Ruleset], packets: Sequence[Packet], hook: Hook) -> list[Decision]:
    """One decision per packet, in order."""
    if hook is Hook.OUTPUT:  # a packet the host sends has no input interface
        packets = [replace(p, in_interface="") for p in packets]
    # Before routing there is no output interface yet: nft's oifname reads "" there.
    indexes = (FlowIndex([replace(p, out_interface="") for p in packets]), FlowIndex(packets))
    decided: dict[int, Decision] = {}
    blocked = unmodelled_families(rulesets)
    for version in (4, 6):
        ids = {i for i, p in enumerate(packets) if p.version == version}
        if not ids:
            continue
        relevant = [r for r in rulesets if covers(r, version)]
        if blocked or not relevant:
            why = blocked or f"no ruleset given covers IPv{version}"
            decided |= {i: Decision(Verdict.UNKNOWN, "", None, (), why) for i in ids}
            continue
        decided |= _evaluate_version(relevant, indexes, ids, hook, version)
    return [decided[i] for i in range(len(packets))]


def _evaluate_version(
    rulesets: Sequence[Ruleset],
    indexes: tuple[FlowIndex, FlowIndex],
    ids: set[int],
    hook: Hook,
    version: int,
) -> dict[int, Decision]:
    decided: dict[int, Decision] = {}
    admitted: dict[int, Decision] = {}
    cache: dict[object, frozenset[int] | None] = {}
    pending = set(ids)
    for group in _same_priority(stages(rulesets, hook, version)):
        if not pending:
            break
        # The kernel's order among base chains of one priority is not in the ruleset: each runs
        # on every flow, and a flow is denied if any denies (an accept ends only its own chain).
        runs = []
        for stage in group:
            run = _StageRun(stage, indexes[stage.main], cache)  # ids and candidates agree
            run.run(set(pending))
            runs.append(run)
        for fid in list(pending):
            finals = [r.final[fid] for r in runs if fid in r.final]
            if finals:
                decided[fid] = _combine(finals)
                pending.discard(fid)
        for run in runs:
            if run.stage.main:
                admitted |= {f: d for f, d in run.accepted.items() if f in pending}
    for fid in pending:
        decided[fid] = admitted.get(fid) or Decision(
            Verdict.ADMITTED, "accept", None, (), "no base chain on the hook: netfilter accepts"
        )
    return decided


def _same_priority(ordered: list[Stage]) -> list[list[Stage]]:
    groups: list[list[Stage]] = []
    for stage in ordered:
        last = groups[-1][-1] if groups else None
        if last is not None and (last.main, last.chain.priority) == (
            stage.main,
            stage.chain.priority,
        ):
            groups[-1].append(stage)
        else:
            groups.append([stage])
    return groups


def _combine(finals: list[Decision]) -> Decision:
    """Decisions of base chains that share a priority, for one flow."""
    unknown = [d for d in finals if d.verdict is Verdict.UNKNOWN]
    if unknown:
        return unknown[0]
    first = finals[0]
    kinds = {d.action.split()[0] for d in finals}
    if len(kinds) == 1:
        return first
    chains = ", ".join(f"{d.rule.table}/{d.rule.chain}" for d in finals if d.rule)
    return Decision(
        Verdict.DENIED,
        " or ".join(sorted(kinds)),
        first.rule,
        first.path,
        f"base chains {chains} share a priority and deny differently; which runs first is not "
        "in the ruleset",
    )
