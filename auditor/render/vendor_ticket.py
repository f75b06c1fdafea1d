"""What the ticket needs to show one vendor's snippet with its own apply, verify and rollback
steps (`--vendor`): the files, the objects by name (for the rollback) and one test per rule."""

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
    "panos": (panos.NAME_MAX, 255, panos.render),
    "fortigate": (fortigate.NAME_MAX, 1023, fortigate.render),
    "asa": (asa.NAME_MAX, asa.REMARK_MAX, asa.render),
    "checkpoint": (checkpoint.NAME_MAX, checkpoint.COMMENT_MAX, checkpoint.render),
    "srx": (srx.NAME_MAX, 255, srx.render),
}
_PROTO_NUMBER = {"tcp": 6, "udp": 17}


@dataclass(frozen=True, slots=True)
class VendorSnippet:
    title: str
    filename: str
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One flow each rule admits, for the vendor's own policy-match test command."""

    rule: str
    source: str
    destination: str
    protocol: str
    number: int
    port: int


def _checks(o: VendorObjects) -> list[RuleCheck]:
    return [
        RuleCheck(
            r.name,
            r.source.members[0].address,
            r.destination.members[0].address,
            r.protocol,
            _PROTO_NUMBER[r.protocol],
            r.service.members[0].low,
        )
        for r in o.rules
    ]


def vendor_context(plan: Plan, options: RenderOptions, inline: bool) -> dict[str, object]:
    """The ticket template's variables for `options.vendor` (nothing when none is chosen)."""
    vendor = options.vendor
    if vendor is None or not plan.rules:
        return {"vendor": None}
    limit, comment_max, render_fn = _RENDER[vendor]
    files = render_fn(plan, options)
    o = vendor_objects(plan, limit, comment_max)
    language = {"checkpoint": "shell"}.get(vendor, "text")
    snippets = [
        VendorSnippet(TITLES[vendor], name, "csv" if name.endswith(".csv") else language, text)
        for name, text in files.items()
    ]
    scope, rulebase = panos.scope(options)
    srx_context, srx_zones = srx.context(options)
    return {
        "vendor": vendor,
        "vendor_title": TITLES[vendor],
        "vendor_snippets": snippets if inline else [],
        "vendor_files": list(files),
        "vo": o,
        "checks": _checks(o),
        "before": (options.panos_before if vendor == "panos" else None) or options.before,
        "from_zone": options.from_zone,
        "to_zone": options.to_zone,
        "panos_scope": scope,
        "panos_rulebase": rulebase,
        "device_group": options.panos_device_group,
        "fg_policies": fortigate.policies(plan, o) if vendor == "fortigate" else [],
        "srcintf": options.srcintf,
        "dstintf": options.dstintf,
        "asa_entries": asa.entries(o, options) if vendor == "asa" else [],
        "acl": asa.acl_name(options),
        "layer": checkpoint.layer(options),
        "srx_context": srx_context,
        "srx_zones": srx_zones,
    }
