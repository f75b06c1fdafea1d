"""nft `ct status` on a new connection's first packet and `fib ... oif` (issue 18): what the
kernel has where each chain runs (test_ruleset_ct_status_kernel.py holds the kernel to it), in
every form `nft -j` lists, and unknown, with the bits named, where the kernel's other status
bits decide; a reverse-path check is followed both ways, with its reason."""

from __future__ import annotations

import json

import pytest
from netaddr import IPAddress

from auditor.errors import InputError
from auditor.ruleset import Hook, Packet, Verdict, evaluate
from auditor.ruleset.model import Decision, Ruleset
from auditor.ruleset.nft import parse_nft

A, B, C = "198.51.100.10", "203.0.113.10", "203.0.113.20"
STATUS = {"ct": {"key": "status"}}
DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
ACCEPT: dict[str, object] = {"accept": None}
DROP: dict[str, object] = {"drop": None}


def packet(src: str = A, dst: str = B, dport: int = 636, **kw: object) -> Packet:
    return Packet(IPAddress(src).version, int(IPAddress(src)), int(IPAddress(dst)), "tcp", dport,
                  **kw)  # type: ignore[arg-type]  # fmt: skip


def match(left: object, right: object, op: str = "==") -> dict[str, object]:
    return {"match": {"op": op, "left": left, "right": right}}


def ruleset(*exprs: list[dict[str, object]], policy: str = "drop", dnat: str = C,
            hook: str = "forward", prio: int = 0, extra: tuple[dict[str, object], ...] = ()
            ) -> tuple[Ruleset, ...]:  # fmt: skip
    """nat prerouting: tcp dport 636 dnat to `dnat`; a filter chain on `hook` with `exprs`."""
    items: list[dict[str, object]] = [
        {"table": {"family": "inet", "name": "x", "handle": 1}},
        {"chain": {"family": "inet", "table": "x", "name": "nat", "handle": 2, "type": "nat",
                   "hook": "prerouting", "prio": -100, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "x", "chain": "nat", "handle": 3,
                  "expr": [match(DPORT, 636), {"dnat": {"family": "ip", "addr": dnat}}]}},
        {"chain": {"family": "inet", "table": "x", "name": "c", "handle": 4, "type": "filter",
                   "hook": hook, "prio": prio, "policy": policy}},
        *extra,
    ]  # fmt: skip
    if hook != "forward":  # the host's filter on the hook asked
        items.append({"chain": {"family": "inet", "table": "x", "name": "fw", "handle": 40,
                                "type": "filter", "hook": "forward", "prio": 0,
                                "policy": "accept"}})  # fmt: skip
    for n, expr in enumerate(exprs, 5):
        items.append({"rule": {"family": "inet", "table": "x", "chain": "c", "handle": n,
                               "expr": expr}})  # fmt: skip
    return (parse_nft(json.dumps({"nftables": items}), "nft.json"),)


def decide(rs: tuple[Ruleset, ...], p: Packet, hook: Hook = Hook.FORWARD) -> Decision:
    return evaluate(rs, [p], hook)[0]


@pytest.mark.parametrize("right", ["dnat", ["snat", "dnat"], {"|": ["snat", "dnat"]}, 32, 0x30])
def test_ct_status_dnat_is_set_by_a_dnat_earlier_on_the_path(right: object) -> None:
    """firewalld's `ct status dnat accept`, the bits as nft 1.0 and 1.1 list them."""
    rs = ruleset([match(STATUS, right, "in"), ACCEPT])
    assert decide(rs, packet()).verdict is Verdict.ADMITTED  # DNAT'd to C
    assert decide(rs, packet(dport=22)).verdict is Verdict.DENIED  # no DNAT
    # A DNAT to the address and port the packet already has changes no tuple: no bit.
    assert decide(rs, packet(dst=C)).verdict is Verdict.DENIED


def test_every_form_nft_lists_and_unknown_where_other_bits_decide() -> None:
    masked = {"&": [STATUS, "dnat"]}
    cases = [  # (rule, DNAT'd, not DNAT'd)
        ([match(STATUS, "dnat", "!"), ACCEPT], Verdict.DENIED, Verdict.ADMITTED),
        ([match(masked, "dnat"), ACCEPT], Verdict.ADMITTED, Verdict.DENIED),
        ([match(masked, 0), ACCEPT], Verdict.DENIED, Verdict.ADMITTED),
        ([match(STATUS, "dnat"), ACCEPT], Verdict.UNKNOWN, Verdict.DENIED),
        ([match(STATUS, "dnat", "!="), ACCEPT], Verdict.UNKNOWN, Verdict.ADMITTED),
        ([match(STATUS, {"set": ["snat", "dnat"]}), ACCEPT], Verdict.UNKNOWN, Verdict.DENIED),
        ([match(STATUS, {"set": ["snat", "dnat"]}, "!="), ACCEPT], Verdict.UNKNOWN,
         Verdict.ADMITTED),
        ([match(STATUS, ["expected", "seen-reply", "assured", "confirmed"], "in"), ACCEPT],
         Verdict.DENIED, Verdict.DENIED),
        ([{"vmap": {"key": STATUS, "data": {"set": [["dnat", DROP], ["snat", DROP]]}}}],
         Verdict.UNKNOWN, Verdict.ADMITTED),
    ]  # fmt: skip
    for rule, dnatted, plain in cases:
        rs = ruleset(rule, policy="accept" if "vmap" in rule[0] else "drop")
        got = decide(rs, packet()), decide(rs, packet(dport=22))
        assert (got[0].verdict, got[1].verdict) == (dnatted, plain), rule
        if dnatted is Verdict.UNKNOWN:  # `==` reads every bit; dnat-done is set too
            assert "ct status" in got[0].reason and "dnat-done" in got[0].reason


