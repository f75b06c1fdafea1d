"""Hostile inventory strings: whatever a site, provider or appliance is called, no snippet gains
a rule, loses its syntax or runs a command. Checked by structure here and by the real tools."""

from __future__ import annotations

import csv
import io
import re
import shlex
from dataclasses import replace

import pytest
from netaddr import IPAddress
from plan_factories import AD, BACKUP_UNIQUE, SHARED, flow, record
from render_support import namespace, nft_check, restore_test
from support.pfcheck import check as pf_check
from support.render_options import render_options

from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.plan import make_plan
from auditor.render import OutputFormat, render
from auditor.render.escape import IPTABLES_CHAIN_MAX, NFT_NAME_MAX, PF_TABLE_MAX

HOSTILE = [
    'quote" -j DROP "',
    "it's",
    "new\nline\n-A FORWARD -j ACCEPT",
    "cr\rlf\r\nCOMMIT",
    "semi; rm -rf /",
    "$(reboot)",
    "`id`",
    "*/ drop",
    "# comment",
    "brace } table inet x { chain y",
    "back\\slash\\",
    "x" * 5000,
    "Zürich-Süd ☃ 東京",
    '=HYPERLINK("http://x")',
    "\t@SUM(A1)",
    "<script>alert(1)</script> | pipe",
    "",
    "---",
]


def hostile_plan(name: str):
    flows: list[Flow] = []
    records = []
    for src in (SHARED, BACKUP_UNIQUE, "2001:db8::12"):
        dst = "2001:db8:1::10" if ":" in src else AD[0]
        f = replace(flow(src, dst, 636), providers=(name or "p",), kind="ldaps")
        flows.append(f)
        records.append(record(f, Status.FILTERED, reason=name))
    peer = replace(
        flow(BACKUP_UNIQUE, AD[1], 443), appliances=frozenset({name or "a"}), endpoint=name
    )
    flows.append(peer)
    records.append(record(peer, Status.NOT_LOCAL, reason=name))
    return make_plan(flows, records, site=name)


OPTIONS = render_options(
    requested_by="=cmd|' /C calc'!A0", ticket="+1; DROP TABLE", inventory="inv; rm -rf ~.yaml"
)


def all_files(name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for fmt in OutputFormat:
        out.update(render(fmt, hostile_plan(name), OPTIONS))
    return out


@pytest.mark.parametrize("name", HOSTILE)
def test_snippets_keep_their_shape(name):
    plan = hostile_plan(name)
    files = all_files(name)
    v4_lines = sum(len(r.sources) * len(r.destinations) for r in plan.rules if r.family == 4)
    ipt = files["iptables.rules"].splitlines()
    statements = [line for line in ipt if line and not line.startswith("#")]
    names = OPTIONS.names(plan)
    chain = names.chain
    assert statements[0] == "*filter" and statements[1] == f":{chain} - [0:0]"
    assert statements[-1] == "COMMIT"
    assert len(statements) == 3 + v4_lines
    assert all(
        line.startswith(f"-A {chain} -s ") and line.endswith(" -j ACCEPT")
        for line in statements[2:-1]
    )
    for line in statements[2:-1]:
        comment = re.search(r'--comment "([^"]*)"', line)
        assert comment is not None and len(comment.group(1).encode()) <= 255
        assert line.count('"') == 2
    jump = [
        line
        for line in files["iptables.jump.rules"].splitlines()
        if line and not line.startswith("#")
    ]
    assert jump == ["*filter", f"-I FORWARD 1 -j {chain}", "COMMIT"]
    assert len(chain) <= IPTABLES_CHAIN_MAX and re.fullmatch(r"[A-Za-z0-9_-]+", chain)
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", names.nft_chain)
    assert len(names.nft_chain) <= NFT_NAME_MAX - 16
    assert re.fullmatch(r"aud_[A-Za-z0-9_]*", names.pf_prefix)
    assert len(names.pf_prefix) <= PF_TABLE_MAX - 6
    assert re.fullmatch(r"auditor/aud_[A-Za-z0-9_]+", names.pf_anchor)
    assert all(n.endswith(plan.change_id) for n in (chain, names.nft_chain, names.pf_anchor))
    nft_rules = [line for line in files["nftables.nft"].splitlines() if " accept comment " in line]
    assert len(nft_rules) == len(plan.rules)
    assert pf_check(files["pf.conf"], strict=True) == []
    assert sum(1 for line in files["pf.conf"].splitlines() if line.startswith("pass ")) == len(
        plan.rules
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_and_ticket_hold_the_text_inertly(name):
    files = all_files(name)
    rows = list(csv.reader(io.StringIO(files["change-request.csv"])))
    assert len(rows) == 1 + len(hostile_plan(name).rules)
    for row in rows[1:]:
        assert len(row) == 11
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    ticket = files["ticket.md"]
    # a name never starts a line of its own (a heading, a rule line, a fence)
    if name.strip():
        for line in ticket.splitlines():
            assert not line.startswith(("-A FORWARD", "COMMIT\n", "# comment", "<script>"))
    assert "<script>" not in ticket
    verify = next(line for line in ticket.splitlines() if line.startswith("auditor probe "))
    assert shlex.split(verify)[2] == "inv; rm -rf ~.yaml"


@pytest.mark.parametrize(
    ("a", "b"), [("x" * 300 + "a", "x" * 300 + "b"), ("Zürich", "Zurich"), ("a b", "a_b")]
)
def test_sites_whose_names_clean_up_alike_still_get_distinct_names(a, b):
    """The same rules for two sites: a cut or a lossy clean-up never makes them share a name."""
    first, second = OPTIONS.names(hostile_plan(a)), OPTIONS.names(hostile_plan(b))
    assert first.chain != second.chain and first.nft_chain != second.nft_chain
    assert first.pf_anchor != second.pf_anchor and first.pf_prefix != second.pf_prefix


@pytest.mark.lab
def test_hostile_names_pass_the_real_tools(tmp_path):
    with namespace() as ns:
        for name in HOSTILE:
            files = all_files(name)
            for tool in ("iptables", "ip6tables"):
                text = files[f"{tool}.rules"].replace("COMMIT\n", "")
                text += files[f"{tool}.jump.rules"].split("*filter\n", 1)[1]
                proc = restore_test(ns, tool, text)
                assert proc.returncode == 0, f"{name!r} {tool}: {proc.stderr}"
            into = render(
                OutputFormat.NFTABLES, hostile_plan(name), render_options(nft_table="inet x")
            )
            own = render(OutputFormat.NFTABLES, hostile_plan(name), render_options(nft_table="own"))
            for text in (files["nftables.nft"], into["nftables.nft"], own["nftables.nft"]):
                path = tmp_path / "nftables.nft"
                path.write_text(text, encoding="utf-8")
                proc = nft_check(ns, path)
                assert proc.returncode == 0, f"{name!r}: {proc.stderr}"


def test_source_addresses_cannot_be_names():
    with pytest.raises(Exception):  # noqa: B017 - netaddr's own error type
        IPAddress("198.51.100.1; rm")
