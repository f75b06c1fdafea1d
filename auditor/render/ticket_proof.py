"""The ticket's "Proof against the firewall's ruleset" section as template data: where each jump
goes and why, the admitted flows before and after, and what is left when the change is not
proven. Every text from the customer's ruleset is Markdown-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditor.model.inventory import Flow
from auditor.render.escape import markdown_text
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import RuleRef
from auditor.ruleset.placement import JumpPlacement, flow_text
from auditor.ruleset.proof import ChangeProofReport

MAX_LISTED = 50  # flows listed by name; the counts are always whole
MAX_RULE_TEXT = 300


def rule_text(rule: RuleRef) -> str:
    """`fw.rules: filter FORWARD rule 2: -A FORWARD ...` (nft: `inet filter forward handle 7`),
    escaped and cut."""
    nft = rule.ref.startswith("handle ")
    ref = f"rule {rule.ref}" if rule.ref.isdigit() else rule.ref
    table = f"{rule.family} {rule.table}" if nft else rule.table
    text = rule.text if len(rule.text) <= MAX_RULE_TEXT else rule.text[:MAX_RULE_TEXT] + "..."
    where = f"{rule.source}: {table} {rule.chain} {ref}"
    return markdown_text(f"{where}: {text}" if text else where)


def _decided(e: FlowEvaluation) -> str:
    d = e.decision
    said = d.verdict.value + (f" ({d.action})" if d.action else "")
    if d.rule is not None:
        said += f" by {rule_text(d.rule)}"
    return said + (f"; {markdown_text(d.reason)}" if d.reason else "")


def _where(p: JumpPlacement) -> str:
    if p.tool == "panos":
        at = f"before {p.before}" if p.before else "top"
        return f"`move {markdown_text(p.table)} security rules RULE {markdown_text(at)}`"
    if p.tool == "nft":
        how = "insert rule" if p.position is not None else "add rule"
        at = f" position {p.position}" if p.position is not None else ""
        return f"`{how} {p.table} {p.chain}{at} jump ...`"
    flag = f"-I {p.chain} {p.position}"
    return f"`{p.tool} -t {p.table} {flag} -j ...`"


def _why(p: JumpPlacement) -> str:
    if p.given is not None:
        first = "rule " + p.rule.ref if p.rule is not None else "none (only the policy denies)"
        return (
            f"--position {p.given} was given (the first rule of {markdown_text(p.chain)} that "
            f"would deny a required flow: {first})"
        )
    if p.rule is None and p.tool == "panos":
        return (
            f"no rule denies a required flow, only the default rules ({p.denied} flow(s)): "
            "the rules go at the top"
        )
    if p.rule is None:
        if p.denied:
            return (
                f"no rule of {markdown_text(p.chain)} denies a required flow, only its policy "
                f"({p.denied} flow(s)): the jump goes after its last rule"
            )
        return f"nothing in {markdown_text(p.chain)} denies a required flow"
    example = ""
    if p.example is not None:
        example = f"; it denies {markdown_text(flow_text(p.example.flow))}: {_decided(p.example)}"
    where = "by this policy" if p.tool == "panos" else "through this chain"
    return (
        f"the first rule that would deny a required flow is {rule_text(p.rule)}{example} "
        f"({p.denied} required flow(s) denied {where})"
    )


def _flows(flows: Sequence[Flow]) -> tuple[list[str], int]:
    shown = [markdown_text(flow_text(f)) for f in flows[:MAX_LISTED]]
    return shown, len(flows) - len(shown)


def _evaluations(items: Sequence[FlowEvaluation]) -> tuple[list[str], int]:
    shown = [f"{markdown_text(flow_text(e.flow))}: {_decided(e)}" for e in items[:MAX_LISTED]]
    return shown, len(items) - len(shown)


def proof_context(proof: ChangeProofReport | None) -> dict[str, Any]:
    """The template's `proof` (None: the change was not proven against a ruleset)."""
    if proof is None:
        return {"proof": None}
    newly, newly_more = _flows(proof.newly_admitted)
    still, still_more = _evaluations(proof.still_missing)
    lost, lost_more = _evaluations(proof.lost)
    opened, opened_more = _evaluations(proof.opened)
    return {
        "proof": {
            "proven": proof.proven,
            # the vendor whose own configuration the change was proven against (PAN-OS)
            "vendor": "panos" if any(p.tool == "panos" for p in proof.placements) else None,
            "rulesets": markdown_text(", ".join(proof.rulesets)),
            "hook": proof.hook,
            "applied": list(proof.applied),
            "placements": [
                {"tool": p.tool, "where": _where(p), "why": _why(p)} for p in proof.placements
            ],
            "required": proof.required,
            "admitted_before": proof.admitted_before,
            "admitted_after": proof.admitted_after,
            "missing": len(proof.missing),
            "newly": newly,
            "newly_count": len(proof.newly_admitted),
            "newly_more": newly_more,
            "still": still,
            "still_count": len(proof.still_missing),
            "still_more": still_more,
            "lost": lost,
            "lost_count": len(proof.lost),
            "lost_more": lost_more,
            "neighbours": proof.neighbours,
            "opened": opened,
            "opened_count": len(proof.opened),
            "opened_more": opened_more,
        }
    }
