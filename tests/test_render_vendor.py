"""The vendor formats admit exactly the flows that need a rule: every generated file is read
back by a reader written from the vendor's grammar, for the example, dual stack and generated
plans; placement options land where the vendor evaluates them; bad options are usage errors."""

from __future__ import annotations

import csv
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress
from plan_factories import (
    AD,
    BACKUP_UNIQUE,
    SHARED,
    SITE,
    example_flows,
    example_records,
    flow,
    record,
)
from render_support import ipv6_flows, ipv6_records
from support.cli import auditor
from support.fuzz import examples
from support.render_options import render_options
from support.vendor import fortigate
from support.vendor.common import ReaderError, admitted, tokens
from vendor_support import (
    DEVICE_FORMATS,
    VENDOR_FORMATS,
    load_changes,
    needing_rules,
    read_back,
    render_and_read,
)

from auditor.errors import UsageError
from auditor.model.inventory import Flow
from auditor.model.record import Status
from auditor.plan import make_plan
from auditor.render import OutputFormat, render
from auditor.render.vendor_objects import Naming, vendor_objects

OPTIONS = render_options(requested_by="Identity team", ticket="CHG-1042", expires="2027-01-31")


def example():
    flows = example_flows() + ipv6_flows()
    records = example_records() + ipv6_records()
    return flows, records, make_plan(flows, records, site=SITE)


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_each_format_admits_exactly_the_missing_flows_of_the_example(fmt):
    flows, records, plan = example()
    policy = render_and_read(plan, fmt, OPTIONS)
    assert admitted(policy) == needing_rules(flows, records)
    if fmt in DEVICE_FORMATS:
        assert len(policy.rules) == len(plan.rules)
    else:  # the sheets: one line per flow that needs a change
        assert len(policy.rules) == len(admitted(policy))


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_only_proven_leaves_the_unverified_flows_out(fmt):
    flows, records, _ = example()
    plan = make_plan(flows, records, site=SITE, only_proven=True)
    policy = render_and_read(plan, fmt, OPTIONS)
    assert admitted(policy) == needing_rules(flows, records, only_proven=True)


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_a_plan_with_nothing_to_allow_configures_nothing(fmt):
    flows = example_flows()
    plan = make_plan(flows, [record(f, Status.OPEN) for f in flows], site=SITE)
    files = render(fmt, plan, OPTIONS)
    if fmt not in DEVICE_FORMATS:
        assert read_back(fmt, files, OPTIONS).rules == []
        return
    (text,) = files.values()
    assert all(line.startswith(("#", "!")) for line in text.splitlines())
    assert "nothing to allow: every required flow is open" in text


# -- generated plans ---------------------------------------------------------------------------


@st.composite
def plans(draw):
    """Flows from a few runs of consecutive sources (so blocks aggregate) to a few
    destinations, on ports that form ranges, v4 or v6, with mixed evidence."""
    family = draw(st.sampled_from([4, 6]))
    base = IPAddress("198.51.100.0" if family == 4 else "2001:db8:5::")
    start = draw(st.integers(0, 40))
    count = draw(st.integers(1, 7))
    sources = [str(IPAddress(base.value + start + i, family)) for i in range(count)]
    dbase = IPAddress("203.0.113.0" if family == 4 else "2001:db8:7::")
    dests = [
        str(IPAddress(dbase.value + d, family))
        for d in draw(st.sets(st.integers(0, 20), min_size=1, max_size=4))
    ]
    low = draw(st.integers(1, 65500))
    # up to 18 ports over a span of 35: ranges, and more than one multiport chunk per rule
    ports = sorted(draw(st.sets(st.integers(low, low + 35), min_size=1, max_size=18)))
    protocols = draw(st.sets(st.sampled_from(["tcp", "udp"]), min_size=1))
    statuses = [Status.OPEN, Status.FILTERED, Status.REFUSED, Status.NOT_LOCAL, Status.UNTESTED]
    flows: list[Flow] = []
    records = []
    for s in sources:
        for d in dests:
            for p in ports:
                for proto in sorted(protocols):
                    f = flow(s, d, p, proto)
                    flows.append(f)
                    status = draw(st.sampled_from(statuses))
                    if status is not Status.UNTESTED or draw(st.booleans()):
                        records.append(record(f, status))
    return flows, records


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_generated_plans_are_admitted_exactly_by_every_format(data):
    flows, records = data
    plan = make_plan(flows, records, site=SITE)
    expected = needing_rules(flows, records)
    if not plan.rules:  # the comment-only files: test_a_plan_with_nothing_to_allow...
        assert expected == set()
        return
    for fmt in VENDOR_FORMATS:
        assert admitted(render_and_read(plan, fmt, OPTIONS)) == expected, fmt


