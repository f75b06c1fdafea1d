"""The planner: which flows get a rule, and rules that admit exactly those flows."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPSet, cidr_merge
from plan_factories import (
    AD,
    BACKUP_UNIQUE,
    PRIMARY_UNIQUE,
    SHARED,
    SITE,
    example_flows,
    example_records,
    flow,
    record,
)
from support.model import port_list

from auditor.model.inventory import Protocol
from auditor.model.record import Status
from auditor.model.verdict import FlowVerdict
from auditor.plan import (
    MULTIPORT_SLOTS,
    PlannedRule,
    RuleStatus,
    make_plan,
    merge_addresses,
    port_chunks,
)


def expand(rules: tuple[PlannedRule, ...]) -> set[tuple[str, str, str, int]]:
    """Every (source, destination, protocol, port) the rules admit."""
    out: set[tuple[str, str, str, int]] = set()
    for r in rules:
        for s in IPSet(r.sources):
            for d in IPSet(r.destinations):
                for p in port_list(r):
                    out.add((str(s), str(d), r.protocol.value, p))
    return out


def test_a_blocked_flow_gets_a_proven_rule_and_an_open_one_none():
    blocked = flow(BACKUP_UNIQUE, AD[0], 636)
    open_ = flow(PRIMARY_UNIQUE, AD[0], 636)
    plan = make_plan(
        [blocked, open_],
        [record(blocked, Status.FILTERED), record(open_, Status.OPEN)],
        site=SITE,
    )
    assert expand(plan.rules) == {(BACKUP_UNIQUE, AD[0], "tcp", 636)}
    assert plan.rules[0].status is RuleStatus.PROVEN
    assert plan.counts.missing == 1 and plan.counts.open == 1


def test_refused_and_unreachable_are_missing_too():
    flows = [flow(BACKUP_UNIQUE, AD[0], 636), flow(BACKUP_UNIQUE, AD[1], 636)]
    plan = make_plan(
        flows,
        [record(flows[0], Status.REFUSED), record(flows[1], Status.UNREACHABLE)],
        site=SITE,
    )
    assert plan.counts.missing == 2
    assert plan.rules[0].evidence == (Status.REFUSED, Status.UNREACHABLE)


def test_untestable_flows_are_unverified_rules_unless_only_proven():
    not_local = flow(SHARED, AD[0], 636)
    untested = flow(SHARED, AD[0], 1812, "udp", "corp-radius", "radius")
    no_record = flow(SHARED, AD[1], 636)
    errored = flow(BACKUP_UNIQUE, AD[1], 636)
    records = [
        record(not_local, Status.NOT_LOCAL),
        record(untested, Status.UNTESTED),
        record(errored, Status.ERROR, reason="EPERM"),
    ]
    flows = [not_local, untested, no_record, errored]
    plan = make_plan(flows, records, site=SITE)
    assert plan.counts.unverified == 4
    assert {r.status for r in plan.rules} == {RuleStatus.UNVERIFIED}
    assert len(expand(plan.rules)) == 4
    proven_only = make_plan(flows, records, site=SITE, only_proven=True)
    assert proven_only.rules == ()
    assert proven_only.counts.unverified == 4  # still counted, just not planned


def test_tls_and_bind_failures_are_listed_with_their_cause_never_as_rules():
    f = flow(PRIMARY_UNIQUE, AD[0], 636)
    plan = make_plan(
        [f],
        [
            record(f, Status.OPEN),
            record(f, Status.TLS_FAILED, check="tls", reason="hostname-mismatch"),
            record(f, Status.SKIPPED, check="ldap-bind"),
        ],
        site=SITE,
    )
    assert plan.rules == ()
    assert plan.counts.app_failed == 1
    (failure,) = plan.app_failures
    assert (failure.check, failure.status, failure.reason) == (
        "tls",
        Status.TLS_FAILED,
        "hostname-mismatch",
    )


def test_a_bind_failure_without_a_tcp_record_still_proves_reachability():
    f = flow(PRIMARY_UNIQUE, AD[0], 636)
    plan = make_plan(
        [f], [record(f, Status.BIND_INVALID_CREDENTIALS, check="ldap-bind")], site=SITE
    )
    assert plan.rules == () and plan.counts.app_failed == 1


def test_hostname_destinations_cannot_become_rules():
    f = flow(PRIMARY_UNIQUE, AD[0], 636)
    named = type(f)(**{**{k: getattr(f, k) for k in f.__slots__}, "destination": "ad.example"})
    plan = make_plan([named], [], site=SITE)
    assert plan.rules == () and plan.counts.no_address == 1
    assert plan.evidence[0].verdict is FlowVerdict.NO_ADDRESS


def test_the_example_plan():
    plan = make_plan(example_flows(), example_records(), site=SITE)
    summary = [
        (
            [str(s) for s in r.sources],
            [str(d) for d in r.destinations],
            r.protocol.value,
            [str(p) for p in r.ports],
            r.status.value,
        )
        for r in plan.rules
    ]
    assert summary == [
        (["198.51.100.12/32"], ["198.51.100.11/32"], "tcp", ["443"], "proven"),
        (
            ["198.51.100.10/32", "198.51.100.12/32"],
            ["203.0.113.10/31"],
            "tcp",
            ["636"],
            "proven",
        ),
        (
            ["198.51.100.10/31", "198.51.100.12/32"],
            ["203.0.113.30/32"],
            "udp",
            ["123"],
            "unverified",
        ),
        (
            ["198.51.100.10/31", "198.51.100.12/32"],
            ["203.0.113.20/32"],
            "udp",
            ["1812"],
            "unverified",
        ),
    ]
    assert plan.counts.required == 14 and plan.counts.open == 3


def test_merging_never_widens():
    # .1 .2 .3 are required, .0 is not: no /30, however tempting
    assert [
        str(n) for n in merge_addresses([int(IPAddress(f"192.0.2.{i}")) for i in (1, 2, 3)], 4)
    ] == [
        "192.0.2.1/32",
        "192.0.2.2/31",
    ]
    full = [int(IPAddress(f"192.0.2.{i}")) for i in range(256)]
    assert [str(n) for n in merge_addresses(full, 4)] == ["192.0.2.0/24"]


def test_ports_fit_a_multiport_match():
    chunks = port_chunks(list(range(1000, 1040, 2)))  # 20 single ports
    assert [sum(r.slots for r in c) for c in chunks] == [15, 5]
    ranged = port_chunks([*range(100, 110), 200, 300])  # 100-109 counts two slots
    assert [str(r) for r in ranged[0]] == ["100-109", "200", "300"]
    assert all(sum(r.slots for r in c) <= MULTIPORT_SLOTS for c in port_chunks(range(0, 4000, 3)))


def test_ipv4_and_ipv6_stay_apart():
    v4 = flow(BACKUP_UNIQUE, AD[0], 636)
    v6 = flow("2001:db8::12", "2001:db8:1::10", 636)
    plan = make_plan(
        [v4, v6], [record(v4, Status.FILTERED), record(v6, Status.FILTERED)], site=SITE
    )
    assert [r.family for r in plan.rules] == [4, 6]
    assert all({n.version for n in r.sources + r.destinations} == {r.family} for r in plan.rules)


def test_the_plan_does_not_depend_on_input_order():
    flows = list(example_flows())
    records = list(example_records())
    first = make_plan(flows, records, site=SITE)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(flows)
        rng.shuffle(records)
        assert make_plan(flows, records, site=SITE).rules == first.rules


_STATUSES = [Status.OPEN, Status.FILTERED, Status.REFUSED, Status.NOT_LOCAL, Status.UNTESTED]


@st.composite
def scenarios(draw):
    """Random flows over small address pools (so blocks can merge) and random evidence."""
    srcs = draw(st.lists(st.integers(0, 15), min_size=1, max_size=8, unique=True))
    dsts = draw(st.lists(st.integers(0, 31), min_size=1, max_size=10, unique=True))
    ports = draw(st.lists(st.integers(1, 40), min_size=1, max_size=20, unique=True))
    v6 = draw(st.booleans())
    flows, records = [], []
    for s in srcs:
        for d in dsts:
            for p in ports:
                proto = draw(st.sampled_from(["tcp", "udp"]))
                src = f"2001:db8::{s:x}" if v6 else f"198.51.100.{s}"
                dst = f"2001:db8:1::{d:x}" if v6 else f"203.0.113.{d}"
                f = flow(src, dst, p, proto)
                flows.append(f)
                status = draw(st.sampled_from([*_STATUSES, None]))
                if status is not None:
                    records.append(record(f, status))
    return flows, records


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.booleans())
def test_rules_admit_exactly_the_flows_that_need_one(scenario, only_proven):
    flows, records = scenario
    plan = make_plan(flows, records, site=SITE, only_proven=only_proven)
    seen = {r.key: r.status for r in records}
    wanted = set()
    for f in flows:
        status = seen.get(f.key)
        blocked = status in (Status.FILTERED, Status.REFUSED)
        untestable = status is None or status in (Status.NOT_LOCAL, Status.UNTESTED)
        if blocked or (untestable and not only_proven):
            wanted.add(f.key)
    assert expand(plan.rules) == wanted
    assert sum(r.flows for r in plan.rules) == len(wanted)  # no flow admitted twice
    for r in plan.rules:
        assert sum(p.slots for p in r.ports) <= MULTIPORT_SLOTS
        assert r.protocol in (Protocol.TCP, Protocol.UDP)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 600), min_size=1, max_size=200), st.sampled_from([4, 6]))
def test_cidr_blocks_equal_netaddr_cidr_merge(offsets, family):
    base = int(IPAddress("192.0.2.0" if family == 4 else "2001:db8::"))
    values = {base + o for o in offsets}
    assert list(merge_addresses(values, family)) == cidr_merge(
        [IPAddress(v, family) for v in values]
    )
