"""FortiOS CLI: `config firewall address`/`address6`, `addrgrp`/`addrgrp6`, `service custom`
and `policy` (from FortiOS 7.0 one table for both families, srcaddr6/dstaddr6 for IPv6; 6.4 has
`policy6`, chosen by `--fortios 6.4`). Policies are created with `edit 0`, so the device picks
free IDs and a change can never take an ID another change (or a hand-made policy) holds; they
carry the change id in their name, unique per VDOM. FortiOS appends a new policy at the end of
the list, ahead of only the implicit deny; a move names IDs the file cannot know, so `--before`
is refused here and the ticket shows how to move the policies by the IDs they got.

The objects (`edit NAME`: a second load sets them in place) and the policies are two files:
FortiOS refuses a policy whose name another policy has, with an error, and has no conditional
and no delete by name, so `fortigate.policies.conf` is loaded only while `show firewall policy`
lists none of the change's policy names (the ticket's apply step): re-applying the change loads
the objects alone and prints no error."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import SharedOptions
from auditor.render.vendor_objects import Naming, VendorObjects, VendorRule, vendor_objects
from auditor.render.vendor_options import FORTIOS_VERSIONS, check_before, name_problems

FILENAME = "fortigate.conf"
POLICIES_FILENAME = "fortigate.policies.conf"
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


@dataclass(frozen=True, slots=True)
class FortigateOptions:
    """--before (refused: the device picks policy IDs), the policies' interfaces and the FortiOS
    version the file is written for."""

    before: str | None = None
    srcintf: str = "any"
    dstintf: str = "any"
    fortios: str = DEFAULT_FORTIOS

    def problems(self) -> list[str]:
        problems = name_problems(
            (("--before", self.before), ("--srcintf", self.srcintf), ("--dstintf", self.dstintf))
        )
        if self.fortios not in FORTIOS_VERSIONS:
            problems.append(
                f"--fortios {self.fortios!r}: expected one of {', '.join(FORTIOS_VERSIONS)}"
            )
        return problems


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


def policy_prefix(rules: list[FortiPolicy]) -> str:
    """The longest common start of the policy names (`aud-site-1a2b3c-r`), for a grep."""
    names = [p.name for p in rules]
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def render(plan: Plan, shared: SharedOptions, options: FortigateOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "FortiGate configuration")}
    check_before(options.before, "fortigate")
    o = objects(plan)
    rules = policies(plan, o, options.fortios)
    tables = [t for t in ("policy", "policy6") if any(p.table == t for p in rules)]
    common = {
        "o": o,
        "version": options.fortios,
        "objects_file": FILENAME,
        "policies_file": POLICIES_FILENAME,
    }
    text = render_template(shared.templates, "vendor/fortigate.conf.j2", **common)
    policies_text = render_template(
        shared.templates,
        "vendor/fortigate.policies.conf.j2",
        rules=rules,
        tables=tables,
        srcintf=options.srcintf,
        dstintf=options.dstintf,
        prefix=policy_prefix(rules),
        **common,
    )
    return {FILENAME: text, POLICIES_FILENAME: policies_text}
