"""Cisco ASA: `object network`, `object-group network|service` and, per planned rule, a remark
and a logged `access-list ACL line N extended permit ... log` entry. Line 1 (the top of the
ACL) unless --before gives the line of the deny entry to go ahead of. ASA 9.x ACLs take IPv4
and IPv6 objects alike."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.errors import UsageError
from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.escape import safe_text
from auditor.render.fields import comment_only
from auditor.render.options import SharedOptions
from auditor.render.vendor_objects import VendorObjects, VendorRule, vendor_objects
from auditor.render.vendor_options import before_number, name_problems

FILENAME = "asa.cfg"
NAME_MAX = 64  # object and object-group names
REMARK_MAX = 100  # access-list remark
DEFAULT_ACL = "inside_access_in"  # ASDM's name for the inside interface's inbound ACL


@dataclass(frozen=True, slots=True)
class AsaEntry:
    line: int  # the remark's line; the permit is the next
    remark: str
    rule: VendorRule


@dataclass(frozen=True, slots=True)
class AsaOptions:
    """The ACL line to go ahead of (--before, a number; None: line 1) and the ACL's name."""

    before: str | None = None
    acl: str | None = None

    def problems(self) -> list[str]:
        return name_problems((("--before", self.before), ("--acl", self.acl)))


def acl_name(options: AsaOptions) -> str:
    return options.acl or DEFAULT_ACL


def entries(o: VendorObjects, options: AsaOptions) -> list[AsaEntry]:
    try:
        first = before_number(options.before, "asa") or 1
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # each rule takes two lines (remark, permit), inserted in order from `first`; the remark
    # is the rule's comment (provider, kind and evidence first, cut at a word boundary)
    return [
        AsaEntry(first + 2 * i, safe_text(r.comment, REMARK_MAX), r) for i, r in enumerate(o.rules)
    ]


def render(plan: Plan, shared: SharedOptions, options: AsaOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "Cisco ASA configuration").replace("# ", "! ")}
    o = vendor_objects(plan, NAME_MAX, REMARK_MAX)
    rules = entries(o, options)
    text = render_template(
        shared.templates,
        "vendor/asa.cfg.j2",
        o=o,
        rules=rules,
        acl=acl_name(options),
        first_line=rules[0].line,
    )
    return {FILENAME: text}
