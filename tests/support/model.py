"""What only the tests ask of the product's objects, kept out of the product: the flows of an
inventory in one call, a drift report's items of one kind, a planned rule's ports one by one,
and a change proven by hand (the product proves the files it renders: `ruleset.proof`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from auditor.flows.derive import DEFAULT_MAX_FLOWS, Resolver, pair_topology, system_resolver
from auditor.flows.topology import flows_from
from auditor.history.drift import DriftItem, DriftKind, DriftReport
from auditor.inventory.packs import KindSpec
from auditor.model.inventory import Flow, Inventory
from auditor.model.results import utc_stamp
from auditor.plan.model import PlannedRule
from auditor.ruleset import Verdict, evaluate_flows
from auditor.ruleset.change import apply_change
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import Hook, RuleRef, Ruleset
from auditor.ruleset.proof import ChangeProofReport


def build_flows(
    inv: Inventory,
    kinds: Mapping[str, KindSpec],
    *,
    resolve: Resolver | None = system_resolver,
    max_flows: int = DEFAULT_MAX_FLOWS,
) -> tuple[Flow, ...]:
    """Every required flow, in both failover states, sorted (what `flows.prepare` derives)."""
    return flows_from(pair_topology(inv, kinds, resolve=resolve, max_flows=max_flows))


def of_kind(report: DriftReport, kind: DriftKind) -> tuple[DriftItem, ...]:
    return tuple(i for i in report.items if i.kind is kind)


def port_list(rule: PlannedRule) -> tuple[int, ...]:
    """Every port the rule admits, one by one."""
    return tuple(p for r in rule.ports for p in range(r.low, r.high + 1))


def prove_change(
    rulesets: Sequence[Ruleset], change: str, flows: Sequence[Flow]
) -> ChangeProofReport:
    """`flows` evaluated against the rulesets, then with `change` (one text of the rulesets'
    own syntax) applied; no neighbours checked."""
    return ChangeProofReport(
        rulesets=tuple(dict.fromkeys(r.source for r in rulesets)),
        hook=Hook.FORWARD.value,
        applied=("change",),
        placements=(),
        before=tuple(evaluate_flows(rulesets, flows)),
        after=tuple(evaluate_flows(apply_change(rulesets, change), flows)),
    )


def all_admitted(proof: ChangeProofReport) -> bool:
    return proof.admitted_after == proof.required


def exact(proof: ChangeProofReport, missing: Sequence[Flow]) -> bool:
    """Every flow admitted, and the admitted set grew by exactly `missing`."""
    keys = {f.key for f in missing}
    grew = {f.key for f in proof.newly_admitted}
    return all_admitted(proof) and not proof.lost and grew == keys


def first_denying_rule(
    evaluations: Sequence[FlowEvaluation], rulesets: Sequence[Ruleset], chain: str = ""
) -> RuleRef | None:
    """The earliest rule of the base chain (FORWARD or forward, or `chain`) on the path to a
    denial of a required flow: where a jump into a change's chain goes. None: no rule of the
    base chain denies one (the policy does)."""
    best: tuple[int, RuleRef] | None = None
    for e in evaluations:
        d = e.decision
        if d.verdict is not Verdict.DENIED or d.rule is None or not d.path:
            continue
        head, _, ref = d.path[0].partition("#")
        table, _, base = head.partition("/")
        if not ref or (chain and base != chain):
            continue
        found = _locate(rulesets, d.rule.source, table, base, ref)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], RuleRef(d.rule.source, d.rule.family, table, base, ref, found[1]))
    return best[1] if best else None


def _locate(
    rulesets: Sequence[Ruleset], source: str, table: str, chain: str, ref: str
) -> tuple[int, str] | None:
    """Position (0-based) and text of a rule in its chain."""
    for r in rulesets:
        for t in r.tables:
            if r.source != source or t.name != table or chain not in t.chains:
                continue
            for n, rule in enumerate(t.chains[chain].rules):
                if rule.ref == ref:
                    return n, rule.text
    return None


def fresh_times() -> tuple[str, str]:
    """A results document's started_at and finished_at, a second ago and now: evidence young
    enough for the default --max-evidence-age (a fixed date stops being proof a week on)."""
    now = datetime.now(UTC)
    return utc_stamp(now - timedelta(seconds=1)), utc_stamp(now)
