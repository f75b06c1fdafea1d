"""The netfilter path of a packet for the hook asked, as the kernel runs it (netfilter hook
priorities): a list of steps, each a base chain, base chains sharing a priority, the nat chains
of a hook, or a point where the kernel changes what the chains see (conntrack, routing).

    FORWARD  ingress, PREROUTING (raw -300, conntrack -200, mangle -150, nat -100), routing,
             FORWARD (mangle -150, filter 0, security 50), POSTROUTING (mangle, nat 100), egress
    INPUT    ingress, PREROUTING, routing, INPUT (mangle, filter, security, nat 100)
    OUTPUT   OUTPUT (raw, conntrack, mangle, nat -100, filter, security), POSTROUTING, egress

nat chains (iptables' nat table, nft `type nat`) do not run at their own priority: the kernel
runs them, ordered by their priorities, from one hook at the fixed NAT priority (-100 where the
destination is translated, 100 where the source is), and the first binding ends them all.
Dormant nft tables are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.ruleset.model import Chain, Hook, Ruleset, Table

CONNTRACK = -200
_HOOKS = {
    Hook.FORWARD: ("ingress", "prerouting", "forward", "postrouting", "egress"),
    Hook.INPUT: ("ingress", "prerouting", "input"),
    Hook.OUTPUT: ("output", "postrouting", "egress"),
}
_NAT_PRIORITY = {"prerouting": -100, "output": -100, "input": 100, "postrouting": 100}
_FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}
_DEVICE_FAMILIES = ("netdev", "inet")


@dataclass(frozen=True, slots=True)
class Stage:
    ruleset: Ruleset
    table: Table
    chain: Chain
    main: bool  # a chain of the hook asked (its accept is the one reported)


@dataclass(frozen=True, slots=True)
class Step:
    """kind: chain (one base chain), shared (base chains at one priority: their order is not
    in the ruleset), nat (the nat chains of a hook, in order), device (an ingress or egress
    chain), maybe (a chain of a table that may be dormant: whatever it would decide is
    unknown), or a point: conntrack-near (chains at -200 next), conntrack, route."""

    kind: str
    hook: str
    priority: int = 0
    stages: tuple[Stage, ...] = ()


def _stages(rulesets: Sequence[Ruleset], hook: str, version: int, main: bool) -> list[Stage]:
    families: tuple[str, ...] = _FAMILIES[version]
    if hook in ("ingress", "egress"):
        families = _DEVICE_FAMILIES if hook == "ingress" else ("netdev",)
    out = []
    for ruleset in rulesets:
        for table in ruleset.tables:
            if table.dormant or table.family not in families:
                continue  # (None, maybe dormant, is not true: taken, as a `maybe` step)
            for chain in table.chains.values():
                if chain.base and chain.hook == hook:
                    out.append(Stage(ruleset, table, chain, main))
    return out


def path(rulesets: Sequence[Ruleset], hook: Hook, version: int) -> list[Step]:
    """The steps of a packet of this IP version on its way through `hook`, in order."""
    steps: list[Step] = []
    for name in _HOOKS[hook]:
        stages = _stages(rulesets, name, version, main=name == hook.value.lower())
        if name in ("ingress", "egress"):
            ordered = sorted(stages, key=lambda s: s.chain.priority)
            steps += [Step("device", name, s.chain.priority, (s,)) for s in ordered]
            continue
        steps += _hook_steps(name, stages)
        if name == "prerouting":
            steps.append(Step("route", name))
    return steps


def _hook_steps(hook: str, every: list[Stage]) -> list[Step]:
    stages = [s for s in every if s.table.dormant is not None]
    maybe = [s for s in every if s.table.dormant is None]
    nat = sorted((s for s in stages if s.chain.type == "nat"), key=lambda s: s.chain.priority)
    groups: dict[int, list[Stage]] = {}
    for stage in stages:
        if stage.chain.type != "nat":
            groups.setdefault(stage.chain.priority, []).append(stage)
    for priority, group in groups.items():  # an empty accepting chain changes nothing
        busy = [s for s in group if s.chain.rules or s.chain.policy != "accept"]
        groups[priority] = busy if busy else group[:1]
    nat_at = _NAT_PRIORITY.get(hook)
    steps: list[tuple[int, int, Step]] = []
    nat_priorities = [s.chain.priority for s in nat]
    if nat and nat_at is not None:
        if nat_at in groups or len(set(nat_priorities)) < len(nat):
            # beside a chain of the same priority, or two nat chains of one priority: which
            # runs first is not in the ruleset
            groups.setdefault(nat_at, []).extend(nat)
        else:
            steps.append((nat_at, 1, Step("nat", hook, nat_at, tuple(nat))))
    for priority, group in groups.items():
        kind = "chain" if len(group) == 1 else "shared"
        steps.append((priority, 1, Step(kind, hook, priority, tuple(group))))
    for stage in maybe:
        prio = _NAT_PRIORITY.get(hook, 0) if stage.chain.type == "nat" else stage.chain.priority
        steps.append((prio, 1, Step("maybe", hook, prio, (stage,))))
    if hook in ("prerouting", "output"):  # where conntrack gives the packet its state
        if CONNTRACK in groups:
            steps.append((CONNTRACK, 0, Step("conntrack-near", hook, CONNTRACK)))
        steps.append((CONNTRACK, 2, Step("conntrack", hook, CONNTRACK)))
    return [s for _, _, s in sorted(steps, key=lambda t: (t[0], t[1]))]


def unmodelled_families(rulesets: Sequence[Ruleset]) -> str:
    """bridge base chains run before ip: the reason every verdict is unknown, or ''."""
    for ruleset in rulesets:
        for table in ruleset.tables:
            if table.family != "bridge" or table.dormant:
                continue
            for chain in table.chains.values():
                if chain.base and (chain.rules or chain.policy == "drop"):
                    return f"{table.family} table {table.name} chain {chain.name} is not modelled"
    return ""
