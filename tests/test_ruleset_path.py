"""The whole netfilter path as a specification: every table and hook a packet passes, the
conntrack state where each chain runs, marks, NOTRACK and DNAT followed, addrtype by the hook,
and matches the evaluator cannot decide followed both ways (the kernel agrees: see
test_ruleset_kernel.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from netaddr import IPAddress
from support.cli import auditor

from auditor.ruleset import Hook, Packet, Verdict, evaluate
from auditor.ruleset.iptables import BUILTIN, parse_iptables
from auditor.ruleset.model import Decision, Ruleset, Site
from auditor.ruleset.nft import parse_nft

A, B, C = "198.51.100.10", "203.0.113.10", "203.0.113.20"


def packet(
    src: str = A, dst: str = B, proto: str = "tcp", dport: int = 636, **kw: object
) -> Packet:
    return Packet(IPAddress(src).version, int(IPAddress(src)), int(IPAddress(dst)), proto, dport,
                  **kw)  # type: ignore[arg-type]  # fmt: skip


def ipt(text: str) -> tuple[Ruleset, ...]:
    return parse_iptables(text, "fw.rules", {})


def table(name: str, chains: str, rules: str) -> str:
    """A table as iptables-save writes it: every built-in chain's policy line (ACCEPT where
    `chains` does not give it)."""
    given = {line.split()[0][1:] for line in chains.splitlines()}
    rest = "".join(f":{c} ACCEPT [0:0]\n" for c in BUILTIN[name] if c not in given)
    return f"*{name}\n{chains}{rest}{rules}COMMIT\n"


FILTER = table("filter", "", "")  # a filter table whose chains accept everything


def decide(rs: tuple[Ruleset, ...], p: Packet, hook: Hook = Hook.FORWARD) -> Decision:
    return evaluate(rs, [p], hook)[0]


# ---- nft documents, as `nft -j list ruleset` writes them -------------------------------------


def nft(*items: dict[str, object]) -> tuple[Ruleset, ...]:
    return (parse_nft(json.dumps({"nftables": list(items)}), "nft.json"),)


def t(family: str, name: str, **extra: object) -> dict[str, object]:
    return {"table": {"family": family, "name": name, "handle": 1, **extra}}


def chain(family: str, tab: str, name: str, hook: str, prio: int, policy: str = "accept",
          kind: str = "filter", **extra: object) -> dict[str, object]:  # fmt: skip
    body = {"family": family, "table": tab, "name": name, "handle": 2, "type": kind,
            "hook": hook, "prio": prio, "policy": policy, **extra}  # fmt: skip
    return {"chain": body}


def rule(family: str, tab: str, name: str, handle: int, *expr: dict[str, object]) -> dict:
    return {"rule": {"family": family, "table": tab, "chain": name, "handle": handle,
                     "expr": list(expr)}}  # fmt: skip


def match(left: object, right: object, op: str = "==") -> dict[str, object]:
    return {"match": {"op": op, "left": left, "right": right}}


DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
CT_STATE = {"ct": {"key": "state"}}
DROP: dict[str, object] = {"drop": None}


# ---- every table and hook --------------------------------------------------------------------


def test_a_drop_in_mangle_postrouting_denies_what_the_filter_admitted() -> None:
    rs = ipt(
        table("mangle", ":PREROUTING ACCEPT [0:0]\n:POSTROUTING DROP [0:0]\n", "")
        + table("filter", ":FORWARD ACCEPT [0:0]\n", "-A FORWARD -j ACCEPT\n")
    )
    d = decide(rs, packet())
    assert (d.verdict, d.action) == (Verdict.DENIED, "drop")
    assert d.rule is not None and (d.rule.table, d.rule.chain) == ("mangle", "POSTROUTING")
    # OUTPUT passes POSTROUTING too; INPUT does not.
    assert decide(rs, packet(), Hook.OUTPUT).verdict is Verdict.DENIED
    assert decide(rs, packet(), Hook.INPUT).verdict is Verdict.ADMITTED


def test_an_nft_postrouting_chain_with_policy_drop_denies() -> None:
    rs = nft(t("inet", "x"), chain("inet", "x", "post", "postrouting", 100, "drop"),
             rule("inet", "x", "post", 3, match(DPORT, 22), {"accept": None}),
             chain("inet", "x", "fw", "forward", 0))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.DENIED
    assert decide(rs, packet(dport=22)).verdict is Verdict.ADMITTED


def test_conntrack_state_is_what_the_kernel_has_where_the_chain_runs() -> None:
    """raw runs before conntrack: no state, which reads INVALID; NEW only after it."""
    raw_invalid = ipt(table("raw", ":PREROUTING ACCEPT [0:0]\n",
                            "-A PREROUTING -m conntrack --ctstate INVALID -j DROP\n"))  # fmt: skip
    assert decide(raw_invalid, packet()).verdict is Verdict.DENIED
    raw_new = ipt(table("raw", ":PREROUTING ACCEPT [0:0]\n",
                        "-A PREROUTING -m state --state NEW -j DROP\n") + FILTER)  # fmt: skip
    assert decide(raw_new, packet()).verdict is Verdict.ADMITTED
    early = nft(t("ip", "x"), chain("ip", "x", "pre", "prerouting", -300),
                rule("ip", "x", "pre", 3, match(CT_STATE, "new"), DROP),
                chain("ip", "x", "fw", "forward", 0))  # fmt: skip
    assert decide(early, packet()).verdict is Verdict.ADMITTED
    late = nft(t("ip", "x"), chain("ip", "x", "pre", "prerouting", -150),
               rule("ip", "x", "pre", 3, match(CT_STATE, "new"), DROP))  # fmt: skip
    assert decide(late, packet()).verdict is Verdict.DENIED


def test_notrack_makes_the_connection_untracked_and_nat_skips_it() -> None:
    rs = ipt(
        table("raw", ":PREROUTING ACCEPT [0:0]\n",
              "-A PREROUTING -d 203.0.113.10 -j CT --notrack\n")
        + table("nat", ":PREROUTING ACCEPT [0:0]\n",
                "-A PREROUTING -j DNAT --to-destination 203.0.113.20\n")
        + table("filter", ":FORWARD DROP [0:0]\n",
                "-A FORWARD -m conntrack --ctstate UNTRACKED -d 203.0.113.10 -j ACCEPT\n"
                "-A FORWARD -d 203.0.113.20 -j REJECT\n")
    )  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED  # untracked: no DNAT, accepted
    other = decide(rs, packet(dst="203.0.113.11"))  # tracked: DNAT to .20, rejected
    assert (other.verdict, other.action) == (Verdict.DENIED, "reject icmp-port-unreachable")


def test_dnat_changes_the_destination_the_later_chains_see() -> None:
    rs = ipt(
        table("nat", ":PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
              "-A PREROUTING -d 203.0.113.10 -p tcp -j DNAT --to-destination 203.0.113.20:8636\n")
        + table("filter", ":FORWARD DROP [0:0]\n",
                "-A FORWARD -d 203.0.113.20 -p tcp --dport 8636 -j ACCEPT\n")
    )  # fmt: skip
    d = decide(rs, packet())
    assert d.verdict is Verdict.ADMITTED and d.rule is not None and d.rule.ref == "1"
    assert decide(rs, packet(dst="203.0.113.11")).verdict is Verdict.DENIED
    # DNAT to a range is not followed: unknown, with the rule.
    ranged = ipt(
        table(
            "nat",
            ":PREROUTING ACCEPT [0:0]\n",
            "-A PREROUTING -j DNAT --to-destination 203.0.113.20-203.0.113.30\n",
        )
    )
    r = decide(ranged, packet())
    assert r.verdict is Verdict.UNKNOWN and "DNAT" in r.reason and r.rule is not None


def test_nat_chains_run_in_order_and_the_first_binding_ends_them() -> None:
    dnat = {"dnat": {"addr": C}}
    rs = nft(
        t("ip", "a"), chain("ip", "a", "n1", "prerouting", -90, kind="nat"),
        rule("ip", "a", "n1", 3, match(DPORT, 636), dnat),
        t("ip", "b"), chain("ip", "b", "n2", "prerouting", -95, kind="nat"),
        rule("ip", "b", "n2", 3, match(DPORT, 636), {"dnat": {"addr": "203.0.113.30"}}),
        t("ip", "f"), chain("ip", "f", "fw", "forward", 0, "drop"),
        rule("ip", "f", "fw", 3, match({"payload": {"protocol": "ip", "field": "daddr"}},
                                       "203.0.113.30"), {"accept": None}),
    )  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED  # n2 (-95) binds first


def test_a_dormant_table_is_not_evaluated() -> None:
    rs = nft(t("inet", "x", flags=["dormant"]), chain("inet", "x", "fw", "forward", 0, "drop"))
    assert decide(rs, packet()).verdict is Verdict.ADMITTED


def test_ingress_chains_run_for_their_device_and_make_the_flow_unknown_without_one() -> None:
    rs = nft(t("netdev", "x"), chain("netdev", "x", "in", "ingress", 0, dev="eth0"),
             rule("netdev", "x", "in", 3, match(DPORT, 636), DROP),
             t("inet", "f"), chain("inet", "f", "fw", "forward", 0))  # fmt: skip
    assert decide(rs, packet(in_interface="eth0")).verdict is Verdict.DENIED
    assert decide(rs, packet(in_interface="eth1")).verdict is Verdict.ADMITTED
    unsure = decide(rs, packet())
    assert unsure.verdict is Verdict.UNKNOWN and "--in-interface" in unsure.reason
    assert decide(rs, packet(dport=22)).verdict is Verdict.ADMITTED  # it cannot decide that one


# ---- matches decided now ---------------------------------------------------------------------


def test_a_field_of_another_protocol_never_matches() -> None:
    icmp = {"payload": {"protocol": "icmp", "field": "type"}}
    rs = nft(t("ip", "x"), chain("ip", "x", "fw", "forward", 0),
             rule("ip", "x", "fw", 3, match(icmp, "echo-request"), DROP))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    assert decide(rs, packet(proto="udp", dport=53)).verdict is Verdict.ADMITTED


def test_addrtype_local_follows_the_hook() -> None:
    rs = ipt(table("filter", ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
                   "-A FORWARD -m addrtype --dst-type LOCAL -j DROP\n"
                   "-A INPUT -m addrtype --dst-type LOCAL -j DROP\n"
                   "-A OUTPUT -m addrtype ! --src-type LOCAL -j DROP\n"))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    assert decide(rs, packet(), Hook.INPUT).verdict is Verdict.DENIED
    assert decide(rs, packet(), Hook.OUTPUT).verdict is Verdict.ADMITTED


def test_addrtype_multicast_is_the_address_and_unicast_needs_the_firewalls_addresses() -> None:
    rs = ipt(table("filter", ":FORWARD ACCEPT [0:0]\n",
                   "-A FORWARD -m addrtype --dst-type MULTICAST -j DROP\n"
                   "-A FORWARD -m addrtype ! --dst-type UNICAST -j REJECT\n"))  # fmt: skip
    assert decide(rs, packet(dst="239.1.2.3")).verdict is Verdict.DENIED
    unsure = decide(rs, packet())
    assert unsure.verdict is Verdict.UNKNOWN and "--local-address" in unsure.reason
    site = Site(frozenset({(4, int(IPAddress("203.0.113.1")))}),
                frozenset({int(IPAddress("203.0.113.255"))}), True)  # fmt: skip
    assert decide(rs, packet(site=site)).verdict is Verdict.ADMITTED
    assert decide(rs, packet(dst="203.0.113.255", site=site)).verdict is Verdict.DENIED


def test_marks_and_connmarks_are_followed_along_the_path() -> None:
    rs = ipt(
        table("mangle", ":PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n",
              "-A PREROUTING -p tcp --dport 636 -j MARK --set-xmark 0x2/0xff\n"
              "-A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff\n"
              "-A FORWARD -j MARK --set-xmark 0x0/0xffffffff\n")
        + table("filter", ":FORWARD DROP [0:0]\n",
                "-A FORWARD -m connmark --mark 0x2/0xff -j ACCEPT\n")
    )  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    assert decide(rs, packet(dport=389)).verdict is Verdict.DENIED


def test_a_source_port_match_is_decided_when_the_ephemeral_range_is_on_one_side() -> None:
    rs = ipt(table("filter", ":FORWARD DROP [0:0]\n",
                   "-A FORWARD -p tcp --sport 1024:65535 -j ACCEPT\n"))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    half = ipt(table("filter", ":FORWARD DROP [0:0]\n",
                     "-A FORWARD -p tcp --sport 40000:65535 -j ACCEPT\n"))  # fmt: skip
    unsure = decide(half, packet())
    assert unsure.verdict is Verdict.UNKNOWN and "--source-ports" in unsure.reason
    assert decide(half, packet(ephemeral=(49152, 65535))).verdict is Verdict.ADMITTED


# ---- both ways -------------------------------------------------------------------------------


def test_a_rate_limit_names_the_verdict_on_each_side() -> None:
    rs = ipt(table("filter", ":FORWARD DROP [0:0]\n",
                   "-A FORWARD -p tcp -m limit --limit 10/sec -j ACCEPT\n"))  # fmt: skip
    d = decide(rs, packet())
    assert d.verdict is Verdict.UNKNOWN
    assert d.reason == (
        "filter FORWARD 1: -m limit depends on a rate limit; admitted if it matches, dropped if not"
    )
    ignored = decide(rs, packet(proto="udp", dport=53))
    assert (ignored.verdict, ignored.action) == (Verdict.DENIED, "drop")


def test_an_interface_not_given_is_one_answer_on_each_way() -> None:
    """`-i eth0 -j ACCEPT` then `! -i eth0 -j ACCEPT`: admitted whatever the interface."""
    rs = ipt(table("filter", ":FORWARD DROP [0:0]\n",
                   "-A FORWARD -i eth0 -j ACCEPT\n-A FORWARD ! -i eth0 -j ACCEPT\n"))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED


def test_too_many_ways_is_unknown_with_the_reason() -> None:
    rules = "".join(f"-A FORWARD -i e{n} -j MARK --set-xmark 0x{n}/0xff\n" for n in range(10))
    rs = ipt(table("filter", ":FORWARD DROP [0:0]\n", rules + "-A FORWARD -j ACCEPT\n"))
    d = decide(rs, packet())
    assert d.verdict is Verdict.UNKNOWN and "more than 64 ways" in d.reason


def test_evaluate_takes_the_firewalls_addresses_and_the_ephemeral_range(tmp_path: Path) -> None:
    example = Path(__file__).parent.parent / "examples" / "pair.yaml"
    fw = tmp_path / "fw.rules"
    fw.write_text(table("filter", ":FORWARD ACCEPT [0:0]\n",
                        "-A FORWARD -m addrtype ! --dst-type UNICAST -j DROP\n"))  # fmt: skip
    addrs = tmp_path / "addr.json"
    addrs.write_text(
        json.dumps(
            [
                {
                    "ifname": "eth0",
                    "addr_info": [
                        {
                            "family": "inet",
                            "local": "192.0.2.1",
                            "prefixlen": 24,
                            "broadcast": "192.0.2.255",
                        }
                    ],
                }
            ]
        )
    )
    args = ["evaluate", str(example), "--no-resolve", "--ruleset", str(fw), "--format", "json"]
    result = auditor(*args)
    assert result.returncode == 3  # the ruleset decides no flow without them: incomplete
    assert '"verdict": "unknown"' in result.stdout
    result = auditor(*args, "--local-addresses", addrs)
    assert result.returncode == 0
    assert '"verdict": "unknown"' not in result.stdout
    result = auditor(*args, "--source-ports", "60999-1024")
    assert result.returncode == 2
    assert "--source-ports: '60999-1024' is not LOW-HIGH" in result.stderr
    result = auditor(*args, "--local-address", "192.0.2.300")
    assert result.returncode == 2
    assert "--local-address: '192.0.2.300' is not an address" in result.stderr


@pytest.mark.parametrize("hook", list(Hook))
def test_every_hook_with_no_chains_accepts(hook: Hook) -> None:
    assert decide(ipt(table("filter", ":FORWARD ACCEPT [0:0]\n", "")), packet(), hook).verdict is (
        Verdict.ADMITTED
    )


def test_a_table_whose_flags_nft_garbled_may_be_dormant_so_what_it_decides_is_unknown() -> None:
    """nft 1.0.6 lists a table's single flag as garbage (here "t0", the table's own name)."""
    rs = nft(t("ip", "t0", flags="t0"), chain("ip", "t0", "fw", "forward", 0),
             rule("ip", "t0", "fw", 3, match(DPORT, 22), DROP))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    unsure = decide(rs, packet(dport=22))
    assert unsure.verdict is Verdict.UNKNOWN and "may be dormant" in unsure.reason


DOCKER = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 172.17.0.2:443
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 443 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
"""


