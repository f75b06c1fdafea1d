"""What the readers take and what they refuse (issue 18). The verdicts the kernel decides are
proven in test_ruleset_readers_kernel.py; here the odd values nft never lists are refused with
their line, and documents that crashed the `rules`/`audit` commands are read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from netaddr import IPAddress
from support.cli import auditor

from auditor.errors import InputError
from auditor.ruleset import Hook, Packet, Verdict, evaluate, read_rulesets
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Decision, Ruleset
from auditor.ruleset.nft import parse_nft

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err
        self.errors = [line for line in err.splitlines() if line.startswith("error")]


def cli(*args: object) -> Result:
    run = auditor(*args)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    return Result(run.returncode, run.stdout, run.stderr)


def packet(src: str, dst: str, proto: str = "tcp", dport: int = 636) -> Packet:
    return Packet(IPAddress(src).version, int(IPAddress(src)), int(IPAddress(dst)), proto, dport)


def decide(rulesets: tuple[Ruleset, ...], p: Packet) -> Decision:
    return evaluate(rulesets, [p], Hook.FORWARD)[0]


def nft_doc(*exprs: list[dict[str, Any]], policy: str = "accept", **rule: Any) -> str:
    items: list[dict[str, Any]] = [
        {"table": {"family": "inet", "name": "t", "handle": 1}},
        {"chain": {"family": "inet", "table": "t", "name": "f", "handle": 1, "type": "filter",
                   "hook": "forward", "prio": 0, "policy": policy}},
    ]  # fmt: skip
    for n, expr in enumerate(exprs, 2):
        body = {"family": "inet", "table": "t", "chain": "f", "handle": n, "expr": expr}
        items.append({"rule": body | rule})
    return json.dumps({"nftables": items}, indent=1)


def match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}
DPORT = {"payload": {"protocol": "tcp", "field": "dport"}}
FLAGS = {"payload": {"protocol": "tcp", "field": "flags"}}


@pytest.mark.parametrize(
    ("right", "op", "why"),
    [
        ("198.51.100.1-198.51.100.9", "==", 'is not an IPv4 address (a range is written {"range"'),
        (2**200, "==", "is out of the IPv4 address range"),
        ({"set": []}, "<", "operator < compares one field with one value"),
        ({"set": ["198.51.100.1", "198.51.100.2"]}, ">=", "compares one field with one value"),
        ({"range": ["198.51.100.1", "198.51.100.9"]}, "<", "compares with one value"),
    ],
)
def test_values_nft_never_lists_are_refused_at_their_line(
    tmp_path: Path, right: Any, op: str, why: str
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(nft_doc([match(DADDR, right, op), {"drop": None}]))
    with pytest.raises(InputError) as err:
        read_rulesets([path])
    (line,) = str(err.value).splitlines()
    assert line.startswith(f"{path}:") and ": nft: " in line and why in line, line


def test_ct_state_and_tcp_flags_as_numbers_and_as_every_mask_form() -> None:
    """`ct state 8` is new; a mask as a list (nft 1.0), `{"|": [...]}` (nft 1.1) or a bare
    string for one flag; `!=` compares the masked value exactly (the hardening rule)."""
    ct = {"ct": {"key": "state"}}
    for mask in (["fin", "syn", "rst", "ack"], {"|": ["fin", "syn", "rst", "ack"]}, 0x17):
        hardening = [match({"&": [FLAGS, mask]}, "syn", "!="), {"drop": None}]
        doc = nft_doc(hardening, [match(ct, 8, "in"), {"accept": None}], policy="drop")
        rs = (parse_nft(doc, "f"),)
        assert decide(rs, packet("192.0.2.1", "198.51.100.1")).verdict is Verdict.ADMITTED
    for mask in ("syn", ["syn"], {"|": ["syn"]}):
        rs = (parse_nft(nft_doc([match({"&": [FLAGS, mask]}, "syn"), {"accept": None}],
                                policy="drop"), "f"),)  # fmt: skip
        assert decide(rs, packet("192.0.2.1", "198.51.100.1")).verdict is Verdict.ADMITTED
        assert decide(rs, packet("192.0.2.1", "198.51.100.1", "udp", 53)).verdict is (
            Verdict.DENIED
        )
    established = parse_nft(nft_doc([match(ct, 2, "in"), {"drop": None}]), "f")
    assert decide((established,), packet("192.0.2.1", "198.51.100.1")).verdict is (Verdict.ADMITTED)
    with pytest.raises(InputError, match="'sync' is not one of fin, syn"):
        parse_nft(nft_doc([match(FLAGS, "sync"), {"drop": None}]), "f")


def test_rules_and_audit_take_nft_rules_without_a_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document made by hand may leave handles out: the rule is `rule N` and the change's
    jump goes first in the chain (nothing to insert before); the change is proven."""
    monkeypatch.chdir(tmp_path)
    doc = json.loads(nft_doc([match(DPORT, 636), {"reject": None}], policy="drop"))
    for item in doc["nftables"]:
        next(iter(item.values())).pop("handle")
    Path("fw.json").write_text(json.dumps(doc))
    d = decide(read_rulesets([Path("fw.json")]), packet("192.0.2.1", "198.51.100.1"))
    assert d.rule is not None and d.rule.ref == "rule 1"
    rules = cli("rules", EXAMPLE, "--no-resolve", "--ruleset", "fw.json", "--format",
                "nftables", "-o", "out")  # fmt: skip
    assert rules.code == 1 and "NOT proven" not in rules.err, rules.err
    jump = Path("out/nftables.jump.nft").read_text()
    assert "insert rule inet t f jump " in jump
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")  # no probe reaches a provider
    audit = cli("audit", EXAMPLE, "--no-resolve", "--no-store", "--ruleset", "fw.json",
                "-o", "rep")  # fmt: skip
    assert audit.code == 1 and "NOT proven" not in audit.out + audit.err, audit.err