@pytest.mark.parametrize("fmt", DEVICE_FORMATS)
def test_proven_and_unverified_sources_of_one_service_share_one_vendor_rule(fmt):
    """The plan keeps proven and unverified rules apart (the ticket counts them); a vendor rule
    says so in its comment, so one rule holds both when it admits exactly the same flows."""
    flows = [flow(s, d, 636) for s in (SHARED, BACKUP_UNIQUE) for d in AD]
    flows += [flow(s, d, 389) for s in (SHARED, BACKUP_UNIQUE) for d in AD]
    records = [record(f, Status.NOT_LOCAL if str(f.source) == SHARED else Status.FILTERED)
               for f in flows]  # fmt: skip
    plan = make_plan(flows, records, site=SITE)
    assert len(plan.rules) == 2  # proven (the unique address), unverified (the shared one)
    policy = render_and_read(plan, fmt, OPTIONS)
    assert len(policy.rules) == 1
    assert admitted(policy) == needing_rules(flows, records)
    (rule,) = vendor_objects(plan, 63).rules
    assert rule.status == "proven unverified" and "proven unverified" in rule.comment


# -- changes coexist ---------------------------------------------------------------------------


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(), plans())
def test_a_later_change_leaves_the_earlier_one_standing_and_opens_nothing_else(a, b):
    """Change A, then change B for the same site, loaded into one device as the vendor loads
    them: every flow A admitted stays admitted, B's are added, nothing else is; loading A once
    more changes nothing (it replaces only itself)."""
    plan_a, plan_b = (make_plan(f, r, site=SITE) for f, r in (a, b))
    if not plan_a.rules or not plan_b.rules or plan_a.change_id == plan_b.change_id:
        return
    want_a, want_b = needing_rules(*a), needing_rules(*b)
    for fmt in DEVICE_FORMATS:
        files_a, files_b = render(fmt, plan_a, OPTIONS), render(fmt, plan_b, OPTIONS)
        policy, _ = load_changes(fmt, [files_a], OPTIONS)
        assert admitted(policy) == want_a, fmt
        policy, _ = load_changes(fmt, [files_a, files_b], OPTIONS)
        assert admitted(policy) == want_a | want_b, fmt
        again, _ = load_changes(fmt, [files_a, files_b, files_a], OPTIONS)
        assert admitted(again) == want_a | want_b, fmt
        assert len(again.rules) == len(policy.rules), fmt


def test_fortigate_change_applied_again_prints_no_error_and_keeps_one_policy_per_rule():
    """The ticket's apply step: the objects are set again in place, the policies loaded only
    while none of the change's is listed; FortiOS refuses a second policy of one name with an
    error, so the policies file loaded blindly twice is what the step avoids."""
    _, _, plan = example()
    files = render(OutputFormat.FORTIGATE, plan, OPTIONS)
    assert list(files) == ["fortigate.conf", "fortigate.policies.conf"]
    once, device = load_changes(OutputFormat.FORTIGATE, [files], OPTIONS)
    again, device = load_changes(OutputFormat.FORTIGATE, [files, files, files], OPTIONS)
    assert device.errors == []
    assert len(again.rules) == len(plan.rules) and admitted(again) == admitted(once)
    # one policy deleted by hand: applying again deletes the rest by ID and loads them anew
    table, pid, _ = device.policy_named(f"aud-support-example-com-{plan.change_id}-r2")
    del device.tables[table][pid]
    device.apply(files)
    assert device.errors == [] and admitted(device.policy()) == admitted(once)
    assert len(device.policy().rules) == len(plan.rules)
    blind = fortigate.Device().load(files["fortigate.conf"])
    blind.load(files["fortigate.policies.conf"]).load(files["fortigate.policies.conf"])
    assert len(blind.errors) == len(plan.rules)
    assert all("is used by policy" in e for e in blind.errors)


