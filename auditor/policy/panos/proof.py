"""Where a PAN-OS change goes (before the first rule that denies a required flow, in that
rule's rulebase) and its proof: the `set`/`move` commands applied to the parsed configuration
in memory, every required flow judged again, and the flows next to them (port +-1, the other
protocol, an address +-1) checked so that nothing else is newly admitted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model.inventory import Flow
from auditor.model.record import ProbeRecord
from auditor.policy.model import Policy
from auditor.policy.panos.flows import CHAIN, judge_flows
from auditor.policy.panos.read import Config, Selection, build_policy
from auditor.policy.panos.setcmd import apply_commands
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import Verdict
from auditor.ruleset.placement import JumpPlacement
from auditor.ruleset.proof import ChangeProofReport, neighbours

TOOL = "panos"
FILENAME = "panos.set"


@dataclass(frozen=True, slots=True)
class PanosEvidence:
    """A PAN-OS configuration read for a run, and what it does with the required flows."""

    configs: tuple[Config, ...]
    selection: Selection
    policy: Policy
    evaluations: tuple[FlowEvaluation, ...]
    records: tuple[ProbeRecord, ...]  # method `ruleset`, one per flow
    from_zone: str | None = None
    to_zone: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.configs)

    def judge(self, policy: Policy, flows: Sequence[Flow]) -> tuple[FlowEvaluation, ...]:
        return judge_flows(policy, flows, from_zone=self.from_zone, to_zone=self.to_zone)

    def placement(self) -> JumpPlacement:
        """The first rule, in evaluation order, that denies a required flow (None: only the
        interzone default denies, or nothing does)."""
        order = {(r.section, r.name): n for n, r in enumerate(self.policy.rules)}
        first: tuple[int, FlowEvaluation] | None = None
        denied = 0
        for e in self.evaluations:
            rule = e.decision.rule
            if e.verdict is not Verdict.DENIED or rule is None:
                continue
            denied += 1
            at = order.get((rule.table, rule.ref))
            if at is not None and (first is None or at < first[0]):
                first = (at, e)
        if first is None:
            return JumpPlacement(TOOL, "", CHAIN, None, None, None, denied, len(self.policy.rules))
        at, example = first
        rule = example.decision.rule
        assert rule is not None
        return JumpPlacement(
            TOOL, rule.table, CHAIN, at, rule, example, denied, len(self.policy.rules)
        )

    def prove(self, text: str, placement: JumpPlacement) -> ChangeProofReport:
        """The change (PAN-OS `set`/`move` commands) applied, every flow judged again."""
        changed = apply_commands(self.configs, text, self.selection, FILENAME)
        after_policy = build_policy(changed, self.selection)
        flows = [e.flow for e in self.evaluations]
        near = neighbours(flows)
        after = self.judge(after_policy, [*flows, *near])
        near_before = self.judge(self.policy, near)
        opened = tuple(
            a
            for b, a in zip(near_before, after[len(flows) :], strict=True)
            if b.verdict is not Verdict.ADMITTED and a.verdict is Verdict.ADMITTED
        )
        return ChangeProofReport(
            rulesets=self.sources,
            hook=f"the PAN-OS security policy of {self.policy.context}",
            applied=(FILENAME,),
            placements=(placement,),
            before=self.evaluations,
            after=after[: len(flows)],
            neighbours=len(near),
            opened=opened,
        )