@pytest.mark.parametrize(
    ("handle", "shown"), [("x", "'x'"), (-1, "-1"), (True, "true"), (1.5, "1.5")]
)
def test_a_handle_that_is_no_integer_is_refused(tmp_path: Path, handle: Any, shown: str) -> None:
    path = tmp_path / "fw.json"
    path.write_text(nft_doc([match(DPORT, 636), {"drop": None}], handle=handle))
    for command in ("rules", "audit", "evaluate"):
        result = cli(command, EXAMPLE, "--no-resolve", "--ruleset", path)
        assert result.code == 2
        assert result.errors == [
            f"error: {path}:22: nft: rule handle {shown} is not an integer "
            "(nft -j lists a number 0-2^64)"
        ], result.err


def test_the_nftables_key_may_come_after_others_but_not_twice(tmp_path: Path) -> None:
    body = nft_doc([match(DPORT, 636), {"drop": None}])
    later = tmp_path / "later.json"
    later.write_text('{"x": {"nftables": 1},\n "nftables"' + body[len('{\n "nftables"') :])
    rs = read_rulesets([later])
    d = decide(rs, packet("192.0.2.1", "198.51.100.1"))
    assert d.verdict is Verdict.DENIED and d.rule is not None and d.rule.ref == "handle 2"
    twice = tmp_path / "twice.json"
    twice.write_text(body[:-1] + ',\n "nftables": []\n}')
    with pytest.raises(InputError, match=rf"^{twice}:\d+: nft: the 'nftables' key appears twice"):
        read_rulesets([twice])


def test_a_catch_all_element_decides_only_what_no_other_element_does() -> None:
    doc = json.loads(nft_doc([{"vmap": {"key": DADDR, "data": "@m"}}]))
    doc["nftables"].insert(1, {"map": {"family": "inet", "table": "t", "name": "m",
        "type": "ipv4_addr", "map": "verdict",
        "elem": [["*", {"drop": None}], ["198.51.100.1", {"accept": None}]]}})  # fmt: skip
    rs = (parse_nft(json.dumps(doc), "f"),)
    assert decide(rs, packet("192.0.2.1", "198.51.100.1")).verdict is Verdict.ADMITTED
    assert decide(rs, packet("192.0.2.1", "198.51.100.2")).verdict is Verdict.DENIED


def test_icmp_matches_pass_tcp_by_and_stay_unknown_only_for_icmp() -> None:
    icmp = {"payload": {"protocol": "icmp", "field": "code"}}
    rs = (parse_nft(nft_doc([match(icmp, 3), {"drop": None}]), "f"),)
    d = decide(rs, packet("192.0.2.1", "198.51.100.1"))
    assert (d.verdict, d.rule.ref if d.rule else "") == (Verdict.ADMITTED, "policy")
    ping = decide(rs, packet("192.0.2.1", "198.51.100.1", "icmp", 0))
    assert ping.verdict is Verdict.UNKNOWN and "not modelled" in ping.reason


def test_reversed_port_ranges_match_nothing_and_tcp_flags_names_are_checked() -> None:
    head = "*filter\n:FORWARD ACCEPT [0:0]\n"
    rs = parse_iptables(f"{head}-A FORWARD -p tcp --dport 60000:29 -j DROP\nCOMMIT\n", "f", {})
    assert decide(rs, packet("192.0.2.1", "198.51.100.1")).verdict is Verdict.ADMITTED
    with pytest.raises(InputError, match="port '70000:1' is out of range"):
        parse_iptables(f"{head}-A FORWARD -p tcp --dport 70000:1 -j DROP\nCOMMIT\n", "f", {})
