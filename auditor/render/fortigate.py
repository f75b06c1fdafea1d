"""FortiOS CLI: `config firewall address`/`address6`, `addrgrp`/`addrgrp6`, `service custom`
and `policy` (srcaddr6/dstaddr6 for IPv6, FortiOS 7.x). Policies get IDs of this change's own
(stable, far above hand-made ones), so `move ID before ID` can place them ahead of the deny
policy given by --before; without it they stay where FortiOS puts a new policy: at the end of
the list, ahead of only the implicit deny."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.errors import UsageError
from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import RenderOptions
from auditor.render.vendor_objects import Naming, VendorObjects, VendorRule, vendor_objects
from auditor.render.vendor_options import before_number

FILENAME = "fortigate.conf"
NAME_MAX = 79  # firewall address, addrgrp, service custom
POLICY_NAME_MAX = 35  # firewall policy `name`
POLICY_ID_BASE = 1_000_000_000
POLICY_ID_SLOTS = 3_000  # changes spread over IDs 1e9 .. 4e9 (the maximum is 4294967294)
POLICY_ID_STRIDE = 1_000_000


@dataclass(frozen=True, slots=True)
class FortiPolicy:
    id: int
    name: str
    rule: VendorRule


def first_policy_id(change: str) -> int:
    return POLICY_ID_BASE + (int(change, 16) % POLICY_ID_SLOTS) * POLICY_ID_STRIDE + 1


def policies(plan: Plan, o: VendorObjects) -> list[FortiPolicy]:
    naming = Naming(POLICY_NAME_MAX, plan.site, plan.change_id)
    first = first_policy_id(plan.change_id)
    return [FortiPolicy(first + i, naming.name(f"r{r.number}"), r) for i, r in enumerate(o.rules)]


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "FortiGate configuration")}
    try:
        before = before_number(options.before, "fortigate")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    o = vendor_objects(plan, NAME_MAX, 1023)
    rules = policies(plan, o)
    text = render_template(
        options.templates,
        "vendor/fortigate.conf.j2",
        o=o,
        rules=rules,
        first_id=rules[0].id,
        last_id=rules[-1].id,
        srcintf=options.srcintf,
        dstintf=options.dstintf,
        before=before,
    )
    return {FILENAME: text}
