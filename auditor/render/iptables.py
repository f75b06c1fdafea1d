"""iptables-restore fragments (IPv4 and IPv6): a chain the site owns, and its jump.

`<tool>.rules` declares the chain (`:CHAIN - [0:0]`: under --noflush that creates it, or
flushes it when it exists) and fills it, so loading it again leaves one copy of every rule.

The jump from the hook chain is a separate `<tool>.jump.rules`, loaded only when
`<tool> -C HOOK -j CHAIN` says it is absent. No single --noflush document can do both: a
restore only inserts and deletes (each by a fixed count, and a delete of an absent rule aborts
the whole transaction) and never flushes a built-in chain, so whatever it does to the hook
chain, it does the same on the first and the second load. docs/formats.md has the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan, PlannedRule
from auditor.render.environment import render_template
from auditor.render.escape import IPTABLES_COMMENT_MAX, chain_name, safe_text
from auditor.render.fields import destination_texts, ports_text, rule_comment, source_texts
from auditor.render.options import Direction, RenderOptions

TOOLS = {4: "iptables", 6: "ip6tables"}


@dataclass(frozen=True, slots=True)
class IptablesRule:
    sources: list[str]
    destinations: list[str]
    protocol: str
    port_match: str
    comment: str
    summary: str


def chain_for(plan: Plan, options: RenderOptions) -> str:
    return options.chain or chain_name(plan.site)


def port_match(rule: PlannedRule) -> str:
    if len(rule.ports) == 1 and rule.ports[0].low == rule.ports[0].high:
        return f"-m {rule.protocol.value} --dport {rule.ports[0].low}"
    return f"-m multiport --dports {ports_text(rule.ports, range_sep=':')}"


def interface_match(options: RenderOptions) -> str:
    if options.interface is None:
        return ""
    flag = "-i" if options.direction is Direction.IN else "-o"
    return f" {flag} {options.interface}"


def _view(plan: Plan, rule: PlannedRule) -> IptablesRule:
    return IptablesRule(
        sources=source_texts(rule),
        destinations=destination_texts(rule),
        protocol=rule.protocol.value,
        port_match=port_match(rule),
        comment=rule_comment(plan.site, rule, IPTABLES_COMMENT_MAX),
        summary=safe_text(rule.justification, 400),
    )


def filenames(family: int) -> tuple[str, str]:
    tool = TOOLS[family]
    return f"{tool}.rules", f"{tool}.jump.rules"


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    """IPv4 files always (an empty chain is harmless), IPv6 files when IPv6 rules exist."""
    chain = chain_for(plan, options)
    out: dict[str, str] = {}
    for family in (4, 6):
        rules = plan.family_rules(family)
        if family == 6 and not rules:
            continue
        tool = TOOLS[family]
        rules_name, jump_name = filenames(family)
        common = {
            "tool": tool,
            "family": family,
            "site": safe_text(plan.site, 200),
            "chain": chain,
            "table": options.table,
            "hook": options.hook,
            "position": options.position,
            "rules_file": rules_name,
            "jump_file": jump_name,
        }
        out[rules_name] = render_template(
            options.templates,
            "iptables.rules.j2",
            rules=[_view(plan, r) for r in rules],
            interface=interface_match(options),
            **common,
        )
        out[jump_name] = render_template(options.templates, "iptables.jump.rules.j2", **common)
    return out