def test_a_docker_host_decides_forwarded_flows_with_the_interfaces_given() -> None:
    """`--dst-type LOCAL` never matches a forwarded flow; a published port is DNATed only for
    the host's own address (INPUT side), the container's port is admitted, the rest dropped."""
    rs = ipt(DOCKER)
    out = packet("192.0.2.10", "198.51.100.10", in_interface="docker0", out_interface="eth0")
    assert decide(rs, replace(out, source=int(IPAddress("172.17.0.2")))).verdict is (
        Verdict.ADMITTED
    )
    inbound = packet("192.0.2.10", "172.17.0.2", dport=443, in_interface="eth0",
                     out_interface="docker0")  # fmt: skip
    assert decide(rs, inbound).verdict is Verdict.ADMITTED
    other = decide(rs, replace(inbound, dport=22))
    assert (other.verdict, other.action) == (Verdict.DENIED, "drop")
    # Without interfaces the ways through disagree: unknown, naming the interface match.
    unsure = decide(rs, packet("192.0.2.10", "172.17.0.2", dport=443))
    assert unsure.verdict is Verdict.UNKNOWN and "interface" in unsure.reason


# ---- dumps that do not show what decides -------------------------------------------------------


@pytest.mark.parametrize("hook", list(Hook))
def test_a_dump_without_the_filter_table_decides_no_admit(hook: Hook) -> None:
    """`iptables-save -t mangle` or `-t nat` cannot be told from a host without a filter
    table: what the chains shown let through is unknown; a drop among them is still final."""
    rs = ipt(table("mangle", "", "-A PREROUTING -p tcp --dport 22 -j DROP\n")
             + table("nat", "", ""))  # fmt: skip
    d = decide(rs, packet(), hook)
    assert (d.verdict, d.rule) == (Verdict.UNKNOWN, None)
    assert d.reason == ("fw.rules: the dump has no filter table: a partial dump (iptables-save "
                        "-t nat) cannot be told from a host without one")  # fmt: skip
    if hook is not Hook.OUTPUT:  # mangle PREROUTING: not on OUTPUT's path
        assert decide(rs, packet(dport=22), hook).verdict is Verdict.DENIED
    assert decide(rs + ipt(FILTER), packet(), hook).verdict is Verdict.UNKNOWN  # per dump
    assert decide(ipt(FILTER + table("mangle", "", "")), packet(), hook).verdict is (
        Verdict.ADMITTED
    )


