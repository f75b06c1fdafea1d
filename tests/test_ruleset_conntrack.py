"""iptables `-m conntrack` beyond the plain states on a new connection's first packet (issue
18), with the facts nft `ct status` uses: the virtual states DNAT/SNAT follow the NAT binding on
the path, `--ctstatus` has none of its bits, `--ctdir` is ORIGINAL, the tuples' addresses come
from before and after the NAT; without a connection only a --ctstate in the same match decides
(test_ruleset_conntrack_kernel.py holds all this to the kernel). Bad values are refused with
the file and line; options still not modelled stay unknown with their reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from netaddr import IPAddress

from auditor.errors import InputError
from auditor.ruleset import Hook, Packet, Verdict, evaluate, read_rulesets
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Decision

NAT = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 636 -j DNAT --to-destination 203.0.113.20
-A PREROUTING -p tcp --dport 22 -j DNAT --to-destination 203.0.113.10
COMMIT
"""


def dump(rule: str, policy: str = "DROP", raw: str = "") -> str:
    return (f"*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{raw}\nCOMMIT\n{NAT}"
            f"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {policy} [0:0]\n:OUTPUT ACCEPT [0:0]\n"
            f"{rule}\nCOMMIT\n")  # fmt: skip


def decide(text: str, dport: int, dst: str = "203.0.113.10") -> Decision:
    """A flow from 198.51.100.10 to dst:dport, forwarded."""
    packet = Packet(4, int(IPAddress("198.51.100.10")), int(IPAddress(dst)), "tcp", dport)
    return evaluate(parse_iptables(text, "fw.rules", {}), [packet], Hook.FORWARD)[0]


@pytest.mark.parametrize(
    ("rule", "dnatted", "same", "plain"),
    [
        # 636 is DNAT'd to .20 (the tuple changes), 22 to .10 where it goes (no binding)
        ("--ctstate DNAT", True, False, False),
        ("! --ctstate DNAT", False, True, True),
        ("--ctstate SNAT", False, False, False),  # SNAT comes after FORWARD
        ("--ctstate RELATED,DNAT", True, False, False),
        ("--ctstate NEW,SNAT", True, True, True),
        ("--ctstatus NONE", False, False, False),  # the empty mask never matches
        ("! --ctstatus NONE", True, True, True),
        ("--ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED", False, False, False),
        ("! --ctstatus confirmed", True, True, True),  # iptables takes names in any case
        ("--ctdir ORIGINAL", True, True, True),
        ("--ctdir REPLY", False, False, False),
        ("--ctorigdst 203.0.113.10/32", True, True, True),  # before the DNAT
        ("--ctreplsrc 203.0.113.20", True, False, False),  # after it
        ("--ctreplsrc 203.0.113.10/255.255.255.239", False, True, True),  # a mask, no prefix
        ("! --ctorigsrc 198.51.100.0/24", False, False, False),
        ("--ctrepldst 198.51.100.10", True, True, True),
    ],
)
def test_conntrack_on_the_first_packet(rule: str, dnatted: bool, same: bool, plain: bool) -> None:
    text = dump(f"-A FORWARD -m conntrack {rule} -j ACCEPT")
    got = [decide(text, port).verdict for port in (636, 22, 80)]
    want = [Verdict.ADMITTED if hit else Verdict.DENIED for hit in (dnatted, same, plain)]
    assert got == want, [decide(text, port).reason for port in (636, 22, 80)]


def test_without_a_connection_only_the_state_in_the_same_match_decides() -> None:
    # raw runs before conntrack: --ctstatus, --ctdir, --ctorigdst alone never match (negated too)
    for option in ("! --ctstatus CONFIRMED", "--ctdir ORIGINAL", "! --ctorigdst 192.0.2.1"):
        text = dump("", "ACCEPT", f"-A PREROUTING -m conntrack {option} -j DROP")
        assert decide(text, 80).verdict is Verdict.ADMITTED, option
    # beside --ctstate INVALID they do, whichever order the options are written in
    for options in ("--ctstate INVALID --ctstatus CONFIRMED", "--ctdir REPLY --ctstate INVALID",
                    "--ctstate INVALID ! --ctstatus NONE"):  # fmt: skip
        text = dump("", "ACCEPT", f"-A PREROUTING -m conntrack {options} -j DROP")
        found = decide(text, 80)
        assert found.verdict is Verdict.DENIED, (options, found.reason)
    # a second -m conntrack is a match of its own: its --ctstatus fails without a connection
    text = dump("", "ACCEPT", "-A PREROUTING -m conntrack --ctstate INVALID -m conntrack "
                "--ctstatus CONFIRMED -j DROP")  # fmt: skip
    assert decide(text, 80).verdict is Verdict.ADMITTED


def test_options_not_modelled_stay_unknown_with_their_reason() -> None:
    text = dump("-A FORWARD -m conntrack --ctexpire 10:20 -j ACCEPT")
    found = decide(text, 80)
    assert found.verdict is Verdict.UNKNOWN
    assert "option --ctexpire of -m conntrack is not modelled" in found.reason
    text = dump("-A FORWARD -m state --state DNAT -j ACCEPT")  # -m state has no DNAT
    assert decide(text, 636).verdict is Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("option", "field"),
    [("--ctstatus SEEN", "--ctstatus SEEN"), ("--ctdir SIDEWAYS", "--ctdir SIDEWAYS"),
     ("! --ctdir REPLY", "--ctdir REPLY"), ("--ctorigdst 203.0.113.400", "203.0.113.400")],
)  # fmt: skip
def test_bad_values_are_refused(tmp_path: Path, option: str, field: str) -> None:
    bad = tmp_path / "fw.rules"
    bad.write_text(f"*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack {option} -j ACCEPT\n"
                   "COMMIT\n")  # fmt: skip
    with pytest.raises(InputError) as err:
        read_rulesets([bad])
    assert str(err.value).startswith(f"{bad}:3: iptables:")
    assert field in str(err.value)
