"""What the firewall does with the first packet of a new connection, rule by rule, as the
PAN-OS administrator's guide describes it (each test names the behaviour it follows), or
`unknown` with the reason where the configuration does not decide."""

from __future__ import annotations

from panos_support import firewall, judge, policy_of, rule

from auditor.policy.model import Action
from auditor.ruleset.model import Verdict

A10, A11, A12 = "198.51.100.10", "198.51.100.11", "198.51.100.12"
AD, RADIUS, NET = "203.0.113.10", "203.0.113.20", "192.0.2.77"
LDAPS = (
    '<service><entry name="tcp-636"><protocol><tcp><port>636</port></tcp></protocol>'
    "</entry></service>"
)


def test_zones_come_from_the_interfaces_of_the_routes_longest_prefix_wins() -> None:
    """Admin guide, "Security Policy": the source zone is the zone of the ingress interface,
    the destination zone that of the egress interface the route lookup picks."""
    host = (
        '<entry name="host"><nexthop><ip-address>203.0.113.2</ip-address></nexthop>'
        "<destination>192.0.2.77/32</destination></entry>"
    )
    p = policy_of(firewall(routes=host))
    d = judge(p, A10, AD, 636)
    assert (d.from_zone, d.to_zone) == ("appliances", "directory")
    assert judge(p, A10, "8.8.8.8", 53).to_zone == "outside"  # the default route
    # 192.0.2.77/32 via 203.0.113.2 beats the connected 192.0.2.0/24: longest prefix
    assert judge(p, A10, NET, 53).to_zone == "directory"


def test_first_match_wins_top_down() -> None:
    """ "Security policy rules are evaluated left to right and top down ... the first rule
    that matches is applied" (admin guide, Security Policy)."""
    p = policy_of(firewall([rule("deny-ad", "deny", destination=AD), rule("allow-all")]))
    d = judge(p, A10, AD, 636)
    assert (d.verdict, d.rule.name) == (Verdict.DENIED, "deny-ad")
    assert judge(p, A10, RADIUS, 1812, "udp").rule.name == "allow-all"


def test_defaults_intrazone_allow_interzone_deny_and_their_overrides() -> None:
    """Predefined rules: intrazone-default allows, interzone-default denies; both can be
    overridden (admin guide, "Security Policy Rules Defaults")."""
    p = policy_of(firewall())
    assert judge(p, A11, A12, 443).rule.name == "intrazone-default"
    assert judge(p, A11, A12, 443).verdict is Verdict.ADMITTED
    assert judge(p, A11, AD, 636).verdict is Verdict.DENIED
    override = (
        "<default-security-rules><rules>"
        '<entry name="intrazone-default"><action>deny</action></entry>'
        '<entry name="interzone-default"><action>allow</action></entry>'
        "</rules></default-security-rules>"
    )
    p = policy_of(firewall(defaults=override))
    assert judge(p, A11, A12, 443).verdict is Verdict.DENIED
    assert judge(p, A11, AD, 636).verdict is Verdict.ADMITTED
    assert judge(p, A11, AD, 636).rule.section == "vsys1 override"


def test_disabled_rules_are_skipped() -> None:
    """ "Disable this rule": a disabled rule is not evaluated (admin guide, Security Policy
    Rule, General tab)."""
    p = policy_of(firewall([rule("off", "allow", extra="<disabled>yes</disabled>")]))
    assert judge(p, A10, AD, 636).rule.name == "interzone-default"


def test_negate_source_and_destination() -> None:
    """negate-source/negate-destination: the rule matches every address except those listed."""
    p = policy_of(
        firewall([rule("not-a10", source=A10, extra="<negate-source>yes</negate-source>")])
    )
    assert judge(p, A11, AD, 636).rule.name == "not-a10"
    assert judge(p, A10, AD, 636).rule.name == "interzone-default"
    p = policy_of(
        firewall(
            [rule("not-ad", destination=AD, extra="<negate-destination>yes</negate-destination>")]
        )
    )
    assert judge(p, A10, RADIUS, 1812, "udp").rule.name == "not-ad"
    assert judge(p, A10, AD, 636).rule.name == "interzone-default"


