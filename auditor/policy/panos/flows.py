"""Required flows judged against a PAN-OS configuration, as the ruleset evaluations the rest of
the product takes (evidence of method `ruleset`, placement, proof): each names the deciding
rule, its rulebase, the zones and the device's own `test security-policy-match` command."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.model.inventory import Flow
from auditor.policy.judge import Connection, PolicyDecision, PolicyJudge
from auditor.policy.model import DefaultRule, Policy, PolicyRule
from auditor.policy.panos.read import Config, Selection, build_policy
from auditor.policy.panos.xmlsource import looks_like_panos, read_xml
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import PROTO_NUMBERS, Decision, RuleRef, Verdict

FAMILY = "panos"
CHAIN = "security"


def is_panos(raw: bytes) -> bool:
    return looks_like_panos(raw[:4096].decode("utf-8", "replace"))


def read_configs(paths: Sequence[Path]) -> tuple[Config, ...]:
    return tuple(Config(str(p), read_xml(p)) for p in paths)


def read_policy(paths: Sequence[Path], selection: Selection) -> tuple[tuple[Config, ...], Policy]:
    configs = read_configs(paths)
    return configs, build_policy(configs, selection)


def test_command(policy: Policy, flow: Flow, d: PolicyDecision) -> str:
    """The device's own check of this verdict (PAN-OS CLI, operational mode)."""
    words = ["test security-policy-match"]
    if d.from_zone:
        words.append(f"from {d.from_zone}")
    if d.to_zone:
        words.append(f"to {d.to_zone}")
    words += [
        f"source {flow.source}",
        f"destination {flow.destination}",
        f"protocol {PROTO_NUMBERS[flow.protocol.value]}",
        f"destination-port {flow.port}",
    ]
    rule = d.rule
    if (
        isinstance(rule, PolicyRule)
        and len(rule.applications) == 1
        and rule.applications[0] != "any"
    ):
        words.append(f"application {rule.applications[0]}")
    return " ".join(words)


def rule_ref(policy: Policy, rule: PolicyRule | DefaultRule) -> RuleRef:
    where = f"line {rule.line}" if rule.line else "predefined"
    return RuleRef(
        source=policy.source,
        family=FAMILY,
        table=rule.section,
        chain=CHAIN,
        ref=rule.name,
        text=f"action {rule.action.value} ({where})",
    )


def _evaluation(policy: Policy, flow: Flow, d: PolicyDecision) -> FlowEvaluation:
    zones = f"from {d.from_zone or '?'} to {d.to_zone or '?'}"
    path = [zones]
    detail = [("test", test_command(policy, flow, d)), ("zones", zones)]
    if d.translated is not None:
        after = str(IPAddress(d.translated[1], d.translated[0]))
        path.append(f"NAT {d.nat}: destination {after}")
        detail.append(("nat", f"{d.nat}: destination {after}"))
    if d.rule is not None:
        path.append(f"{d.rule.section}: {d.rule.name}")
    reason = d.reason
    if d.also:
        reason = "earlier rules may match, with the same outcome: " + "; ".join(d.also)
    return FlowEvaluation(
        flow,
        Decision(
            verdict=d.verdict,
            action=d.action if d.verdict is not Verdict.UNKNOWN else "",
            rule=rule_ref(policy, d.rule) if d.rule is not None else None,
            path=tuple(path),
            reason=reason,
            detail=tuple(detail),
        ),
    )


def judge_flows(
    policy: Policy,
    flows: Sequence[Flow],
    *,
    from_zone: str | None = None,
    to_zone: str | None = None,
) -> tuple[FlowEvaluation, ...]:
    """Each flow's first packet through the policy (zones overridden where given)."""
    judge = PolicyJudge(policy, from_zone, to_zone)
    out = []
    for flow in flows:
        if not isinstance(flow.destination, IPAddress):
            why = "the destination is a name (run without --no-resolve)"
            out.append(FlowEvaluation(flow, Decision(Verdict.UNKNOWN, "", None, (), why)))
            continue
        c = Connection(
            flow.source.version,
            int(flow.source),
            int(flow.destination),
            flow.protocol.value,
            flow.port,
        )
        out.append(_evaluation(policy, flow, judge.judge(c)))
    return tuple(out)
