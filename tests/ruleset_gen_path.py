"""Hypothesis strategies for the whole netfilter path (issue 18): rulesets that use every table
and hook a forwarded packet passes (raw, mangle, nat, filter, security; nft base chains on
ingress, prerouting, forward and postrouting at many priorities, nat chains, dormant tables),
conntrack state before and after conntrack, NOTRACK, marks and connection marks, DNAT to one
address, addrtype / fib type. Every rule stays decidable by the evaluator, so a flow it calls
unknown is a failure too."""

from __future__ import annotations

import re

from hypothesis import strategies as st
from ruleset_gen import PORTS, ipsets, ipt_rule, nft_match
from ruleset_kernel import SERVER4, SERVER6

MARKS = ("0x1", "0x2", "0x3")
STATES = ("INVALID", "NEW", "UNTRACKED", "NEW,UNTRACKED", "RELATED,ESTABLISHED")


def _servers(version: int) -> tuple[str, ...]:
    return SERVER4 if version == 4 else SERVER6


@st.composite
def _selector(draw: st.DrawFn, version: int) -> str:
    """A few matches that pick some flows: a destination, a protocol and port."""
    parts = []
    if draw(st.booleans()):
        parts.append(f"-d {draw(st.sampled_from(_servers(version)))}")
    proto = draw(st.sampled_from(("", "tcp", "udp")))
    if proto:
        parts.append(f"-p {proto}")
        if draw(st.booleans()):
            parts.append(f"--dport {draw(st.sampled_from(PORTS))}")
    return " ".join(parts)


@st.composite
def path_match(draw: st.DrawFn, version: int) -> str:
    """A match on what happened on the way: mark, connmark, ct state, address type."""
    kind = draw(st.integers(0, 4))
    neg = draw(st.sampled_from(("", "! ")))
    if kind == 0:
        return f"-m mark {neg}--mark {draw(st.sampled_from(MARKS))}/0xff"
    if kind == 1:
        return f"-m connmark {neg}--mark {draw(st.sampled_from(MARKS))}/0xff"
    if kind == 2:
        return f"-m conntrack {neg}--ctstate {draw(st.sampled_from(STATES))}"
    types = ("LOCAL", "MULTICAST", "UNICAST", "BROADCAST") if version == 4 else ("LOCAL",)
    side = draw(st.sampled_from(("--src-type", "--dst-type")))
    return f"-m addrtype {neg}{side} {draw(st.sampled_from(types))}"


@st.composite
def _raw(draw: st.DrawFn, version: int) -> list[str]:
    lines = ["*raw", ":PREROUTING ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    for _ in range(draw(st.integers(0, 3))):
        pick = draw(st.integers(0, 2))
        where = draw(_selector(version))
        if pick == 0:
            lines.append(f"-A PREROUTING {where} -j CT --notrack")
        elif pick == 1:
            state = draw(st.sampled_from(STATES))
            lines.append(f"-A PREROUTING {where} -m conntrack --ctstate {state} -j DROP")
        else:
            lines.append(f"-A PREROUTING {where} -j {draw(st.sampled_from(('DROP', 'ACCEPT')))}")
    return [*lines, "COMMIT"]


@st.composite
def _mangle(draw: st.DrawFn, version: int, in_if: str, out_if: str) -> list[str]:
    # POSTROUTING also carries the router's own reject replies to the client (out by in_if):
    # its drops are kept to the forwarded packets so that a reject stays visible as one.
    post = draw(st.sampled_from(("ACCEPT", "ACCEPT", "DROP")))
    lines = ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
             ":OUTPUT ACCEPT [0:0]", f":POSTROUTING {post} [0:0]"]  # fmt: skip
    if post == "DROP":
        lines.append(f"-A POSTROUTING -o {in_if} -j ACCEPT")
    for chain in ("PREROUTING", "FORWARD", "POSTROUTING"):
        for _ in range(draw(st.integers(0, 3))):
            where = draw(_selector(version))
            if chain == "POSTROUTING":
                where = f"-o {out_if} {where}"
            pick = draw(st.integers(0, 4))
            if pick == 0:
                mark = draw(st.sampled_from(MARKS))
                lines.append(f"-A {chain} {where} -j MARK --set-xmark {mark}/0xff")
            elif pick == 1:
                how = draw(st.sampled_from(("--save-mark", "--restore-mark")))
                lines.append(f"-A {chain} {where} -j CONNMARK {how}")
            elif pick == 2:
                mark = draw(st.sampled_from(MARKS))
                lines.append(f"-A {chain} {where} -j CONNMARK --set-xmark {mark}/0xff")
            elif pick == 3:
                lines.append(f"-A {chain} {where} {draw(path_match(version))} -j DROP")
            else:
                lines.append(f"-A {chain} {where} -j {draw(st.sampled_from(('DROP', 'ACCEPT')))}")
    return [*lines, "COMMIT"]


