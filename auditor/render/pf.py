"""A pf.conf fragment: one table per address set, one `pass ... quick ... keep state` rule per
planned rule. `quick` because pf's last matching rule wins: without it a later `block` would
undo the pass. Meant for an anchor of the change's own (`auditor/aud_<site>_<change>`), so
reloading the same change replaces it and a later change, in its own anchor, leaves it be."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.escape import PF_LABEL_MAX, safe_text
from auditor.render.fields import (
    comment_only,
    destination_texts,
    ports_set,
    rule_comment,
    source_texts,
)
from auditor.render.memo import LastPlan
from auditor.render.names import change_names
from auditor.render.options import HostPath, SharedOptions

FILENAME = "pf.conf"
ELEMENTS_PER_LINE = 6


@dataclass(frozen=True, slots=True)
class PfTable:
    name: str
    lines: list[str]


@dataclass(frozen=True, slots=True)
class PfRule:
    family: str  # inet / inet6
    src: str
    dst: str
    protocol: str
    ports: str
    label: str
    summary: str


def render(plan: Plan, shared: SharedOptions, host: HostPath) -> dict[str, str]:
    """`_render`'s files, rendered once per plan and options (the ticket shows them too)."""
    return dict(_LAST.get(plan, (shared, host), lambda: _render(plan, shared, host)))


_LAST = LastPlan()


def _render(plan: Plan, shared: SharedOptions, host: HostPath) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "pf.conf fragment")}
    names = change_names(plan)
    prefix = names.pf_prefix
    tables: dict[tuple[str, ...], PfTable] = {}
    numbers = {"s": 0, "d": 0}

    def table(kind: str, elements: list[str]) -> str:
        key = (kind, *elements)
        got = tables.get(key)
        if got is None:
            numbers[kind] += 1
            lines = [
                ", ".join(elements[i : i + ELEMENTS_PER_LINE])
                for i in range(0, len(elements), ELEMENTS_PER_LINE)
            ]
            got = tables[key] = PfTable(
                name=f"{prefix}_{kind}{numbers[kind]}",
                lines=[line + ("," if i < len(lines) - 1 else "") for i, line in enumerate(lines)],
            )
        return got.name

    rules = [
        PfRule(
            family="inet" if r.family == 4 else "inet6",
            src=table("s", source_texts(r)),
            dst=table("d", destination_texts(r)),
            protocol=r.protocol.value,
            ports=ports_set(r.ports, ":"),
            label=rule_comment(plan.site, r, PF_LABEL_MAX),
            summary=safe_text(r.justification, 400),
        )
        for r in plan.rules
    ]
    text = render_template(
        shared.templates,
        "pf.conf.j2",
        site=safe_text(plan.site, 200),
        change=names.change,
        anchor=names.pf_anchor,
        direction=host.direction.value,
        interface=f" on {host.interface}" if host.interface else "",
        tables=list(tables.values()),
        rules=rules,
        filename=FILENAME,
    )
    return {FILENAME: text}
