"""With the customer's ruleset (--ruleset): place the change's jumps ahead of the first rule
that would deny a required flow, render the iptables and nftables change, apply it to the
parsed ruleset in memory and keep the proof for the ticket. Pure: data in, options out."""

from __future__ import annotations

from dataclasses import dataclass, replace

from auditor.plan import Plan
from auditor.policy.panos.proof import PanosEvidence
from auditor.render import iptables, nftables
from auditor.render.options import RenderOptions
from auditor.ruleset.evidence import RulesetEvidence
from auditor.ruleset.placement import JumpPlacement


@dataclass(frozen=True, slots=True)
class AutoPlace:
    """What the ruleset may decide: the iptables positions (no --position given) and the nft
    table and base chain (no --nft-table given)."""

    position: bool = True
    nft_table: bool = True


def placed_options(
    options: RenderOptions, evidence: RulesetEvidence, auto: AutoPlace = AutoPlace()
) -> tuple[RenderOptions, tuple[JumpPlacement, ...]]:
    """`options` with the jumps where the ruleset says, and the placements (the why)."""
    own = options.nft_own_table
    named = not auto.nft_table or own
    placements = evidence.placements(
        options.table,
        options.hook,
        options.nft_table if named and not own else None,
        options.nft_chain if named else None,
    )
    changes: dict[str, object] = {}
    out = []
    for p in placements:
        if p.tool == "nft":
            if own:
                continue  # a table of its own has no jump: nothing to place
            if auto.nft_table:
                changes |= {"nft_table": p.table, "nft_chain": p.chain}
            changes |= {"nft_before": p.position, "nft_append": p.position is None}
            out.append(p)
        elif auto.position:
            changes["position" if p.tool == "iptables" else "position6"] = p.position
            out.append(p)
        else:
            out.append(replace(p, given=options.position))  # the user's --position, shown so
    return replace(options, **changes), tuple(out)  # type: ignore[arg-type]


def proven_options(
    plan: Plan,
    options: RenderOptions,
    evidence: RulesetEvidence | PanosEvidence,
    auto: AutoPlace = AutoPlace(),
) -> RenderOptions:
    """Placed options carrying the proof: the change rendered with them (iptables and nftables,
    whichever the ruleset is), applied to the ruleset, every required flow evaluated again."""
    if isinstance(evidence, PanosEvidence):
        from auditor.render.panos_proof import panos_proven_options  # noqa: PLC0415

        return panos_proven_options(plan, options, evidence)
    placed, placements = placed_options(options, evidence, auto)
    files = {**iptables.render(plan, placed), **nftables.render(plan, placed)}
    return replace(placed, proof=evidence.prove(files, placements))
