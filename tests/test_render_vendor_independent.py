"""The vendor files checked by parsers the project did not write, from the package index:
pan-os-python builds the PAN-OS configuration the plan asks for (its own XML paths for every
field) and pan-python's PanConfig writes it as `set` commands, which must be exactly what
panos.set says; hier-config (network configuration trees) parses the FortiOS, ASA and Junos
files into their hierarchy, which must hold exactly the plan's objects and rules where each
vendor keeps them. The project's own readers (test_render_vendor.py) check what the rules
admit; these check the syntax against others' models of it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pan.config
import pytest
from hier_config import Platform, get_hconfig
from panos.firewall import Firewall
from panos.objects import AddressGroup, AddressObject, ServiceObject, Tag
from panos.panorama import DeviceGroup, Panorama
from panos.policies import PreRulebase, Rulebase, SecurityRule
from plan_factories import SITE, example_flows, example_records
from render_support import ipv6_flows, ipv6_records
from support.render_options import render_options
from support.vendor.common import tokens

from auditor.plan import make_plan
from auditor.render import OutputFormat, RenderOptions, asa, fortigate, panos, render, srx
from auditor.render.vendor_objects import VendorObjects

PANOS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,62}$")  # letters, digits, space, -, _
PANOS_DEFAULTS = {  # leaves pan-os-python writes that the CLI fills in by itself
    ("source-user", "any"),
    ("category", "any"),
    ("override", "no"),
    ("source-hip", "any"),
    ("destination-hip", "any"),
    ("rule-type", "universal"),
}


def dual_stack():
    return make_plan(example_flows() + ipv6_flows(), example_records() + ipv6_records(), site=SITE)


def _panos_model(o: VendorObjects, given: RenderOptions) -> tuple[ET.Element, str]:
    """The configuration the plan asks for, as pan-os-python's XML, and the set-path prefix."""
    options = given.panos
    if options.device_group:
        parent = DeviceGroup(options.device_group)
        Panorama("panorama").add(parent)
        base = PreRulebase()
    else:
        parent = Firewall(serial="0")
        parent.vsys = "vsys1"
        base = Rulebase()
    objects = []
    if options.tag:
        objects.append(Tag(options.tag, comments=o.note))
    objects += [AddressObject(a.name, a.cidr, description=o.note) for a in o.addresses]
    objects += [
        AddressGroup(g.name, static_value=[m.name for m in g.members], description=g.description)
        for g in o.groups
    ]
    objects += [
        ServiceObject(s.name, s.protocol, destination_port=s.ports(), description=o.note)
        for s in o.services
    ]
    rules = [
        SecurityRule(
            r.name,
            fromzone=[options.from_zone],
            tozone=[options.to_zone],
            source=[r.source.name],
            destination=[r.destination.name],
            application=["any"],
            service=[r.service.name],
            action="allow",
            log_end=True,
            log_setting=options.log_setting,
            group=[options.profile_group] if options.profile_group else None,
            tag=[options.tag] if options.tag else None,
            description=r.comment,
        )
        for r in o.rules
    ]
    root = ET.Element("root")
    for obj in objects:
        parent.add(obj)
        tag = obj.xpath().rsplit("/", 2)[1]  # .../address/entry[@name=...]
        holder = root.find(tag)
        (holder if holder is not None else ET.SubElement(root, tag)).append(obj.element())
    parent.add(base)
    name = "pre-rulebase" if options.device_group else "rulebase"
    holder = ET.SubElement(ET.SubElement(ET.SubElement(root, name), "security"), "rules")
    for rule in rules:
        base.add(rule)
        holder.append(rule.element())
    scope = f"device-group {options.device_group} " if options.device_group else ""
    return root, scope


