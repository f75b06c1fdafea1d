"""nft -j list ruleset (captured from nft 1.0.6) through the evaluator: several base chains on
one hook, sets with intervals and concatenations, verdict maps, jump/goto/return."""

from __future__ import annotations

from pathlib import Path

import pytest
from netaddr import IPAddress

from auditor.errors import InputError
from auditor.ruleset import Hook, Packet, Verdict, evaluate, read_rulesets
from auditor.ruleset.model import Decision, Ruleset

DATA = Path(__file__).parent / "ruleset_data"


def packet(src: str, dst: str, proto: str = "tcp", dport: int = 636, **kw: object) -> Packet:
    return Packet(IPAddress(src).version, int(IPAddress(src)), int(IPAddress(dst)), proto, dport,
                  **kw)  # type: ignore[arg-type]  # fmt: skip


def decide(name: str, p: Packet) -> Decision:
    rulesets: tuple[Ruleset, ...] = read_rulesets([DATA / name])
    return evaluate(rulesets, [p], Hook.FORWARD)[0]


def test_an_accept_ends_only_its_own_base_chain_and_a_later_drop_wins() -> None:
    d = decide("two_tables.json", packet("198.51.100.11", "203.0.113.10"))
    assert (d.verdict, d.action) == (Verdict.DENIED, "drop")
    assert d.rule is not None and (d.rule.table, d.rule.chain, d.rule.ref) == (
        "closes",
        "forward",
        "policy",
    )
    ok = decide("two_tables.json", packet("198.51.100.10", "203.0.113.10"))
    assert ok.verdict is Verdict.ADMITTED


def test_named_interval_and_concatenated_sets() -> None:
    d = decide("inet.json", packet("192.0.2.1", "192.0.2.1", dport=80))
    assert d.verdict is Verdict.ADMITTED and d.rule is not None
    assert d.rule.text == "ip saddr @s4 ip daddr . tcp dport @c accept"
    c = decide("inet.json", packet("192.0.2.5", "198.51.100.1", dport=1500))
    assert c.rule is not None and c.rule.ref == "handle 20"


def test_verdict_maps_named_and_anonymous() -> None:
    drop = decide("inet.json", packet("198.51.100.5", "198.51.100.1", dport=23))
    assert (drop.verdict, drop.rule.ref if drop.rule else "") == (Verdict.DENIED, "handle 21")
    udp = decide("inet.json", packet("198.51.100.5", "198.51.100.1", "udp", 53))
    assert udp.verdict is Verdict.ADMITTED


def test_a_higher_priority_base_chain_runs_first() -> None:
    d = decide("inet.json", packet("192.0.2.1", "192.0.2.1", dport=9))
    assert d.verdict is Verdict.DENIED and d.rule is not None and d.rule.chain == "fw2"


def test_jump_goto_and_return_leave_the_chain_path() -> None:
    d = decide("inet.json", packet("2001:db8::5", "2001:db8:1::1", dport=444))
    assert d.verdict is Verdict.DENIED and d.action == "reject tcp reset"
    assert d.path == ("t/fw#handle 25", "t/uc#handle 12", "t/uc2#handle 14")
    inside = decide("inet.json", packet("2001:db8::5", "2001:db8::9", dport=444))
    assert inside.action == "reject icmpx admin-prohibited"
    web = decide("inet.json", packet("2001:db8::5", "2001:db8::9", dport=443))
    assert web.verdict is Verdict.ADMITTED and web.path == ("t/fw#handle 25", "t/uc#handle 11")


def test_marks_start_at_zero_and_an_interface_not_given_is_followed_both_ways() -> None:
    """`meta mark 1 accept` cannot match a packet nothing marked; `th sport != 5 accept`
    matches every ephemeral source port; `iifname eth0 ... tcp dport 22 accept` admits when it
    matches and the rules after it admit too: the interface does not matter."""
    mark = decide("inet.json", packet("198.51.100.5", "198.51.100.1", dport=24))
    assert mark.verdict is Verdict.ADMITTED
    assert mark.rule is not None and mark.rule.text == "th sport != 5 accept"
    iface = decide("inet.json", packet("198.51.100.5", "198.51.100.1", dport=22))
    assert iface.verdict is Verdict.ADMITTED


def test_bad_json_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "rules.json"
    bad.write_text('{"nftables": [\n{"table": {"family": "inet", "name": "t"}},\n{"rule": }\n]}\n')
    with pytest.raises(InputError, match=rf"^{bad}:3: nft: not JSON"):
        read_rulesets([bad])
    orphan = tmp_path / "orphan.json"
    orphan.write_text(
        '{"nftables": [\n{"metainfo": {}},\n'
        '{"rule": {"family": "ip", "table": "x", "chain": "c"}}\n]}\n'
    )
    with pytest.raises(InputError, match=rf"^{orphan}:3: nft: rule without"):
        read_rulesets([orphan])


def test_reject_with_tcp_reset_only_matches_tcp_though_the_listing_hides_it() -> None:
    """Found by the long differential run: in an ip table nft adds `ip protocol tcp` to
    `reject with tcp reset` and its JSON listing leaves the dependency out."""
    tcp = decide("reject_tcp_reset.json", packet("192.0.2.10", "198.51.100.10"))
    assert (tcp.verdict, tcp.action) == (Verdict.DENIED, "reject tcp reset")
    udp = decide("reject_tcp_reset.json", packet("192.0.2.10", "198.51.100.10", "udp", 53))
    assert udp.verdict is Verdict.ADMITTED
