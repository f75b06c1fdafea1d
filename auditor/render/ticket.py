"""The Markdown change ticket: summary, why, the flows, the evidence, the snippets, rollback and
the command that verifies the change. Every inventory string is Markdown-escaped; the snippets
come from the other renderers, already safe for their own syntax."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.model.record import Status
from auditor.plan import Plan, status_text
from auditor.render import iptables, nftables, pf
from auditor.render.environment import render_template
from auditor.render.escape import markdown_text
from auditor.render.fields import destination_texts, nothing_to_allow, ports_text, source_texts
from auditor.render.options import text_problems
from auditor.render.ticket_proof import proof_context
from auditor.render.vendor_options import VENDORS
from auditor.render.vendor_ticket import vendor_context
from auditor.textout import quoted

if TYPE_CHECKING:
    from auditor.render.option_set import RenderOptions
    from auditor.ruleset.proof import ChangeProofReport

FILENAME = "ticket.md"
MAX_CELL_BLOCKS = 12
# Past this many iptables lines the snippets stay in their files and the ticket names them.
MAX_INLINE_LINES = 500


@dataclass(frozen=True, slots=True)
class TicketOptions:
    """`inventory` and `results` are the paths the ticket's verify command uses (as the user
    typed them); `vendor` the vendor format whose snippet the ticket shows (None: the host
    formats')."""

    inventory: str = "INVENTORY"
    results: str = "results.json"
    vendor: str | None = None

    def problems(self) -> list[str]:
        if self.vendor is not None and self.vendor not in VENDORS:
            return [f"--vendor {quoted(self.vendor)}: expected one of {', '.join(VENDORS)}"]
        return []

    def text_problems(self) -> list[str]:
        return text_problems((("--inventory", self.inventory), ("--results", self.results)))


@dataclass(frozen=True, slots=True)
class TicketRule:
    number: int
    sources: str
    destinations: str
    protocol: str
    ports: str
    providers: str
    status: str
    flows: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Snippet:
    title: str
    filename: str
    language: str
    text: str


def _cell(items: list[str]) -> str:
    shown = items[:MAX_CELL_BLOCKS]
    more = len(items) - len(shown)
    text = ", ".join(shown)
    return f"{text} (+{more} more)" if more else text


def _snippets(plan: Plan, options: RenderOptions) -> list[Snippet]:
    shared, host = options.shared, options.host
    parts = [
        ("iptables", iptables.render(plan, shared, host, options.iptables)),
        ("nftables", nftables.render(plan, shared, host, options.nftables)),
        ("pf", pf.render(plan, shared, host)),
    ]
    return [
        Snippet(title, filename, "shell", text)
        for title, files in parts
        for filename, text in files.items()
    ]


def _snippet_files(plan: Plan, options: RenderOptions) -> list[str]:
    names = [*iptables.filenames(4)] if plan.family_rules(4) else [iptables.filenames(4)[0]]
    if plan.family_rules(6):
        names += iptables.filenames(6)
    nft = [nftables.FILENAME]
    if not options.nftables.own_table:
        nft.append(nftables.JUMP_FILENAME)
    return [*names, *nft, pf.FILENAME]


def _rule_rows(plan: Plan) -> list[TicketRule]:
    md = markdown_text
    return [
        TicketRule(
            number=i,
            sources=md(_cell(source_texts(r))),
            destinations=md(_cell(destination_texts(r))),
            protocol=r.protocol.value,
            ports=ports_text(r.ports, range_sep="-", list_sep=", "),
            providers=md(", ".join(r.providers)),
            status=r.status.value,
            flows=r.flows,
            evidence=", ".join(s.value for s in r.evidence),
        )
        for i, r in enumerate(plan.rules, start=1)
    ]


def _evidence_rows(plan: Plan) -> list[dict[str, str]]:
    md = markdown_text
    return [
        {
            "source": e.source,
            "destination": md(e.destination),
            "service": f"{e.protocol}/{e.port}",
            "providers": md(", ".join(e.providers)),
            "verdict": e.verdict.value,
            "status": status_text(e.status) if e.status is not None else "no record",
            "reason": md(e.reason),
        }
        for e in plan.evidence
    ]


def _failure_rows(plan: Plan) -> list[dict[str, str]]:
    md = markdown_text
    return [
        {
            "source": f.source,
            "destination": md(f.destination),
            "service": f"{f.protocol}/{f.port}",
            "provider": md(f.provider),
            "check": md(f.check),
            "status": f.status.value,
            "reason": md(f.reason),
        }
        for f in plan.app_failures
    ]


def _verify(options: TicketOptions) -> str:
    return " ".join(
        [
            "auditor probe",
            shlex.quote(options.inventory),
            # probe exits 1 for any finding, TLS and bind failures too: only rules says
            # whether a firewall gap is left (and 2/3 mean the probe itself did not run)
            "-o after.json; test $? -le 1 && auditor rules",
            shlex.quote(options.inventory),
            "--results after.json --only-proven",
        ]
    )


def _placement_context(plan: Plan, options: RenderOptions) -> dict[str, Any]:
    """Where the change goes: chains, tables, hook, positions, pf anchor."""
    names = options.names(plan)
    families = sorted({r.family for r in plan.rules})
    nft_sets = []
    if not names.nft_own and plan.rules:
        found = nftables.sets_and_rules(plan, names)[0]
        nft_sets = [f"{names.nft_chain}_{x.name}" for x in found]
    return {
        "change": names.change,
        "chain": names.chain,
        "table": options.iptables.table,
        "hook": options.host.hook,
        "position": options.iptables.position,
        "position6": options.iptables.position6,
        "tools": [iptables.TOOLS[f] for f in families],
        "nft_own": names.nft_own,
        "nft_table": names.nft_table,
        "nft_chain": names.nft_chain,
        "nft_base_chain": names.nft_base_chain,
        "nft_before": options.nftables.before,
        "nft_append": options.nftables.append,
        "nft_sets": nft_sets,
        "pf_anchor": names.pf_anchor,
    }


def render(
    plan: Plan, options: RenderOptions, proof: ChangeProofReport | None = None
) -> dict[str, str]:
    """The ticket; `proof` is the change proven against the customer's ruleset (--ruleset)."""
    md = markdown_text
    shared, own = options.shared, options.ticket
    rules = _rule_rows(plan)
    lines = sum(len(r.source_blocks) * len(r.destination_blocks) for r in plan.rules)
    inline = lines <= MAX_INLINE_LINES
    text = render_template(
        shared.templates,
        "ticket.md.j2",
        site=md(plan.site),
        ticket=md(shared.ticket) or "(none)",
        requested_by=md(shared.requested_by) or "(not given)",
        counts=plan.counts,
        only_proven=plan.only_proven,
        rules=rules,
        proven=sum(1 for r in plan.rules if r.status.value == "proven"),
        unverified=sum(1 for r in plan.rules if r.status.value == "unverified"),
        sources=[
            {"address": s.address, "appliances": md(", ".join(s.appliances)), "role": md(s.role)}
            for s in plan.sources
        ],
        evidence=_evidence_rows(plan),
        evidence_shown=len(plan.evidence),
        evidence_total=plan.counts.missing + plan.counts.unverified + plan.counts.no_address,
        failures=_failure_rows(plan),
        on_link=[
            {
                "source": f.source,
                "destination": f.destination,
                "protocol": f.protocol,
                "port": f.port,
                "subnet": f.link,
            }
            for f in plan.on_link
        ],
        snippets=_snippets(plan, options) if inline and plan.rules and not own.vendor else [],
        snippet_files=_snippet_files(plan, options),
        snippet_lines=lines,
        nothing=[line.removeprefix("nothing to allow: ") for line in nothing_to_allow(plan)]
        if not plan.rules
        else [],
        udp_silent=any(Status.NO_ANSWER in r.evidence for r in plan.rules),
        radius_rules=[i for i, r in enumerate(plan.rules, start=1) if "radius" in r.kinds],
        radius_addresses=[s.address for s in plan.sources],
        verify=_verify(own),
        results=md(own.results),
        **_placement_context(plan, options),
        **proof_context(proof),
        **vendor_context(plan, options, inline),
    )
    return {FILENAME: text}
