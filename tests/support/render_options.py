"""RenderOptions from the CLI's flag names, for tests that set one or two of them: each flag
goes to the part of every renderer that reads it, as cli/placement.py builds them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auditor.render import RenderOptions

# flag -> (part, field) for each renderer's options that read it
FLAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "templates": (("shared", "templates"),),
    "requested_by": (("shared", "requested_by"),),
    "ticket": (("shared", "ticket"),),
    "expires": (("shared", "expires"),),
    "hook": (("host", "hook"),),
    "interface": (("host", "interface"),),
    "direction": (("host", "direction"),),
    "chain": (("iptables", "chain"),),
    "table": (("iptables", "table"),),
    "position": (("iptables", "position"),),
    "position6": (("iptables", "position6"),),
    "nft_table": (("nftables", "table"),),
    "nft_chain": (("nftables", "chain"),),
    "nft_before": (("nftables", "before"),),
    "nft_append": (("nftables", "append"),),
    "before": tuple((v, "before") for v in ("panos", "fortigate", "asa", "checkpoint", "srx")),
    "panos_device_group": (("panos", "device_group"),),
    "from_zone": (("panos", "from_zone"), ("srx", "from_zone")),
    "to_zone": (("panos", "to_zone"), ("srx", "to_zone")),
    "panos_log_setting": (("panos", "log_setting"),),
    "panos_profile_group": (("panos", "profile_group"),),
    "panos_tag": (("panos", "tag"),),
    "srcintf": (("fortigate", "srcintf"),),
    "dstintf": (("fortigate", "dstintf"),),
    "fortios": (("fortigate", "fortios"),),
    "acl": (("asa", "acl"), ("checkpoint", "layer")),
    "checkpoint_tag": (("checkpoint", "tag"),),
    "tufin_workflow": (("tufin", "workflow"),),
    "inventory": (("ticket", "inventory"),),
    "results": (("ticket", "results"),),
    "vendor": (("ticket", "vendor"),),
}


def render_options(base: RenderOptions | None = None, **flags: Any) -> RenderOptions:
    """`base` (default: the defaults) with `flags` set; checked like the CLI's."""
    changes: dict[str, dict[str, Any]] = {}
    for flag, value in flags.items():
        for part, name in FLAGS[flag]:
            changes.setdefault(part, {})[name] = value
    base = base if base is not None else RenderOptions()
    parts = {part: replace(getattr(base, part), **fields) for part, fields in changes.items()}
    return replace(base, **parts)
