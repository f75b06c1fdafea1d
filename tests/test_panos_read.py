"""Reading PAN-OS configurations: public material nobody here wrote reads without error
(Palo Alto's iron-skillet day-one templates), Panorama's rule order and device-group
hierarchy, the vsys choice, and every refusal located as FILE:LINE: field: message."""

from __future__ import annotations

from pathlib import Path

import pytest
from panos_support import firewall, judge, policy_of, rule

from auditor.errors import InputError
from auditor.policy.panos.flows import read_policy
from auditor.policy.panos.read import Selection
from auditor.policy.panos.xmlsource import MAX_DEPTH, parse_xml
from auditor.ruleset.model import Verdict

PUBLIC = Path(__file__).parent / "panos_data" / "public"
A10, AD = "198.51.100.10", "203.0.113.10"


def test_iron_skillet_firewall_template_reads_with_its_default_rule_overrides() -> None:
    """Palo Alto's day-one template overrides interzone-default to drop (and logs it)."""
    _, p = read_policy([PUBLIC / "iron_skillet_panos_full.xml"], Selection())
    assert p.context == "vsys1"
    assert (p.intrazone.action.value, p.interzone.action.value) == ("allow", "drop")
    assert p.interzone.line == 757  # the override's own line in the template
    d = judge(p, A10, AD, 636, from_zone="trust", to_zone="untrust")
    assert (d.verdict, d.rule.name) == (Verdict.DENIED, "interzone-default")


def test_iron_skillet_panorama_template_reads() -> None:
    from auditor.policy.panos.read import merged_entries

    (config,), p = read_policy([PUBLIC / "iron_skillet_panorama_full.xml"], Selection())
    assert p.context == "device-group sample_devicegroup"
    (group,) = merged_entries(config.root.findall("devices/entry/device-group/entry")).values()
    assert group.find("devices") is not None and group.find("reports") is not None
    assert p.interzone.section == "shared override"
    # no zones in a Panorama export: unknown unless given, and the defaults differ
    assert judge(p, A10, AD, 636).verdict is Verdict.UNKNOWN
    assert judge(p, A10, AD, 636, from_zone="a", to_zone="a").verdict is Verdict.ADMITTED


PANORAMA = """<config version="10.1.0">
<shared>
  <pre-rulebase><security><rules>{shared_pre}</rules></security></pre-rulebase>
  <post-rulebase><security><rules>{shared_post}</rules></security></post-rulebase>
</shared>
<devices><entry name="localhost.localdomain"><device-group>
  <entry name="parent">
    <pre-rulebase><security><rules>{parent_pre}</rules></security></pre-rulebase>
    <post-rulebase><security><rules>{parent_post}</rules></security></post-rulebase>
  </entry>
  <entry name="branch">
    <address><entry name="ad"><ip-netmask>203.0.113.10</ip-netmask></entry></address>
    <pre-rulebase><security><rules>{pre}</rules></security></pre-rulebase>
    <post-rulebase><security><rules>{post}</rules></security></post-rulebase>
  </entry>
</device-group></entry></devices>
<readonly><devices><entry name="localhost.localdomain"><device-group>
  <entry name="branch"><parent-dg>parent</parent-dg></entry>
</device-group></entry></devices></readonly>
</config>
"""


def panorama(**rules: str) -> str:
    keys = ("shared_pre", "shared_post", "parent_pre", "parent_post", "pre", "post")
    return PANORAMA.format(**{k: rules.get(k, "") for k in keys})


def test_panorama_order_shared_pre_dg_pre_local_dg_post_shared_post() -> None:
    """Panorama admin guide, "Device Group Policies": shared pre-rules, device-group
    pre-rules (ancestors first), the firewall's local rules, device-group post-rules (the
    group's own first), shared post-rules, then the defaults."""
    names = ("shared_pre", "parent_pre", "pre", "post", "parent_post", "shared_post")
    text = panorama(**{n: rule(n, destination=AD) for n in names})
    local = firewall([rule("local", destination=AD)])
    p = policy_of(text, local, selection=Selection(device_group="branch"))
    order = [r.name for r in p.rules]
    assert order == [
        "shared_pre",
        "parent_pre",
        "pre",
        "local",
        "post",
        "parent_post",
        "shared_post",
    ]
    # with every rule ahead of it removed, each rule is the one that decides
    for at, name in enumerate(order):
        kept = order[at:]
        left = policy_of(
            panorama(**{n: rule(n, destination=AD) for n in names if n in kept}),
            firewall([rule("local", destination=AD)] if "local" in kept else []),
            selection=Selection(device_group="branch"),
        )
        assert judge(left, A10, AD, 636).rule.name == name