def test_address_objects_netmask_range_and_static_groups() -> None:
    """Address objects of type IP Netmask and IP Range; static address groups, nested (admin
    guide, "Address Objects", "Address Groups")."""
    objects = (
        "<address>"
        '<entry name="net"><ip-netmask>203.0.113.0/28</ip-netmask></entry>'
        '<entry name="range"><ip-range>198.51.100.11-198.51.100.12</ip-range></entry>'
        "</address><address-group>"
        '<entry name="outer"><static><member>inner</member></static></entry>'
        '<entry name="inner"><static><member>range</member></static></entry>'
        "</address-group>"
    )
    p = policy_of(firewall([rule("r", source="outer", destination="net")], objects=objects))
    assert judge(p, A11, AD, 636).rule.name == "r"
    assert judge(p, A10, AD, 636).rule.name == "interzone-default"  # .10 is outside the range
    assert judge(p, A12, RADIUS, 1812, "udp").rule.name == "interzone-default"  # .20 not in /28


def test_fqdn_objects_are_unknown_unless_resolved() -> None:
    """An FQDN address object is resolved by the firewall's DNS at runtime (admin guide,
    "Address Objects"): unknown here unless --resolve asks the system resolver."""
    objects = '<address><entry name="ad"><fqdn>ad.corp.example.com</fqdn></entry></address>'
    text = firewall([rule("r", "deny", destination="ad"), rule("all")], objects=objects)
    d = judge(policy_of(text), A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN
    assert "FQDN ad.corp.example.com (give --resolve)" in d.reason
    from auditor.policy.panos.read import (
        Config,
        Selection,
        build_policy,
    )
    from auditor.policy.panos.xmlsource import parse_xml

    resolved = build_policy(
        [Config("c.xml", parse_xml(text.encode(), "c.xml"))],
        Selection(resolve=True),
        lambda name: [AD],
    )
    assert judge(resolved, A10, AD, 636).verdict is Verdict.DENIED
    assert judge(resolved, A10, RADIUS, 1812, "udp").verdict is Verdict.ADMITTED


def test_dynamic_groups_are_unknown() -> None:
    """Dynamic address groups take members by tag at runtime (admin guide, "Dynamic Address
    Groups")."""
    objects = (
        "<address-group><entry name=\"dyn\"><dynamic><filter>'ad'</filter></dynamic></entry>"
        "</address-group>"
    )
    d = judge(
        policy_of(firewall([rule("r", "deny", destination="dyn"), rule("all")], objects=objects)),
        A10,
        AD,
        636,
    )
    assert d.verdict is Verdict.UNKNOWN and "dynamic" in d.reason


def test_services_groups_and_predefined() -> None:
    """Service objects (protocol and destination ports), service groups, the predefined
    service-http (tcp/80, 8080) and service-https (tcp/443) (admin guide, "Services")."""
    objects = LDAPS + (
        '<service-group><entry name="dir"><members><member>tcp-636</member>'
        "<member>service-https</member></members></entry></service-group>"
    )
    p = policy_of(firewall([rule("r", destination=AD, service="dir")], objects=objects))
    assert judge(p, A10, AD, 636).rule.name == "r"
    assert judge(p, A10, AD, 443).rule.name == "r"  # service-https: tcp/443
    assert judge(p, A10, AD, 637).rule.name == "interzone-default"
    assert judge(p, A10, AD, 636, "udp").rule.name == "interzone-default"


def test_application_default_uses_the_documented_table() -> None:
    """application-default: "the selected applications are allowed or denied only on their
    default ports" (knowledge base, What does Application-default under Service mean?)."""
    p = policy_of(
        firewall([rule("dns", destination=AD, application="dns", service="application-default")])
    )
    assert judge(p, A10, AD, 53, "udp").rule.name == "dns"
    assert judge(p, A10, AD, 5353, "udp").rule.name == "dns"
    assert judge(p, A10, AD, 636).rule.name == "interzone-default"  # not a dns default port


def test_an_application_outside_the_table_is_unknown_naming_it() -> None:
    """App-ID names the application after the first packets (admin guide, "App-ID"): without
    its standard ports in the table the rule cannot be judged on the first packet."""
    p = policy_of(firewall([rule("app", "deny", application="ms-rdp"), rule("all")]))
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN
    assert "application ms-rdp is not in the application table" in d.reason


def test_a_named_application_off_its_port_is_for_app_id_to_decide() -> None:
    """With a service other than application-default, an application is allowed on any port
    of the service (knowledge base, application-default): off its standard port, App-ID
    decides."""
    p = policy_of(firewall([rule("ssl-any-port", "deny", application="ssl"), rule("all")]))
    assert judge(p, A10, AD, 443).verdict is Verdict.DENIED  # ssl's standard port
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN and "App-ID decides" in d.reason


def test_user_hip_schedule_and_url_category_make_the_rule_unknown() -> None:
    """Source user (User-ID), HIP profiles, schedules and URL categories are matched at
    runtime (admin guide, Security Policy Rule: Source, User, Service/URL Category, Actions)."""
    for extra in (
        "<source-user><member>corp\\svc</member></source-user>",
        "<source-hip><member>managed</member></source-hip>",
        "<schedule>office-hours</schedule>",
        "<category><member>social-networking</member></category>",
    ):
        p = policy_of(firewall([rule("cond", "deny", extra=extra), rule("all")]))
        assert judge(p, A10, AD, 636).verdict is Verdict.UNKNOWN, extra
    # `any` in those fields is no condition
    p = policy_of(
        firewall([rule("cond", "deny", extra="<source-user><member>any</member></source-user>")])
    )
    assert judge(p, A10, AD, 636).verdict is Verdict.DENIED


def test_an_uncertain_rule_with_the_same_outcome_does_not_make_the_answer_unknown() -> None:
    """First match wins: whichever of two allow rules matches, the flow is allowed."""
    p = policy_of(firewall([rule("maybe", "allow", extra="<schedule>s</schedule>"), rule("all")]))
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.ADMITTED and d.rule.name == "all" and d.also


def test_rule_types_intrazone_and_interzone() -> None:
    """Rule type universal, intrazone or interzone (admin guide, "Security Policy": rule
    types)."""
    p = policy_of(firewall([rule("intra-deny", "deny", extra="<rule-type>intrazone</rule-type>")]))
    assert judge(p, A11, A12, 443).rule.name == "intra-deny"
    assert judge(p, A11, AD, 636).rule.name == "interzone-default"
    p = policy_of(firewall([rule("inter-allow", extra="<rule-type>interzone</rule-type>")]))
    assert judge(p, A11, A12, 443).rule.name == "intrazone-default"
    assert judge(p, A11, AD, 636).rule.name == "inter-allow"


def test_zone_overrides_and_dynamic_routing() -> None:
    """A route learned by BGP is not in the configuration: the zone is unknown unless given."""
    bgp = "<protocol><bgp><enable>yes</enable></bgp></protocol>"
    p = policy_of(firewall([rule("z", from_zone="appliances", to_zone="directory")], protocol=bgp))
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN and "runs bgp" in d.reason
    d = judge(p, A10, AD, 636, from_zone="appliances", to_zone="directory")
    assert (d.verdict, d.rule.name) == (Verdict.ADMITTED, "z")


def test_destination_nat_is_followed_security_matches_pre_nat_address_post_nat_zone() -> None:
    """ "Security policy matches the pre-NAT IP addresses and the post-NAT zone" (admin guide,
    NAT Policy Overview / Destination NAT)."""
    nat = (
        '<entry name="vip"><from><member>appliances</member></from>'
        "<to><member>outside</member></to>"
        "<source><member>any</member></source><destination><member>192.0.2.50</member></destination>"
        "<service>any</service><destination-translation><translated-address>203.0.113.10"
        "</translated-address></destination-translation></entry>"
    )
    rules = [rule("to-dir", from_zone="appliances", to_zone="directory", destination="192.0.2.50")]
    p = policy_of(firewall(rules, nat=[nat]))
    d = judge(p, A10, "192.0.2.50", 636)
    assert (d.verdict, d.rule.name, d.to_zone, d.nat) == (
        Verdict.ADMITTED,
        "to-dir",
        "directory",
        "vip",
    )


def test_a_nat_rule_that_may_translate_makes_the_flow_unknown() -> None:
    """A translation to a pool: which address the session gets is decided at runtime."""
    objects = (
        '<address><entry name="pool"><ip-range>203.0.113.10-203.0.113.11</ip-range></entry>'
        "</address>"
    )
    nat = (
        '<entry name="pool-nat"><from><member>any</member></from><to><member>any</member></to>'
        "<source><member>any</member></source><destination><member>192.0.2.50</member></destination>"
        "<service>any</service><destination-translation><translated-address>pool"
        "</translated-address></destination-translation></entry>"
    )
    rules = [rule("to-dir", to_zone="directory")]
    d = judge(policy_of(firewall(rules, nat=[nat], objects=objects)), A10, "192.0.2.50", 636)
    assert d.verdict is Verdict.UNKNOWN and "pool" in d.reason
    # a rule for any zone does not care where the translation leads: pre-NAT addresses match
    d = judge(
        policy_of(firewall([rule("all")], nat=[nat], objects=objects)), A10, "192.0.2.50", 636
    )
    assert d.verdict is Verdict.ADMITTED


def test_reset_actions_tell_the_client() -> None:
    """Actions deny, drop, reset-client, reset-server, reset-both (admin guide, Security
    Policy Actions): reset-client sends the client a TCP reset."""
    p = policy_of(firewall([rule("rst", "reset-client")]))
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.DENIED and d.rule.action is Action.RESET_CLIENT


def test_ipv6_connected_and_static_routes() -> None:
    """IPv6 interface addresses give connected routes too; no IPv6 route, no zone."""
    v6 = (
        '<entry name="ethernet1/4"><layer3><ipv6><address><entry name="2001:db8:1::1/64"/>'
        "</address></ipv6></layer3></entry>"
    )
    text = firewall([rule("v6", "deny", to_zone="v6zone")])
    text = text.replace("</ethernet></interface>", v6 + "</ethernet></interface>")
    text = text.replace(
        "<member>ethernet1/3</member>\n",
        "<member>ethernet1/3</member><member>ethernet1/4</member>\n",
    )
    text = text.replace(
        "</zone>",
        '<entry name="v6zone"><network><layer3><member>ethernet1/4</member></layer3></network>'
        "</entry></zone>",
    )
    p = policy_of(text)
    d = judge(p, "2001:db8:1::10", "2001:db8:1::20", 636)
    assert (d.from_zone, d.to_zone, d.rule.name) == ("v6zone", "v6zone", "v6")
    d = judge(p, "2001:db8:1::10", "2001:db8:9::1", 636)
    assert d.verdict is Verdict.UNKNOWN and "no route" in d.reason  # no IPv6 default route


def test_a_nat_rule_bound_to_an_egress_interface_is_not_guessed() -> None:
    """A NAT rule's destination interface (to-interface) restricts it to one egress
    interface: not modelled, so unknown."""
    nat = (
        '<entry name="vip"><from><member>any</member></from><to><member>any</member></to>'
        "<source><member>any</member></source><destination><member>192.0.2.50</member>"
        "</destination><service>any</service><to-interface>ethernet1/3</to-interface>"
        "<destination-translation><translated-address>203.0.113.10</translated-address>"
        "</destination-translation></entry>"
    )
    p = policy_of(firewall([rule("to-dir", to_zone="directory")], nat=[nat]))
    d = judge(p, A10, "192.0.2.50", 636)
    assert d.verdict is Verdict.UNKNOWN and "egress interface ethernet1/3" in d.reason


def test_a_rule_without_its_members_is_refused() -> None:
    """PAN-OS does not commit a rule without source and destination zones and addresses."""
    import pytest

    from auditor.errors import InputError

    text = firewall(['<entry name="bare"><action>allow</action></entry>'])
    with pytest.raises(InputError) as caught:
        policy_of(text)
    assert "rule bare: no from, to, source, destination members" in str(caught.value.problems[0])


def test_a_name_no_scope_defines_is_unknown_naming_it() -> None:
    """Objects resolve from the vsys, then shared (admin guide, "Objects"); a name neither
    holds (a Panorama-pushed object missing from the export) is unknown, never guessed."""
    p = policy_of(firewall([rule("r", "deny", destination="pushed-by-panorama"), rule("all")]))
    d = judge(p, A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN
    assert "no address or address group named pushed-by-panorama in vsys1 or shared" in d.reason


def test_equal_routes_by_different_interfaces_and_next_hops_resolved() -> None:
    """Equal-cost routes by different interfaces (ECMP) choose per session: unknown; a
    route with an interface leaves by it."""
    ecmp = (
        '<entry name="a"><nexthop><ip-address>198.51.100.254</ip-address></nexthop>'
        "<destination>10.9.0.0/16</destination></entry>"
        '<entry name="b"><nexthop><ip-address>203.0.113.2</ip-address></nexthop>'
        "<destination>10.9.0.0/16</destination></entry>"
        '<entry name="c"><interface>ethernet1/2</interface>'
        "<destination>10.8.0.0/16</destination></entry>"
    )
    p = policy_of(firewall(routes=ecmp))
    d = judge(p, A10, "10.9.1.1", 636)
    assert d.to_zone is None and d.verdict is Verdict.UNKNOWN and "ECMP" in d.reason
    assert judge(p, A10, "10.8.1.1", 636).to_zone == "directory"  # the route's interface


def test_fqdn_objects_resolved_on_the_command_line(tmp_path: object) -> None:
    """--resolve on the command line: the FQDN object resolves, the rule is judged."""
    import json
    from pathlib import Path

    from support.cli import auditor

    objects = '<address><entry name="me"><fqdn>localhost</fqdn></entry></address>'
    config = Path(str(tmp_path)) / "fw.xml"
    # (an allow after the deny: whether a flow is admitted hangs on the FQDN; the peer flows,
    # intrazone, are on-link and not evaluated)
    config.write_text(
        firewall([rule("deny-me", "deny", destination="me"), rule("allow-rest")], objects=objects)
    )
    example = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"
    args = ["evaluate", str(example), "--no-resolve", "--ruleset", str(config), "--format", "json"]
    plain = auditor(*args)
    verdicts = {r["verdict"] for r in json.loads(plain.stdout)}
    assert "unknown" in verdicts and "give --resolve" in plain.stdout
    # resolved (localhost: the loopback), the rule cannot match any flow: nothing is unknown
    resolved = auditor(*args, "--resolve")
    assert {r["verdict"] for r in json.loads(resolved.stdout)} == {"admitted"}


def test_forwarding_overrides_and_bidirectional_nat_are_not_guessed() -> None:
    """Policy-based forwarding chooses the egress before the route (admin guide, "Policy-Based
    Forwarding"); an application-override rule sets the application App-ID would find; a
    bi-directional static source NAT also translates traffic to the translated address."""
    pbf = (
        '<pbf><rules><entry name="via-isp2"><from><zone><member>appliances</member></zone></from>'
        "<source><member>any</member></source><destination><member>203.0.113.0/25</member>"
        "</destination><service><member>any</member></service><action><forward>"
        "<egress-interface>ethernet1/3</egress-interface></forward></action></entry></rules></pbf>"
    )
    text = firewall([rule("to-dir", to_zone="directory")]).replace("<nat>", pbf + "<nat>")
    d = judge(policy_of(text), A10, AD, 636)
    assert d.verdict is Verdict.UNKNOWN and "policy-based forwarding rule via-isp2" in d.reason
    assert judge(policy_of(text), A10, "192.0.2.9", 636).to_zone == "outside"  # not matched
    override = (
        '<application-override><rules><entry name="ldap-as-custom"><from><member>any</member>'
        "</from></entry></rules></application-override>"
    )
    text = firewall([rule("ldap", application="ldap", service="application-default")])
    d = judge(policy_of(text.replace("<nat>", override + "<nat>")), A10, AD, 389)
    assert d.verdict is Verdict.UNKNOWN and "application-override rule ldap-as-custom" in d.reason
    assert judge(policy_of(text), A10, AD, 389).verdict is Verdict.ADMITTED
    bidi = (
        '<entry name="pair-out"><from><member>appliances</member></from><to><member>outside'
        "</member></to><source><member>198.51.100.10</member></source><destination><member>any"
        "</member></destination><service>any</service><source-translation><static-ip>"
        "<translated-address>192.0.2.10</translated-address><bi-directional>yes</bi-directional>"
        "</static-ip></source-translation></entry>"
    )
    p = policy_of(firewall([rule("to-dir", to_zone="directory")], nat=[bidi]))
    d = judge(p, "203.0.113.5", "192.0.2.10", 443)
    assert d.verdict is Verdict.UNKNOWN and "bi-directional" in d.reason