def test_a_checkpoint_change_run_twice_sets_what_exists_and_adds_nothing_twice():
    _, _, plan = example()
    files = render(OutputFormat.CHECKPOINT, plan, OPTIONS)
    once, _ = load_changes(OutputFormat.CHECKPOINT, [files], OPTIONS)
    twice, _ = load_changes(OutputFormat.CHECKPOINT, [files, files], OPTIONS)
    assert [r.name for r in twice.rules] == [r.name for r in once.rules]
    assert admitted(twice) == admitted(once)
    for name, text in files.items():
        rows = list(csv.DictReader(io.StringIO(text))) if name.endswith(".csv") else []
        if rows and "members.add" not in rows[0]:  # every add and set ignores warnings
            assert {r["ignore-warnings"] for r in rows} == {"true"}, name


def test_checkpoint_tag_is_added_once_and_tags_every_rule_also_when_run_again():
    _, _, plan = example()
    options = render_options(OPTIONS, checkpoint_tag="auditor changes")
    files = render(OutputFormat.CHECKPOINT, plan, options)
    _, device = load_changes(OutputFormat.CHECKPOINT, [files, files], options)
    assert list(device.objects["tag"]) == ["auditor changes"]
    rules = device.rules["Network"]
    assert len(rules) == len(plan.rules)
    assert {r["tags.1"] for r in rules} == {"auditor changes"}
    # a tag another change (or a person) created is used as it is, not set again
    ipv4_only = make_plan(example_flows(), example_records(), site=SITE)
    assert ipv4_only.change_id != plan.change_id
    other = render(OutputFormat.CHECKPOINT, ipv4_only, options)
    _, device = load_changes(OutputFormat.CHECKPOINT, [files, other], options)
    assert list(device.objects["tag"]) == ["auditor changes"]
    assert len(device.rules["Network"]) == len(plan.rules) + len(ipv4_only.rules)
    assert {r["tags.1"] for r in device.rules["Network"]} == {"auditor changes"}
    untagged = render(OutputFormat.CHECKPOINT, plan, OPTIONS)
    assert "checkpoint-tags.csv" not in untagged
    assert all("tags.1" not in text for text in untagged.values())


@pytest.mark.parametrize("tag", ["a,b", "x\n", " lead", "t" * 64])
def test_a_checkpoint_tag_outside_the_name_alphabet_is_refused(tag):
    with pytest.raises(UsageError, match="--checkpoint-tag"):
        render_options(checkpoint_tag=tag)


# -- placement ---------------------------------------------------------------------------------


def test_panos_moves_each_rule_top_in_reverse_or_before_the_deny_rule():
    _, _, plan = example()
    text = render(OutputFormat.PANOS, plan, OPTIONS)["panos.set"]
    moves = [line for line in text.splitlines() if line.startswith("move ")]
    rules = [f"aud-support-example-com-{plan.change_id}-r{i}" for i in range(1, 6)]
    assert moves == [f"move rulebase security rules {r} top" for r in reversed(rules)]
    options = render_options(
        OPTIONS, before="deny-all", panos_device_group="DG1", from_zone="trust"
    )
    policy = render_and_read(plan, OutputFormat.PANOS, options)
    assert policy.placement == dict.fromkeys(rules, "before deny-all")
    text = render(OutputFormat.PANOS, plan, options)["panos.set"]
    assert all(line.split()[1:3] == ["device-group", "DG1"] for line in text.splitlines())
    assert " pre-rulebase security rules " in text and " from trust to any " in text


def test_fortigate_policies_are_created_with_edit_0_and_named_for_the_change():
    _, _, plan = example()
    options = render_options(OPTIONS, srcintf="port1", dstintf="port2")
    text = "".join(render(OutputFormat.FORTIGATE, plan, options).values())
    edits = [line.strip() for line in text.splitlines() if line.strip().startswith("edit ")]
    assert edits.count("edit 0") == len(plan.rules)
    assert "move " not in text and "set protocol" not in text
    device = fortigate.Device(("port1", "port2")).load(text)
    for i in range(1, len(plan.rules) + 1):
        name = f"aud-support-example-com-{plan.change_id}-r{i}"
        assert len(name) <= 35
        assert device.policy_named(name)[1] == str(i)  # the device picked 1, 2, ...
    assert render_and_read(plan, OutputFormat.FORTIGATE, options).placement == {}