def test_device_group_objects_and_its_ancestors() -> None:
    text = panorama(pre=rule("uses-dg-object", "deny", destination="ad"))
    p = policy_of(text, selection=Selection(device_group="branch"))
    d = judge(p, A10, AD, 636, from_zone="a", to_zone="b")
    assert d.rule.name == "uses-dg-object" and d.rule.section == "device-group branch pre-rulebase"


def locate(text: str, selection: Selection | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        policy_of(text, selection=selection)
    return [str(p) for p in caught.value.problems]


def test_refusals_are_located() -> None:
    bad = firewall([rule("r", "permit")])
    assert locate(bad) == [
        "c0.xml:29: rule r action: 'permit' (expected allow, deny, drop, reset-client, "
        "reset-server, reset-both)"
    ]
    objects = (
        '<address>\n<entry name="x">\n<ip-netmask>198.51.100.300</ip-netmask></entry></address>'
    )
    (problem,) = locate(firewall([rule("r", source="x")], objects=objects))
    assert problem.startswith("c0.xml:") and "address x ip-netmask" in problem
    loop = (
        '<address-group><entry name="g1"><static><member>g2</member></static></entry>\n'
        '<entry name="g2"><static><member>g1</member></static></entry></address-group>'
    )
    (problem,) = locate(firewall([rule("r", source="g1")], objects=loop))
    assert "contains itself: g1 > g2 > g1" in problem
    ports = (
        '<service><entry name="s"><protocol><tcp><port>70000</port></tcp></protocol></entry>'
        "</service>"
    )
    (problem,) = locate(firewall([rule("r", service="s")], objects=ports))
    assert "service s tcp port: port '70000'" in problem


def test_vsys_and_device_group_are_chosen_or_asked_for() -> None:
    two = firewall().replace(
        '<vsys><entry name="vsys1">', '<vsys><entry name="vsys2"></entry><entry name="vsys1">'
    )
    (problem,) = locate(two)
    assert "the configuration holds vsys2, vsys1: give --panos-vsys NAME" in problem
    assert policy_of(two, selection=Selection(vsys="vsys1")).context == "vsys1"
    (problem,) = locate(two, Selection(vsys="vsys9"))
    assert "--panos-vsys: no vsys named vsys9" in problem
    (problem,) = locate(panorama())
    assert "give --panos-device-group NAME" in problem


def test_xml_bombs_and_garbage_are_refused_with_their_line() -> None:
    with pytest.raises(InputError) as caught:
        parse_xml(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<config/>', "f.xml")
    assert str(caught.value.problems[0]).startswith("f.xml:")
    assert "DTD" in str(caught.value.problems[0])
    deep = b"<config>" + b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1) + b"</config>"
    with pytest.raises(InputError) as caught:
        parse_xml(deep, "f.xml")
    assert "nested deeper than" in str(caught.value.problems[0])
    with pytest.raises(InputError) as caught:
        parse_xml(b"<config>\n<a>\n</config>", "f.xml")
    assert str(caught.value.problems[0]) == "f.xml:3: config: not well-formed XML (mismatched tag)"
    with pytest.raises(InputError) as caught:
        parse_xml(b"<config>\xff</config>", "f.xml")
    assert str(caught.value.problems[0]) == "f.xml:1: config: not UTF-8 text"


def test_netspoc_approve_test_configuration_reads_and_judges() -> None:
    """Another tool's PAN-OS test input (Netspoc-Approve): vsys2, an interzone rule from z1 to
    z2, a static group of two hosts, services named `tcp 80` and `udp 123`."""
    path = PUBLIC / "netspoc_approve_vsys2.xml"
    _, p = read_policy([path], Selection(vsys="vsys2"))
    (r1,) = p.rules
    assert (r1.name, r1.line, r1.rule_type.value) == ("r1", 4, "interzone")
    zones = {"from_zone": "z1", "to_zone": "z2"}
    assert judge(p, "10.1.1.20", "10.1.3.7", 80, **zones).rule.name == "r1"
    assert judge(p, "10.1.1.10", "10.1.2.1", 123, "udp", **zones).rule.name == "r1"
    assert judge(p, "10.1.1.10", "10.1.2.1", 123, **zones).rule.name == "interzone-default"
    assert judge(p, "10.1.1.11", "10.1.2.1", 80, **zones).verdict is Verdict.DENIED
    # interzone only: the same zone on both sides falls to intrazone-default
    same = judge(p, "10.1.1.20", "10.1.3.7", 80, from_zone="z1", to_zone="z1")
    assert (same.verdict, same.rule.name) == (Verdict.ADMITTED, "intrazone-default")
    # no interfaces in this configuration: without the zones the answer is unknown
    assert judge(p, "10.1.1.20", "10.1.3.7", 80).verdict is Verdict.UNKNOWN


def test_external_entities_and_entry_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    xxe = b'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<config>&x;</config>'
    with pytest.raises(InputError) as caught:
        parse_xml(xxe, "f.xml")
    assert "DTD" in str(caught.value.problems[0])
    from auditor.policy.panos import xmlsource

    monkeypatch.setattr(xmlsource, "MAX_ENTRIES", 3)
    many = b"<config>\n" + b'<entry name="a"/>\n' * 5 + b"</config>"
    with pytest.raises(InputError) as caught:
        parse_xml(many, "f.xml")
    assert str(caught.value.problems[0]).startswith("f.xml:5: config: more than 3 entries")


def test_a_panorama_export_alone_takes_the_zones_of_the_group_s_template_stack() -> None:
    """Panorama admin guide, "Templates and Template Stacks": the firewalls of a device group
    get their network and zones from the template stack that manages them (by serial)."""
    from panos_support import NETWORK, ZONES

    network = NETWORK.format(routes="", protocol="")
    text = (
        '<config version="10.1.0"><devices><entry name="localhost.localdomain">'
        '<template><entry name="t1"><config><devices><entry name="localhost.localdomain">'
        f'{network}<vsys><entry name="vsys1">{ZONES}</entry></vsys>'
        "</entry></devices></config></entry></template>"
        '<template-stack><entry name="st"><templates><member>t1</member></templates>'
        '<devices><entry name="0007001"/></devices></entry></template-stack>'
        '<device-group><entry name="dc"><devices><entry name="0007001"/></devices>'
        "<pre-rulebase><security><rules>"
        + rule("ldaps", from_zone="appliances", to_zone="directory", destination=AD)
        + "</rules></security></pre-rulebase></entry></device-group>"
        "</entry></devices></config>"
    )
    p = policy_of(text, selection=Selection(device_group="dc"))
    d = judge(p, A10, AD, 636)
    assert (d.from_zone, d.to_zone, d.rule.name) == ("appliances", "directory", "ldaps")
    # the group's firewalls served by no stack: the zones are unknown again
    alone = text.replace('<entry name="0007001"/></devices></entry></template-stack>',
                         '<entry name="0009"/></devices></entry></template-stack>')  # fmt: skip
    assert judge(
        policy_of(alone, selection=Selection(device_group="dc")), A10, AD, 636
    ).verdict is (Verdict.UNKNOWN)


def test_entries_given_twice_are_merged_as_pan_os_loads_them() -> None:
    """iron-skillet's loadable Panorama configuration names its device group twice."""
    from auditor.policy.panos.read import merged_entries

    (config,), p = read_policy([PUBLIC / "iron_skillet_panorama_full.xml"], Selection())
    assert p.context == "device-group sample_devicegroup"
    (group,) = merged_entries(config.root.findall("devices/entry/device-group/entry")).values()
    assert group.find("devices") is not None and group.find("reports") is not None
