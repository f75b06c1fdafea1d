"""The proof a change ticket shows: the generated snippets applied to the customer's parsed
ruleset in memory, every required flow evaluated before and after."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.inventory.model import Flow
from auditor.ruleset.change import apply_change
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows
from auditor.ruleset.model import Hook, Kind, Ruleset, Verdict
from auditor.ruleset.placement import JumpPlacement

# Which generated file changes which kind of ruleset, in the order they are loaded.
CHANGE_FILES: tuple[tuple[str, Kind], ...] = (
    ("iptables.rules", Kind.IPTABLES),
    ("iptables.jump.rules", Kind.IPTABLES),
    ("ip6tables.rules", Kind.IP6TABLES),
    ("ip6tables.jump.rules", Kind.IP6TABLES),
    ("nftables.nft", Kind.NFT),
    ("nftables.jump.nft", Kind.NFT),
)
_STATEMENT = re.compile(r"^\s*[^#\s]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ChangeProofReport:
    """Every required flow before and after the change, and where its jump was placed."""

    rulesets: tuple[str, ...]  # the files the ruleset was read from
    hook: str
    applied: tuple[str, ...]  # the generated files applied, in order
    placements: tuple[JumpPlacement, ...]
    before: tuple[FlowEvaluation, ...]
    after: tuple[FlowEvaluation, ...]

    @property
    def required(self) -> int:
        return len(self.before)

    @property
    def admitted_before(self) -> int:
        return sum(1 for e in self.before if e.verdict is Verdict.ADMITTED)

    @property
    def admitted_after(self) -> int:
        return sum(1 for e in self.after if e.verdict is Verdict.ADMITTED)

    @property
    def missing(self) -> tuple[Flow, ...]:
        """Required flows the ruleset did not admit before the change."""
        return tuple(e.flow for e in self.before if e.verdict is not Verdict.ADMITTED)

    @property
    def newly_admitted(self) -> tuple[Flow, ...]:
        return tuple(
            a.flow
            for b, a in zip(self.before, self.after, strict=True)
            if b.verdict is not Verdict.ADMITTED and a.verdict is Verdict.ADMITTED
        )

    @property
    def lost(self) -> tuple[FlowEvaluation, ...]:
        """Admitted before, not after: a change must never do this."""
        return tuple(
            a
            for b, a in zip(self.before, self.after, strict=True)
            if b.verdict is Verdict.ADMITTED and a.verdict is not Verdict.ADMITTED
        )

    @property
    def still_missing(self) -> tuple[FlowEvaluation, ...]:
        """Missing before and still not admitted after the change."""
        return tuple(
            a
            for b, a in zip(self.before, self.after, strict=True)
            if b.verdict is not Verdict.ADMITTED and a.verdict is not Verdict.ADMITTED
        )

    @property
    def proven(self) -> bool:
        """Every required flow admitted after, and the admitted set grew by exactly the
        missing flows (none lost)."""
        return not self.lost and not self.still_missing


def change_files(files: Mapping[str, str], kinds: set[Kind]) -> list[tuple[str, str]]:
    """The generated files that change a ruleset of `kinds`, in load order; comment-only files
    (nothing to load) are left out."""
    return [
        (name, files[name])
        for name, kind in CHANGE_FILES
        if kind in kinds and name in files and _STATEMENT.search(files[name])
    ]


def prove_files(
    rulesets: Sequence[Ruleset],
    before: Sequence[FlowEvaluation],
    files: Mapping[str, str],
    placements: Sequence[JumpPlacement] = (),
    *,
    hook: Hook = Hook.FORWARD,
    in_interface: str | None = None,
    out_interface: str | None = None,
) -> ChangeProofReport:
    """Apply the generated `files` that belong to the rulesets' kinds (iptables files to an
    iptables ruleset, nft files to an nft one; never a new ruleset for a family not given),
    then evaluate the flows of `before` again."""
    chosen = change_files(files, {r.kind for r in rulesets})
    changed = tuple(rulesets)
    for name, text in chosen:
        changed = apply_change(changed, text, source=name)
    flows = [e.flow for e in before]
    after = evaluate_flows(
        changed, flows, hook=hook, in_interface=in_interface, out_interface=out_interface
    )
    return ChangeProofReport(
        rulesets=tuple(dict.fromkeys(r.source for r in rulesets)),
        hook=hook.value,
        applied=tuple(name for name, _ in chosen),
        placements=tuple(placements),
        before=tuple(before),
        after=after,
    )
