"""Ruleset evaluations as evidence (method `ruleset`): one reachability record per flow, to be
merged with probe records (a probe and the ruleset that disagree become a conflict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.model.checks import transport_check
from auditor.model.inventory import Flow
from auditor.model.record import Method, ProbeRecord, Status, flow_record
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows
from auditor.ruleset.load import read_rulesets
from auditor.ruleset.model import Hook, Ruleset, Site, Verdict
from auditor.ruleset.placement import JumpPlacement, place_jumps
from auditor.ruleset.proof import ChangeProofReport, prove_files
from auditor.ruleset.site import DEFAULT_EPHEMERAL, ephemeral_range, read_site


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
            # reject, and PAN-OS reset-client/reset-both: the client is told
            refused = d.action.startswith(("reject", "reset-client", "reset-both"))
            status = Status.REFUSED if refused else Status.FILTERED
        else:
            status = Status.UNTESTED
        rule = f"{d.rule.table} {d.rule.chain} {d.rule.ref}: {d.rule.text}" if d.rule else ""
        reason = f"ruleset: {d.verdict.value}" + (f" by {rule}" if rule else "")
        if d.reason:
            reason += f" ({d.reason})"
        detail = [("path", " > ".join(d.path))] if d.path else []
        if d.action:
            detail.append(("action", d.action))
        detail += d.detail
        out.append(
            flow_record(
                flow,
                transport_check(flow.protocol.value),
                status,
                reason=reason,
                method=Method.RULESET,
                origin=origin,
                observed_at=observed_at,
                detail=tuple(sorted(detail)),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RulesetEvidence:
    rulesets: tuple[Ruleset, ...]
    evaluations: tuple[FlowEvaluation, ...]
    records: tuple[ProbeRecord, ...]
    hook: Hook = Hook.FORWARD
    in_interface: str | None = None
    out_interface: str | None = None
    site: Site | None = None
    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL

    def placements(
        self, table: str, chain: str, nft_table: str | None, nft_chain: str | None
    ) -> tuple[JumpPlacement, ...]:
        """Where each tool's jump goes (placement.place_jumps) for these evaluations."""
        return place_jumps(
            self.evaluations,
            self.rulesets,
            table=table,
            chain=chain,
            nft_table=nft_table,
            nft_chain=nft_chain,
            hook=self.hook.value.lower(),
        )

    def prove(
        self, files: Mapping[str, str], placements: Sequence[JumpPlacement] = ()
    ) -> ChangeProofReport:
        """The generated `files` applied to these rulesets, every flow evaluated again."""
        return prove_files(
            self.rulesets,
            self.evaluations,
            files,
            placements,
            hook=self.hook,
            in_interface=self.in_interface,
            out_interface=self.out_interface,
            site=self.site,
            ephemeral=self.ephemeral,
        )


def ruleset_evidence(
    flows: Sequence[Flow],
    *,
    ruleset: Sequence[Path],
    ipset: Sequence[Path],
    ruleset_hook: str,
    in_interface: str | None,
    out_interface: str | None,
    local_address: Sequence[str] = (),
    local_addresses: Path | None = None,
    source_ports: str = "",
) -> RulesetEvidence | None:
    """The ruleset's record for each flow; None when no --ruleset was given."""
    if not ruleset:
        return None
    site = read_site(local_address, local_addresses)
    ephemeral = ephemeral_range(source_ports) if source_ports else DEFAULT_EPHEMERAL
    rulesets = read_rulesets(ruleset, ipset)
    evaluations = evaluate_flows(
        rulesets,
        flows,
        hook=Hook(ruleset_hook),
        in_interface=in_interface,
        out_interface=out_interface,
        site=site,
        ephemeral=ephemeral,
    )
    records = ruleset_records(evaluations, origin=", ".join(str(p) for p in ruleset))
    return RulesetEvidence(
        rulesets,
        evaluations,
        records,
        Hook(ruleset_hook),
        in_interface,
        out_interface,
        site,
        ephemeral,
    )