@st.composite
def _nat(draw: st.DrawFn, version: int) -> list[str]:
    lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":POSTROUTING ACCEPT [0:0]"]  # fmt: skip
    servers = _servers(version)
    for _ in range(draw(st.integers(0, 3))):
        proto = draw(st.sampled_from(("tcp", "udp")))
        dst = draw(st.sampled_from(servers))
        where = f"-d {dst} -p {proto}"
        if draw(st.booleans()):
            where += f" --dport {draw(st.sampled_from(PORTS))}"
        pick = draw(st.integers(0, 3))
        if pick <= 1:
            to = draw(st.sampled_from(servers))
            port = draw(st.sampled_from((None, 80, 8443)))
            if port is not None:
                to = f"{to}:{port}" if version == 4 else f"[{to}]:{port}"
            lines.append(f"-A PREROUTING {where} -j DNAT --to-destination {to}")
        elif pick == 2:
            lines.append(f"-A PREROUTING {where} -j ACCEPT")
        else:
            lines.append(f"-A PREROUTING {where} -j RETURN")
    return [*lines, "COMMIT"]


@st.composite
def _filter(draw: st.DrawFn, version: int, in_if: str, out_if: str,
            sets: tuple[str, ...]) -> list[str]:  # fmt: skip
    chains = draw(st.integers(0, 2))
    lines = ["*filter", ":INPUT ACCEPT [0:0]",
             f":FORWARD {draw(st.sampled_from(('ACCEPT', 'DROP')))} [0:0]",
             ":OUTPUT ACCEPT [0:0]", *(f":U{c} - [0:0]" for c in range(chains))]  # fmt: skip
    for c in range(-1, chains):
        name = "FORWARD" if c < 0 else f"U{c}"
        for _ in range(draw(st.integers(0 if c >= 0 else 1, 5))):
            rule = draw(ipt_rule(version, c, chains, in_if, out_if, sets))
            if draw(st.integers(0, 2)) == 0:
                rule = f"{draw(path_match(version))} {rule}"
            lines.append(f"-A {name} {rule}")
    return [*lines, "COMMIT"]


@st.composite
def ipt_path_document(draw: st.DrawFn, version: int, in_if: str, out_if: str,
                      sets: tuple[str, ...]) -> str:  # fmt: skip
    lines: list[str] = []
    if draw(st.booleans()):
        lines += draw(_raw(version))
    if draw(st.booleans()):
        lines += draw(_mangle(version, in_if, out_if))
    if draw(st.booleans()):
        lines += draw(_nat(version))
    lines += draw(_filter(version, in_if, out_if, sets))
    if draw(st.integers(0, 3)) == 0:
        where = draw(_selector(version))
        lines += ["*security", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                  ":OUTPUT ACCEPT [0:0]", f"-A FORWARD {where} -j DROP", "COMMIT"]  # fmt: skip
    return "\n".join(lines) + "\n"


@st.composite
def iptables_path_example(draw: st.DrawFn, in_if: str, out_if: str) -> tuple[str, str, str]:
    sets_text, names4, names6 = draw(ipsets())
    v4 = draw(ipt_path_document(4, in_if, out_if, names4))
    v6 = draw(ipt_path_document(6, in_if, out_if, names6))
    return v4, v6, sets_text


# ---- nftables ------------------------------------------------------------------------------


@st.composite
def nft_path_match(draw: st.DrawFn, version: int) -> str:
    kind = draw(st.integers(0, 4))
    neg = draw(st.sampled_from(("", "!= ")))
    if kind == 0:
        return f"meta mark {neg}{draw(st.sampled_from(MARKS))}"
    if kind == 1:
        return f"meta mark & 0xff {'!=' if neg else '=='} {draw(st.sampled_from(MARKS))}"
    if kind == 2:
        return f"ct mark {neg}{draw(st.sampled_from(MARKS))}"
    if kind == 3:
        states = draw(st.sampled_from(("new", "invalid", "untracked", "new,untracked")))
        return f"ct state {neg}{{ {states} }}"
    types = ("local", "multicast", "unicast", "broadcast") if version == 4 else ("local",)
    side = draw(st.sampled_from(("saddr", "daddr")))
    return f"fib {side} type {neg}{draw(st.sampled_from(types))}"


