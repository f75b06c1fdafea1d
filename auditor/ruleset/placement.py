"""Where the change's jump goes in the customer's ruleset, and why: ahead of the first rule of
the base chain that would deny a required flow (an iptables rule number, an nft handle), or at
the end of the chain when only its policy denies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model.inventory import Flow
from auditor.ruleset.flows import FlowEvaluation
from auditor.ruleset.model import Kind, RuleRef, Ruleset, Table, Verdict

TOOLS = {Kind.IPTABLES: "iptables", Kind.IP6TABLES: "ip6tables", Kind.NFT: "nft"}


@dataclass(frozen=True, slots=True)
class JumpPlacement:
    """The jump of one firewall tool (iptables, ip6tables, nft) in one base chain."""

    tool: str
    table: str  # iptables: "filter"; nft: "FAMILY NAME"
    chain: str
    index: int | None  # 0-based index of the first denying rule; None: only the policy denies
    rule: RuleRef | None  # that rule (file, table, chain, number or handle, text)
    example: FlowEvaluation | None  # a required flow denied through it, with the deciding rule
    denied: int  # required flows denied in this chain (through any rule, or its policy)
    length: int  # rules in the chain
    given: int | None = None  # iptables: the position the user chose instead (--position)
    before: str | None = None  # PAN-OS: the rule the change goes before (None: the top)

    @property
    def position(self) -> int | None:
        """iptables: the N of `-I CHAIN N` (after the last rule when only the policy denies);
        nft: the handle to insert before, None to append."""
        if self.given is not None:
            return self.given
        if self.rule is None:
            return None if self.tool == "nft" else self.length + 1
        ref = self.rule.ref
        if self.tool == "nft":  # a document without handles: nothing to insert before
            return int(ref.removeprefix("handle ")) if ref.startswith("handle ") else None
        return int(ref)


def place_jumps(
    evaluations: Sequence[FlowEvaluation],
    rulesets: Sequence[Ruleset],
    *,
    table: str = "filter",
    chain: str = "FORWARD",
    nft_table: str | None = None,
    nft_chain: str | None = None,
    hook: str = "forward",
) -> tuple[JumpPlacement, ...]:
    """One placement per iptables/ip6tables ruleset that has `table`/`chain`, and one for the
    nft base chain on `hook` that denies required flows: in `nft_table` (and `nft_chain`) when
    given, else the base chain that denies the most of them (none: no nft placement)."""
    out = []
    for r in rulesets:
        if r.kind is Kind.NFT:
            continue
        t = next((t for t in r.tables if t.name == table and chain in t.chains), None)
        if t is not None:
            out.append(_placement(TOOLS[r.kind], evaluations, r, t, chain))
    nft = [r for r in rulesets if r.kind is Kind.NFT]
    where = _nft_base(evaluations, nft, hook, nft_table, nft_chain)
    if where is not None:
        out.append(_placement("nft", evaluations, *where))
    return tuple(out)


def _placement(
    tool: str, evaluations: Sequence[FlowEvaluation], ruleset: Ruleset, table: Table, chain: str
) -> JumpPlacement:
    rules = table.chains[chain].rules
    index = {rule.ref: n for n, rule in enumerate(rules)}
    head = f"{table.name}/{chain}"
    first: tuple[int, FlowEvaluation] | None = None
    denied = 0
    for e in _denials_in(evaluations, ruleset, table):
        base, _, ref = e.decision.path[0].partition("#")
        if base != head:
            continue
        denied += 1
        at = index.get(ref)
        if at is not None and (first is None or at < first[0]):
            first = (at, e)
    name = table.name if ruleset.kind is not Kind.NFT else f"{table.family} {table.name}"
    if first is None:
        return JumpPlacement(tool, name, chain, None, None, None, denied, len(rules))
    at, example = first
    rule = rules[at]
    found = RuleRef(ruleset.source, table.family, table.name, chain, rule.ref, rule.text)
    return JumpPlacement(tool, name, chain, at, found, example, denied, len(rules))


def _denials_in(
    evaluations: Sequence[FlowEvaluation], ruleset: Ruleset, table: Table
) -> list[FlowEvaluation]:
    """Denials decided in `table` of `ruleset` (jumps stay inside a table)."""
    return [
        e
        for e in evaluations
        if e.verdict is Verdict.DENIED
        and e.decision.rule is not None
        and e.decision.path
        and e.decision.rule.source == ruleset.source
        and e.decision.rule.table == table.name
        and e.decision.rule.family == table.family
    ]


def _nft_base(
    evaluations: Sequence[FlowEvaluation],
    rulesets: Sequence[Ruleset],
    hook: str,
    nft_table: str | None,
    nft_chain: str | None,
) -> tuple[Ruleset, Table, str] | None:
    """The nft base chain on `hook` to jump from: the one named (by --nft-table and
    --nft-chain), else of those named the one that denies the most required flows."""
    best: tuple[int, Ruleset, Table, str] | None = None
    for r in rulesets:
        for t in r.tables:
            if nft_table is not None and f"{t.family} {t.name}" != nft_table:
                continue
            for c in t.chains.values():
                if not c.base or c.hook != hook or nft_chain not in (None, c.name):
                    continue
                head = f"{t.name}/{c.name}"
                denials = _denials_in(evaluations, r, t)
                count = sum(1 for e in denials if e.decision.path[0].partition("#")[0] == head)
                if (count or nft_table is not None) and (best is None or count > best[0]):
                    best = (count, r, t, c.name)
    return best[1:] if best is not None else None


def flow_text(flow: Flow) -> str:
    return f"{flow.source} -> {flow.destination} {flow.protocol.value}/{flow.port}"
