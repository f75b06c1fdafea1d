"""What the ticket needs to show one vendor's snippet with its own apply, verify and rollback
steps (`--vendor`): the files, the objects by name (for the rollback), what each group holds,
and one policy-match test per flow: every source address of every rule, the backup's too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.plan import Plan
from auditor.render import asa, checkpoint, fortigate, panos, srx
from auditor.render.vendor_objects import VendorObjects, vendor_objects

if TYPE_CHECKING:
    from auditor.render.option_set import RenderOptions

TITLES = {
    "panos": "Palo Alto Networks PAN-OS",
    "fortigate": "Fortinet FortiGate",
    "asa": "Cisco ASA",
    "checkpoint": "Check Point",
    "srx": "Juniper SRX",
}
# (name limit, comment limit): the objects the ticket names are the snippet's own
_LIMITS: dict[str, tuple[int, int]] = {
    "panos": (panos.NAME_MAX, panos.COMMENT_MAX),
    "fortigate": (fortigate.NAME_MAX, fortigate.COMMENT_MAX),
    "asa": (asa.NAME_MAX, asa.REMARK_MAX),
    "checkpoint": (checkpoint.NAME_MAX, checkpoint.COMMENT_MAX),
    "srx": (srx.NAME_MAX, 255),
}


def _files(plan: Plan, options: RenderOptions, vendor: str) -> dict[str, str]:
    shared = options.shared
    match vendor:
        case "panos":
            return panos.render(plan, shared, options.panos)
        case "fortigate":
            return fortigate.render(plan, shared, options.fortigate)
        case "asa":
            return asa.render(plan, shared, options.asa)
        case "checkpoint":
            return checkpoint.render(plan, shared, options.checkpoint)
        case _:
            return srx.render(plan, shared, options.srx)


@dataclass(frozen=True, slots=True)
class VendorSnippet:
    title: str
    filename: str
    language: str
    text: str


def vendor_context(plan: Plan, options: RenderOptions, inline: bool) -> dict[str, object]:
    """The ticket template's variables for `--vendor` (nothing when none is chosen)."""
    vendor = options.ticket.vendor
    if vendor is None or not plan.rules:
        return {"vendor": None}
    limit, comment_max = _LIMITS[vendor]
    files = _files(plan, options, vendor)
    o: VendorObjects = vendor_objects(plan, limit, comment_max)
    language = {"checkpoint": "shell"}.get(vendor, "text")
    snippets = [
        VendorSnippet(TITLES[vendor], name, "csv" if name.endswith(".csv") else language, text)
        for name, text in files.items()
    ]
    scope, rulebase = panos.scope(options.panos)
    srx_context, srx_zones = srx.context(options.srx)
    fg = options.fortigate
    before = {
        "panos": options.panos.before,
        "fortigate": fg.before,
        "asa": options.asa.before,
        "checkpoint": options.checkpoint.before,
        "srx": options.srx.before,
    }[vendor]
    zones: panos.PanosOptions | srx.SrxOptions = options.srx if vendor == "srx" else options.panos
    checks, more = o.checks()
    policies = fortigate.policies(plan, o, fg.fortios) if vendor == "fortigate" else []
    return {
        "vendor": vendor,
        "vendor_title": TITLES[vendor],
        "vendor_snippets": snippets if inline else [],
        "vendor_files": list(files),
        "vo": o,
        "checks": checks,
        "checks_more": more,
        "before": before,
        "from_zone": zones.from_zone,
        "to_zone": zones.to_zone,
        "panos_scope": scope,
        "panos_rulebase": rulebase,
        "device_group": options.panos.device_group,
        "fg_policies": policies,
        "fg_prefix": fortigate.policy_prefix(policies) if policies else "",
        "fortios": fg.fortios,
        "srcintf": fg.srcintf,
        "dstintf": fg.dstintf,
        "asa_entries": asa.entries(o, options.asa) if vendor == "asa" else [],
        "acl": asa.acl_name(options.asa),
        "layer": checkpoint.layer(options.checkpoint),
        "srx_context": srx_context,
        "srx_zones": srx_zones,
    }
