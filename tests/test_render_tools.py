"""Proof with the real tools, in a throwaway network namespace: every iptables and ip6tables
fragment passes `iptables-restore --test --noflush`, every nftables script `nft -c -f`, for the
example and for random plans; loading twice leaves one copy of everything, the jump included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_factories import BACKUP_UNIQUE, SHARED, SITE, example_flows, example_records, flow, record
from render_support import (
    load_iptables,
    namespace,
    nft_check,
    restore_test,
    rules_listing,
    run,
)
from support.pfcheck import check as pf_check
from support.render_options import render_options

from auditor.model.record import Status
from auditor.plan import make_plan
from auditor.render import OutputFormat, RenderOptions, render

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def ns():
    with namespace() as name:
        yield name


def v6_flows():
    return [
        flow("2001:db8::11", "2001:db8:1::10", 636),
        flow("2001:db8::12", "2001:db8:1::10", 636),
        flow("2001:db8::12", "2001:db8:1::11", 3269),
        flow("2001:db8::12", "2001:db8:1::20", 1812, "udp", "corp-radius", "radius"),
    ]


def mixed_plan():
    flows = [*example_flows(), *v6_flows()]
    records = [*example_records(), *(record(f, Status.FILTERED) for f in v6_flows())]
    return make_plan(flows, records, site=SITE)


def check_all(ns: str, plan, options: RenderOptions, tmp: Path) -> None:
    files = render(OutputFormat.IPTABLES, plan, options)
    for name, body in files.items():
        tool = "ip6tables" if name.startswith("ip6tables") else "iptables"
        text = body
        if name.endswith(".jump.rules"):
            # the jump names the chain, so test it together with the fragment that declares it
            text = files[f"{tool}.rules"].replace("COMMIT\n", "") + body.split("*filter\n", 1)[1]
        proc = restore_test(ns, tool, text)
        assert proc.returncode == 0, f"{name}: {proc.stderr}\n{text}"
    path = tmp / "nftables.nft"
    for nft_table in ("own", None, "ip filter", "ip6 filter"):
        nft_options = render_options(options, nft_table=nft_table)
        nft_text = render(OutputFormat.NFTABLES, plan, nft_options)["nftables.nft"]
        path.write_text(nft_text, encoding="utf-8")
        proc = nft_check(ns, path)
        assert proc.returncode == 0, f"{proc.stderr}\n{nft_text}"
    (pf_text,) = render(OutputFormat.PF, plan, options).values()
    assert pf_check(pf_text, strict=True) == [], pf_text


def test_the_example_passes_the_real_tools(ns, tmp_path):
    check_all(ns, mixed_plan(), RenderOptions(), tmp_path)
    files = render(OutputFormat.IPTABLES, mixed_plan(), RenderOptions())
    assert set(files) == {
        "iptables.rules",
        "iptables.jump.rules",
        "ip6tables.rules",
        "ip6tables.jump.rules",
    }


def test_placement_variants_pass_the_real_tools(ns, tmp_path):
    for options in (
        render_options(hook="OUTPUT", direction="out", interface="eth0"),
        render_options(hook="INPUT", interface="veth-x.1", chain="MY_CHAIN"),
        render_options(table="raw", hook="PREROUTING", position=1),
    ):
        files = render(OutputFormat.IPTABLES, mixed_plan(), options)
        for tool in ("iptables", "ip6tables"):
            text = files[f"{tool}.rules"]
            assert restore_test(ns, tool, text).returncode == 0
        if options.host.hook in ("OUTPUT", "INPUT"):
            check_all(ns, mixed_plan(), options, tmp_path)


def test_loading_twice_leaves_one_copy_of_every_rule_and_of_the_jump(tmp_path):
    plan = mixed_plan()
    files = render(OutputFormat.IPTABLES, plan, RenderOptions())
    chain = RenderOptions().names(plan).chain
    with namespace() as ns:
        for tool in ("iptables", "ip6tables"):
            # an existing ruleset that ends in a reject: our jump must come before it
            assert run([tool, "-w", "-A", "FORWARD", "-j", "REJECT"], ns).returncode == 0
        load_iptables(ns, "iptables", files, chain)
        load_iptables(ns, "ip6tables", files, chain)
        once = {t: rules_listing(ns, t) for t in ("iptables", "ip6tables")}
        load_iptables(ns, "iptables", files, chain)
        load_iptables(ns, "ip6tables", files, chain)
        twice = {t: rules_listing(ns, t) for t in ("iptables", "ip6tables")}
    assert once == twice
    v4 = once["iptables"]
    assert v4.count(f"-A FORWARD -j {chain}") == 1
    assert v4.index(f"-A FORWARD -j {chain}") < v4.index(
        "-A FORWARD -j REJECT --reject-with icmp-port-unreachable"
    )
    planned_lines = sum(len(r.sources) * len(r.destinations) for r in plan.rules if r.family == 4)
    assert sum(1 for line in v4 if line.startswith(f"-A {chain} ")) == planned_lines


def test_the_own_table_nftables_script_reloads_without_duplication(tmp_path):
    options = render_options(nft_table="own")
    (text,) = render(OutputFormat.NFTABLES, mixed_plan(), options).values()
    path = tmp_path / "nftables.nft"
    path.write_text(text, encoding="utf-8")
    with namespace() as ns:
        first = run(["nft", "-f", str(path)], ns)
        assert first.returncode == 0, first.stderr
        once = run(["nft", "list", "ruleset"], ns).stdout
        second = run(["nft", "-f", str(path)], ns)
        assert second.returncode == 0, second.stderr
        twice = run(["nft", "list", "ruleset"], ns).stdout
    assert once == twice
    assert once.count(" accept comment ") == len(mixed_plan().rules)


BASE_NFT = """table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip saddr 198.51.100.10 reject
  }
}
"""


def test_into_an_existing_nft_table_reloads_without_duplication(tmp_path):
    options = RenderOptions()  # the default: into `inet filter`, jumped to from `forward`
    files = render(OutputFormat.NFTABLES, mixed_plan(), options)
    assert set(files) == {"nftables.nft", "nftables.jump.nft"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    chain = options.names(mixed_plan()).nft_chain
    assert chain.startswith("auditor_support_example_")
    with namespace() as ns:
        assert run(["nft", "-f", "-"], ns, stdin=BASE_NFT).returncode == 0
        listings = []
        for _ in range(2):
            loaded = run(["nft", "-f", str(tmp_path / "nftables.nft")], ns)
            assert loaded.returncode == 0, loaded.stderr
            base = run(["nft", "list", "chain", "inet", "filter", "forward"], ns).stdout
            if f"jump {chain}" not in base:
                jump = run(["nft", "-f", str(tmp_path / "nftables.jump.nft")], ns)
                assert jump.returncode == 0, jump.stderr
            listings.append(run(["nft", "list", "ruleset"], ns).stdout)
    assert listings[0] == listings[1]
    forward = listings[0].split("chain forward {", 1)[1]
    assert forward.count(f"jump {chain}") == 1
    assert forward.index(f"jump {chain}") < forward.index("reject")
    assert listings[0].count(" accept comment ") == len(mixed_plan().rules)


_STATUSES = [Status.FILTERED, Status.REFUSED, Status.UNREACHABLE, Status.NOT_LOCAL, Status.OPEN]


@st.composite
def random_plans(draw):
    flows, records = [], []
    for _ in range(draw(st.integers(1, 40))):
        v6 = draw(st.booleans())
        s, d = draw(st.integers(0, 255)), draw(st.integers(0, 255))
        src = f"2001:db8::{s:x}" if v6 else f"198.51.100.{s}"
        dst = f"2001:db8:2::{d:x}" if v6 else f"203.0.113.{d}"
        port = draw(st.integers(1, 65535))
        f = flow(src, dst, port, draw(st.sampled_from(["tcp", "udp"])))
        flows.append(f)
        records.append(record(f, draw(st.sampled_from(_STATUSES))))
    return make_plan(flows, records, site=draw(st.text(min_size=1, max_size=80)))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(random_plans())
def test_random_plans_pass_the_real_tools(ns, tmp_path, plan):
    check_all(ns, plan, RenderOptions(), tmp_path)


def split_plans():
    """Change 1: only the shared IP's flows were blocked; change 2, probed after it was applied:
    the backup's unique IP (IPv4 and IPv6) is still blocked."""
    flows = [*example_flows(), *v6_flows()]
    first = [record(f, Status.REFUSED if str(f.source) == SHARED else Status.OPEN) for f in flows]
    second = [
        record(f, Status.FILTERED if str(f.source) in (BACKUP_UNIQUE, "2001:db8::12") else "open")
        for f in flows
    ]
    return make_plan(flows, first, site=SITE), make_plan(flows, second, site=SITE)


