"""Ruleset evaluations as evidence (method `ruleset`): one reachability record per flow, to be
merged with probe records (a probe and the ruleset that disagree become a conflict)."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.evidence.record import Method, ProbeRecord, Status
from auditor.inventory.model import Check
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import Verdict


def ruleset_records(
    evaluations: Sequence[FlowEvaluation], origin: str, observed_at: str = ""
) -> tuple[ProbeRecord, ...]:
    """Admitted: open; denied: filtered (drop) or refused (reject); unknown: untested, with why.
    The record covers the path only (tcp or udp), never TLS or a bind."""
    out = []
    for e in evaluations:
        d, flow = e.decision, e.flow
        if d.verdict is Verdict.ADMITTED:
            status = Status.OPEN
        elif d.verdict is Verdict.DENIED:
            status = Status.REFUSED if d.action.startswith("reject") else Status.FILTERED
        else:
            status = Status.UNTESTED
        rule = f"{d.rule.table} {d.rule.chain} {d.rule.ref}: {d.rule.text}" if d.rule else ""
        reason = f"ruleset: {d.verdict.value}" + (f" by {rule}" if rule else "")
        if d.reason:
            reason += f" ({d.reason})"
        detail = [("path", " > ".join(d.path))] if d.path else []
        if d.action:
            detail.append(("action", d.action))
        out.append(
            ProbeRecord(
                source=str(flow.source),
                destination=str(flow.destination),
                protocol=flow.protocol.value,
                port=flow.port,
                provider=flow.provider,
                check=(Check.TCP if flow.protocol.value == "tcp" else Check.UDP).value,
                status=status,
                reason=reason,
                method=Method.RULESET,
                origin=origin,
                observed_at=observed_at,
                detail=tuple(sorted(detail)),
            )
        )
    return tuple(out)
