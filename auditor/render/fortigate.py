"""FortiOS CLI: `config firewall address`/`address6`, `addrgrp`/`addrgrp6`, `service custom`
and `policy` (from FortiOS 7.0 one table for both families, srcaddr6/dstaddr6 for IPv6; 6.4 has
`policy6`, chosen by `--fortios 6.4`). Policies are created with `edit 0`, so the device picks
free IDs and a change can never take an ID another change (or a hand-made policy) holds; they
carry the change id in their name, unique per VDOM. FortiOS appends a new policy at the end of
the list, ahead of only the implicit deny; a move names IDs the file cannot know, so `--before`
is refused here and the ticket shows how to move the policies by the IDs they got."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import RenderOptions
from auditor.render.vendor_objects import Naming, VendorObjects, VendorRule, vendor_objects
from auditor.render.vendor_options import check_before

FILENAME = "fortigate.conf"
NAME_MAX = 79  # firewall address, addrgrp, service custom
POLICY_NAME_MAX = 35  # firewall policy `name`
COMMENT_MAX = 1023
DEFAULT_FORTIOS = "7.4"


@dataclass(frozen=True, slots=True)
class FortiPolicy:
    name: str
    table: str  # `policy`, or `policy6` (FortiOS 6.4's IPv6 policies)
    srcaddr: str  # the field names of this family and version
    dstaddr: str
    rule: VendorRule


def objects(plan: Plan) -> VendorObjects:
    return vendor_objects(plan, NAME_MAX, COMMENT_MAX)


def policies(plan: Plan, o: VendorObjects, version: str = DEFAULT_FORTIOS) -> list[FortiPolicy]:
    naming = Naming(POLICY_NAME_MAX, plan.site, plan.change_id)
    out = []
    for r in o.rules:
        if r.family == 6 and version == "6.4":
            table, src, dst = "policy6", "srcaddr", "dstaddr"
        elif r.family == 6:
            table, src, dst = "policy", "srcaddr6", "dstaddr6"
        else:
            table, src, dst = "policy", "srcaddr", "dstaddr"
        out.append(FortiPolicy(naming.name(f"r{r.number}"), table, src, dst, r))
    return out


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "FortiGate configuration")}
    check_before(options.before, "fortigate")
    o = objects(plan)
    rules = policies(plan, o, options.fortios)
    tables = [t for t in ("policy", "policy6") if any(p.table == t for p in rules)]
    text = render_template(
        options.templates,
        "vendor/fortigate.conf.j2",
        o=o,
        rules=rules,
        tables=tables,
        version=options.fortios,
        srcintf=options.srcintf,
        dstintf=options.dstintf,
    )
    return {FILENAME: text}