def _atoms(words: list[str]) -> set[tuple[str, ...]]:
    """A `set` line as its single-value leaves: `rules R from any to any source X ...` and
    `static [ a b ]` become one tuple per value."""
    keys = ("from", "to", "source", "destination", "application", "service", "action")
    if "rules" in words and len(words) > words.index("rules") + 2:
        at = words.index("rules") + 2
        head, rest = words[:at], words[at:]
        if rest[0] in keys:
            out = set()
            while rest:
                key, value = rest[0], rest[1]
                out.add((*head, key, value))
                rest = rest[2:]
            return out
    if "[" in words:
        at = words.index("[")
        return {(*words[:at], m) for m in words[at + 1 : words.index("]")]}
    return {tuple(words)}


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(),
        render_options(
            panos_device_group="DG-east",
            from_zone="trust",
            to_zone="untrust",
            panos_log_setting="default",
            panos_profile_group="strict profiles",
            panos_tag="auditor",
        ),
    ],
    ids=["firewall", "panorama-with-log-profile-tag"],
)
def test_panos_set_is_what_pan_os_python_and_pan_python_make_of_the_plan(options):
    plan = dual_stack()
    text = render(OutputFormat.PANOS, plan, options)["panos.set"]
    o = panos.objects(plan)
    root, scope = _panos_model(o, options)
    config = pan.config.PanConfig(config=ET.tostring(root).decode())
    theirs: set[tuple[str, ...]] = set()
    for child in root:
        for line in config.set_cli(path="set " + scope, xpath="./" + child.tag) or []:
            words = tokens(line.replace("'", '"'))
            if tuple(words[-2:]) not in PANOS_DEFAULTS:
                theirs.add(tuple(words))
    ours: set[tuple[str, ...]] = set()
    for line in text.splitlines():
        if line.startswith("set "):
            ours |= _atoms(tokens(line))
    assert ours == theirs
    names = {w for line in text.splitlines() for w in tokens(line) if w.startswith("aud-")}
    assert names and all(PANOS_NAME.fullmatch(n) for n in names)


def _tree(platform: Platform, text: str) -> dict[str, list[str]]:
    """Each top-level line of hier-config's tree and its children's lines."""
    h = get_hconfig(platform, text)
    return {c.text: [x.text for x in c.children] for c in h.children}


@pytest.mark.parametrize("version", ["6.4", "7.4", "7.6"])
def test_fortios_blocks_nest_as_hier_config_reads_them(version):
    plan = dual_stack()
    text = "".join(render(OutputFormat.FORTIGATE, plan, render_options(fortios=version)).values())
    h = get_hconfig(Platform.FORTINET_FORTIOS, text)
    blocks = {c.text: c for c in h.children if not c.text.startswith("#")}
    o = fortigate.objects(plan)
    expect = {
        "config firewall address": [a for a in o.addresses if a.family == 4],
        "config firewall address6": [a for a in o.addresses if a.family == 6],
        "config firewall addrgrp": [g for g in o.groups if g.family == 4],
        "config firewall addrgrp6": [g for g in o.groups if g.family == 6],
        "config firewall service custom": list(o.services),
    }
    for block, items in expect.items():
        edits = [c.text for c in blocks[block].children if c.text != "next"]
        assert edits == [f'edit "{i.name}"' for i in items]
        assert len(blocks[block].children) == 2 * len(items)  # each edit closed by its next
        for child in blocks[block].children:
            assert all(x.text.startswith("set ") for x in child.children)
    policies = [c for b in ("config firewall policy", "config firewall policy6") if b in blocks
                for c in blocks[b].children if c.text != "next"]  # fmt: skip
    assert [c.text for c in policies] == ["edit 0"] * len(o.rules)
    names = [x.text for c in policies for x in c.children if x.text.startswith("set name ")]
    assert names == [f'set name "{p.name}"' for p in fortigate.policies(plan, o, version)]
    assert ("config firewall policy6" in blocks) == (version == "6.4")
    assert "set protocol" not in text  # the default type covers 6.4 to 7.6


def test_asa_objects_and_entries_are_where_hier_config_reads_them():
    plan = dual_stack()
    text = render(OutputFormat.ASA, plan, RenderOptions())["asa.cfg"]
    tree = _tree(Platform.CISCO_IOS, text)
    o = asa.vendor_objects(plan, asa.NAME_MAX, asa.REMARK_MAX)
    for a in o.addresses:
        assert f"host {a.address}" in tree[f"object network {a.name}"]
    for g in o.groups:
        members = [x for x in tree[f"object-group network {g.name}"] if x.startswith("network-")]
        assert members == [f"network-object object {m.name}" for m in g.members]
    aces = [line for line in tree if " extended permit " in line]
    assert len(aces) == len(o.rules) and all(line.endswith(" log") for line in aces)


def test_srx_set_lines_are_junos_set_commands_hier_config_takes():
    plan = dual_stack()
    text = render(OutputFormat.SRX, plan, RenderOptions())["srx.set"]
    lines = [c.text for c in get_hconfig(Platform.JUNIPER_JUNOS, text).children]
    assert lines == text.splitlines()  # every line a set command, nothing dropped or merged
    assert all(line.startswith("set ") for line in lines)
    o = srx.objects(plan)
    for r in o.rules:
        assert f"set security policies global policy {r.name} then log session-close" in lines


def test_dual_stack_options_render_for_every_independent_check():
    plan = dual_stack()
    for fmt in (OutputFormat.PANOS, OutputFormat.FORTIGATE, OutputFormat.ASA, OutputFormat.SRX):
        assert render(fmt, plan, render_options(from_zone="trust"))
