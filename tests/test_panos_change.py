"""PAN-OS `set`/`move` commands applied to the parsed configuration in memory: read
generically (keywords, entry names, `[ ]` member lists), whatever the objects are called, so
that the proof holds for any renderer's naming; refusals name the command's line."""

from __future__ import annotations

import pytest
from panos_support import firewall, flow, judge, rule

from auditor.errors import InputError
from auditor.policy.panos.flows import judge_flows
from auditor.policy.panos.read import Config, Selection, build_policy
from auditor.policy.panos.setcmd import apply_commands
from auditor.policy.panos.xmlsource import parse_xml
from auditor.ruleset.model import Verdict

BASE = firewall([rule("deny-ldaps", "deny", destination="203.0.113.0/25"), rule("allow-rest")])


def configs(text: str = BASE) -> tuple[Config, ...]:
    return (Config("fw.xml", parse_xml(text.encode(), "fw.xml")),)


def after(commands: str, text: str = BASE) -> object:
    return build_policy(apply_commands(configs(text), commands, Selection()), Selection())


def test_any_names_and_member_lists() -> None:
    commands = """# a change, named as nobody here names things
set address "LDAP server #1" ip-netmask 203.0.113.10/32
set address-group grp.with.dots static [ "LDAP server #1" ]
set service svc_636 protocol tcp port 636
set rulebase security rules "Allow LDAPS (ticket 42)" from any to any source any \
destination grp.with.dots application any service svc_636 action allow
set rulebase security rules "Allow LDAPS (ticket 42)" description "why: failover"
move rulebase security rules "Allow LDAPS (ticket 42)" before deny-ldaps
"""
    p = after(commands.replace("\\\n", ""))
    d = judge(p, "198.51.100.11", "203.0.113.10", 636)
    assert (d.verdict, d.rule.name) == (Verdict.ADMITTED, "Allow LDAPS (ticket 42)")
    assert judge(p, "198.51.100.11", "203.0.113.11", 636).rule.name == "deny-ldaps"
    # the original stays as it was (the change is applied to a copy)
    before = build_policy(configs(), Selection())
    assert [r.name for r in before.rules] == ["deny-ldaps", "allow-rest"]


def test_moves_top_bottom_after_and_the_default_append() -> None:
    add = (
        "set rulebase security rules new from any to any source any destination any "
        "application any service any action drop\n"
    )
    assert [r.name for r in after(add).rules] == ["deny-ldaps", "allow-rest", "new"]
    top = add + "move rulebase security rules new top\n"
    assert [r.name for r in after(top).rules] == ["new", "deny-ldaps", "allow-rest"]
    after_first = add + "move rulebase security rules new after deny-ldaps\n"
    assert [r.name for r in after(after_first).rules] == ["deny-ldaps", "new", "allow-rest"]


def test_refusals_name_the_line() -> None:
    for commands, message in (
        (
            "\n\nmove rulebase security rules nope before deny-ldaps",
            "panos.set:3: change: no rule nope",
        ),
        ("delete address x", "panos.set:1: change: 'delete' is not a command"),
        (
            "set device-group dc address a ip-netmask 1.2.3.4",
            "panos.set:1: change: a device-group command, but no Panorama",
        ),
        ('set address a description "unterminated', "panos.set:1: change:"),
    ):
        with pytest.raises(InputError) as caught:
            after(commands)
        assert str(caught.value.problems[0]).startswith(message), caught.value.problems


def test_the_neighbour_check_sees_a_change_that_opens_too_much() -> None:
    """A /24 where one address was needed opens the flows next to the required one."""
    from auditor.policy.panos.proof import PanosEvidence

    flows = [flow("198.51.100.11", "203.0.113.10", 636)]
    policy = build_policy(configs(), Selection())
    evaluations = judge_flows(policy, flows)
    evidence = PanosEvidence(configs(), Selection(), policy, evaluations, ())
    wide = (
        "set rulebase security rules wide from any to any source any destination 203.0.113.0/24 "
        "application any service any action allow\n"
        "move rulebase security rules wide top\n"
    )
    proof = evidence.prove(wide, evidence.placement())
    assert not proof.still_missing and proof.opened and not proof.proven
    exact = (
        "set address one ip-netmask 203.0.113.10\n"
        "set service s636 protocol tcp port 636\n"
        "set rulebase security rules exact from any to any source 198.51.100.11 destination one "
        "application any service s636 action allow\n"
        "move rulebase security rules exact before deny-ldaps\n"
    )
    proof = evidence.prove(exact, evidence.placement())
    assert proof.proven and proof.neighbours > 0
