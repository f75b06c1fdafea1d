"""PAN-OS `set` commands: one address object per address, address groups named for what they
hold, services, one security rule per planned rule, and its `move`: before the rule named by
--before, else `top` (PAN-OS appends a new rule at the end of the rulebase, behind any explicit
deny). --panos-device-group writes Panorama's pre-rulebase. Each rule logs at session end;
--panos-log-setting, --panos-profile-group and --panos-tag add the log forwarding profile, the
security profile group and a tag (created if missing) a rulebase review asks for.

The output is plain configuration-mode text, one command a line, every name from the PAN-OS
alphabet (letters, digits, hyphens, underscores; at most 63 characters) and every description
double-quoted safe text: a PAN-OS configuration reader can apply it line by line."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import SharedOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects
from auditor.render.vendor_options import check_before, name_problems, panos_name_problems

FILENAME = "panos.set"
NAME_MAX = 63  # PAN-OS object and rule names
DESCRIPTION_MAX = 1023
COMMENT_MAX = 255


@dataclass(frozen=True, slots=True)
class PanosOptions:
    """The rule to move ahead of (None: `top`), the Panorama device group (None: a firewall's
    own rulebase), the zones, and the log forwarding profile, security profile group and tag of
    the rules (None: not set)."""

    before: str | None = None
    device_group: str | None = None
    from_zone: str = "any"
    to_zone: str = "any"
    log_setting: str | None = None
    profile_group: str | None = None
    tag: str | None = None

    def problems(self) -> list[str]:
        return name_problems(
            (
                ("--before", self.before),
                ("--panos-device-group", self.device_group),
                ("--from-zone", self.from_zone),
                ("--to-zone", self.to_zone),
            )
        ) + panos_name_problems(
            (
                ("--panos-log-setting", self.log_setting),
                ("--panos-profile-group", self.profile_group),
                ("--panos-tag", self.tag),
            )
        )


def objects(plan: Plan) -> VendorObjects:
    return vendor_objects(plan, NAME_MAX, COMMENT_MAX)


def scope(options: PanosOptions) -> tuple[str, str]:
    """(prefix of object commands, the rulebase) for a firewall or a Panorama device group."""
    if options.device_group:
        return f"device-group {options.device_group} ", "pre-rulebase"
    return "", "rulebase"


def _quoted(value: str | None) -> str | None:
    """A PAN-OS name as a CLI value: quoted when it holds a space."""
    if value is None:
        return None
    return f'"{value}"' if " " in value else value


def render(plan: Plan, shared: SharedOptions, options: PanosOptions) -> dict[str, str]:
    if not plan.rules:
        return {FILENAME: comment_only(plan, "PAN-OS configuration")}
    check_before(options.before, "panos")
    o = objects(plan)
    prefix, rulebase = scope(options)
    # `move ... top` one by one puts the last moved first: move in reverse to keep plan order.
    before = options.before
    moves = list(o.rules) if before else list(reversed(o.rules))
    text = render_template(
        shared.templates,
        "vendor/panos.set.j2",
        o=o,
        scope=prefix,
        rulebase=rulebase,
        from_zone=options.from_zone,
        to_zone=options.to_zone,
        before=_quoted(before),
        moves=moves,
        log_setting=_quoted(options.log_setting),
        profile_group=_quoted(options.profile_group),
        tag=_quoted(options.tag),
    )
    return {FILENAME: text}
