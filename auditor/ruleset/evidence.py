"""Ruleset evaluations as evidence (method `ruleset`): one reachability record per flow, to be
merged with probe records (a probe and the ruleset that disagree become a conflict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.evidence.record import Method, ProbeRecord, Status
from auditor.inventory.model import Check, Flow
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows
from auditor.ruleset.load import read_rulesets
from auditor.ruleset.model import Hook, Ruleset, Verdict
from auditor.ruleset.placement import JumpPlacement, place_jumps
from auditor.ruleset.proof import ChangeProofReport, prove_files

if TYPE_CHECKING:
    from auditor.policy.panos.proof import PanosEvidence


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


@dataclass(frozen=True, slots=True)
class RulesetEvidence:
    rulesets: tuple[Ruleset, ...]
    evaluations: tuple[FlowEvaluation, ...]
    records: tuple[ProbeRecord, ...]
    hook: Hook = Hook.FORWARD
    in_interface: str | None = None
    out_interface: str | None = None
    # A PAN-OS configuration instead of Linux rulesets: placed and proven by auditor.policy.
    panos: PanosEvidence | None = None

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
        )


def ruleset_evidence(
    flows: Sequence[Flow],
    *,
    ruleset: Sequence[Path],
    ipset: Sequence[Path],
    ruleset_hook: str,
    in_interface: str | None,
    out_interface: str | None,
    panos: PanosOptions | None = None,
) -> RulesetEvidence | None:
    """The ruleset's record for each flow; None when no --ruleset was given."""
    if not ruleset:
        return None
    vendor, linux = split_vendor(ruleset)
    if vendor:
        return _panos_evidence(flows, vendor, linux, ipset, panos or PanosOptions())
    rulesets = read_rulesets(ruleset, ipset)
    evaluations = evaluate_flows(
        rulesets,
        flows,
        hook=Hook(ruleset_hook),
        in_interface=in_interface,
        out_interface=out_interface,
    )
    records = ruleset_records(evaluations, origin=", ".join(str(p) for p in ruleset))
    return RulesetEvidence(
        rulesets, evaluations, records, Hook(ruleset_hook), in_interface, out_interface
    )


@dataclass(frozen=True, slots=True)
class PanosOptions:
    """--panos-vsys, --panos-device-group, --from-zone/--to-zone (None or `any`: from the
    routes), --resolve (FQDN address objects)."""

    vsys: str | None = None
    device_group: str | None = None
    from_zone: str | None = None
    to_zone: str | None = None
    resolve: bool = False


def split_vendor(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(PAN-OS configuration files, the others), told apart by their content."""
    from auditor.policy.panos.flows import is_panos  # noqa: PLC0415

    vendor: list[Path] = []
    linux: list[Path] = []
    for path in dict.fromkeys(paths):
        head = b""
        if path.is_file():  # anything else is refused, with its reason, by the reader
            with path.open("rb") as handle:
                head = handle.read(4096)
        (vendor if is_panos(head) else linux).append(path)
    return vendor, linux


def _panos_evidence(
    flows: Sequence[Flow],
    vendor: Sequence[Path],
    linux: Sequence[Path],
    ipset: Sequence[Path],
    options: PanosOptions,
) -> RulesetEvidence:
    from auditor.policy.panos.flows import judge_flows, read_configs  # noqa: PLC0415
    from auditor.policy.panos.proof import PanosEvidence  # noqa: PLC0415
    from auditor.policy.panos.read import Selection, build_policy  # noqa: PLC0415

    if linux or ipset:
        given = ", ".join(map(str, (*linux, *ipset)))
        raise UsageError(
            f"--ruleset {vendor[0]} is a PAN-OS configuration and {given} a Linux ruleset: "
            "they are different firewalls, evaluate them in separate runs"
        )
    configs = read_configs(vendor)
    selection = Selection(options.vsys, options.device_group, options.resolve)
    policy = build_policy(configs, selection)
    from_zone = options.from_zone if options.from_zone not in (None, "any") else None
    to_zone = options.to_zone if options.to_zone not in (None, "any") else None
    evaluations = judge_flows(policy, flows, from_zone=from_zone, to_zone=to_zone)
    records = ruleset_records(evaluations, origin=", ".join(map(str, vendor)))
    evidence = PanosEvidence(configs, selection, policy, evaluations, from_zone, to_zone)
    return RulesetEvidence((), evaluations, records, panos=evidence)
