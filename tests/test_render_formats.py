"""Every format renders the example as its golden file; the registry is complete; CSV cells
cannot become formulas; templates can be overridden per file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from golden_support import GOLDEN, assert_golden
from plan_factories import SITE, example_flows, example_records, flow, record
from render_support import ipv6_flows, ipv6_records
from support.pfcheck import check as pf_check
from support.render_options import render_options

from auditor.errors import InputError, UsageError
from auditor.model.record import Status
from auditor.plan import Plan, make_plan
from auditor.render import REGISTRY, OutputFormat, Renderer, RenderOptions, render, renderer_for
from auditor.render.csvsheet import COLUMNS
from auditor.render.environment import check_templates
from auditor.render.ticket import MAX_INLINE_LINES
from auditor.render.vendor_options import before_problem
from auditor.textout import csv_cell

OPTIONS = render_options(
    requested_by="Identity team",
    ticket="CHG-1042",
    inventory="examples/pair.yaml",
    results="reports/results.json",
)
GOLDEN_RENDER = GOLDEN / "render"


def example_plan() -> Plan:
    return make_plan(example_flows(), example_records(), site=SITE)


def dual_stack_plan() -> Plan:
    """The example plus the pair's IPv6 addresses reaching an IPv6 AD server: the same story
    (the primary's unique address binds, the backup's is dropped, the shared one refused)."""
    flows = example_flows() + ipv6_flows()
    return make_plan(flows, example_records() + ipv6_records(), site=SITE)


@dataclass(frozen=True, slots=True)
class Variant:
    """A plan and options whose output is kept as golden files in render/FOLDER."""

    folder: str
    plan: Callable[[], Plan]
    options: RenderOptions
    # The formats these options change; every other format must render exactly as it does
    # for `same_as` (checked below), so its golden files are not kept twice.
    formats: tuple[OutputFormat, ...] = tuple(OutputFormat)
    same_as: str = ""


def all_open_plan() -> Plan:
    flows = example_flows()
    return make_plan(flows, [record(f, Status.OPEN) for f in flows], site=SITE)


# Every output a renderer can produce appears in one of these: the example (IPv4 only, the
# files in render/ itself), dual stack (ip6tables files, ip6 sets and rules everywhere, nftables
# into the existing `inet filter` with its jump file), nftables in a table of its own
# (`--nft-table own`), and a plan with nothing to allow (comment-only files).
VARIANTS = {
    "example": Variant("", example_plan, OPTIONS),
    "dual-stack": Variant("dual-stack", dual_stack_plan, OPTIONS),
    "nft-own": Variant(
        "nft-own",
        dual_stack_plan,
        render_options(OPTIONS, nft_table="own"),
        formats=(OutputFormat.NFTABLES, OutputFormat.TICKET),
        same_as="dual-stack",
    ),
    "nothing": Variant("nothing", all_open_plan, OPTIONS),
    # the vendor placement options: the rule to go ahead of (a name: PAN-OS, SRX, Check Point),
    # Panorama, zones, an ACL/layer, an expiry, PAN-OS log setting, profile group and tag
    "vendor-placed": Variant(
        "vendor-placed",
        example_plan,
        render_options(
            OPTIONS,
            before="deny-all",
            panos_device_group="DG-east",
            from_zone="trust",
            to_zone="untrust",
            acl="out_in",
            expires="2027-01-31",
            panos_log_setting="default",
            panos_profile_group="strict profiles",
            panos_tag="auditor",
            checkpoint_tag="auditor",
        ),
        formats=(
            OutputFormat.PANOS,
            OutputFormat.CHECKPOINT,
            OutputFormat.SRX,
            OutputFormat.REQUEST_CSV,
            OutputFormat.TUFIN,
            OutputFormat.ALGOSEC,
        ),
        same_as="example",
    ),
    # a position: the ASA line, the Check Point rule number
    "vendor-line": Variant(
        "vendor-line",
        example_plan,
        render_options(OPTIONS, before="7", acl="out_in"),
        formats=(OutputFormat.ASA, OutputFormat.CHECKPOINT),
        same_as="example",
    ),
    # FortiOS 6.4: IPv6 policies in `config firewall policy6`; interfaces
    "fortios-6.4": Variant(
        "fortios-6.4",
        dual_stack_plan,
        render_options(OPTIONS, fortios="6.4", srcintf="port1", dstintf="port2"),
        formats=(OutputFormat.FORTIGATE,),
        same_as="dual-stack",
    ),
}
# The ticket with each vendor's snippet, apply, verify and rollback steps (--vendor).
VARIANTS |= {
    f"ticket-{vendor}": Variant(
        f"ticket-{vendor}",
        dual_stack_plan,
        render_options(OPTIONS, vendor=vendor),
        formats=(OutputFormat.TICKET,),
        same_as="dual-stack",
    )
    for vendor in ("panos", "fortigate", "asa", "checkpoint", "srx")
}
CASES = [(name, fmt) for name, v in VARIANTS.items() for fmt in v.formats]


def golden_name(variant: Variant, filename: str) -> str:
    return "/".join(part for part in ("render", variant.folder, filename) if part)


def test_every_output_format_is_wired():
    for fmt in OutputFormat:
        renderer = renderer_for(fmt)
        assert isinstance(renderer, Renderer) and renderer.format is fmt
        assert REGISTRY[fmt] == renderer
        files = render(fmt, example_plan(), OPTIONS)
        assert files and all(text.endswith("\n") for text in files.values())


@pytest.mark.parametrize(("variant", "fmt"), CASES)
def test_every_variant_matches_its_golden_files(variant, fmt):
    v = VARIANTS[variant]
    for name, text in render(fmt, v.plan(), v.options).items():
        assert_golden(golden_name(v, name), text)


def test_every_file_any_renderer_produces_has_a_golden_file():
    """A new format, a new file of an existing format or a new variant cannot go untested; and
    no golden file is left over from an output that is gone."""
    produced: set[str] = set()
    for v in VARIANTS.values():
        for fmt in OutputFormat:
            if before_problem(v.options.panos.before, fmt.value) is not None:
                with pytest.raises(UsageError):  # refused, naming the format
                    render(fmt, v.plan(), v.options)
                continue
            files = render(fmt, v.plan(), v.options)
            if fmt in v.formats:
                produced |= {golden_name(v, name) for name in files}
            else:
                base = VARIANTS[v.same_as]
                assert fmt in base.formats and files == render(fmt, base.plan(), base.options)
    missing = sorted(n for n in produced if not (GOLDEN / n).is_file())
    assert missing == [], f"no golden file for {missing} (UPDATE_GOLDEN=1 writes them)"
    kept = {
        p.relative_to(GOLDEN).as_posix()
        for p in GOLDEN_RENDER.rglob("*")
        if p.is_file() and p.suffix != ".actual"
    }
    assert kept == produced
    names = {n.rsplit("/", 1)[-1] for n in produced}
    assert {"ip6tables.rules", "ip6tables.jump.rules", "nftables.jump.nft"} <= names


def test_the_dual_stack_plan_has_rules_of_both_families():
    plan = dual_stack_plan()
    assert plan.family_rules(4) and plan.family_rules(6)
    files = render(OutputFormat.IPTABLES, plan, OPTIONS)
    assert "2001:db8:" in files["ip6tables.rules"] and "2001:db8:" not in files["iptables.rules"]


def test_rendering_is_deterministic():
    first = {f: render(f, example_plan(), OPTIONS) for f in OutputFormat}
    again = {f: render(f, example_plan(), OPTIONS) for f in OutputFormat}
    assert first == again


def test_the_pf_fragment_passes_the_checker():
    (text,) = render(OutputFormat.PF, example_plan(), OPTIONS).values()
    assert pf_check(text, strict=True) == []


def test_csv_has_the_documented_columns_and_one_row_per_rule():
    (text,) = render(OutputFormat.CSV, example_plan(), OPTIONS).values()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + len(example_plan().rules)
    assert {r[8] for r in rows[1:]} == {"proven", "unverified"}
    assert {(r[9], r[10]) for r in rows[1:]} == {("Identity team", "CHG-1042")}


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\t=x", "\r=x"])
def test_csv_cells_that_look_like_formulas_are_neutralised(value):
    assert csv_cell(value) == "'" + value
    if value[0] in "\t\r":  # control characters never reach a renderer: refused as options
        with pytest.raises(UsageError):
            render_options(requested_by=value, ticket=value)
        return
    options = render_options(requested_by=value, ticket=value)
    (text,) = render(OutputFormat.CSV, example_plan(), options).values()
    for row in list(csv.reader(io.StringIO(text)))[1:]:
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_only_proven_leaves_unverified_rules_out_of_every_format():
    plan = make_plan(example_flows(), example_records(), site=SITE, only_proven=True)
    assert {r.status.value for r in plan.rules} == {"proven"}
    (text,) = render(OutputFormat.CSV, plan, OPTIONS).values()
    assert "unverified" not in text.split("\r\n", 1)[1]


def test_a_user_template_overrides_the_shipped_one(tmp_path: Path):
    (tmp_path / "pf.conf.j2").write_text("# custom {{ site }}\n", encoding="utf-8")
    options = render_options(templates=tmp_path)
    assert render(OutputFormat.PF, example_plan(), options) == {"pf.conf": f"# custom {SITE}\n"}
    # the other formats still come from the shipped templates
    assert "*filter" in render(OutputFormat.IPTABLES, example_plan(), options)["iptables.rules"]


def test_a_template_naming_an_unknown_variable_is_bad_input_located_to_its_line(tmp_path: Path):
    (tmp_path / "pf.conf.j2").write_text("# fine\n{{ no_such_thing }}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        render(OutputFormat.PF, example_plan(), render_options(templates=tmp_path))
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"{tmp_path}/pf.conf.j2:2: template error: 'no_such_thing' is undefined"
    )


def test_a_template_syntax_error_is_bad_input_found_before_rendering(tmp_path: Path):
    (tmp_path / "iptables.rules.j2").write_text("a\nb\n{% for x in rules %}\n{{ x. }}\n")
    (tmp_path / "ticket.md.j2").write_text("{% include 'no-such.j2' %}\n")
    with pytest.raises(InputError) as caught:
        check_templates(tmp_path)
    # only syntax shows without rendering; the missing include shows when the ticket renders
    assert [(p.file, p.line) for p in caught.value.problems] == [
        (f"{tmp_path}/iptables.rules.j2", 4)
    ]
    assert "template error: " in str(caught.value)
    with pytest.raises(InputError, match=r"iptables\.rules\.j2:4: template error"):
        render(OutputFormat.IPTABLES, example_plan(), render_options(templates=tmp_path))
    check_templates(None)  # the shipped templates compile


def test_a_missing_include_is_bad_input(tmp_path: Path):
    (tmp_path / "pf.conf.j2").write_text("{% include 'no-such.j2' %}\n")
    with pytest.raises(InputError, match=r"pf\.conf\.j2:1: template error: .*no-such\.j2"):
        render(OutputFormat.PF, example_plan(), render_options(templates=tmp_path))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chain": "bad chain"},
        {"chain": "-X"},
        {"chain": "A" * 29},
        {"table": "nat;"},
        {"interface": "eth0; reboot"},
        {"position": 0},
        {"hook": "OUTPUT", "interface": "eth0"},
        {"inventory": "a\nb"},
        {"nft_table": "mine"},
        {"nft_table": "own", "nft_chain": "forward"},
    ],
)
def test_placement_options_are_validated(kwargs):
    with pytest.raises(UsageError):
        render_options(**kwargs)


def test_placement_options_reach_the_snippets():
    options = render_options(
        chain="SITE-ALLOW", hook="OUTPUT", position=3, interface="eth1", direction="out"
    )
    files = render(OutputFormat.IPTABLES, example_plan(), options)
    assert "-I OUTPUT 3 -j SITE-ALLOW" in files["iptables.jump.rules"]
    assert "-A SITE-ALLOW -o eth1 " in files["iptables.rules"]
    nft = render(OutputFormat.NFTABLES, example_plan(), options)
    assert "insert rule inet filter output jump auditor_" in nft["nftables.jump.nft"]
    assert 'oifname "eth1"' in nft["nftables.nft"]
    own = render(OutputFormat.NFTABLES, example_plan(), render_options(options, nft_table="own"))
    assert list(own) == ["nftables.nft"] and "hook output" in own["nftables.nft"]
    (pf,) = render(OutputFormat.PF, example_plan(), options).values()
    assert "pass out quick on eth1 inet proto tcp" in pf


def test_the_ticket_has_every_section_a_firewall_team_needs():
    (text,) = render(OutputFormat.TICKET, example_plan(), OPTIONS).values()
    for heading in (
        "## Summary",
        "## Why",
        "## Flows to allow",
        "## Probe evidence",
        "## Implementation",
        "## Rollback",
        "## Verify afterwards",
    ):
        assert heading in text
    assert "**any**" in text and "**either** appliance" in text
    assert "auditor probe examples/pair.yaml" in text
    chain = OPTIONS.names(example_plan()).chain
    assert f"-I FORWARD 1 -j {chain}" in text


@pytest.mark.parametrize("nft_table", [None, "own"])
def test_a_ticket_too_long_to_inline_lists_every_snippet_file(nft_table: str | None):
    # 20 x 127 isolated (unmergeable) addresses: more iptables lines than the ticket inlines,
    # so it names the files instead, and must name each one it would otherwise show.
    flows = [
        flow(f"198.51.100.{s}", f"203.0.113.{d}", 636)
        for s in range(1, 40, 2)
        for d in range(1, 255, 2)
    ]
    plan = make_plan(flows, [record(f, Status.FILTERED) for f in flows], site=SITE)
    options = render_options(OPTIONS, nft_table=nft_table)
    produced = {
        name for fmt in (OutputFormat.IPTABLES, OutputFormat.NFTABLES, OutputFormat.PF)
        for name in render(fmt, plan, options)
    }  # fmt: skip
    iptables_lines = render(OutputFormat.IPTABLES, plan, options)["iptables.rules"].count("\n")
    assert iptables_lines > MAX_INLINE_LINES
    (ticket,) = render(OutputFormat.TICKET, plan, options).values()
    assert "-A AUD-" not in ticket  # the rules are not inlined
    listed = ticket.split("generated beside this ticket:", 1)[1].split("\n\n", 1)[0]
    assert {name.strip(" `.\n") for name in listed.split(",")} == produced


def test_a_change_is_named_for_its_rules_and_every_file_names_it():
    plan = example_plan()
    names = OPTIONS.names(plan)
    assert names == OPTIONS.names(example_plan())  # re-rendered: the same names
    other = make_plan(example_flows(), example_records(), site=SITE, only_proven=True)
    assert OPTIONS.names(other).chain != names.chain
    assert render_options(OPTIONS, chain="MY-CHAIN").names(plan).chain == "MY-CHAIN"
    assert names.chain == f"AUD-support-example-{plan.change_id}" and len(names.chain) <= 28
    files = {}
    for fmt in OutputFormat:
        files.update(render(fmt, plan, OPTIONS))
    assert f"-X {names.chain}" in files["iptables.rules"].split("*filter")[0]
    assert f"nft delete chain inet filter {names.nft_chain}" in files["nftables.nft"]
    assert f"pfctl -a {names.pf_anchor} -F all" in files["pf.conf"]
    rollback = files["ticket.md"].split("## Rollback", 1)[1].split("## Verify", 1)[0]
    assert f"iptables -t filter -X {names.chain}\n" in rollback
    assert f"nft delete chain inet filter {names.nft_chain}\n" in rollback
    assert f"pfctl -a {names.pf_anchor} -F all\n" in rollback
    own = render_options(OPTIONS, nft_table="own").names(plan)
    (own_text,) = render(
        OutputFormat.NFTABLES, plan, render_options(OPTIONS, nft_table="own")
    ).values()
    assert own.nft_table == f"inet auditor_support_example_com_{plan.change_id}"
    assert f"delete table {own.nft_table}\n" in own_text


def test_nftables_goes_into_inet_filter_by_default_and_own_only_when_asked():
    assert RenderOptions().nftables.table == "inet filter"
    assert render_options(nft_chain="fwd").names(example_plan()).nft_base_chain == "fwd"
    assert render_options(hook="OUTPUT").names(example_plan()).nft_base_chain == "output"
    files = render(OutputFormat.NFTABLES, example_plan(), RenderOptions())
    assert set(files) == {"nftables.nft", "nftables.jump.nft"}
    assert "insert rule inet filter forward jump auditor_" in files["nftables.jump.nft"]
    assert "hook" not in files["nftables.nft"].split("table inet filter {}", 1)[1]


def test_justifications_say_what_refused_can_mean_and_why_peers_need_each_other():
    rules = {r.kinds: r for r in example_plan().rules}
    peer = rules[("peer",)].justification
    assert "unique IPs of both appliances must reach each other on the peer TLS port" in peer
    assert "every address of both appliances" not in peer
    ldaps = rules[("ldaps",)].justification
    assert "refused (a firewall reject, or nothing listening on the port)" in ldaps
    assert "filtered (proven blocked)" in ldaps
    (ticket,) = render(OutputFormat.TICKET, example_plan(), OPTIONS).values()
    assert "| refused (a firewall reject, or nothing listening on the port) |" in ticket
    assert "ESTABLISHED,RELATED" in ticket and "`keep state`" in ticket
    (sheet,) = render(OutputFormat.CSV, example_plan(), OPTIONS).values()
    assert "refused (a firewall reject, or nothing listening on the port)" in sheet


@pytest.mark.parametrize("fmt", [OutputFormat.PF, OutputFormat.ASA])
def test_labels_and_remarks_keep_provider_and_evidence_and_cut_at_a_word_boundary(fmt):
    flows = [flow("198.51.100.10", "203.0.113.10", 636, provider="directory-" + "x" * 20)]
    plan = make_plan(flows, [record(f, Status.REFUSED) for f in flows], site="a" * 300)
    (text,) = render(fmt, plan, OPTIONS).values()
    if fmt is OutputFormat.PF:
        (label,) = [
            line.split('label "', 1)[1].rstrip('"')
            for line in text.splitlines()
            if "label" in line and line.startswith("pass")
        ]
        limit = 63
    else:
        (label,) = [
            line.split(" remark ", 1)[1] for line in text.splitlines() if " remark " in line
        ]
        limit = 100
    assert len(label) <= limit
    assert label.startswith(f"auditor directory-{'x' * 20} ldaps proven refused")
    head = f"auditor directory-{'x' * 20} ldaps proven refused"
    # whole parts only: the change id where it fits, the 300-character site never
    assert label == (head if fmt is OutputFormat.PF else f"{head}, change {plan.change_id}")


def test_a_plan_with_ipv6_rules_only_writes_no_ipv4_chain():
    plan = make_plan(ipv6_flows(), ipv6_records(), site=SITE)
    files = render(OutputFormat.IPTABLES, plan, OPTIONS)
    assert set(files) == {"iptables.rules", "ip6tables.rules", "ip6tables.jump.rules"}
    assert files["iptables.rules"].endswith("# no IPv4 rules in this change: see ip6tables.rules\n")
    assert all(line.startswith("#") for line in files["iptables.rules"].splitlines())
    (ticket,) = render(OutputFormat.TICKET, plan, OPTIONS).values()
    assert "ip6tables-restore --noflush < ip6tables.rules" in ticket
    assert "iptables-restore --noflush < iptables.rules" not in ticket
