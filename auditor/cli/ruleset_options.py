"""--ruleset and its companions for commands that take the firewall's ruleset as evidence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from auditor.evidence.record import ProbeRecord
from auditor.inventory.model import Flow
from auditor.ruleset import FlowEvaluation, Hook, Kind, Ruleset, evaluate_flows, read_rulesets
from auditor.ruleset.change import first_denying_rule
from auditor.ruleset.evidence import ruleset_records

F = TypeVar("F", bound=Callable[..., Any])
_file = click.Path(dir_okay=False, path_type=Path)


def ruleset_options(func: F) -> F:
    """--ruleset FILE... --ipset FILE... --ruleset-hook --in-interface --out-interface."""
    options = [
        click.option("--ruleset", "ruleset", multiple=True, type=_file,
                     help="The firewall's real ruleset (iptables-save, ip6tables-save or "
                     "nft -j list ruleset output) as evidence of method `ruleset` for every "
                     "flow, merged with the probes'. Repeatable."),
        click.option("--ipset", "ipset", multiple=True, type=_file,
                     help="`ipset save` output the --ruleset files refer to. Repeatable."),
        click.option("--ruleset-hook", type=click.Choice([h.value for h in Hook]),
                     default=Hook.FORWARD.value, show_default=True,
                     help="With --ruleset: where the firewall sees the flows."),
        click.option("--in-interface", default=None,
                     help="With --ruleset: the interface the flows arrive on."),
        click.option("--out-interface", default=None,
                     help="With --ruleset: the interface the flows leave by."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True, slots=True)
class RulesetEvidence:
    rulesets: tuple[Ruleset, ...]
    evaluations: tuple[FlowEvaluation, ...]
    records: tuple[ProbeRecord, ...]

    def jump_position(self, chain: str) -> int | None:
        """The iptables position for the jump into the change's chain: ahead of the first rule
        of `chain` that denies a required flow, else after the chain's last rule (only its
        policy denies). None: the ruleset has no such iptables chain."""
        first = first_denying_rule(self.evaluations, self.rulesets, chain)
        if first is not None and first.ref.isdigit():
            return int(first.ref)
        for r in self.rulesets:
            for t in r.tables:
                if r.kind is not Kind.NFT and t.name == "filter" and chain in t.chains:
                    return len(t.chains[chain].rules) + 1
        return None


def ruleset_evidence(
    flows: Sequence[Flow],
    *,
    ruleset: Sequence[Path],
    ipset: Sequence[Path],
    ruleset_hook: str,
    in_interface: str | None,
    out_interface: str | None,
) -> RulesetEvidence | None:
    """The ruleset's record for each flow; None when no --ruleset was given."""
    if not ruleset:
        return None
    rulesets = read_rulesets(ruleset, ipset)
    evaluations = evaluate_flows(
        rulesets,
        flows,
        hook=Hook(ruleset_hook),
        in_interface=in_interface,
        out_interface=out_interface,
    )
    records = ruleset_records(evaluations, origin=", ".join(str(p) for p in ruleset))
    return RulesetEvidence(rulesets, evaluations, records)
