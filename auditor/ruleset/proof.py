"""The proof a change ticket shows: the generated snippets applied to the customer's parsed
ruleset in memory, every required flow evaluated before and after."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from netaddr import IPAddress

from auditor.errors import InputError
from auditor.model.inventory import Flow, Protocol
from auditor.ruleset.change import apply_change
from auditor.ruleset.flows import FlowEvaluation, evaluate_flows, packet_of
from auditor.ruleset.model import Hook, Kind, Packet, Ruleset, Site, Verdict
from auditor.ruleset.placement import JumpPlacement
from auditor.ruleset.scope import ChangeScope, change_scope, is_carried
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
    where: dict[str, object] = {"hook": hook, "in_interface": in_interface}
    where |= {"out_interface": out_interface}
    where |= {"site": site, "ephemeral": ephemeral}
    scope = change_scope(rulesets, changed)
    if scope is not None:
        after, count, opened = _scoped(scope, rulesets, changed, before, where)
    else:
        near = neighbours(flows)
        count = len(near)
        evaluated = _evaluate(changed, [*flows, *near], where)
        after = evaluated[: len(flows)]
        near_before = _evaluate(rulesets, near, where)
        opened = tuple(
            a
            for b, a in zip(near_before, evaluated[len(flows) :], strict=True)
            if b.verdict is not Verdict.ADMITTED and a.verdict is Verdict.ADMITTED
        )
    return ChangeProofReport(
        rulesets=tuple(dict.fromkeys(r.source for r in rulesets)),
        hook=hook.value,
        applied=tuple(name for name, _ in chosen),
        placements=tuple(placements),
        before=tuple(before),
        after=after,
        neighbours=count,
        opened=opened,
    )


def _scoped(
    scope: ChangeScope,
    rulesets: Sequence[Ruleset],
    changed: Sequence[Ruleset],
    before: Sequence[FlowEvaluation],
    where: Mapping[str, object],
) -> tuple[tuple[FlowEvaluation, ...], int, tuple[FlowEvaluation, ...]]:
    """The proof evaluating only the flows the change can affect: the others keep their
    decision (renumbered), and a neighbour it cannot affect cannot be opened by it."""
    near = _near(e.flow for e in before)
    packet = {k: where[k] for k in ("in_interface", "out_interface", "site", "ephemeral")}
    packets = [packet_of(e.flow, **packet) for e in before]  # type: ignore[arg-type]
    packets += [spec.packet(**packet) for spec in near]  # type: ignore[arg-type]
    affected = scope.affected(packets)
    redo = [i for i, e in enumerate(before) if i in affected or not is_carried(e.decision)]
    after = [FlowEvaluation(e.flow, scope.carry(e.decision)) for e in before]
    again = _evaluate(changed, [before[i].flow for i in redo], where)
    for i, evaluation in zip(redo, again, strict=True):
        after[i] = evaluation
    moved = [near[i - len(before)].made() for i in sorted(affected) if i >= len(before)]
    was = _evaluate(rulesets, moved, where)
    now = _evaluate(changed, moved, where)
    opened = tuple(
        a
        for b, a in zip(was, now, strict=True)
        if b.verdict is not Verdict.ADMITTED and a.verdict is Verdict.ADMITTED
    )
    return tuple(after), len(near), opened


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
    return [near.made() for near in _near(flows)]


@dataclass(frozen=True, slots=True)
class _Near:
    """A neighbour before it is made a Flow (70,000 of them are compared and indexed as
    integers; only those a change can affect become Flows): the flow it is next to, and its
    own protocol, port and addresses (integers of the flow's versions; None: a name)."""

    flow: Flow
    protocol: Protocol
    port: int
    source: int
    destination: int | None

    @property
    def key(self) -> _Key:
        dest = self.flow.destination
        where = (dest.version, self.destination) if isinstance(dest, IPAddress) else str(dest)
        return (self.flow.source.version, self.source, where, _VALUE[self.protocol], self.port)

    def made(self) -> Flow:
        flow = self.flow
        source = flow.source
        if self.source != int(source):
            source = IPAddress(self.source, source.version)
        dest = flow.destination
        if isinstance(dest, IPAddress) and self.destination != int(dest):
            dest = IPAddress(self.destination, dest.version)
        return replace(flow, protocol=self.protocol, port=self.port, source=source,
                       destination=dest)  # fmt: skip

    def packet(
        self,
        in_interface: str | None,
        out_interface: str | None,
        site: Site | None,
        ephemeral: tuple[int, int],
    ) -> Packet | None:
        """packet_of(self.made()), without making the Flow."""
        if self.destination is None:
            return None
        return Packet(
            version=self.flow.source.version,
            source=self.source,
            destination=self.destination,
            protocol=_VALUE[self.protocol],
            dport=self.port,
            in_interface=in_interface,
            out_interface=out_interface,
            ephemeral=ephemeral,
            site=site,
        )


_Key = tuple[int, int, object, str, int]  # Flow.key, addresses as integers (str() is slow)
_VALUE = {p: p.value for p in Protocol}  # Enum.value is slow


def _near(flows: Iterable[Flow]) -> list[_Near]:
    flows = list(flows)
    required = {_around_of(f).key for f in flows}
    seen: set[_Key] = set()
    out = []
    for flow in flows:
        for near in _around(flow):
            key = near.key
            if key not in required and key not in seen:
                seen.add(key)
                out.append(near)
    return out


def _around_of(flow: Flow) -> _Near:
    """The flow itself as a _Near."""
    dest = flow.destination
    at = int(dest) if isinstance(dest, IPAddress) else None
    return _Near(flow, flow.protocol, flow.port, int(flow.source), at)


def _around(flow: Flow) -> Iterator[_Near]:
    me = _around_of(flow)
    port, source, dest = me.port, me.source, me.destination
    other = Protocol.UDP if flow.protocol is Protocol.TCP else Protocol.TCP
    yield _Near(flow, other, port, source, dest)
    top = (1 << (32 if flow.source.version == 4 else 128)) - 1
    to = flow.destination
    dest_top = (1 << (32 if to.version == 4 else 128)) - 1 if isinstance(to, IPAddress) else 0
    for step in (-1, 1):
        if 1 <= port + step <= 65535:
            yield _Near(flow, flow.protocol, port + step, source, dest)
        if 0 <= source + step <= top:
            yield _Near(flow, flow.protocol, port, source + step, dest)
        if dest is not None and 0 <= dest + step <= dest_top:
            yield _Near(flow, flow.protocol, port, source, dest + step)
