"""The evaluator: what the rulesets do with the first packet of each new connection, along the
whole netfilter path of the hook asked (`path.py`). An accept ends only its own base chain; a
drop or reject anywhere is final. Marks, connection marks, NOTRACK and NAT bindings to one
address are followed; conntrack state is what the kernel has at each point.

Where a match cannot be decided (an interface not given, a rate limit, a module not modelled)
both ways are followed (`walk.py`): when every way ends in the same verdict that is the
verdict, otherwise the flow is unknown, naming the match and the verdict on each side. At most
MAX_WAYS ways per flow; beyond, unknown with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from auditor.ruleset.index import FlowIndex
from auditor.ruleset.model import Decision, Hook, Kind, Packet, Ruleset, Verdict
from auditor.ruleset.path import Stage, Step, path, unmodelled_families
from auditor.ruleset.walk import MAX_DEPTH, MAX_WAYS, ChainRun, Flows, Phase

__all__ = ["MAX_DEPTH", "MAX_WAYS", "covers", "evaluate"]

_ACCEPTED_BY_DEFAULT = "no base chain on the hook: netfilter accepts"


def covers(ruleset: Ruleset, version: int) -> bool:
    if ruleset.kind is Kind.IPTABLES:
        return version == 4
    if ruleset.kind is Kind.IP6TABLES:
        return version == 6
    return ruleset.kind is Kind.NFT


def evaluate(rulesets: Sequence[Ruleset], packets: Sequence[Packet], hook: Hook) -> list[Decision]:
    """One decision per packet, in order."""
    index = FlowIndex(packets)
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
        decided |= _evaluate_version(relevant, index, ids, hook, version)
    return [decided[i] for i in range(len(packets))]


def _missing_verdict_chain(rulesets: Sequence[Ruleset], hook: Hook, version: int) -> str:
    """Why a flow the path admits is not proof of an accept, or '': a ruleset shows no chain of
    the role that decides the hook (the filter table, an nft `type filter` base chain on it,
    in a table of the flow's family: inet, or ip/ip6). The kernel accepts then, but a partial
    dump (`iptables-save -t nat`, `nft list table ip nat`, `nft list table ip filter` for an
    IPv6 flow) reads the same, and its missing filter may deny. A flow denied on the way is
    denied all the same: a drop anywhere is final."""
    name = hook.value.lower()
    own = "ip" if version == 4 else "ip6"
    for ruleset in rulesets:
        if ruleset.kind is not Kind.NFT:
            if not any(t.name == "filter" for t in ruleset.tables):
                save = "ip6tables-save" if ruleset.kind is Kind.IP6TABLES else "iptables-save"
                return (
                    f"{ruleset.source}: the dump has no filter table: a partial dump ({save} "
                    "-t nat) cannot be told from a host without one"
                )
            continue
        if not any(  # of the flow's family: `nft list table ip filter` shows no IPv6 filter
            c.base and c.hook == name and c.type == "filter"
            for t in ruleset.tables
            if t.family in ("inet", own)
            for c in t.chains.values()
        ):
            return (
                f"{ruleset.source}: the ruleset has no base chain of type filter on the {name} "
                f"hook for IPv{version} (in an inet or {own} table): a partial listing (nft list "
                "table ip nat) cannot be told from a host without one"
            )
    return ""


def _first_phase(hook: Hook) -> Phase:
    if hook is Hook.OUTPUT:
        return Phase(in_blank=True, out_blank=False, local_source=True)
    return Phase(local_destination=hook is Hook.INPUT)


def _evaluate_version(
    rulesets: Sequence[Ruleset], index: FlowIndex, ids: set[int], hook: Hook, version: int
) -> dict[int, Decision]:
    flows = Flows(index, hook, _first_phase(hook), next_id=len(index.packets))
    leaves: dict[int, Decision] = {}
    cache: dict[object, frozenset[int] | None] = {}
    pending = set(ids)
    steps = path(rulesets, hook, version)
    later = _later_rules(steps)
    for at, step in enumerate(steps):
        if not pending:
            break
        confirming = step.hook in ("input", "postrouting") and step.priority >= _CONFIRM
        if confirming != flows.phase.confirming:
            flows.move(confirming=confirming)
        if step.kind == "conntrack-near":
            flows.move(ct="?")
        elif step.kind == "conntrack":
            flows.move(ct="new")
        elif step.kind == "route":
            flows.move(out_blank=hook is not Hook.FORWARD)
        elif step.kind == "shared":
            _shared(step, flows, cache, pending, leaves)
        elif step.kind == "device":
            _device(step, flows, cache, pending, leaves)
        elif step.kind == "maybe":
            why = (
                f"table {step.stages[0].table.family} {step.stages[0].table.name} may be "
                "dormant (its flags are not readable: nft 1.0.6 prints them wrongly)"
            )
            _probe(step.stages[0], flows, cache, todo=set(pending), pending=pending, leaves=leaves,
                   why=why)  # fmt: skip
        elif step.kind == "nat":  # in order; the first binding ends them, untracked skip them
            bound: set[int] = set()
            for stage in step.stages:
                run = ChainRun(stage, flows, cache, later_rules=later[at])
                todo = pending - flows.untracked - bound
                _settle(run, flows, pending, leaves, record=False, todo=todo)
                bound |= run.bound
        else:
            run = ChainRun(step.stages[0], flows, cache, later_rules=later[at])
            _settle(run, flows, pending, leaves, record=True, todo=set(pending))
    gap = _missing_verdict_chain(rulesets, hook, version)
    for fid in pending:
        if gap:  # accepted by what ran, but the dump may lack the chain that decides
            leaves[fid] = Decision(Verdict.UNKNOWN, "", None, (), gap)
            continue
        leaves[fid] = flows.admitted.get(fid) or Decision(
            Verdict.ADMITTED, "accept", None, (), _ACCEPTED_BY_DEFAULT
        )
    ways: dict[int, list[int]] = {}
    for fid in leaves:
        ways.setdefault(flows.root.get(fid, fid), []).append(fid)
    return {root: _combine_ways(root, ids_, leaves, flows) for root, ids_ in ways.items()}


# conntrack confirms a connection at this priority of input and postrouting (the kernel's
# NF_IP_PRI_CONNTRACK_CONFIRM): a chain there may run before or after it (ct status confirmed)
_CONFIRM = 2**31 - 1


def _later_rules(steps: Sequence[Step]) -> list[bool]:
    out = []
    seen = False
    for step in reversed(steps):
        out.append(seen)
        seen = seen or any(
            s.chain.rules or s.chain.policy not in (None, "accept") for s in step.stages
        )
    return out[::-1]


def _settle(
    run: ChainRun,
    flows: Flows,
    pending: set[int],
    leaves: dict[int, Decision],
    *,
    record: bool,
    todo: set[int],
) -> None:
    """Run one base chain on `todo` and move its outcome into `pending` and `leaves`."""
    flows.born = set()
    run.run(todo)
    pending |= flows.born
    for fid, decision in run.final.items():
        leaves[fid] = decision
        pending.discard(fid)
    if record and run.stage.main:
        _record(flows, run.accepted, pending)


def _record(flows: Flows, accepted: dict[int, Decision], pending: set[int]) -> None:
    """The accept a flow is reported with: the last of the hook's own base chains."""
    for fid, decision in accepted.items():
        if fid in pending:
            flows.admitted[fid] = decision


def _shared(
    step: Step,
    flows: Flows,
    cache: dict[object, frozenset[int] | None],
    pending: set[int],
    leaves: dict[int, Decision],
) -> None:
    """Base chains of one priority: each runs on every flow, and a flow is denied if any
    denies (the kernel's order among them is not in the ruleset)."""
    runs = []
    for stage in step.stages:
        todo = pending - flows.untracked if stage.chain.type == "nat" else set(pending)
        run = ChainRun(stage, flows, cache, shared=True)
        run.run(todo)
        runs.append(run)
    for fid in list(pending):
        finals = [r.final[fid] for r in runs if fid in r.final]
        if finals:
            leaves[fid] = _combine(finals)
            pending.discard(fid)
    for run in runs:
        if run.stage.main and run.stage.chain.type != "nat":
            _record(flows, run.accepted, pending)


def _device(
    step: Step,
    flows: Flows,
    cache: dict[object, frozenset[int] | None],
    pending: set[int],
    leaves: dict[int, Decision],
) -> None:
    """An ingress or egress chain: it sees the flows of its devices. A flow whose interface
    is not given is tried as if it came by the first device: if the chain would decide or
    change it there, the flow is unknown."""
    stage = step.stages[0]
    devices = stage.chain.devices
    ingress = step.hook == "ingress"
    given: set[int] = set()
    unsure: set[int] = set()
    for fid in pending:
        packet = flows.view(fid)
        name = packet.in_interface if ingress else packet.out_interface
        if name is None or not devices or stage.table.dormant is None:
            unsure.add(fid)
        elif name in devices:
            given.add(fid)
    if given:
        run = ChainRun(stage, flows, cache)
        _settle(run, flows, pending, leaves, record=False, todo=given)
    if unsure:
        option = "--in-interface" if ingress else "--out-interface"
        where = f"{', '.join(devices)} (pass {option})" if devices else "a device not listed"
        if stage.table.dormant is None:
            where += "; its table may be dormant"
        why = (
            f"the {step.hook} chain {stage.table.name}/{stage.chain.name} decides this flow if "
            f"it passes there: it is on {where}"
        )
        flows.move(**{"in_probe" if ingress else "out_probe": devices[0] if devices else "?"})
        _probe(stage, flows, cache, todo=unsure, pending=pending, leaves=leaves, why=why)
        flows.move(in_probe=None, out_probe=None)


def _probe(
    stage: Stage,
    flows: Flows,
    cache: dict[object, frozenset[int] | None],
    *,
    todo: set[int],
    pending: set[int],
    leaves: dict[int, Decision],
    why: str,
) -> None:
    """A chain that may or may not see these flows: a flow it would decide, change or not
    know about is unknown with `why`; the others go on as if it had not run."""
    run = ChainRun(stage, flows, cache, shared=True)
    run.run(todo)
    for fid, decision in run.final.items():
        leaves[fid] = replace(decision, verdict=Verdict.UNKNOWN, action="", reason=why)
        pending.discard(fid)


_WORDS = {"drop": "dropped", "reject": "rejected", "accept": "admitted"}


def _word(decision: Decision) -> str:
    if decision.verdict is Verdict.UNKNOWN:
        return "unknown"
    if decision.verdict is Verdict.ADMITTED:
        return "admitted"
    return " or ".join(_WORDS.get(a.split()[0], a) for a in decision.action.split(" or "))


def _combine_ways(root: int, ids: list[int], leaves: dict[int, Decision], flows: Flows) -> Decision:
    """The verdict of a flow from the verdicts of its ways."""
    own = leaves[root]
    if len(ids) == 1:
        return own
    decisions = [leaves[i] for i in ids]
    verdicts = {d.verdict for d in decisions}
    if verdicts == {Verdict.ADMITTED}:
        return own
    if verdicts == {Verdict.DENIED}:
        kinds = {a.split()[0] for d in decisions for a in d.action.split(" or ")}
        return own if len(kinds) == 1 else replace(own, action=" or ".join(sorted(kinds)))
    if verdicts == {Verdict.UNKNOWN} and len({(d.reason, d.rule) for d in decisions}) == 1:
        return own  # every way unknown for one reason (a dump without a filter table): that one
    capped = [d for d in decisions if d.reason.startswith(f"more than {MAX_WAYS} ways")]
    if capped:
        return capped[0]
    first = flows.assumed[root][0]
    sides = {True: set(), False: set()}  # type: dict[bool, set[str]]
    for i in ids:
        assumed = flows.assumed.get(i, ())
        value = assumed[0].value if assumed else False
        sides[value].add(_word(leaves[i]))
    said = f"{first.rule.table} {first.rule.chain} {first.rule.ref}: {first.reason}"
    reason = (
        f"{said}; {' or '.join(sorted(sides[True]))} if it matches, "
        f"{' or '.join(sorted(sides[False]))} if not"
    )
    return Decision(Verdict.UNKNOWN, "", first.rule, first.path, reason)


def _combine(finals: Iterable[Decision]) -> Decision:
    """Decisions of base chains that share a priority, for one flow."""
    finals = list(finals)
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
