"""The proof a change ticket shows: the generated snippets applied to the customer's parsed
ruleset in memory, every required flow evaluated before and after."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from netaddr import IPAddress

from auditor.errors import InputError
from auditor.model.inventory import Flow, Protocol
from auditor.ruleset.change import apply_change
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows
from auditor.ruleset.model import Hook, Kind, Ruleset, Site, Verdict
from auditor.ruleset.placement import JumpPlacement
from auditor.ruleset.site import DEFAULT_EPHEMERAL

# Which generated file changes which kind of ruleset, in the order they are loaded.
CHANGE_FILES: tuple[tuple[str, Kind], ...] = (
    ("iptables.rules", Kind.IPTABLES),
    ("iptables.jump.rules", Kind.IPTABLES),
    ("ip6tables.rules", Kind.IP6TABLES),
    ("ip6tables.jump.rules", Kind.IP6TABLES),
    ("nftables.nft", Kind.NFT),
    ("nftables.jump.nft", Kind.NFT),
)
EVALUATE_CHUNK = 4000
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
    # Flows next to the required ones and not required themselves (port +-1, the other
    # protocol, source or destination address +-1): the change must admit none of them.
    neighbours: int = 0
    opened: tuple[FlowEvaluation, ...] = ()  # neighbours admitted after the change, not before

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
        """Every required flow admitted after, the admitted set grew by exactly the missing
        flows (none lost), and no neighbouring flow that is not required was opened."""
        return not self.lost and not self.still_missing and not self.opened


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
    site: Site | None = None,
    ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL,
) -> ChangeProofReport:
    """Apply the generated `files` that belong to the rulesets' kinds (iptables files to an
    iptables ruleset, nft files to an nft one; never a new ruleset for a family not given),
    then evaluate the flows of `before` again."""
    chosen = change_files(files, {r.kind for r in rulesets})
    changed = _apply(rulesets, chosen)
    flows = [e.flow for e in before]
    near = neighbours(flows)
    where: dict[str, object] = {"hook": hook, "in_interface": in_interface}
    where |= {"out_interface": out_interface}
    where |= {"site": site, "ephemeral": ephemeral}
    after = _evaluate(changed, [*flows, *near], where)
    near_before = _evaluate(rulesets, near, where)
    opened = tuple(
        a
        for b, a in zip(near_before, after[len(flows) :], strict=True)
        if b.verdict is not Verdict.ADMITTED and a.verdict is Verdict.ADMITTED
    )
    return ChangeProofReport(
        rulesets=tuple(dict.fromkeys(r.source for r in rulesets)),
        hook=hook.value,
        applied=tuple(name for name, _ in chosen),
        placements=tuple(placements),
        before=tuple(before),
        after=after[: len(flows)],
        neighbours=len(near),
        opened=opened,
    )


def _evaluate(
    rulesets: Sequence[Ruleset], flows: Sequence[Flow], where: Mapping[str, object]
) -> tuple[FlowEvaluation, ...]:
    """evaluate_flows in chunks: the evaluator's per-run candidate sets grow with the flows of
    one run, and the neighbours are seven times the required flows."""
    out: list[FlowEvaluation] = []
    for at in range(0, len(flows), EVALUATE_CHUNK):
        out += evaluate_flows(rulesets, flows[at : at + EVALUATE_CHUNK], **where)  # type: ignore[arg-type]
    return tuple(out)


def _apply(rulesets: Sequence[Ruleset], chosen: Sequence[tuple[str, str]]) -> tuple[Ruleset, ...]:
    """The files applied, those of one kind together (a 20,000-rule ruleset is parsed once per
    kind, not per file); on an error, file by file again so that it names the right line."""
    by_kind: dict[Kind, list[tuple[str, str]]] = {}
    for name, text in chosen:
        by_kind.setdefault(dict(CHANGE_FILES)[name], []).append((name, text))
    changed = tuple(rulesets)
    for group in by_kind.values():
        try:
            joined = "\n".join(text for _, text in group)
            changed = apply_change(changed, joined, source=" + ".join(n for n, _ in group))
        except InputError:
            for name, text in group:
                changed = apply_change(changed, text, source=name)
            raise  # the joined text failed, so one of the files must have (never reached)
    return changed


def neighbours(flows: Sequence[Flow]) -> list[Flow]:
    """Each flow with its port +-1, the other protocol, its source or its destination address
    +-1, where that is not itself a required flow: what a change that opens more than it
    should (a wider block, a port range, any protocol) would admit too."""
    required = {f.key for f in flows}
    seen: set[tuple[str, str, str, int]] = set()
    out = []
    for flow in flows:
        for near in _around(flow):
            if near.key not in required and near.key not in seen:
                seen.add(near.key)
                out.append(near)
    return out


def _around(flow: Flow) -> Iterator[Flow]:
    other = Protocol.UDP if flow.protocol is Protocol.TCP else Protocol.TCP
    yield replace(flow, protocol=other)
    for step in (-1, 1):
        if 1 <= flow.port + step <= 65535:
            yield replace(flow, port=flow.port + step)
        source = _step(flow.source, step)
        if source is not None:
            yield replace(flow, source=source)
        if isinstance(flow.destination, IPAddress):
            destination = _step(flow.destination, step)
            if destination is not None:
                yield replace(flow, destination=destination)


def _step(address: IPAddress, step: int) -> IPAddress | None:
    value = int(address) + step
    top = (1 << (32 if address.version == 4 else 128)) - 1
    return IPAddress(value, address.version) if 0 <= value <= top else None
