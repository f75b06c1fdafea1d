"""Check Point management API: `mgmt_cli ... --batch FILE` CSV files (the header row holds the
API parameter names; one command per row) for hosts, networks, groups and their members,
TCP/UDP services, service groups and access rules, and `checkpoint.sh`, which runs them in one
session and publishes. Rules go to the top of the layer (`position top`, written in reverse so
they keep the plan's order) or above the rule named by --before (`position.above`). The layer
is --acl, default `Network` (the access layer of the Standard policy package)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.environment import render_template
from auditor.render.fields import comment_only
from auditor.render.options import RenderOptions
from auditor.render.vendor_objects import VendorObjects, vendor_objects

SCRIPT = "checkpoint.sh"
NAME_MAX = 63  # kept within the shortest of the other vendors' limits
COMMENT_MAX = 255
DEFAULT_LAYER = "Network"


@dataclass(frozen=True, slots=True)
class Step:
    command: str  # `add host`
    file: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def layer(options: RenderOptions) -> str:
    return options.acl or DEFAULT_LAYER


def steps(o: VendorObjects, options: RenderOptions) -> list[Step]:
    """The batch commands in the order the objects must exist."""
    note = f"auditor {o.site} change {o.change}"
    hosts = [(a.name, a.address, note) for a in o.addresses if a.host]
    networks = [(a.name, a.address, str(a.prefixlen), note) for a in o.addresses if not a.host]
    out = [
        Step("add host", "checkpoint-hosts.csv", ("name", "ip-address", "comments"), tuple(hosts)),
        Step(
            "add network",
            "checkpoint-networks.csv",
            ("name", "subnet", "mask-length", "comments"),
            tuple(networks),
        ),
        Step(
            "add group",
            "checkpoint-groups.csv",
            ("name", "comments"),
            tuple((g.name, note) for g in o.groups),
        ),
        Step(
            "set group",
            "checkpoint-group-members.csv",
            ("name", "members.add"),
            tuple((g.name, m.name) for g in o.groups for m in g.members),
        ),
    ]
    for proto in ("tcp", "udp"):
        ports = tuple((p.name, p.text("-"), note) for p in o.ports if p.protocol == proto)
        out.append(
            Step(
                f"add service-{proto}",
                f"checkpoint-services-{proto}.csv",
                ("name", "port", "comments"),
                ports,
            )
        )
    out += [
        Step(
            "add service-group",
            "checkpoint-service-groups.csv",
            ("name", "comments"),
            tuple((s.name, note) for s in o.services),
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


def _rules_step(o: VendorObjects, options: RenderOptions) -> Step:
    where = ("position.above", options.before) if options.before else ("position", "top")
    # Each `position top` lands above the previous one: add them last first.
    ordered: Sequence = o.rules if options.before else tuple(reversed(o.rules))
    header = ("layer", where[0], "name", "source", "destination", "service", "action")
    rows = tuple(
        (
            layer(options),
            where[1],
            r.name,
            r.source.name,
            r.destination.name,
            r.service.name,
            "Accept",
            "Log",
            r.comment,
        )
        for r in ordered
    )
    return Step(
        "add access-rule", "checkpoint-rules.csv", (*header, "track.type", "comments"), rows
    )


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    if not plan.rules:
        return {SCRIPT: comment_only(plan, "Check Point mgmt_cli script", "#!/bin/sh")}
    o = vendor_objects(plan, NAME_MAX, COMMENT_MAX)
    todo = steps(o, options)
    files: dict[str, str] = {}
    for step in todo:
        files[step.file] = render_template(
            options.templates,
            "vendor/checkpoint.csv.j2",
            header=[_cell(h) for h in step.header],
            rows=[[_cell(c) for c in row] for row in step.rows],
        )
    files[SCRIPT] = render_template(options.templates, "vendor/checkpoint.sh.j2", o=o, steps=todo)
    return files
