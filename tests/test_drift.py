"""Drift between two audit runs: each kind of change, and which ones matter (exit 1)."""

from __future__ import annotations

import json

import pytest
import report_factories as rf
from support.model import of_kind

from auditor.history.drift import (
    DriftKind,
    DriftReport,
    Observation,
    changes,
    compare,
    drift_report,
    matters,
)
from auditor.model.inventory import Flow
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import Verdict
from auditor.report.drift_formats import DriftFormat, render_drift

BASE = {"run_id": "base", "started_at": "2026-11-23T01:00:00+00:00"}


def kinds(report: DriftReport) -> set[DriftKind]:
    return {i.kind for i in report.items}


def test_no_change_is_no_drift_exit_0() -> None:
    report = compare(rf.green_run(**BASE), rf.green_run(run_id="now"))
    assert report.items == ()
    assert not report.matters and not report.matters


def test_flows_newly_blocked_matter() -> None:
    report = compare(rf.green_run(**BASE), rf.run(run_id="now", ad_days={rf.AD1: 200, rf.AD2: 150}))
    blocked = of_kind(report, DriftKind.NEWLY_BLOCKED)
    assert [i.subject for i in blocked] == [
        "198.51.100.11 -> 203.0.113.10:636/tcp (corp-ad)",
        "198.51.100.11 -> 203.0.113.11:636/tcp (corp-ad)",
        "198.51.100.11 -> 203.0.113.20:1812/udp (corp-radius)",
    ]
    assert all(i.before == "open" and i.after == "filtered" and i.matters for i in blocked)
    assert report.matters


def test_flows_newly_open_alone_do_not_matter() -> None:
    report = compare(rf.run(**BASE, ad_days={rf.AD1: 200, rf.AD2: 150}), rf.green_run(run_id="now"))
    opened = of_kind(report, DriftKind.NEWLY_OPEN)
    assert len(opened) == 3
    assert all(not i.matters for i in opened)
    # The TLS check that recovered is reported too, and does not matter either.
    (tls,) = of_kind(report, DriftKind.TLS_CHANGED)
    assert (tls.before, tls.after, tls.matters) == ("tls-failed", "tls-ok", False)
    assert not report.matters


def test_flows_newly_unverified_matter() -> None:
    def shared_gone(flow: Flow) -> tuple[Status, ...] | None:
        return None if str(flow.source) == rf.SHARED else rf.all_good(flow)

    report = compare(rf.green_run(**BASE), rf.green_run(run_id="now", outcome=shared_gone))
    items = of_kind(report, DriftKind.NEWLY_UNVERIFIED)
    assert len(items) == 3
    assert all(i.after == "not-local" and i.matters for i in items)
    assert report.matters


def test_bind_results_changed() -> None:
    def bad_bind(flow: Flow) -> tuple[Status, ...] | None:
        if str(flow.destination) == rf.AD1 and str(flow.source) == rf.SHARED:
            return (Status.OPEN, Status.TLS_OK, Status.BIND_INVALID_CREDENTIALS)
        return rf.all_good(flow)

    worse = compare(rf.green_run(**BASE), rf.green_run(run_id="now", outcome=bad_bind))
    (item,) = worse.items
    assert item.kind is DriftKind.BIND_CHANGED
    assert item.subject == "198.51.100.10 -> 203.0.113.10:636/tcp (corp-ad) [ldap-bind]"
    assert (item.before, item.after, item.matters) == ("bind-ok", "bind-invalid-credentials", True)
    better = compare(rf.green_run(**BASE, outcome=bad_bind), rf.green_run(run_id="now"))
    assert [(i.kind, i.matters) for i in better.items] == [(DriftKind.BIND_CHANGED, False)]


