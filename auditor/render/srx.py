"""Junos SRX `set` commands: the global address book (addresses, address-sets), applications and
application-sets, one policy per planned rule. Zones from --from-zone/--to-zone; both `any`
(the default) writes global policies, which match whatever the zones. A new policy goes to the
end of its context; --before POLICY adds `insert ... before policy POLICY`. Each policy logs
the session at its close (`then log session-close`)."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import SharedOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects
from auditor.render.vendor_options import check_before, name_problems

FILENAME = "srx.set"
NAME_MAX = 63


@dataclass(frozen=True, slots=True)
class SrxOptions:
    """The policy to insert ahead of (None: appended) and the zones of the policy context."""

    before: str | None = None
    from_zone: str = "any"
    to_zone: str = "any"

    def problems(self) -> list[str]:
        return name_problems(
            (
                ("--before", self.before),
                ("--from-zone", self.from_zone),
                ("--to-zone", self.to_zone),
            )
        )


def objects(plan: Plan) -> VendorObjects:
    return vendor_objects(plan, NAME_MAX, 255)


def context(options: SrxOptions) -> tuple[str, list[str]]:
    """The policy context and the zone matches a global policy needs."""
    if options.from_zone != "any" and options.to_zone != "any":
        return f"from-zone {options.from_zone} to-zone {options.to_zone}", []
    zones = [
        f"{label} {zone}"
        for label, zone in (("from-zone", options.from_zone), ("to-zone", options.to_zone))
        if zone != "any"
    ]
    if zones:  # a global policy that names one zone must name the other (as `any`)
        zones = [f"from-zone {options.from_zone}", f"to-zone {options.to_zone}"]
    return "global", zones


def render(plan: Plan, shared: SharedOptions, options: SrxOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "Junos SRX configuration")}
    check_before(options.before, "srx")
    where, zones = context(options)
    text = render_template(
        shared.templates,
        "vendor/srx.set.j2",
        o=objects(plan),
        context=where,
        zone_match=zones,
        before=options.before,
    )
    return {FILENAME: text}
