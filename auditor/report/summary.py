"""The one-screen summary of an audit that the CLI prints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.history.drift import DriftReport
from auditor.model.findings import AuditRun
from auditor.model.verdict import Acceptance, Tally, Verdict
from auditor.plan import Plan

if TYPE_CHECKING:
    from auditor.ruleset.proof import ChangeProofReport


def _live_state_lines(run: AuditRun) -> list[str]:
    if run.live_state is None:
        return []
    lines = [f"  live state (health API): {run.live_status}, {run.state_errors} error(s)"]
    lines += [f"    {f.severity.value}: {f.message}" for f in run.live_state.findings]
    return lines


def verdict_notes(verdict: Verdict, flows: Tally, accept: Acceptance) -> list[str]:
    """What a verdict short of compliant (or compliant by acceptance) needs said, for `probe`,
    `audit` and `rules` alike."""
    if flows.conflicts:
        return [
            f"findings: the evidence disagrees about {flows.conflicts} flow(s) (each a "
            "`conflict` record naming its sources, listed in the reports); a conflict is never "
            "resolved silently"
        ]
    if verdict is Verdict.INCOMPLETE:
        return [
            "incomplete: nothing could be probed from this host: no evidence decided any of "
            f"the {flows.flows} required flow(s) ({flows.unproven_text}). The appliances "
            "are closed boxes: borrow the free planned addresses on the pair's segment (--claim "
            "IFACE), give the results of probe hosts that hold them (--evidence FILE), or the "
            "firewall's own ruleset (--ruleset FILE); or rehearse in the lab (auditor lab exec "
            "-- auditor ...)"
        ]
    if verdict is Verdict.UNPROVEN:
        return [
            f"unproven: {flows.unverified} of {flows.flows} required flow(s) decided by no "
            f"evidence ({flows.unproven_text}); nothing else is wrong. "
            f"--accept-unverified {flows.unverified} accepts them knowingly"
        ]
    if verdict is Verdict.COMPLIANT and flows.unverified:
        return [
            f"compliant with {flows.unverified} unproven flow(s) accepted "
            f"(--accept-unverified {accept}): {flows.unproven_text}"
        ]
    return []


def summary_lines(
    run: AuditRun,
    plan: Plan,
    drift: DriftReport | None,
    folder: Path | None,
    proof: ChangeProofReport | None = None,
) -> Sequence[str]:
    """The one-screen summary the CLI prints."""
    counts: dict[str, int] = {}
    for flow_result in run.flow_results():
        counts[flow_result.outcome.value] = counts.get(flow_result.outcome.value, 0) + 1
    lines = [
        f"audit {run.run_id}: {run.verdict.value.upper()} (exit {run.exit_code})",
        *_live_state_lines(run),
        f"  site {run.site}: {len(run.flows)} required flows: "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        f"  lint: {run.lint_errors()} error(s), {len(run.lint) - run.lint_errors()} warning(s)",
        f"  missing rules: {len(plan.rules)} rule(s) for {plan.counts.missing} blocked and "
        f"{0 if plan.only_proven else plan.counts.unverified} unverified flow(s); "
        f"{plan.counts.app_failed} reachable but failing (TLS/bind, no rule)"
        + (
            f"; {plan.counts.on_link} on-link (no firewall between, no rule)"
            if plan.counts.on_link
            else ""
        ),
    ]
    lines += [f"  allow-list: {f.message}" for f in run.allowlist]
    if proof is not None:
        lines.append(_proof_line(proof))
    if drift is not None:
        lines.append(
            f"  drift against {drift.baseline_id}: {len(drift.items)} change(s)"
            + (" that matter" if drift.matters else ", none that matter")
        )
    if folder is not None:
        lines.append(f"  reports: {folder}/report.html (also report.md, junit.xml, rules/)")
    return lines


def _proof_line(proof: ChangeProofReport) -> str:
    if proof.proven:
        return (
            f"  change proven against the ruleset: {proof.admitted_after} of {proof.required} "
            "flows admitted after it"
        )
    return (
        f"  change NOT proven against the ruleset: {len(proof.still_missing)} flow(s) "
        f"still not admitted, {len(proof.lost)} lost (see the ticket)"
    )
