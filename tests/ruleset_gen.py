"""Hypothesis strategies for the differential test: random iptables/ip6tables/ipset rulesets
and nft rulesets over the addresses of `ruleset_kernel`, and random flows through them."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from ruleset_kernel import CLIENT4, CLIENT6, SERVER4, SERVER6

PORTS = (22, 53, 80, 443, 636, 1812)
NETS4 = ("192.0.2.0/24", "192.0.2.8/30", "192.0.2.12/31", "192.0.2.10/32", "198.51.100.0/24",
         "198.51.100.10/32", "203.0.113.0/24", "203.0.113.8/29", "128.0.0.0/1")  # fmt: skip
NETS6 = ("2001:db8:c::/64", "2001:db8:c::10/127", "2001:db8:c::12/128", "2001:db8:5::/64",
         "2001:db8:5::10/126", "2001:db8::/32", "2001:db8:5::13/128")  # fmt: skip
RANGES4 = ("192.0.2.10-192.0.2.11", "198.51.100.11-203.0.113.10", "192.0.2.12-192.0.2.200")
RANGES6 = ("2001:db8:c::11-2001:db8:c::12", "2001:db8:5::10-2001:db8:5::12")
DPORTS = ("22", "53", "443", "50:100", "400:700", "1000:2000")
MULTI = ("22,53", "80,443,636", "1812,53:80", "600:700,22")
SPORTS = ("20000:39999", "40000:59999", "30000:65535")


@dataclass(frozen=True)
class Flow:
    source: str
    destination: str
    protocol: str
    dport: int


def flows() -> st.SearchStrategy[list[Flow]]:
    v4 = st.builds(Flow, st.sampled_from(CLIENT4), st.sampled_from(SERVER4),
                   st.sampled_from(("tcp", "udp")), st.sampled_from(PORTS))  # fmt: skip
    v6 = st.builds(Flow, st.sampled_from(CLIENT6), st.sampled_from(SERVER6),
                   st.sampled_from(("tcp", "udp")), st.sampled_from(PORTS))  # fmt: skip
    return st.lists(st.one_of(v4, v6), min_size=12, max_size=24, unique=True)


# ---- iptables -------------------------------------------------------------------------------

NEG = st.sampled_from(("", "! "))


@st.composite
def ipt_rule(draw: st.DrawFn, version: int, chain: int, chains: int, in_if: str,
             out_if: str, sets: tuple[str, ...]) -> str:  # fmt: skip
    parts: list[str] = []
    nets, ranges = (NETS4, RANGES4) if version == 4 else (NETS6, RANGES6)
    if draw(st.booleans()):
        parts.append(f"{draw(NEG)}-s {draw(st.sampled_from(nets))}")
    if draw(st.booleans()):
        parts.append(f"{draw(NEG)}-d {draw(st.sampled_from(nets))}")
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from((in_if, "i10zz9", in_if[:-1] + "+")))
        parts.append(f"{draw(NEG)}-i {name}")
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from((out_if, "i10zz9", out_if[:-1] + "+")))
        parts.append(f"{draw(NEG)}-o {name}")
    proto = draw(st.sampled_from(("", "tcp", "udp", "!tcp")))
    if proto == "!tcp":
        parts.append("! -p tcp")
    elif proto:
        parts.append(f"-p {proto}")
        kind = draw(st.integers(0, 4))
        if kind == 1:
            parts.append(f"-m {proto} {draw(NEG)}--dport {draw(st.sampled_from(DPORTS))}")
        elif kind == 2:
            parts.append(f"-m multiport {draw(NEG)}--dports {draw(st.sampled_from(MULTI))}")
        elif kind == 3:
            parts.append(f"-m {proto} {draw(NEG)}--sport {draw(st.sampled_from(SPORTS))}")
    if draw(st.integers(0, 4)) == 0:
        opt = draw(st.sampled_from(("--src-range", "--dst-range")))
        parts.append(f"-m iprange {draw(NEG)}{opt} {draw(st.sampled_from(ranges))}")
    if sets and draw(st.integers(0, 2)) == 0:
        name = draw(st.sampled_from(sets))
        flags = "dst,dst" if name.endswith("p") else draw(st.sampled_from(("src", "dst")))
        parts.append(f"-m set {draw(NEG)}--match-set {name} {flags}")
    if draw(st.integers(0, 4)) == 0:
        states = draw(st.sampled_from(("NEW", "RELATED,ESTABLISHED", "NEW,ESTABLISHED", "INVALID")))
        parts.append(f"-m conntrack {draw(NEG)}--ctstate {states}")
    if draw(st.integers(0, 5)) == 0:
        parts.append('-m comment --comment "generated rule"')
    parts.append(draw(ipt_target(version, chain, chains, proto == "tcp")))
    return " ".join(parts)


@st.composite
def ipt_target(draw: st.DrawFn, version: int, chain: int, chains: int, tcp: bool) -> str:
    options = ["ACCEPT", "DROP", "REJECT", "LOG", "RETURN"]
    options += [f"J{c}" for c in range(chain + 1, chains)] + [
        f"G{c}" for c in range(chain + 1, chains)
    ]
    pick = draw(st.sampled_from(options))
    if pick[0] in "JG" and pick[1:].isdigit():
        return f"-{pick[0].lower()} U{pick[1:]}"
    if pick == "REJECT":
        kinds = ["icmp-port-unreachable", "icmp-host-prohibited", "icmp-admin-prohibited"]
        if version == 6:
            kinds = ["icmp6-port-unreachable", "icmp6-adm-prohibited", "icmp6-addr-unreachable"]
        if tcp:
            kinds.append("tcp-reset")
        return f"-j REJECT --reject-with {draw(st.sampled_from(kinds))}"
    if pick == "LOG":
        return '-j LOG --log-prefix "i10 "'
    return f"-j {pick}"


@st.composite
def ipsets(draw: st.DrawFn) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """An `ipset restore` document and the set names per IP version ('...p': ip,port)."""
    lines: list[str] = []
    names4: list[str] = []
    names6: list[str] = []
    for n in range(draw(st.integers(0, 3))):
        version = draw(st.sampled_from((4, 6)))
        kind = draw(st.sampled_from(("hash:ip", "hash:net", "hash:ip,port")))
        name = f"s{n}{'p' if kind == 'hash:ip,port' else ''}"
        family = "inet6" if version == 6 else "inet"
        lines.append(f"create {name} {kind} family {family}")
        hosts = (CLIENT4 + SERVER4) if version == 4 else (CLIENT6 + SERVER6)
        nets = NETS4[:-1] if version == 4 else NETS6[:-1]
        for _ in range(draw(st.integers(0, 4))):
            if kind == "hash:ip":
                lines.append(f"add {name} {draw(st.sampled_from(hosts))}")
            elif kind == "hash:net":
                lines.append(f"add {name} {draw(st.sampled_from(nets))}")
            else:
                host = draw(st.sampled_from(hosts[4:]))
                port = draw(st.sampled_from(PORTS))
                lines.append(f"add {name} {host},{draw(st.sampled_from(('tcp', 'udp')))}:{port}")
        (names6 if version == 6 else names4).append(name)
    text = "\n".join(lines) + ("\n" if lines else "")
    return text, tuple(names4), tuple(names6)


@st.composite
def ipt_document(draw: st.DrawFn, version: int, in_if: str, out_if: str,
                 sets: tuple[str, ...]) -> str:  # fmt: skip
    chains = draw(st.integers(0, 3))
    lines = [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        f":FORWARD {draw(st.sampled_from(('ACCEPT', 'DROP')))} [0:0]",
        ":OUTPUT ACCEPT [0:0]",
    ]
    lines += [f":U{c} - [0:0]" for c in range(chains)]
    for c in range(-1, chains):
        name = "FORWARD" if c < 0 else f"U{c}"
        for _ in range(draw(st.integers(0 if c >= 0 else 1, 6))):
            rule = draw(ipt_rule(version, c, chains, in_if, out_if, sets))
            lines.append(f"-A {name} {rule}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


@st.composite
def iptables_example(draw: st.DrawFn, in_if: str, out_if: str) -> tuple[str, str, str]:
    sets_text, names4, names6 = draw(ipsets())
    v4 = draw(ipt_document(4, in_if, out_if, names4))
    v6 = draw(ipt_document(6, in_if, out_if, names6))
    return v4, v6, sets_text


# ---- nftables ------------------------------------------------------------------------------

NFT_DPORTS = ("22", "53", "443", "50-100", "400-700", "{ 22, 400-700 }", "{ 53, 80, 1812 }")
NFT_SPORTS = ("20000-39999", "40000-59999", "{ 20000-29999, 50000-59999 }")


def _nets(version: int) -> tuple[str, ...]:
    base = NETS4[:-1] if version == 4 else NETS6[:-1]
    ranges = RANGES4 if version == 4 else RANGES6
    anon = (f"{{ {base[0]}, {base[5]} }}", f"{{ {base[3]} }}", f"{{ {ranges[0]}, {base[-1]} }}")
    return base + ranges + anon


@st.composite
def nft_match(draw: st.DrawFn, version: int, proto: str, in_if: str, out_if: str,
              sets: tuple[str, ...]) -> str:  # fmt: skip
    """One match of a rule whose IP version and transport protocol ('' any) are chosen."""
    neg = draw(st.sampled_from(("", "!= ")))
    word = "ip" if version == 4 else "ip6"
    kind = draw(st.integers(0, 10))
    if kind <= 2:
        side = draw(st.sampled_from(("saddr", "daddr")))
        if f"a{version}" in sets and draw(st.booleans()):
            return f"{word} {side} {neg}@a{version}"
        return f"{word} {side} {neg}{draw(st.sampled_from(_nets(version)))}"
    if kind <= 4:
        ports = draw(st.sampled_from(NFT_DPORTS + (("@ps",) if "ps" in sets else ())))
        if proto:
            return f"{draw(st.sampled_from((proto, 'th')))} dport {neg}{ports}"
        return f"meta l4proto {{ tcp, udp }} th dport {neg}{ports}"
    if kind == 5 and proto:
        return f"{proto} sport {neg}{draw(st.sampled_from(NFT_SPORTS))}"
    if kind == 6:
        return f"meta l4proto {neg}{proto or '{ tcp, udp }'}"
    if kind == 7:
        states = draw(st.sampled_from(("new", "established,related", "new,established", "invalid")))
        return f"ct state {neg}{states}"
    if kind == 8:
        name = draw(st.sampled_from((in_if, "i10zz9", in_if[:-1] + "*")))
        return f'iifname {neg}"{name}"'
    if kind == 9:
        name = draw(st.sampled_from((out_if, "i10zz9", out_if[:-1] + "*")))
        return f'oifname {neg}"{name}"'
    if kind == 10 and f"c{version}" in sets:
        return f"{word} saddr . meta l4proto . th dport {neg}@c{version}"
    return f"{word} saddr {neg}{draw(st.sampled_from(_nets(version)))}"


@st.composite
def nft_rule(draw: st.DrawFn, family: str, chain: int, chains: int, base_only: bool,
             ifs: tuple[str, str], sets: tuple[str, ...]) -> str:  # fmt: skip
    version = draw(st.sampled_from({"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]))
    proto = draw(st.sampled_from(("", "tcp", "udp")))
    out_if = ifs[1]  # in prerouting the kernel has no output interface yet: oifname is ""
    matches = draw(st.lists(nft_match(version, proto, ifs[0], out_if, sets), max_size=3))
    verdict = draw(nft_verdict(family, chain, chains, base_only, proto))
    return " ".join([*matches, verdict])


@st.composite
def nft_verdict(draw: st.DrawFn, family: str, chain: int, chains: int, base_only: bool,
                proto: str) -> str:  # fmt: skip
    options = ["accept", "drop", "counter"]
    if not base_only:
        options += ["reject", "return", "vmap"]
        options += [f"jump u{c}" for c in range(chain + 1, chains)]
        options += [f"goto u{c}" for c in range(chain + 1, chains)]
    pick = draw(st.sampled_from(options))
    if pick == "reject":
        kinds = {
            "ip": ("", " with icmp type host-prohibited", " with icmp type admin-prohibited"),
            "ip6": ("", " with icmpv6 type admin-prohibited", " with icmpv6 type addr-unreachable"),
            "inet": ("", " with icmpx type admin-prohibited", " with icmpx type host-unreachable"),
        }[family]
        kind = draw(st.sampled_from((*kinds, " with tcp reset") if proto == "tcp" else kinds))
        return "reject" + kind
    if pick == "vmap":
        maps = ["th dport vmap { 22 : drop, 443 : accept }", f"{proto or 'th'} dport vmap @vm"]
        if proto == "udp":
            maps.append("udp dport vmap { 53 : accept, 1812 : drop }")
        return draw(st.sampled_from(maps))
    return pick


def _set_lines(family: str, draw: st.DrawFn) -> tuple[list[str], tuple[str, ...]]:
    lines: list[str] = []
    names: list[str] = []
    for version in {"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]:
        kind = "ipv4_addr" if version == 4 else "ipv6_addr"
        hosts = (CLIENT4 + SERVER4) if version == 4 else (CLIENT6 + SERVER6)
        nets = (NETS4[:-1] if version == 4 else NETS6[:-1]) + (RANGES4 if version == 4 else RANGES6)
        if draw(st.booleans()):
            elems = draw(st.lists(st.sampled_from(nets + hosts), max_size=4, unique=True))
            lines.append(
                f"  set a{version} {{ type {kind}; flags interval; auto-merge;"
                + (f" elements = {{ {', '.join(elems)} }};" if elems else "")
                + " }"
            )
            names.append(f"a{version}")
        if draw(st.booleans()):
            elems = draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(hosts),
                        st.sampled_from(("tcp", "udp")),
                        st.sampled_from(PORTS),
                    ),
                    max_size=4,
                    unique=True,
                )
            )
            text = ", ".join(f"{h} . {p} . {n}" for h, p, n in elems)
            lines.append(f"  set c{version} {{ type {kind} . inet_proto . inet_service;"
                         + (f" elements = {{ {text} }};" if elems else "") + " }")  # fmt: skip
            names.append(f"c{version}")
    if draw(st.booleans()):
        lines.append("  set ps { type inet_service; flags interval; elements = { 53, 400-700 }; }")
        names.append("ps")
    verdicts = draw(st.lists(st.sampled_from(("accept", "drop")), min_size=2, max_size=2))
    lines.append(f"  map vm {{ type inet_service : verdict; elements = {{ 22 : {verdicts[0]}, "
                 f"443 : {verdicts[1]} }}; }}")  # fmt: skip
    return lines, tuple(names)


@st.composite
def nft_table(draw: st.DrawFn, family: str, name: str, in_if: str, out_if: str) -> str:
    lines, sets = _set_lines(family, draw)
    users = draw(st.integers(0, 2))
    for c in reversed(range(users)):
        lines.append(f"  chain u{c} {{")
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"    {draw(nft_rule(family, c, users, False, (in_if, out_if), sets))}")
        lines.append("  }")
    bases = [
        ("forward", draw(st.sampled_from((-10, 0, 10)))) for _ in range(draw(st.integers(1, 2)))
    ]
    if draw(st.integers(0, 3)) == 0:
        bases.append(("prerouting", -150))
    for n, (hook, prio) in enumerate(bases):
        policy = draw(st.sampled_from(("accept", "drop")))
        lines.append(
            f"  chain b{n} {{\n    type filter hook {hook} priority {prio}; policy {policy};"
        )
        pre = hook == "prerouting"
        for _ in range(draw(st.integers(0, 5))):
            lines.append(f"    {draw(nft_rule(family, -1, users, pre, (in_if, out_if), sets))}")
        lines.append("  }")
    return f"table {family} {name} {{\n" + "\n".join(lines) + "\n}\n"


@st.composite
def nft_example(draw: st.DrawFn, in_if: str, out_if: str) -> str:
    families = draw(st.lists(st.sampled_from(("ip", "ip6", "inet")), min_size=1, max_size=3))
    return "".join(draw(nft_table(f, f"t{n}", in_if, out_if)) for n, f in enumerate(families))
