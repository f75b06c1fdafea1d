"""With the customer's ruleset (--ruleset): place the change's jumps ahead of the first rule
that would deny a required flow, render the iptables and nftables change, apply it to the
parsed ruleset in memory and return the proof the ticket shows beside the placed options. Pure:
data in, options and proof out."""

from __future__ import annotations

from dataclasses import dataclass, replace

from auditor.plan import Plan
from auditor.policy.panos.proof import PanosEvidence
from auditor.render import iptables, nftables
from auditor.render.option_set import RenderOptions
from auditor.ruleset.evidence import RulesetEvidence
from auditor.ruleset.placement import JumpPlacement
from auditor.ruleset.proof import ChangeProofReport


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
    ipt, nft = options.iptables, options.nftables
    own = nft.own_table
    named = not auto.nft_table or own
    placements = evidence.placements(
        ipt.table,
        options.host.hook,
        nft.table if named and not own else None,
        nft.chain if named else None,
    )
    out = []
    for p in placements:
        if p.tool == "nft":
            if own:
                continue  # a table of its own has no jump: nothing to place
            if auto.nft_table:
                nft = replace(nft, table=p.table, chain=p.chain)
            # A denying rule without a handle (a hand-made document): first in the chain.
            nft = replace(nft, before=p.position, append=p.rule is None)
            out.append(p)
        elif auto.position:
            if p.tool == "iptables":
                # an iptables placement always has a position (after the last rule at worst)
                ipt = replace(ipt, position=p.position or ipt.position)
            else:
                ipt = replace(ipt, position6=p.position)
            out.append(p)
        else:
            out.append(replace(p, given=ipt.position))  # the user's --position, shown so
    return replace(options, iptables=ipt, nftables=nft), tuple(out)


def proven_options(
    plan: Plan,
    options: RenderOptions,
    evidence: RulesetEvidence | PanosEvidence,
    auto: AutoPlace = AutoPlace(),
) -> tuple[RenderOptions, ChangeProofReport]:
    """Placed options and the proof of the change: rendered with them (iptables and nftables,
    whichever the ruleset is), applied to the ruleset, every required flow evaluated again."""
    if isinstance(evidence, PanosEvidence):
        from auditor.render.panos_proof import panos_proven_options  # noqa: PLC0415

        return panos_proven_options(plan, options, evidence)
    placed, placements = placed_options(options, evidence, auto)
    shared, host = placed.shared, placed.host
    files = {
        **iptables.render(plan, shared, host, placed.iptables),
        **nftables.render(plan, shared, host, placed.nftables),
    }
    return placed, evidence.prove(files, placements)