def test_certificate_changed_matters() -> None:
    report = compare(rf.green_run(**BASE), rf.green_run(run_id="now", cert_serial="2"))
    changed = of_kind(report, DriftKind.CERT_CHANGED)
    assert [i.subject for i in changed] == ["corp-ad 203.0.113.10:636", "corp-ad 203.0.113.11:636"]
    assert "serial=1" in changed[0].before and "serial=2" in changed[0].after
    assert report.matters


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [(45, 20, ["under 30 days"]), (30, 29, ["under 30 days"]), (5, -1, ["expired"]),
     (31, -2, ["under 30 days", "expired"]), (29, 20, []), (200, 199, [])],
)  # fmt: skip
def test_certificate_crossing_the_expiry_threshold(
    before: int, after: int, crossed: list[str]
) -> None:
    base = rf.green_run(**BASE, ad_days={rf.AD1: 200, rf.AD2: before})
    now = rf.green_run(run_id="now", ad_days={rf.AD1: 200, rf.AD2: after})
    items = of_kind(compare(base, now), DriftKind.CERT_EXPIRING)
    assert [i.detail.split("certificate now ")[1].split(" (")[0] for i in items] == crossed
    assert all(i.subject == "corp-ad 203.0.113.11:636" and i.matters for i in items)


def test_addresses_added_and_removed() -> None:
    grown = rf.inventory(extra_backup=("198.51.100.13",))
    added = compare(rf.green_run(**BASE), rf.green_run(run_id="now", inv=grown))
    (item,) = of_kind(added, DriftKind.ADDRESS_ADDED)
    assert item.subject == "198.51.100.13/24 (unique) on backup"
    assert item.matters
    removed = compare(rf.green_run(**BASE, inv=grown), rf.green_run(run_id="now"))
    assert [i.subject for i in of_kind(removed, DriftKind.ADDRESS_REMOVED)] == [
        "198.51.100.13/24 (unique) on backup"
    ]


def test_shared_ip_enabled_on_the_other_appliance_is_a_failover() -> None:
    swapped = rf.inventory(shared_on_backup=True)
    report = compare(rf.green_run(**BASE), rf.green_run(run_id="now", inv=swapped))
    (item,) = of_kind(report, DriftKind.FAILOVER)
    assert item.subject == "198.51.100.10/24 (shared)"
    assert (item.before, item.after) == ("site1", "site2")
    assert "a failover happened" in item.detail
    assert of_kind(report, DriftKind.ADDRESS_ENABLED_CHANGED) == ()
    assert report.matters


def test_items_come_in_a_stable_order_failover_first() -> None:
    swapped = rf.inventory(shared_on_backup=True)
    report = compare(rf.green_run(**BASE), rf.run(run_id="now", inv=swapped))
    order = [i.kind for i in report.items]
    assert order[0] is DriftKind.FAILOVER
    assert report == compare(rf.green_run(**BASE), rf.run(run_id="now", inv=swapped))


def sample() -> DriftReport:
    return compare(rf.green_run(**BASE), rf.findings_run(run_id="now"))


@pytest.mark.parametrize("fmt", list(DriftFormat))
def test_every_format_renders(fmt: DriftFormat) -> None:
    text = render_drift(sample(), fmt)
    assert "newly-blocked" in text
    assert "198.51.100.11 -&gt; 203.0.113.10" in text if fmt is DriftFormat.HTML else True


def test_json_format() -> None:
    doc = json.loads(render_drift(sample(), DriftFormat.JSON))
    assert doc["matters"] is True
    assert doc["baseline"]["run_id"] == "base" and doc["current"]["run_id"] == "now"
    assert {i["kind"] for i in doc["items"]} >= {"newly-blocked", "tls-changed", "cert-expiring"}


def test_text_format_matches_the_golden_file() -> None:
    rf.check_golden("drift.txt", render_drift(sample(), DriftFormat.TEXT))


def test_drift_is_measured_from_the_evidence_alone_so_the_verdict_can_take_it() -> None:
    base = rf.green_run(**BASE)
    now = rf.green_run(run_id="now", cert_serial="2")
    seen = Observation(now.inventory, now.records, now.live_state)
    assert changes(base, seen) == changes(base, now) == compare(base, now).items
    # The run's verdict is not read: any verdict gives the same changes.
    assert changes(base, rf.replace(now, verdict=Verdict.INCOMPLETE)) == changes(base, now)
    assert matters(changes(base, now)) and not matters(changes(base, rf.green_run(run_id="x")))
    report = drift_report(base, now, changes(base, now))
    assert report == compare(base, now) and report.current_verdict == now.verdict.value