def test_fortios_6_4_keeps_ipv6_policies_in_policy6():
    _, _, plan = example()
    text = "".join(
        render(OutputFormat.FORTIGATE, plan, render_options(OPTIONS, fortios="6.4")).values()
    )
    assert "config firewall policy6" in text and "srcaddr6" not in text
    later = "".join(render(OutputFormat.FORTIGATE, plan, OPTIONS).values())
    assert "config firewall policy6" not in later and "set srcaddr6 " in later
    flows, records, _ = example()
    assert admitted(fortigate.read(text)) == needing_rules(flows, records)


def test_asa_entries_go_to_line_1_or_ahead_of_the_given_line_in_plan_order():
    _, _, plan = example()
    for before, first in ((None, 1), ("12", 12)):
        options = render_options(OPTIONS, before=before, acl="outside_in")
        policy = render_and_read(plan, OutputFormat.ASA, options)
        # remark then permit per rule: the permits sit on every second line from `first`
        assert [int(v) for v in policy.placement.values()] == [
            first + 1 + 2 * i for i in range(len(plan.rules))
        ]
    text = render(OutputFormat.ASA, plan, render_options(OPTIONS, acl="outside_in"))["asa.cfg"]
    assert "access-list outside_in line 1 remark " in text


def test_checkpoint_rules_keep_the_plan_order_at_the_top_above_a_rule_or_from_a_number():
    _, _, plan = example()
    policy = render_and_read(plan, OutputFormat.CHECKPOINT, OPTIONS)
    assert set(policy.placement.values()) == {"top"}
    # written last first, so that each `top` ends above the next one: the layer reads r1..r5
    in_order = sorted(policy.placement, key=_rule_number)
    assert [r.name for r in policy.rules] == in_order
    options = render_options(OPTIONS, before="Cleanup", acl="Corp_Network")
    policy = render_and_read(plan, OutputFormat.CHECKPOINT, options)
    assert set(policy.placement.values()) == {"above Cleanup"}
    assert [r.name for r in policy.rules] == in_order
    policy = render_and_read(plan, OutputFormat.CHECKPOINT, render_options(OPTIONS, before="4"))
    assert list(policy.placement.values()) == [str(4 + i) for i in range(len(plan.rules))]
    assert [r.name for r in policy.rules] == in_order


def _rule_number(name: str) -> int:
    return int(name.rsplit("-r", 1)[1])


def test_srx_uses_global_policies_for_any_zone_and_a_zone_context_otherwise():
    _, _, plan = example()
    text = render(OutputFormat.SRX, plan, OPTIONS)["srx.set"]
    assert " policies global policy " in text and "insert" not in text
    options = render_options(OPTIONS, from_zone="trust", to_zone="untrust", before="deny-rest")
    policy = render_and_read(plan, OutputFormat.SRX, options)
    assert set(policy.placement.values()) == {"before deny-rest"}
    one_zone = render_options(OPTIONS, from_zone="trust")
    assert render_and_read(plan, OutputFormat.SRX, one_zone).rules


def test_request_sheet_rows_carry_role_state_expiry_and_evidence_one_flow_each():
    flows, records, plan = example()
    text = render(OutputFormat.REQUEST_CSV, plan, OPTIONS)["request.csv"]
    rows = list(csv.reader(io.StringIO(text)))[1:]  # every cell quoted
    assert len(rows) == len(needing_rules(flows, records))
    assert {r[0] for r in rows} == {"CHG-1042"}
    shared = next(r for r in rows if r[1] == "198.51.100.10")
    assert shared[2] == "shared" and "primary only" in shared[3]
    assert {r[2] for r in rows} == {"shared", "unique"}  # one address, one role
    assert all("/" not in r[1] and "-" not in r[6] for r in rows)
    assert all("2027-01-31" in line for line in text.splitlines()[1:])
    assert any(r[-1] == "proven: filtered" for r in rows)


