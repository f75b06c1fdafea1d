"""iptables-restore fragments (IPv4 and IPv6): a chain of this change, and its jump.

The chain is named for the site and the change (names.py): each change owns a chain of its own,
so applying a later change leaves the earlier ones in place. `<tool>.rules` declares the chain
(`:CHAIN - [0:0]`: under --noflush that creates it, or flushes it when it exists) and fills it,
so loading the same change again leaves one copy of every rule.

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
from auditor.render.escape import IPTABLES_COMMENT_MAX, safe_text
from auditor.render.fields import (
    comment_only,
    destination_texts,
    ports_text,
    rule_comment,
    source_texts,
)
from auditor.render.memo import LastPlan
from auditor.render.names import change_names
from auditor.render.options import MAX_POSITION, Direction, HostPath, SharedOptions
from auditor.textout import quoted
from auditor.values import IPTABLES_CHAIN_RE

TOOLS = {4: "iptables", 6: "ip6tables"}
IPTABLES_TABLES = ("filter", "mangle", "raw", "security")


@dataclass(frozen=True, slots=True)
class IptablesOptions:
    """The change's chain (None: named for the site and change), the table and the jump's
    position in the hook chain; `position6` is the ip6tables position when the customer's
    ruleset places it elsewhere (render/proof.py)."""

    chain: str | None = None
    table: str = "filter"
    position: int = 1
    position6: int | None = None

    def problems(self) -> list[str]:
        problems: list[str] = []
        if self.position > MAX_POSITION:
            problems.append(f"--position {self.position}: expected at most {MAX_POSITION}")
        if self.position6 is not None and not 1 <= self.position6 <= MAX_POSITION:
            problems.append(f"ip6tables position {self.position6}: expected 1-{MAX_POSITION}")
        if self.chain is not None and not IPTABLES_CHAIN_RE.fullmatch(self.chain):
            problems.append(
                f"--chain {quoted(self.chain)}: expected 1-28 of A-Z a-z 0-9 _ -, not starting "
                "with -"
            )
        if self.table not in IPTABLES_TABLES:
            problems.append(
                f"--table {quoted(self.table)}: expected one of {', '.join(IPTABLES_TABLES)}"
            )
        if self.position < 1:
            problems.append(f"--position {self.position}: expected 1 or more")
        return problems


@dataclass(frozen=True, slots=True)
class IptablesRule:
    sources: list[str]
    destinations: list[str]
    protocol: str
    port_match: str
    comment: str
    summary: str


def port_match(rule: PlannedRule) -> str:
    if len(rule.ports) == 1 and rule.ports[0].low == rule.ports[0].high:
        return f"-m {rule.protocol.value} --dport {rule.ports[0].low}"
    return f"-m multiport --dports {ports_text(rule.ports, range_sep=':')}"


def interface_match(host: HostPath) -> str:
    if host.interface is None:
        return ""
    flag = "-i" if host.direction is Direction.IN else "-o"
    return f" {flag} {host.interface}"


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


def render(
    plan: Plan, shared: SharedOptions, host: HostPath, options: IptablesOptions
) -> dict[str, str]:
    """`_render`'s files, rendered once per plan and options (the ticket shows them too)."""
    return dict(
        _LAST.get(plan, (shared, host, options), lambda: _render(plan, shared, host, options))
    )


_LAST = LastPlan()


def _render(
    plan: Plan, shared: SharedOptions, host: HostPath, options: IptablesOptions
) -> dict[str, str]:
    """The files of each family with rules. A plan without rules is one comment-only
    `iptables.rules` that says so: no empty chain, no jump; so is `iptables.rules` of a plan
    with IPv6 rules only (a script that loads it still finds it)."""
    if not plan.rules:
        return {filenames(4)[0]: comment_only(plan, "iptables-restore fragment")}
    chain = change_names(plan, chain=options.chain).chain
    out: dict[str, str] = {}
    for family in (4, 6):
        rules = plan.family_rules(family)
        if not rules:
            if family == 4:
                out[filenames(4)[0]] = (
                    f"# iptables-restore fragment generated by auditor for site "
                    f"{safe_text(plan.site, 200)}.\n# no IPv4 rules in this change: "
                    f"see {filenames(6)[0]}\n"
                )
            continue
        tool = TOOLS[family]
        rules_name, jump_name = filenames(family)
        common = {
            "tool": tool,
            "family": family,
            "site": safe_text(plan.site, 200),
            "chain": chain,
            "change": plan.change_id,
            "table": options.table,
            "hook": host.hook,
            "position": options.position
            if family == 4 or options.position6 is None
            else options.position6,
            "rules_file": rules_name,
            "jump_file": jump_name,
        }
        out[rules_name] = render_template(
            shared.templates,
            "iptables.rules.j2",
            rules=[_view(plan, r) for r in rules],
            interface=interface_match(host),
            **common,
        )
        out[jump_name] = render_template(shared.templates, "iptables.jump.rules.j2", **common)
    return out