def _app_record(check: str, protocol: str, port: int, status: Status) -> ProbeRecord:
    return ProbeRecord(
        source=rf.SHARED,
        destination="203.0.113.40",
        protocol=protocol,
        port=port,
        provider="app",
        check=check,
        status=status,
    )


# (check, transport, port, the status when it works, a worse status, the drift kind it gives)
APP_REGRESSIONS = [
    ("radius", "udp", 1812, Status.RADIUS_ANSWERED, Status.NO_ANSWER, DriftKind.NEWLY_BLOCKED),
    ("radius", "udp", 1812, Status.RADIUS_ANSWERED, Status.RADIUS_BAD_SECRET,
     DriftKind.APP_CHANGED),
    ("radius", "udp", 1812, Status.RADIUS_ANSWERED, Status.UNTESTED, DriftKind.NEWLY_UNVERIFIED),
    ("kerberos", "udp", 88, Status.KDC_ANSWERED, Status.NO_ANSWER, DriftKind.NEWLY_BLOCKED),
    ("kerberos", "udp", 88, Status.KDC_ANSWERED, Status.BAD_REPLY, DriftKind.APP_CHANGED),
    ("kerberos-tcp", "tcp", 88, Status.KDC_ANSWERED, Status.BAD_REPLY, DriftKind.APP_CHANGED),
    ("dns", "udp", 53, Status.DNS_ANSWERED, Status.NO_ANSWER, DriftKind.NEWLY_BLOCKED),
    ("dns", "udp", 53, Status.DNS_ANSWERED, Status.BAD_REPLY, DriftKind.APP_CHANGED),
    ("dns-tcp", "tcp", 53, Status.DNS_ANSWERED, Status.BAD_REPLY, DriftKind.APP_CHANGED),
    ("ntp", "udp", 123, Status.NTP_ANSWERED, Status.NO_ANSWER, DriftKind.NEWLY_BLOCKED),
    ("ntp", "udp", 123, Status.NTP_ANSWERED, Status.NTP_UNSYNCHRONIZED, DriftKind.APP_CHANGED),
    ("smtp", "tcp", 25, Status.SMTP_OK, Status.SMTP_FAILED, DriftKind.APP_CHANGED),
    ("cldap", "udp", 389, Status.CLDAP_ANSWERED, Status.NO_ANSWER, DriftKind.NEWLY_BLOCKED),
    ("cldap", "udp", 389, Status.CLDAP_ANSWERED, Status.ERROR, DriftKind.NEWLY_UNVERIFIED),
]  # fmt: skip


@pytest.mark.parametrize(("check", "protocol", "port", "good", "bad", "kind"), APP_REGRESSIONS)
def test_every_application_check_that_gets_worse_is_drift_that_matters(
    check: str, protocol: str, port: int, good: Status, bad: Status, kind: DriftKind
) -> None:
    inv = rf.inventory()
    before = Observation(inv, (_app_record(check, protocol, port, good),))
    after = Observation(inv, (_app_record(check, protocol, port, bad),))
    (item,) = changes(before, after)
    assert (item.kind, item.before, item.after, item.matters) == (kind, good, bad, True)
    # and back again: a recovery is reported, and does not matter
    (back,) = changes(after, before)
    assert not back.matters and not matters([back])


def test_a_ruleset_record_of_a_udp_path_is_drift_of_the_path() -> None:
    inv = rf.inventory()
    before = Observation(inv, (_app_record("udp", "udp", 1812, Status.OPEN),))
    after = Observation(inv, (_app_record("udp", "udp", 1812, Status.FILTERED),))
    (item,) = changes(before, after)
    assert (item.kind, item.matters) == (DriftKind.NEWLY_BLOCKED, True)