def test_a_later_iptables_change_leaves_the_earlier_one_in_place():
    change1, change2 = split_plans()
    options = RenderOptions()
    chain1, chain2 = options.names(change1).chain, options.names(change2).chain
    assert chain1 != chain2
    files1 = render(OutputFormat.IPTABLES, change1, options)
    files2 = render(OutputFormat.IPTABLES, change2, options)
    with namespace() as ns:
        assert run(["iptables", "-w", "-A", "FORWARD", "-j", "REJECT"], ns).returncode == 0
        load_iptables(ns, "iptables", files1, chain1)
        load_iptables(ns, "iptables", files2, chain2)
        both = rules_listing(ns, "iptables")
        load_iptables(ns, "iptables", files1, chain1)
        again = rules_listing(ns, "iptables")
    assert again == both
    for chain, plan in ((chain1, change1), (chain2, change2)):
        assert both.count(f"-A FORWARD -j {chain}") == 1
        lines = sum(len(r.sources) * len(r.destinations) for r in plan.family_rules(4))
        assert sum(1 for line in both if line.startswith(f"-A {chain} ")) == lines
    assert any(line.startswith(f"-A {chain1} -s {SHARED}/32 ") for line in both)


def test_a_later_nftables_change_leaves_the_earlier_one_in_place(tmp_path):
    change1, change2 = split_plans()
    options = RenderOptions()
    with namespace() as ns:
        assert run(["nft", "-f", "-"], ns, stdin=BASE_NFT).returncode == 0
        listings = []
        for plan in (change1, change2, change1):
            chain = options.names(plan).nft_chain
            for name, text in render(OutputFormat.NFTABLES, plan, options).items():
                (tmp_path / name).write_text(text, encoding="utf-8")
            loaded = run(["nft", "-f", str(tmp_path / "nftables.nft")], ns)
            assert loaded.returncode == 0, loaded.stderr
            base = run(["nft", "list", "chain", "inet", "filter", "forward"], ns).stdout
            if f"jump {chain}" not in base:
                jump = run(["nft", "-f", str(tmp_path / "nftables.jump.nft")], ns)
                assert jump.returncode == 0, jump.stderr
            listings.append(run(["nft", "list", "ruleset"], ns).stdout)
    assert listings[2] == listings[1]
    forward = listings[1].split("chain forward {", 1)[1].split("}", 1)[0]
    for plan in (change1, change2):
        chain = options.names(plan).nft_chain
        assert forward.count(f"jump {chain}") == 1
        assert listings[1].count(f"chain {chain} {{") == 1
    assert listings[1].count(" accept comment ") == len(change1.rules) + len(change2.rules)


def test_a_plan_with_nothing_to_allow_loads_nothing(tmp_path):
    flows = [*example_flows(), *v6_flows()]
    plan = make_plan(flows, [record(f, Status.OPEN) for f in flows], site=SITE)
    files = {}
    for fmt in (OutputFormat.IPTABLES, OutputFormat.NFTABLES, OutputFormat.PF):
        files.update(render(fmt, plan, RenderOptions()))
    assert set(files) == {"iptables.rules", "nftables.nft", "pf.conf"}
    for text in files.values():
        assert "# nothing to allow: every required flow is open\n" in text
        assert all(line.startswith("#") for line in text.splitlines())
    (tmp_path / "nftables.nft").write_text(files["nftables.nft"], encoding="utf-8")
    with namespace() as ns:
        before = rules_listing(ns, "iptables")
        assert (
            run(["iptables-restore", "-w", "--noflush"], ns, files["iptables.rules"]).returncode
            == 0
        )
        assert rules_listing(ns, "iptables") == before
        assert run(["nft", "-f", str(tmp_path / "nftables.nft")], ns).returncode == 0
        assert run(["nft", "list", "ruleset"], ns).stdout.strip() == ""
    assert pf_check(files["pf.conf"], strict=True) == []
