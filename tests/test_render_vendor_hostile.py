"""Hostile inventory strings in every vendor format: whatever a site, provider or appliance is
called and whatever the ticket fields say, each file reads back with exactly the plan's objects
and rules, admits exactly the missing flows, and every name stays within the vendor's limits."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import pytest
from plan_factories import AD, BACKUP_UNIQUE, SHARED, flow, record
from support.render_options import render_options
from support.vendor.common import admitted
from vendor_support import VENDOR_FORMATS, needing_rules, render_and_read

from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.plan import make_plan
from auditor.render import (
    OutputFormat,
    asa,
    checkpoint,
    fortigate,
    panos,
    render,
    srx,
)
from auditor.render.vendor_objects import vendor_objects

HOSTILE = [
    'quote" action deny "',
    "it's",
    "new\nline\nset rulebase security rules x action allow",
    "cr\rlf\r\nend\r\nconfig firewall policy",
    "semi; rm -rf /",
    "$(reboot)",
    "`id`",
    "! comment\naccess-list x line 1 extended permit ip any any",
    "# comment",
    "brace } [ x ] { y",
    "back\\slash\\",
    "x" * 5000,
    "Zürich-Süd ☃ 東京",
    '=HYPERLINK("http://x")',
    "\t@SUM(A1)",
    'a,b,"c"\r\nx,y',
    "",
    "---",
    "aud-x-abcdef-r1",
]

OPTIONS = render_options(requested_by="=cmd|' /C calc'!A0", ticket="+1; DROP TABLE")
LIMITS = {
    OutputFormat.PANOS: panos.NAME_MAX,
    OutputFormat.FORTIGATE: fortigate.NAME_MAX,
    OutputFormat.ASA: asa.NAME_MAX,
    OutputFormat.CHECKPOINT: checkpoint.NAME_MAX,
    OutputFormat.SRX: srx.NAME_MAX,
}


def hostile(name: str):
    flows: list[Flow] = []
    records = []
    for src in (SHARED, BACKUP_UNIQUE, "2001:db8::12"):
        dst = "2001:db8:1::10" if ":" in src else AD[0]
        f = replace(flow(src, dst, 636), providers=(name or "p",), kind="ldaps")
        flows.append(f)
        records.append(record(f, Status.FILTERED, reason=name))
    peer = replace(
        flow(BACKUP_UNIQUE, AD[1], 443), appliances=frozenset({name or "a"}), endpoint=name
    )
    flows.append(peer)
    records.append(record(peer, Status.NOT_LOCAL, reason=name))
    return flows, records, make_plan(flows, records, site=name)


def expected_objects(fmt: OutputFormat, plan) -> set[str]:
    o = vendor_objects(plan, LIMITS[fmt])
    nets = {a.name for a in o.addresses} | {g.name for g in o.groups}
    services = {s.name for s in o.services}
    rules = {r.name for r in o.rules}
    match fmt:
        case OutputFormat.PANOS:
            return nets | services | rules
        case OutputFormat.FORTIGATE:  # `edit 0` on an empty device: IDs 1, 2, ...
            return nets | services | {str(i) for i in range(1, len(o.rules) + 1)}
        case OutputFormat.ASA:
            return nets | services
        case _:  # Check Point and SRX: a port object per range, grouped into services
            return nets | services | {p.name for p in o.ports} | rules


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_hostile_names_never_add_an_object_or_a_rule(fmt, name):
    flows, records, plan = hostile(name)
    policy = render_and_read(plan, fmt, OPTIONS)
    assert admitted(policy) == needing_rules(flows, records)
    if fmt in (OutputFormat.REQUEST_CSV, OutputFormat.TUFIN, OutputFormat.ALGOSEC):
        return
    assert len(policy.rules) == len(plan.rules)
    assert policy.objects == expected_objects(fmt, plan)
    for obj in expected_objects(fmt, plan) - {r for r in policy.objects if r.isdigit()}:
        assert len(obj) <= LIMITS[fmt] and re.fullmatch(r"aud-[A-Za-z0-9_-]+", obj), obj
        assert plan.change_id in obj


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_stays_inside_its_cells_in_the_request_sheet(name):
    _, _, plan = hostile(name)
    (text,) = render(OutputFormat.REQUEST_CSV, plan, OPTIONS).values()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert all(len(row) == 12 for row in rows)
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
        assert row[0] == "'+1; DROP TABLE"


@pytest.mark.parametrize("fmt", list(LIMITS))
def test_names_are_cut_to_the_vendor_limit_stably_and_stay_distinct(fmt):
    long_a, long_b = "s" * 300 + "a", "s" * 300 + "b"
    first = vendor_objects(hostile(long_a)[2], LIMITS[fmt])
    again = vendor_objects(hostile(long_a)[2], LIMITS[fmt])
    other = vendor_objects(hostile(long_b)[2], LIMITS[fmt])
    names = [r.name for r in first.rules] + [a.name for a in first.addresses]
    assert names == [r.name for r in again.rules] + [a.name for a in again.addresses]
    assert all(len(n) <= LIMITS[fmt] for n in names)
    assert not set(names) & ({r.name for r in other.rules} | {a.name for a in other.addresses})
    policy_names = fortigate.policies(hostile(long_a)[2], first)
    assert all(len(p.name) <= fortigate.POLICY_NAME_MAX for p in policy_names)


ROLLBACK_COMMANDS = {
    "panos": ("configure", "delete ", "commit"),
    "fortigate": ("config firewall ", "    delete ", "end"),
    "asa": ("configure terminal", "no ", "end", "write memory"),
    "checkpoint": ("mgmt_cli ",),
    "srx": ("configure", "delete ", "commit"),
}


def _block_after(text: str, heading: str) -> list[str]:
    """The lines of the first fenced block after `heading`."""
    rest = text.split(heading, 1)[1]
    return rest.split("```", 2)[1].split("\n")[1:-1]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("vendor", list(ROLLBACK_COMMANDS))
def test_the_ticket_shows_the_vendor_snippet_and_a_rollback_of_every_object(vendor, name):
    _, _, plan = hostile(name)
    options = render_options(OPTIONS, vendor=vendor)
    ticket = render(OutputFormat.TICKET, plan, options)["ticket.md"]
    assert ticket.count("```") % 2 == 0
    files = render(OutputFormat(vendor), plan, options)
    for filename, text in files.items():
        assert f"`{filename}`" in ticket and text in ticket
    rollback = _block_after(ticket, "## Rollback")
    assert all(line.startswith(ROLLBACK_COMMANDS[vendor]) for line in rollback), rollback
    fmt = OutputFormat(vendor)
    named = expected_objects(fmt, plan)
    if fmt is OutputFormat.ASA:  # the remarks: provider, kind and evidence first
        for r in vendor_objects(plan, asa.NAME_MAX, asa.REMARK_MAX).rules:
            assert f"no access-list inside_access_in remark {r.comment}" in rollback
    for obj in named - {n for n in named if n.isdigit()}:  # FortiGate's IDs: found by name
        assert any(obj in line for line in rollback), obj
    for word in ("Apply", "Verify"):
        assert word in ticket.split("## Implementation", 1)[1]