def test_an_nft_ruleset_decides_only_the_hooks_it_has_a_filter_chain_on() -> None:
    rs = nft(t("inet", "f"), chain("inet", "f", "fw", "forward", 0),
             chain("inet", "f", "nat", "prerouting", -100, kind="nat"))  # fmt: skip
    assert decide(rs, packet()).verdict is Verdict.ADMITTED
    d = decide(rs, packet(), Hook.INPUT)
    assert d.verdict is Verdict.UNKNOWN
    assert "no base chain of type filter on the input hook" in d.reason
    # A listing with an ip6 filter chain only reads the same as `nft list table ip6 f` of a
    # host whose ip filter drops: an IPv4 flow is unknown (the kernel passes it when the
    # listing is whole; admitted would be wrong when it is not); a netdev chain is no filter
    # of the hook.
    six = nft(t("ip6", "f"), chain("ip6", "f", "fw", "forward", 0, "drop"))
    d = decide(six, packet())
    assert d.verdict is Verdict.UNKNOWN
    assert "no base chain of type filter on the forward hook for IPv4" in d.reason
    inet = nft(t("inet", "f"), chain("inet", "f", "fw", "forward", 0, "accept"))
    assert decide(inet, packet()).verdict is Verdict.ADMITTED  # inet covers both families
    netdev = nft(t("netdev", "n"), chain("netdev", "n", "in", "ingress", 0, dev="eth0"))
    assert decide(netdev, packet(in_interface="eth0")).verdict is Verdict.UNKNOWN


