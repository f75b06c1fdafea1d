"""Check Point management API (R81): `mgmt_cli ... --batch FILE` CSV files (the header row holds
the API parameter names; one command per row) for hosts, networks, groups and their members,
TCP/UDP services, service groups and access rules, and `checkpoint.sh`, which runs them in one
session and publishes. Every row says `ignore-warnings true`: the API refuses an object that
duplicates a predefined service or an existing address without it. The script is safe to run
again: it asks for each name first (`mgmt_cli show`) and `set`s what exists (the same values,
in place) and `add`s the rest; members are added only to groups this run created. Rules go to
the top of the layer (`position top`, written in reverse so they keep the plan's order), above
the rule named by --before (`position.above`), or from rule number N on (`--before N`). The
layer is --acl, default `Network` (the access layer of the Standard policy package).
--checkpoint-tag TAG tags each rule (`tags.1`; the tag object is added when missing, an existing
one is left as it is)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import SharedOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects
from auditor.render.vendor_options import (
    check_before,
    is_position,
    name_problems,
    panos_name_problems,
)

SCRIPT = "checkpoint.sh"
NAME_MAX = 63  # kept within the shortest of the other vendors' limits
COMMENT_MAX = 255
DEFAULT_LAYER = "Network"


@dataclass(frozen=True, slots=True)
class Step:
    command: str  # `add host`, `set group` (members)
    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def kind(self) -> str:
        """What the script does with it: `object` (set what exists, add the rest), `members`
        (only for groups this run created) or `rule` (as objects, within the layer)."""
        if self.command == "add access-rule":
            return "rule"
        if self.command == "add tag":
            return "tag"
        return "members" if self.command.startswith("set ") else "object"

    @property
    def type(self) -> str:
        """The API object type: `host`, `service-tcp`, `access-rule`."""
        return self.command.split(" ", 1)[1]


def _cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


@dataclass(frozen=True, slots=True)
class CheckpointOptions:
    """The rule to go above (a name) or the rule number (--before; None: the top), the access
    layer (--acl; None: DEFAULT_LAYER) and the tag of each rule (None: untagged)."""

    before: str | None = None
    layer: str | None = None
    tag: str | None = None

    def problems(self) -> list[str]:
        # a tag name in the alphabet PAN-OS takes too: one --*-tag value fits both
        return name_problems(
            (("--before", self.before), ("--acl", self.layer))
        ) + panos_name_problems((("--checkpoint-tag", self.tag),))


def layer(options: CheckpointOptions) -> str:
    return options.layer or DEFAULT_LAYER


def steps(o: VendorObjects, options: CheckpointOptions) -> list[Step]:
    """The batch commands in the order the objects must exist."""
    note = o.note
    ok = "true"  # ignore-warnings
    hosts = [(a.name, a.address, note, ok) for a in o.addresses if a.host]
    networks = [(a.name, a.address, str(a.prefixlen), note, ok) for a in o.addresses if not a.host]
    out = [
        # the tag first: the rules name it; one another change created is left as it is
        Step(
            "add tag",
            "checkpoint-tags.csv",
            ("name", "comments", "ignore-warnings"),
            ((options.tag, "auditor changes", ok),) if options.tag else (),
        ),
        Step(
            "add host",
            "checkpoint-hosts.csv",
            ("name", "ip-address", "comments", "ignore-warnings"),
            tuple(hosts),
        ),
        Step(
            "add network",
            "checkpoint-networks.csv",
            ("name", "subnet", "mask-length", "comments", "ignore-warnings"),
            tuple(networks),
        ),
        Step(
            "add group",
            "checkpoint-groups.csv",
            ("name", "comments", "ignore-warnings"),
            tuple((g.name, g.description, ok) for g in o.groups),
        ),
        Step(
            "set group",
            "checkpoint-group-members.csv",
            ("name", "members.add"),
            tuple((g.name, m.name) for g in o.groups for m in g.members),
        ),
    ]
    for proto in ("tcp", "udp"):
        ports = tuple((p.name, p.text("-"), note, ok) for p in o.ports if p.protocol == proto)
        out.append(
            Step(
                f"add service-{proto}",
                f"checkpoint-services-{proto}.csv",
                ("name", "port", "comments", "ignore-warnings"),
                ports,
            )
        )
    out += [
        Step(
            "add service-group",
            "checkpoint-service-groups.csv",
            ("name", "comments", "ignore-warnings"),
            tuple((s.name, note, ok) for s in o.services),
        ),
        Step(
            "set service-group",
            "checkpoint-service-group-members.csv",
            ("name", "members.add"),
            tuple((s.name, p.name) for s in o.services for p in s.members),
        ),
        _rules_step(o, options),
    ]
    return [s for s in out if s.rows]


def _rules_step(o: VendorObjects, options: CheckpointOptions) -> Step:
    before = options.before
    rules: Sequence = o.rules
    if before is None:
        # Each `position top` lands above the previous one: add them last first.
        where = [("position", "top")] * len(rules)
        rules = tuple(reversed(rules))
    elif is_position(before):
        where = [("position", str(int(before) + i)) for i in range(len(rules))]
    else:
        where = [("position.above", before)] * len(rules)
    header = (
        "name", "layer", where[0][0], "source", "destination", "service", "action",
        "track.type", "ignore-warnings", "comments",
    )  # fmt: skip
    tags: tuple[str, ...] = (options.tag,) if options.tag else ()
    rows: tuple[tuple[str, ...], ...] = tuple(
        (
            r.name,
            layer(options),
            at[1],
            r.source.name,
            r.destination.name,
            r.service.name,
            "Accept",
            "Log",
            "true",
            r.comment,
            *tags,
        )
        for r, at in zip(rules, where, strict=True)
    )
    return Step("add access-rule", "checkpoint-rules.csv", header + ("tags.1",) * len(tags), rows)


def render(plan: Plan, shared: SharedOptions, options: CheckpointOptions) -> dict[str, str]:
    if not plan.rules:
        return {SCRIPT: comment_only(plan, "Check Point mgmt_cli script", "#!/bin/sh")}
    check_before(options.before, "checkpoint")
    o = vendor_objects(plan, NAME_MAX, COMMENT_MAX)
    todo = steps(o, options)
    files: dict[str, str] = {}
    for step in todo:
        files[step.file] = render_template(
            shared.templates,
            "vendor/checkpoint.csv.j2",
            header=[_cell(h) for h in step.header],
            rows=[[_cell(c) for c in row] for row in step.rows],
        )
    files[SCRIPT] = render_template(
        shared.templates, "vendor/checkpoint.sh.j2", o=o, steps=todo, layer=layer(options)
    )
    return files