def test_bits_a_first_packet_may_have_are_unknown_and_named() -> None:
    d = decide(ruleset([match(STATUS, "dying", "in"), ACCEPT]), packet(dport=22))
    assert d.verdict is Verdict.UNKNOWN
    assert d.reason.startswith("x c handle 5: ct status depends on dying, not modelled on a new")
    assert d.reason.endswith("admitted if it matches, dropped if not")


def test_no_connection_before_conntrack_the_rule_breaks_off() -> None:
    """At priority -300 there is no connection: `ct status` matches nothing, even `!=`."""
    raw = ruleset([match(STATUS, "dnat", "!="), DROP], [match(STATUS, "dnat", "!"), DROP],
                  policy="accept", hook="prerouting", prio=-300)  # fmt: skip
    assert decide(raw, packet(dport=22)).verdict is Verdict.ADMITTED
    beside = ruleset([match(STATUS, "dnat", "!"), DROP], policy="accept", hook="prerouting",
                     prio=-200)  # fmt: skip
    assert decide(beside, packet(dport=22)).verdict is Verdict.UNKNOWN


def test_snat_and_the_confirm_hook() -> None:
    post = {"chain": {"family": "inet", "table": "x", "name": "post", "handle": 20, "type": "nat",
                      "hook": "postrouting", "prio": 100, "policy": "accept"}}  # fmt: skip

    def snat(stmt: dict[str, object], prio: int = 200) -> tuple[Ruleset, ...]:
        rule = {"rule": {"family": "inet", "table": "x", "chain": "post", "handle": 21,
                         "expr": [stmt]}}  # fmt: skip
        return ruleset([match(STATUS, "snat", "in"), DROP], policy="accept", hook="postrouting",
                       prio=prio, extra=(post, rule))  # fmt: skip

    assert decide(snat({"snat": {"family": "ip", "addr": C}}), packet()).verdict is (Verdict.DENIED)
    assert decide(snat({"snat": {"family": "ip", "addr": A}}), packet()).verdict is (
        Verdict.ADMITTED  # to the source it already has: no bit
    )
    to_port = decide(snat({"snat": {"family": "ip", "addr": A, "port": 40000}}), packet())
    assert to_port.verdict is Verdict.UNKNOWN and "sender picked the port" in to_port.reason
    assert decide(snat({"snat": {"family": "ip", "addr": A, "port": 1000}}), packet()).verdict is (
        Verdict.DENIED  # out of the ephemeral range: the port changes
    )
    confirm = ruleset([match(STATUS, "confirmed", "in"), DROP], policy="accept",
                      hook="postrouting", prio=2**31 - 1)  # fmt: skip
    beside = decide(confirm, packet(dport=22))
    assert beside.verdict is Verdict.UNKNOWN and "conntrack's confirm priority" in beside.reason
    earlier = ruleset([match(STATUS, "confirmed", "in"), DROP], policy="accept",
                      hook="postrouting", prio=2**31 - 2)  # fmt: skip
    assert decide(earlier, packet(dport=22)).verdict is Verdict.ADMITTED


def test_named_sets_of_flags_and_what_is_not_modelled() -> None:
    named = {"set": {"family": "inet", "table": "x", "name": "st", "handle": 30,
                     "type": "ct_state", "elem": ["established", "new"]}}  # fmt: skip
    ct_state = {"ct": {"key": "state"}}
    rs = ruleset([match(ct_state, "@st"), ACCEPT], extra=(named,))
    assert decide(rs, packet(dport=22)).verdict is Verdict.ADMITTED
    concat = {"concat": [STATUS, {"payload": {"protocol": "ip", "field": "saddr"}}]}
    rs = ruleset([match(concat, {"set": [{"concat": ["dnat", A]}]}), ACCEPT])
    d = decide(rs, packet(dport=22))
    assert d.verdict is Verdict.UNKNOWN and "is not modelled" in d.reason
    with pytest.raises(InputError, match="'dnatt' is not one of expected"):
        ruleset([match(STATUS, "dnatt", "in"), ACCEPT])


def test_a_reverse_path_check_is_followed_both_ways() -> None:
    """firewalld's IPv6 `fib saddr . mark . iif oif missing drop`: the routes are not given;
    a flow the rest denies is denied, one it admits is unknown with the reason."""
    fib = {"fib": {"result": "oif", "flags": ["saddr", "mark", "iif"]}}
    rs = ruleset([match(fib, False), DROP], [match(DPORT, 22), ACCEPT])
    assert decide(rs, packet()).verdict is Verdict.DENIED
    d = decide(rs, packet(dport=22))
    assert d.verdict is Verdict.UNKNOWN
    assert d.reason == (
        "x c handle 5: fib saddr . mark . iif oif missing: whether a route back to the source "
        "leaves by the input interface (reverse-path filter) depends on the routing table, "
        "which is not given; dropped if it matches, admitted if not"
    )
    assert d.rule is not None and d.rule.text == "fib saddr . mark . iif oif missing drop"