def test_a_built_in_chain_without_its_policy_line_has_an_unknown_policy() -> None:
    rs = ipt("*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
             "-A FORWARD -p tcp --dport 22 -j ACCEPT\n"
             "-A FORWARD -p udp -j DROP\nCOMMIT\n")  # fmt: skip
    d = decide(rs, packet())
    assert d.verdict is Verdict.UNKNOWN
    assert d.reason == (
        "table filter chain FORWARD: the dump has no `:FORWARD POLICY` line "
        "(iptables-save always writes it), so the chain's policy is not known"
    )
    assert decide(rs, packet(dport=22)).verdict is Verdict.ADMITTED
    assert decide(rs, packet(proto="udp", dport=53)).verdict is Verdict.DENIED
    assert decide(rs, packet(), Hook.INPUT).verdict is Verdict.ADMITTED  # its own line is there
    # A mangle chain without its line: the flows reaching its end are unknown too.
    mangle = ipt(FILTER + "*mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n")
    m = decide(mangle, packet())
    assert m.verdict is Verdict.UNKNOWN and "table mangle chain" in m.reason


def test_mss_clamping_and_helper_assignment_change_no_verdict_and_iif_is_the_device() -> None:
    """OpenWrt fw4's `tcp option maxseg size set rt mtu` and `ct helper set "ftp"` change
    nothing a later rule reads on the first packet (as -j TCPMSS, -j CT --helper); `meta iif
    "lo"` is the device of that name (its index, as nft resolves it)."""
    mss = {"mangle": {"key": {"tcp option": {"name": "maxseg", "field": "size"}},
                      "value": {"rt": {"key": "mtu"}}}}  # fmt: skip
    iif = {"meta": {"key": "iif"}}
    rs = nft(t("inet", "fw4"), chain("inet", "fw4", "mangle_forward", "forward", -150),
             rule("inet", "fw4", "mangle_forward", 3, mss),
             chain("inet", "fw4", "pre", "prerouting", 0),
             rule("inet", "fw4", "pre", 4, match(DPORT, 21), {"ct helper": "ftp"}),
             chain("inet", "fw4", "forward", "forward", 0, "drop"),
             rule("inet", "fw4", "forward", 5, match(DPORT, 21), {"accept": None}),
             chain("inet", "fw4", "input", "input", 0, "drop"),
             rule("inet", "fw4", "input", 6, match(iif, "lo"), {"accept": None}))  # fmt: skip
    assert decide(rs, packet(dport=21)).verdict is Verdict.ADMITTED
    assert decide(rs, packet(dport=22)).verdict is Verdict.DENIED
    assert decide(rs, packet(in_interface="lo"), Hook.INPUT).verdict is Verdict.ADMITTED
    assert decide(rs, packet(in_interface="eth0"), Hook.INPUT).verdict is Verdict.DENIED
    unsure = decide(rs, packet(), Hook.INPUT)
    assert unsure.verdict is Verdict.UNKNOWN and "--in-interface" in unsure.reason