def test_tufin_and_algosec_files_follow_the_tools_columns_and_split_families():
    flows, records, plan = example()
    options = render_options(
        OPTIONS, requested_by="identity@example.com", tufin_workflow="Firewall AR"
    )
    tufin = list(
        csv.DictReader(io.StringIO(render(OutputFormat.TUFIN, plan, options)["tufin.csv"]))
    )
    assert {r["Action"] for r in tufin} == {"Accept"} and {r["Protocol"] for r in tufin} == {
        "TCP",
        "UDP",
    }
    assert {r["Workflow"] for r in tufin} == {"Firewall AR"}
    assert {r["Requester"] for r in tufin} == {"identity@example.com"}
    assert all("source shared" in r["Comment"] or "source unique" in r["Comment"] for r in tufin)
    files = render(OutputFormat.ALGOSEC, plan, options)
    assert set(files) == {"algosec.csv", "algosec-ipv6.csv"}
    v4 = list(csv.DictReader(io.StringIO(files["algosec.csv"])))
    v6 = list(csv.DictReader(io.StringIO(files["algosec-ipv6.csv"])))
    assert all(":" not in r["Source"] for r in v4) and all(":" in r["Source"] for r in v6)
    assert {r["Service"] for r in v4} >= {"tcp/636", "udp/1812"}
    assert {r["Requestor"] for r in v4 + v6} == {"identity@example.com"}
    assert len(v4) + len(v6) == len(tufin) == len(needing_rules(flows, records))
    # not an e-mail address: FireFlow takes the requestor from the user who uploads
    files = render(OutputFormat.ALGOSEC, plan, OPTIONS)
    assert {r["Requestor"] for r in csv.DictReader(io.StringIO(files["algosec.csv"]))} == {""}


@pytest.mark.parametrize(
    ("vendor", "command"),
    [
        ("panos", "test security-policy-match source {s} destination {d} protocol"),
        ("fortigate", "diagnose debug flow filter saddr {s}"),
        ("asa", "packet-tracer input INTERFACE {p} {s} 1025 {d} "),
        ("checkpoint", '"src:{s} AND dst:{d} AND svc:{p}/'),
        ("srx", "source-ip {s} destination-ip {d} "),
    ],
)
def test_the_vendor_ticket_verifies_every_source_of_every_flow_the_backup_included(vendor, command):
    flows, records, plan = example()
    ticket = render(OutputFormat.TICKET, plan, render_options(OPTIONS, vendor=vendor))["ticket.md"]
    verify = ticket.split("Verify", 1)[1].split("## Rollback", 1)[0]
    for s, d, proto, _ in needing_rules(flows, records):
        src, dst = str(IPAddress(s)), str(IPAddress(d))
        line = command.format(s=src, d=dst, p=proto)
        assert line in verify or (vendor == "fortigate" and line in verify), (src, dst)
    assert BACKUP_UNIQUE in verify and SHARED in verify
    # every group is described by what it holds, member by member
    for g in vendor_objects(plan, 63).groups:
        assert f"| `{g.name}` | {g.description} |" in ticket or vendor in ("fortigate", "asa")


# -- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expires", "31/01/2027"),
        ("expires", "2027-02-30"),
        ("expires", "20270131"),
        ("before", 'deny" ; delete'),
        ("panos_device_group", "dg one"),
        ("from_zone", "-x"),
        ("srcintf", "port1\nend"),
        ("acl", "a" * 64),
        ("vendor", "cisco"),
    ],
)
def test_bad_vendor_options_are_usage_errors(field, value):
    with pytest.raises(UsageError) as caught:
        render_options(**{field: value})
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("fmt", "before", "said"),
    [
        (
            OutputFormat.FORTIGATE,
            "7",
            "fortigate: --before '7': cannot place its policies before a",
        ),
        (OutputFormat.FORTIGATE, "deny-all", "fortigate: --before 'deny-all': cannot place"),
        (OutputFormat.ASA, "deny-all", "asa: --before 'deny-all': needs the ACL line number"),
        (OutputFormat.PANOS, "5", "panos: --before '5': reads --before as a rule name, not a"),
        (OutputFormat.SRX, "5", "srx: --before '5': reads --before as a rule name, not a"),
    ],
)
def test_a_before_a_format_cannot_honour_is_refused_naming_that_format(fmt, before, said):
    _, _, plan = example()
    with pytest.raises(UsageError) as caught:
        render(fmt, plan, render_options(OPTIONS, before=before))
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_the_reader_tokenizer_refuses_what_would_break_out():
    assert tokens('set x "a b" c') == ["set", "x", "a b", "c"]
    for bad in ('set x "a', 'set x a"b', "set x a\\", 'set "a"b', "a\x00"):
        with pytest.raises(ReaderError):
            tokens(bad)