@st.composite
def _nft_selector(draw: st.DrawFn, version: int) -> str:
    word = "ip" if version == 4 else "ip6"
    parts = []
    if draw(st.booleans()):
        parts.append(f"{word} daddr {draw(st.sampled_from(_servers(version)))}")
    proto = draw(st.sampled_from(("", "tcp", "udp")))
    if proto:
        parts.append(f"{proto} dport {draw(st.sampled_from(PORTS))}" if draw(st.booleans())
                     else f"meta l4proto {proto}")  # fmt: skip
    return " ".join(parts)


def _versions(family: str) -> tuple[int, ...]:
    return {"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]


@st.composite
def _nft_rule(draw: st.DrawFn, family: str, hook: str, prio: int, in_if: str,
              out_if: str) -> str:  # fmt: skip
    version = draw(st.sampled_from(_versions(family)))
    where = draw(_nft_selector(version))
    if draw(st.integers(0, 3)) == 0:
        where += " " + draw(nft_match(version, "", in_if, out_if, ()))
    pick = draw(st.integers(0, 5))
    if pick == 0:
        return f"{where} meta mark set {draw(st.sampled_from(MARKS))}"
    if pick == 1:
        how = draw(st.sampled_from(("ct mark set meta mark", "meta mark set ct mark",
                                    f"ct mark set {draw(st.sampled_from(MARKS))}")))  # fmt: skip
        return f"{where} {how}"
    if pick == 2 and hook in ("prerouting", "output") and prio < -200:
        return f"{where} notrack"
    if pick == 3:
        match = draw(nft_path_match(version))
        if family == "inet" and match.startswith("fib") and not match.endswith("local"):
            # an inet rule with no address selector sees IPv6 flows too, where every type but
            # local depends on the whole routing table (an honest unknown): IPv4 only
            match = f"meta nfproto ipv4 {match}"
        return f"{where} {match} drop"
    return f"{where} {draw(st.sampled_from(('accept', 'drop', 'counter')))}"


@st.composite
def _nft_nat_chain(draw: st.DrawFn, family: str, n: int) -> list[str]:
    prio = draw(st.sampled_from((-100, -90, -110))) + n
    lines = [f"  chain nat{n} {{", f"    type nat hook prerouting priority {prio}; policy accept;"]
    for _ in range(draw(st.integers(1, 3))):
        version = draw(st.sampled_from(_versions(family)))
        word = "ip" if version == 4 else "ip6"
        dst = draw(st.sampled_from(_servers(version)))
        proto = draw(st.sampled_from(("tcp", "udp")))
        to = draw(st.sampled_from(_servers(version)))
        port = draw(st.sampled_from(("", " 80", " 8443")))
        target = to if not port else (f"{to}:{port.strip()}" if version == 4
                                      else f"[{to}]:{port.strip()}")  # fmt: skip
        qual = f" {word}" if family == "inet" else ""
        pick = draw(st.integers(0, 2))
        verdict = f"dnat{qual} to {target}" if pick <= 1 else "accept"
        lines.append(f"    {word} daddr {dst} meta l4proto {proto} {verdict}")
    return [*lines, "  }"]


@st.composite
def nft_path_table(draw: st.DrawFn, family: str, n: int, in_if: str, out_if: str) -> str:
    """Table `t<n>`; its priorities are offset by n, so no two tables share one (chains that
    share a priority and change the packet are unknown: test_ruleset_path.py)."""
    name = f"t{n}"
    lines: list[str] = []
    if draw(st.integers(0, 7)) == 0:
        lines.append("  flags dormant;")
    chains: list[tuple[str, int]] = [("forward", draw(st.sampled_from((-10, 0, 10))))]
    for hook, prios in (("prerouting", (-300, -250, -150, -50)), ("forward", (-150, 50)),
                        ("postrouting", (-150, 0, 150))):  # fmt: skip
        if draw(st.booleans()):
            chains.append((hook, draw(st.sampled_from(prios))))
    for c, (hook, base) in enumerate(chains):
        policy = draw(st.sampled_from(("accept", "accept", "drop")))
        prio = base + n
        lines.append(f"  chain c{c} {{\n    type filter hook {hook} priority {prio}; "
                     f"policy {policy};")  # fmt: skip
        post = hook == "postrouting"  # the router's reject replies leave by in_if: let them
        if post and policy == "drop":
            lines.append(f'    oifname "{in_if}" accept')
        for _ in range(draw(st.integers(0, 4))):
            rule = draw(_nft_rule(family, hook, prio, in_if, out_if))
            lines.append(f"    {f'oifname {out_if!r} ' if post else ''}{rule}".replace("'", '"'))
        lines.append("  }")
    if draw(st.integers(0, 2)) == 0:
        lines += draw(_nft_nat_chain(family, n))
    return f"table {family} {name} {{\n" + "\n".join(lines) + "\n}\n"


@st.composite
def nft_path_example(draw: st.DrawFn, in_if: str, out_if: str) -> str:
    families = draw(st.lists(st.sampled_from(("ip", "ip6", "inet")), min_size=1, max_size=3))
    text = "".join(draw(nft_path_table(f, n, in_if, out_if)) for n, f in enumerate(families))
    if draw(st.integers(0, 3)) == 0:  # an ingress chain on the interface the flows come by
        rule = draw(
            st.sampled_from(
                (
                    "tcp dport 443 drop",
                    "ip saddr 192.0.2.11 drop",
                    "meta l4proto udp counter",
                    "ip6 saddr 2001:db8:c::11 drop",
                )
            )
        )
        text += (f"table netdev nd {{\n  chain in {{\n    type filter hook ingress device "
                 f"{in_if} priority 0; policy accept;\n    {rule}\n  }}\n}}\n")  # fmt: skip
    return text


# ---- INPUT and OUTPUT: the same rulesets, moved onto the hook -------------------------------


def ipt_on_hook(text: str, hook: str) -> str:
    """An iptables document of the FORWARD path moved onto INPUT or OUTPUT: the FORWARD rules
    (and for OUTPUT the PREROUTING ones: raw, mangle, nat DNAT) go to the hook's chain; rules
    with an interface the hook has not (`-o` on INPUT, `-i` on OUTPUT) are left out, as
    iptables refuses them there."""
    bad = "-o" if hook == "INPUT" else "-i"
    out = []
    for line in text.splitlines():
        # POSTROUTING keeps its `-o`: it lets the router's replies out
        if (
            line.startswith("-A ")
            and not line.startswith("-A POSTROUTING")
            and (bad in line.split())
        ):
            continue
        moved = line.replace("-A FORWARD ", f"-A {hook} ")
        if hook == "OUTPUT":
            moved = moved.replace("-A PREROUTING ", "-A OUTPUT ")
        out.append(moved)
    return "\n".join(out) + "\n"


@st.composite
def iptables_hook_example(draw: st.DrawFn, in_if: str, out_if: str,
                          hook: str) -> tuple[str, str, str]:  # fmt: skip
    v4, v6, sets_text = draw(iptables_path_example(in_if, out_if))
    return ipt_on_hook(v4, hook), ipt_on_hook(v6, hook), sets_text


def nft_on_hook(script: str, hook: str) -> str:
    """An nft script of the FORWARD path moved onto INPUT or OUTPUT (forward chains to the
    hook; for OUTPUT prerouting chains too, forward ones 3 above their priority so that none
    shares one); rules on the interface the hook has not are left out."""
    bad = "oifname" if hook == "INPUT" else "iifname"
    moved = ("forward",) if hook == "INPUT" else ("forward", "prerouting")
    lines, where = [], ""
    for line in script.splitlines():
        found = re.search(r"hook (\w+)", line)
        where = found.group(1) if found else where
        if bad in line and where in moved:
            continue
        lines.append(line)
    text = "\n".join(lines) + "\n"
    if hook == "INPUT":
        return text.replace("hook forward", "hook input")
    text = re.sub(r"hook forward priority (-?\d+)",
                  lambda m: f"hook output priority {int(m.group(1)) + 3}", text)  # fmt: skip
    return text.replace("hook prerouting", "hook output")


@st.composite
def nft_hook_example(draw: st.DrawFn, in_if: str, out_if: str, hook: str) -> str:
    return nft_on_hook(draw(nft_path_example(in_if, out_if)), hook)
