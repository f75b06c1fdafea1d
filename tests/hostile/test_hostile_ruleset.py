"""Hostile firewall dumps against `evaluate`, `audit --ruleset` and `rules --ruleset`: each is
one located refusal (exit 2, `FILE:LINE: field: message`), nothing written; a loop between
chains is refused as the kernel refuses it, never walked; a repeated jump is walked once."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hostile_support import EXAMPLE, assert_refused, cli, snapshot

from auditor.ruleset import load as ruleset_load

HEAD = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
HEAD_LINES = HEAD.count("\n")


def ipt(*rules: str, chains: tuple[str, ...] = ()) -> str:
    return (
        HEAD
        + "".join(f":{c} - [0:0]\n" for c in chains)
        + "".join(r + "\n" for r in rules)
        + ("COMMIT\n")
    )


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def evaluate(*files: str, ipsets: tuple[str, ...] = ()):
    args: list[object] = ["evaluate", EXAMPLE, "--no-resolve"]
    for name in files:
        args += ["--ruleset", name]
    for name in ipsets:
        args += ["--ipset", name]
    return cli(*args)


# ---- iptables-save -------------------------------------------------------------------------

RULE = HEAD_LINES + 1  # the first line after the header
IPTABLES_CASES = [
    ("truncated", HEAD + "-A FORWARD -p tcp --dport", 1),
    ("loop of two chains", ipt("-A FORWARD -j A", "-A A -j B", "-A B -j A", chains=("A", "B")),
     RULE + 4),
    ("jump to itself", ipt("-A FORWARD -j A", "-A A -j A", chains=("A",)), RULE + 2),
    ("goto to itself", ipt("-A FORWARD -j A", "-A A -g A", chains=("A",)), RULE + 2),
    ("loop through a goto", ipt("-A FORWARD -g A", "-A A -p udp -j B", "-A B -g A",
                                chains=("A", "B")), RULE + 4),
    ("goto an undefined chain", ipt("-A FORWARD -g nowhere"), RULE),
    ("jump to an undefined chain", ipt("-A FORWARD -j nowhere"), RULE),
    ("jump to an undeclared upper-case chain", ipt("-A FORWARD -j APPLIANCES"), RULE),
    ("rule of an undeclared chain", ipt("-A NOPE -j ACCEPT"), RULE),
    ("escape in a comment", ipt('-A FORWARD -m comment --comment "\x1b]0;pwn\x07" -j ACCEPT'),
     RULE),
    ("escape in a chain name", ipt("-A FORWARD -j A\x1b[31m", chains=("A\x1b[31m",)), RULE),
    ("NUL in an address", ipt("-A FORWARD -s 192.0.2.1\x00 -j ACCEPT"), RULE),
    ("line separator", ipt("-A FORWARD -j ACCEPT\u2028-A FORWARD -j DROP"), RULE),
    ("Arabic-Indic port", ipt("-A FORWARD -p tcp --dport ٦٣٦ -j ACCEPT"), RULE),
    ("huge port", ipt("-A FORWARD -p tcp --dport 99999999999999999999999 -j ACCEPT"), RULE),
    ("empty multiport item", ipt("-A FORWARD -p tcp -m multiport --dports 1,,3 -j ACCEPT"), RULE),
    ("protocol 300", ipt("-A FORWARD -p 300 -j ACCEPT"), RULE),
    ("unknown tcp flag", ipt("-A FORWARD -p tcp --tcp-flags FOO SYN -j ACCEPT"), RULE),
    ("reversed range", ipt("-A FORWARD -m iprange --src-range 192.0.2.9-192.0.2.1 -j DROP"), RULE),
    ("prefix /99", ipt("-A FORWARD -s 192.0.2.0/99 -j DROP"), RULE),
    ("open quote", ipt('-A FORWARD -m comment --comment "abc -j ACCEPT'), RULE),
    ("option without value", ipt("-A FORWARD -m set --match-set x"), RULE),
    ("table twice", HEAD + "COMMIT\n" + HEAD + "COMMIT\n", HEAD_LINES + 2),
    ("chain declared twice", ipt(chains=("A", "A")), RULE + 1),
    ("built-in chain with '-'", HEAD + ":FORWARD - [0:0]\nCOMMIT\n", RULE),
    ("user chain with a policy", ipt(chains=()) .replace("COMMIT", ":A DROP [0:0]\nCOMMIT"), RULE),
    ("bad policy", "*filter\n:FORWARD REJECT [0:0]\nCOMMIT\n", 2),
    ("unknown table", "*weird\nCOMMIT\n", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "line"), IPTABLES_CASES, ids=[c[0] for c in IPTABLES_CASES]
)
def test_hostile_iptables_save_is_one_located_refusal(
    name: str, text: str, line: int, work: Path
) -> None:
    (work / "fw.rules").write_text(text, encoding="utf-8")
    before = snapshot(work)
    assert_refused(evaluate("fw.rules"), ("fw.rules", line))
    assert snapshot(work) == before


def test_a_binary_file_is_refused_at_its_line(work: Path) -> None:
    (work / "fw.rules").write_bytes(HEAD.encode() + b"-A FORWARD \xff\xfe -j ACCEPT\n")
    assert_refused(evaluate("fw.rules"), ("fw.rules", RULE))


def test_a_fifo_is_refused_not_waited_on(work: Path) -> None:
    os.mkfifo(work / "fw.rules")
    assert_refused(evaluate("fw.rules"), ("fw.rules", None))


def test_a_dump_over_the_size_limit_is_refused_before_it_is_read(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ruleset_load, "MAX_BYTES", 1024)
    (work / "fw.rules").write_text(ipt(*["-A FORWARD -j ACCEPT"] * 100), encoding="utf-8")
    result = evaluate("fw.rules")
    assert_refused(result, ("fw.rules", None))
    assert "larger than" in result.errors[0]


def test_a_million_rules_are_counted_and_refused_at_the_first_over_the_limit(work: Path) -> None:
    limit = ruleset_load.MAX_ITEMS
    rules = [f"-A FORWARD -s 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} -j DROP"
             for i in range(limit + 10)]  # fmt: skip
    (work / "fw.rules").write_text(ipt(*rules), encoding="utf-8")
    result = evaluate("fw.rules")
    assert_refused(result, ("fw.rules", RULE + limit))
    assert f"more than {limit} rules" in result.errors[0]


def test_chains_called_twice_from_each_of_40_chains_are_walked_once_per_set(work: Path) -> None:
    # 2**40 walks without memo: this test would not finish. The verdict stays exact.
    chains = tuple(f"C{i}" for i in range(40))
    rules = ["-A FORWARD -j C0"]
    for a, b in itertools.pairwise(chains):
        rules += [f"-A {a} -j {b}", f"-A {a} -j {b}"]
    rules.append("-A C39 -p tcp --dport 636 -j ACCEPT")
    (work / "fw.rules").write_text(ipt(*rules, chains=chains), encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--format", "json")  # fmt: skip
    assert result.code == 1
    verdicts = {(r["port"], r["verdict"]) for r in json.loads(result.out)}
    # the peer flows (443) are on-link: no firewall between them, not evaluated
    assert verdicts == {(636, "admitted"), (1812, "denied"), (123, "denied")}


def test_every_problem_of_a_dump_is_its_own_line(work: Path) -> None:
    text = ipt("-A FORWARD -p tcp --dport abc -j ACCEPT", "-A FORWARD -s 300.1.1.1 -j DROP")
    (work / "fw.rules").write_text(text, encoding="utf-8")
    assert_refused(evaluate("fw.rules"), ("fw.rules", RULE), ("fw.rules", RULE + 1))


# ---- ipset save ----------------------------------------------------------------------------

USES_SET = ipt("-A FORWARD -m set --match-set s dst -j ACCEPT")
IPSET_CASES = [
    ("address out of range", "create s hash:ip family inet\nadd s 300.1.1.1\n", 2),
    ("IPv6 member of an inet set", "create s hash:ip family inet\nadd s 2001:db8::1\n", 2),
    ("same set created twice", "create s hash:ip\nadd s 192.0.2.1\ncreate s hash:ip\n", 3),
    ("create without a type", "create s\n", 1),
    ("add without a member", "create s hash:ip\nadd s\n", 2),
    ("family without a value", "create s hash:ip family\n", 1),
    ("no type at all", "create s whatever\n", 1),
    ("port out of range", "create s hash:ip,port\nadd s 203.0.113.10,tcp:99999\n", 2),
    ("Arabic-Indic port", "create s hash:ip,port\nadd s 203.0.113.10,tcp:٣\n", 2),
    ("list:set of a missing set", "create s list:set\nadd s nope\n", 1),
    ("list:set holding itself", "create s list:set\nadd s s\n", 1),
    ("escape in a set name", "create s\x1b[31m hash:ip\n", 1),
    ("unknown verb", "create s hash:ip\nflush s\n", 2),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "line"), IPSET_CASES, ids=[c[0] for c in IPSET_CASES])
def test_hostile_ipset_save_is_one_located_refusal(
    name: str, text: str, line: int, work: Path
) -> None:
    (work / "fw.rules").write_text(USES_SET, encoding="utf-8")
    (work / "fw.ipset").write_text(text, encoding="utf-8")
    before = snapshot(work)
    assert_refused(evaluate("fw.rules", ipsets=("fw.ipset",)), ("fw.ipset", line))
    assert snapshot(work) == before


def test_a_set_in_two_ipset_files_is_refused(work: Path) -> None:
    (work / "fw.rules").write_text(USES_SET, encoding="utf-8")
    (work / "a.ipset").write_text("create s hash:ip\nadd s 203.0.113.10\n", encoding="utf-8")
    (work / "b.ipset").write_text("# other\ncreate s hash:ip\n", encoding="utf-8")
    result = evaluate("fw.rules", ipsets=("a.ipset", "b.ipset"))
    assert_refused(result, ("b.ipset", 2))


def test_absurd_hash_sizes_and_timeouts_are_only_words(work: Path) -> None:
    text = ("create s hash:ip family inet hashsize 99999999999999999999 maxelem 99999999999999999 "
            "timeout 99999999999\nadd s 203.0.113.10 timeout 99999999999\n")  # fmt: skip
    (work / "fw.rules").write_text(USES_SET, encoding="utf-8")
    (work / "fw.ipset").write_text(text, encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--ipset", "fw.ipset", "--format", "json")  # fmt: skip
    admitted = {r["destination"] for r in json.loads(result.out) if r["verdict"] == "admitted"}
    assert admitted == {"203.0.113.10"}


# ---- nft -j list ruleset -------------------------------------------------------------------

TABLE = {"table": {"family": "inet", "name": "t", "handle": 1}}
DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}
DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}


def chain(name: str, hook: str | None = "forward", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"family": "inet", "table": "t", "name": name, "handle": 2}
    if hook:
        body |= {"type": "filter", "hook": hook, "prio": 0, "policy": "drop"}
    return {"chain": body | extra}


def rule(chain_name: str, *expr: Any) -> dict[str, Any]:
    return {"rule": {"family": "inet", "table": "t", "chain": chain_name, "expr": list(expr)}}


def match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def nft(*items: Any) -> str:
    """One item per line: the line of item N (0-based) is N + 2."""
    return '{"nftables": [\n' + ",\n".join(json.dumps(i) for i in items) + "\n]}\n"


JUMP = {"jump": {"target": "a"}}
NFT_CASES = [
    ("truncated", nft(TABLE, chain("f"))[:-12], 3),
    ("nested 100,000 deep", '{"nftables": [' + "[" * 100_000 + "]" * 100_000 + "]}", 1),
    ("a 10,000-digit number", nft({"table": {"family": "inet", "name": "t", "handle": int("9" * 60)
                                             }}).replace("9" * 60, "9" * 10_000), 2),
    ("NaN", nft(TABLE).replace('"handle": 1', '"handle": NaN'), 2),
    ("priority a list", nft(TABLE, chain("f", prio=[1])), 3),
    ("priority infinite", nft(TABLE, chain("f")).replace('"prio": 0', '"prio": 1e999'), 3),
    ("priority a float", nft(TABLE, chain("f", prio=1.5)), 3),
    ("priority name unknown", nft(TABLE, chain("f", prio="bogus")), 3),
    ("policy unknown", nft(TABLE, chain("f", policy="maybe")), 3),
    ("hook unknown", nft(TABLE, chain("f", hook="sideways")), 3),
    ("family unknown", nft({"table": {"family": "ipx", "name": "t"}}), 2),
    ("expr not a list", nft(TABLE, chain("f"), {"rule": {"family": "inet", "table": "t",
                                                          "chain": "f", "expr": "accept"}}), 4),
    ("statement with two keys", nft(TABLE, chain("f"), rule("f", {"accept": None, "drop": None})),
     4),
    ("statement a string", nft(TABLE, chain("f"), rule("f", "accept")), 4),
    ("jump to a missing chain", nft(TABLE, chain("f"), rule("f", {"jump": {"target": "nope"}})), 4),
    ("verdict map to a missing chain", nft(TABLE, chain("f"), rule("f", {"vmap": {
        "key": DADDR, "data": {"set": [["203.0.113.10", {"goto": {"target": "nope"}}]]}}})), 4),
    ("loop of two chains", nft(TABLE, chain("f"), chain("a", None), chain("b", None),
                               rule("f", JUMP), rule("a", {"jump": {"target": "b"}}),
                               rule("b", {"goto": {"target": "a"}})), 8),
    ("loop through a verdict map", nft(TABLE, chain("f"), chain("a", None), rule("f", JUMP),
                                       rule("a", {"vmap": {"key": DADDR, "data": {"set": [
                                           ["203.0.113.10", JUMP]]}}})), 6),
    ("reversed address range in a set", nft(TABLE, {"set": {
        "family": "inet", "table": "t", "name": "s", "type": "ipv4_addr",
        "elem": [{"range": ["255.255.255.255", "0.0.0.0"]}]}}, chain("f"),
        rule("f", match(DADDR, "@s"), {"accept": None})), 5),
    ("port range to 10**60", nft(TABLE, chain("f"), rule("f", match(DPORT, {"set": [
        {"range": [1, 10**60]}]}), {"accept": None})), 4),
    ("prefix length 99", nft(TABLE, chain("f"), rule("f", match(
        DADDR, {"prefix": {"addr": "192.0.2.0", "len": 99}}), {"accept": None})), 4),
    ("address 999.1.1.1", nft(TABLE, chain("f"), rule("f", match(DADDR, "999.1.1.1"),
                                                      {"accept": None})), 4),
    ("set elements not a list", nft(TABLE, {"set": {"family": "inet", "table": "t", "name": "s",
                                                    "elem": 5}}), 3),
    ("escaped ESC in a comment", nft(TABLE, chain("f"), {"rule": {
        "family": "inet", "table": "t", "chain": "f", "expr": [], "comment": "\x1b]0;pwn\x07"}}),
     4),
    ("table twice", nft(TABLE, TABLE), 3),
    ("chain twice", nft(TABLE, chain("f"), chain("f")), 4),
    ("rule of a missing chain", nft(TABLE, rule("nope", {"accept": None})), 3),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "line"), NFT_CASES, ids=[c[0] for c in NFT_CASES])
def test_hostile_nft_json_is_one_located_refusal(
    name: str, text: str, line: int, work: Path
) -> None:
    (work / "fw.json").write_text(text, encoding="utf-8")
    before = snapshot(work)
    assert_refused(evaluate("fw.json"), ("fw.json", line))
    assert snapshot(work) == before


def test_a_hostile_expression_shape_is_unknown_not_a_crash(work: Path) -> None:
    odd = [match({"payload": "x"}, 1), match({"meta": "x"}, 1), match({"concat": 5}, 1)]
    (work / "fw.json").write_text(
        nft(TABLE, chain("f"), *(rule("f", m, {"accept": None}) for m in odd)), "utf-8"
    )
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.json",
                 "--format", "json")  # fmt: skip
    assert result.code == 3  # the ruleset decided no flow: incomplete (auditor.model.verdict)
    assert {r["verdict"] for r in json.loads(result.out)} == {"unknown"}


# ---- the same refusals through audit and rules ----------------------------------------------


def test_audit_and_rules_refuse_a_loop_before_writing_anything(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    (work / "fw.rules").write_text(
        ipt("-A FORWARD -j A", "-A A -j B", "-A B -j A", chains=("A", "B")), encoding="utf-8"
    )
    before = snapshot(work)
    audit = cli("audit", EXAMPLE, "--no-resolve", "--no-store", "-o", "out",
                "--ruleset", "fw.rules")  # fmt: skip
    assert_refused(audit, ("fw.rules", RULE + 4))
    rules = cli("rules", EXAMPLE, "--no-resolve", "-o", "out", "--ruleset", "fw.rules")
    assert_refused(rules, ("fw.rules", RULE + 4))
    assert snapshot(work) == before


def test_the_same_ipset_file_named_twice_is_read_once(work: Path) -> None:
    (work / "fw.rules").write_text(USES_SET, encoding="utf-8")
    (work / "a.ipset").write_text("create s hash:ip\nadd s 203.0.113.10\n", encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--ipset", "a.ipset", "--ipset", "a.ipset", "--ruleset", "a.ipset",
                 "--format", "json")  # fmt: skip
    admitted = {r["destination"] for r in json.loads(result.out) if r["verdict"] == "admitted"}
    assert admitted == {"203.0.113.10"}


def test_a_real_target_the_evaluator_does_not_model_is_unknown_not_refused(work) -> None:
    (work / "fw.rules").write_text(ipt("-A FORWARD -j NFQUEUE --queue-num 1"), encoding="utf-8")
    result = cli("evaluate", EXAMPLE, "--no-resolve", "--ruleset", "fw.rules",
                 "--format", "json")  # fmt: skip
    assert {r["reason"] for r in json.loads(result.out)} == {"target NFQUEUE is not modelled"}
