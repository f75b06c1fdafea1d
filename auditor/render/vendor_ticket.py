"""What the ticket needs to show one vendor's snippet with its own apply, verify and rollback
steps (`--vendor`): the files, the objects by name (for the rollback), what each group holds,
and one policy-match test per flow: every source address of every rule, the backup's too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render import asa, checkpoint, fortigate, panos, srx
from auditor.render.options import RenderOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects

TITLES = {
    "panos": "Palo Alto Networks PAN-OS",
    "fortigate": "Fortinet FortiGate",
    "asa": "Cisco ASA",
    "checkpoint": "Check Point",
    "srx": "Juniper SRX",
}
# (name limit, comment limit, renderer): the objects the ticket names are the snippet's own
_RENDER: dict[str, tuple[int, int, Callable[[Plan, RenderOptions], dict[str, str]]]] = {
    "panos": (panos.NAME_MAX, panos.COMMENT_MAX, panos.render),
    "fortigate": (fortigate.NAME_MAX, fortigate.COMMENT_MAX, fortigate.render),
    "asa": (asa.NAME_MAX, asa.REMARK_MAX, asa.render),
    "checkpoint": (checkpoint.NAME_MAX, checkpoint.COMMENT_MAX, checkpoint.render),
    "srx": (srx.NAME_MAX, 255, srx.render),
}


@dataclass(frozen=True, slots=True)
class VendorSnippet:
    title: str
    filename: str
    language: str
    text: str


def _prefix(names: list[str]) -> str:
    """The longest common start of the rule names (`aud-site-1a2b3c-r`), for a grep."""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def vendor_context(plan: Plan, options: RenderOptions, inline: bool) -> dict[str, object]:
    """The ticket template's variables for `options.vendor` (nothing when none is chosen)."""
    vendor = options.vendor
    if vendor is None or not plan.rules:
        return {"vendor": None}
    limit, comment_max, render_fn = _RENDER[vendor]
    files = render_fn(plan, options)
    o: VendorObjects = vendor_objects(plan, limit, comment_max)
    language = {"checkpoint": "shell"}.get(vendor, "text")
    snippets = [
        VendorSnippet(TITLES[vendor], name, "csv" if name.endswith(".csv") else language, text)
        for name, text in files.items()
    ]
    scope, rulebase = panos.scope(options)
    srx_context, srx_zones = srx.context(options)
    checks, more = o.checks()
    policies = fortigate.policies(plan, o, options.fortios) if vendor == "fortigate" else []
    return {
        "vendor": vendor,
        "vendor_title": TITLES[vendor],
        "vendor_snippets": snippets if inline else [],
        "vendor_files": list(files),
        "vo": o,
        "checks": checks,
        "checks_more": more,
        "before": options.before,
        "from_zone": options.from_zone,
        "to_zone": options.to_zone,
        "panos_scope": scope,
        "panos_rulebase": rulebase,
        "device_group": options.panos_device_group,
        "fg_policies": policies,
        "fg_prefix": _prefix([p.name for p in policies]) if policies else "",
        "fortios": options.fortios,
        "srcintf": options.srcintf,
        "dstintf": options.dstintf,
        "asa_entries": asa.entries(o, options) if vendor == "asa" else [],
        "acl": asa.acl_name(options),
        "layer": checkpoint.layer(options),
        "srx_context": srx_context,
        "srx_zones": srx_zones,
    }
