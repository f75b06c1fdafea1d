"""PAN-OS `set` commands: address objects, an address group per source and destination set (the
pair's is `...-pair4`/`-pair6`), services, one security rule per planned rule, and its `move`:
before the deny rule named by --before, else `top` (PAN-OS appends a new rule at the end of the
rulebase, behind any explicit deny). --panos-device-group writes Panorama's pre-rulebase."""

from __future__ import annotations

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import RenderOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects

FILENAME = "panos.set"
NAME_MAX = 63  # PAN-OS object and rule names
DESCRIPTION_MAX = 1023


def objects(plan: Plan) -> VendorObjects:
    return vendor_objects(plan, NAME_MAX, 255)


def scope(options: RenderOptions) -> tuple[str, str]:
    """(prefix of object commands, the rulebase) for a firewall or a Panorama device group."""
    if options.panos_device_group:
        return f"device-group {options.panos_device_group} ", "pre-rulebase"
    return "", "rulebase"


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "PAN-OS configuration")}
    o = objects(plan)
    prefix, rulebase = scope(options)
    # `move ... top` one by one puts the last moved first: move in reverse to keep plan order.
    before = options.panos_before or options.before
    moves = list(o.rules) if before else list(reversed(o.rules))
    text = render_template(
        options.templates,
        "vendor/panos.set.j2",
        o=o,
        scope=prefix,
        rulebase=rulebase,
        from_zone=options.from_zone,
        to_zone=options.to_zone,
        before=before,
        moves=moves,
    )
    return {FILENAME: text}