@pytest.mark.parametrize(
    ("fmt", "junk"),
    [
        (OutputFormat.PANOS, "set rulebase security rules x from any"),
        (OutputFormat.FORTIGATE, "config firewall vip"),
        (OutputFormat.ASA, "access-list x line 1 extended permit ip any any"),
        (OutputFormat.SRX, "set security policies global policy x then permit count"),
        (OutputFormat.REQUEST_CSV, "a,b"),
    ],
)
def test_readers_refuse_what_they_do_not_understand(fmt, junk):
    _, _, plan = example()
    files = render(fmt, plan, OPTIONS)
    read_back(fmt, files, OPTIONS)  # as generated: fine
    for name, text in files.items():  # junk in any of the files
        with pytest.raises(ReaderError):
            read_back(fmt, {**files, name: text + junk + "\r\n"}, OPTIONS)


def test_the_checkpoint_reader_refuses_an_unpublished_or_extra_command():
    _, _, plan = example()
    files = render(OutputFormat.CHECKPOINT, plan, OPTIONS)
    script = files["checkpoint.sh"]
    for broken in (
        script.replace('mgmt_cli publish -s "$session"\n', ""),
        script + "rm -rf /\n",
        script.replace("sort_rows checkpoint-hosts.csv", "sort_rows ../hosts.csv"),
        script.replace('grep -qxF -- "${row%%,*}"', 'grep -qF -- "${row%%,*}"'),
    ):
        with pytest.raises(ReaderError):
            read_back(OutputFormat.CHECKPOINT, {**files, "checkpoint.sh": broken}, OPTIONS)


def test_audit_refuses_a_named_before_for_asa_before_probing(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "secret")
    example = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"
    out = tmp_path / "out"
    args = ["audit", str(example), "-o", str(out), "--store", str(tmp_path / "h.db")]
    result = auditor(*args, "--format", "asa", "--before", "deny-all")
    assert result.returncode == 2
    assert "asa: --before 'deny-all': needs the ACL line number" in result.stderr
    assert not out.exists() and not (tmp_path / "h.db").exists()


def test_long_object_names_end_in_a_stable_hash_within_the_limit():
    naming = Naming(35, "x" * 100, "abcdef")
    long_what = "svc-tcp-" + "_".join(str(p) for p in range(1000, 1030, 2))
    name = naming.name(long_what)
    assert len(name) <= 35 and name == naming.name(long_what)
    assert name != naming.name(long_what + "_2000")
    assert re.fullmatch(r"aud-x{8,}-abcdef-svc-tcp[0-9_-]*-[0-9a-f]{6}", name), name
    assert Naming(63, "site", "abcdef").name("r1") == "aud-site-abcdef-r1"


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_a_port_list_longer_than_one_rule_holds_is_split_and_still_exact(fmt):
    ports = [*range(1000, 1012), *range(2000, 2030, 2), 3268, 3269, 5000]
    flows = [
        flow(s, d, p)
        for s in ("198.51.100.8", "198.51.100.9", "198.51.100.10", "198.51.100.11")
        for d in ("203.0.113.4", "203.0.113.5")
        for p in ports
    ]
    records = [record(f, Status.FILTERED) for f in flows]
    plan = make_plan(flows, records, site=SITE)
    assert len(plan.rules) > 1 and plan.rules[0].sources[0].prefixlen == 30
    policy = render_and_read(plan, fmt, OPTIONS)
    assert admitted(policy) == needing_rules(flows, records)


@pytest.mark.parametrize("fmt", VENDOR_FORMATS)
def test_examples_pair_yaml_with_the_lab_story_is_admitted_exactly(fmt):
    from pathlib import Path

    from auditor.flows.prepare import prepare

    pair = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"
    prepared = prepare(pair, resolve=False)
    records = example_records(prepared.flows)
    plan = make_plan(prepared.flows, records, site=prepared.inventory.site.name)
    assert plan.rules
    policy = render_and_read(plan, fmt, OPTIONS)
    assert admitted(policy) == needing_rules(prepared.flows, records)
