"""Evidence from several places: merged per flow and check, conflicts kept, and every command
judging the same evidence the same way, with the exit codes the README documents."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.cli import Result, auditor

from auditor.evidence.merge import merge_records
from auditor.flows.prepare import prepare
from auditor.model.inventory import Flow
from auditor.model.record import Method, ProbeRecord, Status
from auditor.model.results import (
    ResultsDocument,
    RunMeta,
    read_results,
    utc_stamp,
    write_results,
)
from auditor.model.verdict import EXIT_CODES, Verdict

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"


def rec(source: str, status: Status, check: str = "tcp", origin: str = "a") -> ProbeRecord:
    return ProbeRecord(
        source=source,
        destination="203.0.113.10",
        protocol="tcp",
        port=636,
        provider="corp-ad",
        check=check,
        status=status,
        origin=origin,
    )


def test_conclusive_evidence_beats_not_local_whatever_the_order() -> None:
    here = rec("198.51.100.10", Status.OPEN, origin="node-a")
    elsewhere = rec("198.51.100.10", Status.NOT_LOCAL, origin="node-b")
    assert merge_records([[elsewhere], [here]]) == (here,)
    assert merge_records([[here], [elsewhere]]) == (here,)


def test_in_use_says_more_than_not_local() -> None:
    in_use = rec("198.51.100.10", Status.IN_USE, origin="auditor (claim)")
    not_local = rec("198.51.100.10", Status.NOT_LOCAL, origin="node-b")
    assert merge_records([[not_local], [in_use]]) == (in_use,)


def test_an_error_on_one_host_is_never_hidden_by_another_host_saying_not_local() -> None:
    """A host holding both nodes' addresses would have met the error: the merge keeps it, so
    the run stays a finding (exit 1) instead of `unproven` that --accept-unverified passes."""
    error = rec("198.51.100.10", Status.ERROR, origin="node-a")
    for other in (Status.NOT_LOCAL, Status.SKIPPED, Status.UNTESTED, Status.IN_USE):
        elsewhere = rec("198.51.100.10", other, origin="node-b")
        assert merge_records([[error], [elsewhere]]) == (error,)
        assert merge_records([[elsewhere], [error]]) == (error,)


def test_disagreeing_conclusive_evidence_is_a_conflict_naming_both_sources() -> None:
    open_ = rec("198.51.100.10", Status.OPEN, origin="node-a")
    blocked = rec("198.51.100.10", Status.FILTERED, origin="node-b")
    (merged,) = merge_records([[open_], [blocked]])
    assert merged.status is Status.CONFLICT
    assert merged.method is Method.MERGED
    assert "open (probe from node-a)" in merged.reason
    assert "filtered (probe from node-b)" in merged.reason


def _document(
    records: Sequence[ProbeRecord], host: str, digest: str, age: timedelta = timedelta(minutes=1)
) -> ResultsDocument:
    """A document probed `age` ago (fresh by default: older evidence is no proof)."""
    at = utc_stamp(datetime.now(UTC) - age)
    meta = RunMeta("test", str(EXAMPLE), digest, host, at, at)
    return ResultsDocument(meta=meta, records=tuple(records))


def _records_for(
    flows: Sequence[Flow], status_of: dict[str, Status], origin: str = "node"
) -> list[ProbeRecord]:
    """Every check of every flow, the reachability status chosen per source address."""
    out = []
    for flow in flows:
        reach = status_of.get(str(flow.source), Status.NOT_LOCAL)
        for i, check in enumerate(flow.checks):
            if i == 0:
                status = reach
            elif reach is Status.OPEN:
                status = {"tls": Status.TLS_OK, "ldap-bind": Status.BIND_OK}.get(check, reach)
            else:
                status = Status.SKIPPED
            out.append(
                ProbeRecord(
                    source=str(flow.source),
                    destination=str(flow.destination),
                    protocol=flow.protocol.value,
                    port=flow.port,
                    provider=flow.provider,
                    check=check.value,
                    status=status,
                    origin=origin,
                )
            )
    return out


def test_two_hosts_merged_equal_one_host_holding_both(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    both = {"198.51.100.10": Status.OPEN, "198.51.100.11": Status.FILTERED}
    a_only = {"198.51.100.10": Status.OPEN}
    b_only = {"198.51.100.11": Status.FILTERED}
    one = _records_for(prepared.flows, both)
    write_results(tmp_path / "a.json", _document(_records_for(prepared.flows, a_only), "a", digest))
    write_results(tmp_path / "b.json", _document(_records_for(prepared.flows, b_only), "b", digest))
    from auditor.evidence.load import load_evidence

    merged = load_evidence([tmp_path / "a.json", tmp_path / "b.json"], prepared.inventory)
    strip = lambda rs: sorted((r.key, r.check, r.status) for r in rs)  # noqa: E731
    assert strip(merged.records) == strip(one)
    assert merged.hosts == ("a", "b")


A, B, C = "198.51.100.10", "198.51.100.11", "198.51.100.12"
ALL_OPEN = {A: Status.OPEN, B: Status.OPEN, C: Status.OPEN}

# The same evidence for every command, and the verdict the README's exit-code table gives it.
MIXES: dict[str, tuple[dict[str, Status], Verdict]] = {
    "all open": (ALL_OPEN, Verdict.COMPLIANT),
    "one blocked": ({A: Status.OPEN, B: Status.FILTERED}, Verdict.FINDINGS),
    "one refused": ({B: Status.REFUSED}, Verdict.FINDINGS),
    "only errors": ({A: Status.ERROR, B: Status.ERROR, C: Status.ERROR}, Verdict.INCOMPLETE),
    "nothing local": ({}, Verdict.INCOMPLETE),
    "errors beside open": ({A: Status.OPEN, B: Status.ERROR}, Verdict.FINDINGS),
    "one source not here": ({A: Status.OPEN, B: Status.OPEN}, Verdict.UNPROVEN),
    "all conflicting": ({A: Status.CONFLICT, B: Status.CONFLICT, C: Status.CONFLICT},
                        Verdict.FINDINGS),
    "a failed TLS check": ({**ALL_OPEN, C: Status.TLS_FAILED}, Verdict.FINDINGS),
}  # fmt: skip


def readme_exit_codes() -> dict[str, int]:
    """The README's exit-code table: verdict -> code."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Exit codes", 1)[1]
    table = section[section.index("| code |") :].split("\n\n", 1)[0]
    codes = {}
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if cells[0].isdigit() and cells[1] in set(Verdict):
            codes[cells[1]] = int(cells[0])
    return codes


def _mix_records(flows: Sequence[Flow], status_of: dict[str, Status]) -> list[ProbeRecord]:
    """`_records_for`, where a TLS failure fails the TLS check of an open path."""
    opened = {k: Status.OPEN if v is Status.TLS_FAILED else v for k, v in status_of.items()}
    return [
        replace(r, status=Status.TLS_FAILED, reason="hostname-mismatch")
        if r.check == "tls" and status_of.get(r.source) is Status.TLS_FAILED
        else r
        for r in _records_for(flows, opened)
    ]


def _all_judgements(tmp_path: Path, document: Path, *extra: str) -> tuple[dict[str, int], str]:
    """The exit codes of probe, audit and rules on one evidence, and their stderr together."""
    probe = auditor("probe", EXAMPLE, "-q", "-o", tmp_path / "probe.json", *extra)
    audit = auditor("audit", EXAMPLE, "-q", "--no-store", "--evidence", document,
                    "-o", tmp_path / "report", *extra)  # fmt: skip
    rules = auditor("rules", EXAMPLE, "--results", document, "--format", "csv", *extra)
    codes = {"probe": probe.returncode, "audit": audit.returncode, "rules": rules.returncode}
    return codes, probe.stderr + audit.stderr + rules.stderr


def test_the_readme_documents_every_verdict_s_exit_code() -> None:
    assert readme_exit_codes() == {v.value: c for v, c in EXIT_CODES.items()}


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_probe_audit_and_rules_judge_the_same_records_alike(
    mix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "not-used")
    prepared = prepare(EXAMPLE)
    status_of, verdict = MIXES[mix]
    records = _mix_records(prepared.flows, status_of)
    document = tmp_path / "given.json"
    write_results(document, _document(records, "node", prepared.inventory.digest))
    # `probe` with its engine answering from the document: the judgement is what is tested.
    monkeypatch.setattr(
        "auditor.probe_run.probe_flows", lambda *a, **k: tuple(read_results(document).records)
    )
    expected = readme_exit_codes()[verdict.value]
    codes, err = _all_judgements(tmp_path, document)
    assert codes == dict.fromkeys(("probe", "audit", "rules"), expected)
    if verdict is Verdict.UNPROVEN:
        # how many and why, and how to accept them knowingly
        assert (
            err.count("unproven: 5 of 14 required flow(s) decided by no evidence (5 not-local)")
            == 3
        )
        assert _all_judgements(tmp_path, document, "--accept-unverified", "5")[0] == {
            "probe": 0, "audit": 0, "rules": 0,
        }  # fmt: skip
        assert _all_judgements(tmp_path, document, "--accept-unverified", "25%")[0] == {
            "probe": 4, "audit": 4, "rules": 4,
        }  # fmt: skip
    if verdict is Verdict.INCOMPLETE:
        assert err.count("nothing could be probed from this host") == 3


# A ruleset for each path outcome of a source: admitted, dropped, rejected, or a match the
# evaluator cannot decide (`-m recent`) ahead of a drop.
_RULE = {
    Status.OPEN: "-A FORWARD -s {ip}/32 -j ACCEPT",
    Status.FILTERED: "-A FORWARD -s {ip}/32 -j DROP",
    Status.REFUSED: "-A FORWARD -s {ip}/32 -j REJECT",
    Status.UNTESTED: "-A FORWARD -s {ip}/32 -m recent --name x --rcheck -j DROP\n"
    "-A FORWARD -s {ip}/32 -j ACCEPT",
}
RULESET_MIXES = {
    "all admitted": ({A: Status.OPEN, B: Status.OPEN, C: Status.OPEN}, Verdict.COMPLIANT),
    "one dropped": ({A: Status.OPEN, B: Status.FILTERED, C: Status.OPEN}, Verdict.FINDINGS),
    "one rejected": ({A: Status.UNTESTED, B: Status.REFUSED, C: Status.OPEN}, Verdict.FINDINGS),
    "one undecided": ({A: Status.OPEN, B: Status.OPEN, C: Status.UNTESTED}, Verdict.UNPROVEN),
    "none decided": ({A: Status.UNTESTED, B: Status.UNTESTED, C: Status.UNTESTED},
                     Verdict.INCOMPLETE),
}  # fmt: skip


@pytest.mark.parametrize("mix", sorted(RULESET_MIXES))
def test_evaluate_judges_a_ruleset_as_the_audit_judges_its_records(
    mix: str, tmp_path: Path
) -> None:
    status_of, verdict = RULESET_MIXES[mix]
    lines = [_RULE[status].format(ip=ip) for ip, status in status_of.items()]
    ruleset = tmp_path / "fw.rules"
    ruleset.write_text(
        "*filter\n:FORWARD DROP [0:0]\n" + "\n".join(lines) + "\nCOMMIT\n", encoding="utf-8"
    )
    expected = readme_exit_codes()[verdict.value]
    assert auditor("evaluate", EXAMPLE, "--ruleset", ruleset).returncode == expected
    # The same ruleset as the audit's only evidence: its path records are judged the same
    # way (the applications behind an admitted path are unproven: accepted here). Where the
    # ruleset cannot decide a flow, the change cannot be proven against it either: a finding.
    rules = auditor("rules", EXAMPLE, "--ruleset", ruleset, "--format", "csv",
                    "--accept-unverified", "100%")  # fmt: skip
    undecided = verdict in (Verdict.UNPROVEN, Verdict.INCOMPLETE)
    assert rules.returncode == (readme_exit_codes()["findings"] if undecided else expected)
    if undecided:
        assert "the change is NOT proven against" in rules.stderr


def test_audit_with_evidence_writes_the_merged_records(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    a = _records_for(prepared.flows, {"198.51.100.10": Status.OPEN}, origin="a")
    b = _records_for(prepared.flows, {"198.51.100.10": Status.FILTERED}, origin="b")
    write_results(tmp_path / "a.json", _document(a, "a", digest))
    write_results(tmp_path / "b.json", _document(b, "b", digest))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     tmp_path / "a.json", "--evidence", tmp_path / "b.json")  # fmt: skip
    assert result.returncode == 1
    written = read_results(tmp_path / "r" / "results.json")
    conflicts = [r for r in written.records if r.status is Status.CONFLICT]
    assert conflicts and all(r.source == "198.51.100.10" for r in conflicts)
    assert "probe from a" in conflicts[0].reason and "probe from b" in conflicts[0].reason


def test_a_conflict_beats_any_single_source_and_stays_a_finding(tmp_path: Path) -> None:
    """A results document that holds a conflict (merged on another host), merged with one
    holding a conclusive record: the conflict stays, naming every side."""
    conflict = merge_records(
        [[rec(A, Status.OPEN, origin="a")], [rec(A, Status.FILTERED, origin="b")]]
    )
    (kept,) = merge_records([conflict, [rec(A, Status.OPEN, origin="c")]])
    assert kept.status is Status.CONFLICT
    assert kept.origin == "a, b, c"
    for side in ("open (probe from a)", "filtered (probe from b)", "open (probe from c)"):
        assert side in kept.reason
    assert merge_records([[rec(A, Status.NOT_LOCAL, origin="d")], conflict]) == conflict


def test_all_conflicting_evidence_is_findings_with_the_conflicts_listed(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    a = _records_for(prepared.flows, ALL_OPEN, origin="a")
    b = _records_for(prepared.flows, {A: Status.FILTERED, B: Status.FILTERED, C: Status.FILTERED},
                     origin="b")  # fmt: skip
    write_results(tmp_path / "a.json", _document(a, "a", digest))
    write_results(tmp_path / "b.json", _document(b, "b", digest))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     tmp_path / "a.json", "--evidence", tmp_path / "b.json")  # fmt: skip
    assert result.returncode == 1
    assert "the evidence disagrees about 14 flow(s)" in result.stderr
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert report.count("the evidence disagrees") >= 14
    # merged again with one more host's clean evidence, the conflicts stay
    write_results(tmp_path / "merged.json", read_results(tmp_path / "r" / "results.json"))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r2", "--evidence",
                     tmp_path / "merged.json", "--evidence", tmp_path / "a.json")  # fmt: skip
    assert result.returncode == 1
    again = read_results(tmp_path / "r2" / "results.json")
    assert {r.status for r in again.records if r.check == "tcp"} == {Status.CONFLICT}


def test_records_of_flows_the_inventory_does_not_require_are_reported_and_dropped(
    tmp_path: Path,
) -> None:
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, ALL_OPEN)
    stray = replace(records[0], port=8443)
    write_results(tmp_path / "a.json", _document([*records, stray], "a", prepared.inventory.digest))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     tmp_path / "a.json")  # fmt: skip
    assert result.returncode == 0
    err = result.stderr
    assert "1 record(s) of flows this inventory does not require were dropped" in err
    assert "198.51.100.10 -> 203.0.113.10 tcp/8443" in err
    for name in ("results.json", "run.json"):
        assert "8443" not in (tmp_path / "r" / name).read_text(encoding="utf-8")
    result = auditor("rules", EXAMPLE, "--results", tmp_path / "a.json")
    assert result.returncode == 0
    assert "were dropped" in result.stderr


@pytest.mark.parametrize(
    ("observed_at", "message"),
    [
        ("yesterday", "expected an RFC 3339 date-time"),
        ("2026-02-30T00:00:00Z", "expected an RFC 3339 date-time"),
        ("2026-11-30T00:00:00", "expected an RFC 3339 date-time"),
        ("2999-01-01T00:00:00Z", "is in the future (expected at most 5 minutes after"),
    ],
)
def test_observed_at_is_a_real_moment_not_in_the_future(
    observed_at: str, message: str, tmp_path: Path
) -> None:
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, ALL_OPEN)
    records[2] = replace(records[2], observed_at=observed_at)
    write_results(tmp_path / "a.json", _document(records, "a", prepared.inventory.digest))
    result = auditor("audit", EXAMPLE, "-q", "--no-store", "-o", tmp_path / "r", "--evidence",
                     tmp_path / "a.json")  # fmt: skip
    assert result.returncode == 2
    err = result.stderr
    assert "a.json:" in err and "records[2].observed_at" in err and message in err
    assert not (tmp_path / "r").exists()
    fine = _records_for(prepared.flows, ALL_OPEN)
    an_hour_ago = datetime.now(timezone(timedelta(hours=1))) - timedelta(hours=1)
    fine[2] = replace(fine[2], observed_at=an_hour_ago.isoformat(timespec="milliseconds"))
    write_results(tmp_path / "b.json", _document(fine, "b", prepared.inventory.digest))
    result = auditor("rules", EXAMPLE, "--results", tmp_path / "b.json")
    assert result.returncode == 0


def test_a_ruleset_record_counts_for_every_flow_s_path_and_every_count_agrees(
    tmp_path: Path,
) -> None:
    """Nothing is local to the probing host; the ruleset admits the shared IP only. A RADIUS
    flow's ruleset record sits under `udp`, its own check is `radius`: it is blocked all the
    same, and the summary, the report, the plan (ticket) and JUnit count the same flows."""
    from auditor.report.summary import summary_lines
    from auditor.run import AuditRequest, ready_audit, run_audit

    prepared = prepare(EXAMPLE)
    write_results(
        tmp_path / "given.json",
        _document(_records_for(prepared.flows, {}), "node", prepared.inventory.digest),
    )
    ruleset = tmp_path / "fw.rules"
    ruleset.write_text(
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 198.51.100.10/32 -j ACCEPT\nCOMMIT\n",
        encoding="utf-8",
    )
    request = AuditRequest(
        inventory=EXAMPLE, evidence=(tmp_path / "given.json",), ruleset=(ruleset,)
    )
    result = run_audit(ready_audit(request))
    radius = [r for r in result.run.flow_results() if r.flow.provider == "corp-radius"]
    assert {r.flow.source.format(): r.reach.status for r in radius} == {
        A: "open",
        B: "filtered",
        C: "filtered",
    }
    blocked = sum(1 for r in result.run.flow_results() if r.outcome.value == "blocked")
    assert blocked == result.plan.counts.missing == 8
    summary = "\n".join(summary_lines(result.run, result.plan, None, None))
    assert "8 blocked" in summary and "for 8 blocked" in summary
    assert "8 blocked" in result.files["report.md"]
    assert result.files["junit.xml"].count("<failure ") == 8
    assert "| 14: 4 open, 8 missing" in result.files["rules/ticket.md"]


def test_silence_on_a_path_the_ruleset_admits_is_the_server_not_the_firewall() -> None:
    """A RADIUS request unanswered on a path the ruleset admits: failing (the allow-list
    finding names the server), not blocked; the plan writes no rule for it. Both count it the
    same way."""
    from auditor.model.findings import flow_results, tally_results
    from auditor.plan import make_plan

    flows = [f for f in prepare(EXAMPLE).flows if f.provider == "corp-radius"]
    records = []
    for flow in flows:
        silent = str(flow.source) == B
        records.append(
            replace(
                _records_for([flow], {str(flow.source): Status.OPEN})[0],
                status=Status.NO_ANSWER if silent else Status.RADIUS_ANSWERED,
            )
        )
        records.append(replace(records[-1], check="udp", status=Status.OPEN, method=Method.RULESET))
    flows_seen = tally_results(flow_results(flows, records))
    plan = make_plan(flows, records, site="s")
    assert (flows_seen.failing, flows_seen.blocked) == (1, 0)
    assert (plan.counts.app_failed, plan.counts.missing, plan.rules) == (1, 0, ())
    # without the ruleset's word the silence is a block, and needs a rule
    alone = [r for r in records if r.check != "udp"]
    assert tally_results(flow_results(flows, alone)).blocked == 1
    assert make_plan(flows, alone, site="s").counts.missing == 1


def test_the_per_source_table_judges_a_flow_s_path_as_the_run_does() -> None:
    from auditor.cli.tables import source_verdict_rows

    flows = [f for f in prepare(EXAMPLE).flows if f.provider == "corp-radius"]
    records = [r for f in flows for r in _records_for([f], {})]  # radius: not-local
    dropped = [
        replace(r, check="udp", status=Status.FILTERED, method=Method.RULESET)
        for r in records
        if r.source == B
    ]
    rows = {row[0]: row for row in source_verdict_rows(flows, [*records, *dropped])}
    assert rows[B][4:] == ["1", "0", "1", "BLOCKED"]  # blocked 1, failing 0, untested 1
    assert rows[A][-1] == "not on this host"


# ---- evidence older than --max-evidence-age is no proof ----------------------------------------


def _audit(tmp_path: Path, *evidence: Path, extra: Sequence[str] = ()) -> Result:
    out = tmp_path / "r"
    if out.exists():
        shutil.rmtree(out)
    args = ["audit", str(EXAMPLE), "-q", "--no-store", "-o", str(out)]
    for path in evidence:
        args += ["--evidence", str(path)]
    return auditor(*args, *extra)


def test_a_document_older_than_the_max_age_is_no_proof(tmp_path: Path) -> None:
    prepared = prepare(EXAMPLE)
    digest = prepared.inventory.digest
    records = _records_for(prepared.flows, ALL_OPEN)
    write_results(tmp_path / "old.json", _document(records, "a", digest, timedelta(days=8)))
    write_results(tmp_path / "new.json", _document(records, "a", digest))
    assert _audit(tmp_path, tmp_path / "new.json").returncode == 0  # the same, fresh: compliant
    # Eight days old against the default of 7d: nothing proven, never compliant.
    result = _audit(tmp_path, tmp_path / "old.json")
    assert result.returncode == EXIT_CODES[Verdict.INCOMPLETE]
    err = result.stderr
    assert "old.json: its records are older than --max-evidence-age 7d" in err
    assert "(the oldest observed 8d" in err and "are not used as proof" in err
    # A larger limit, or none, takes it as proof.
    assert (
        _audit(tmp_path, tmp_path / "old.json", extra=["--max-evidence-age", "9d"]).returncode == 0
    )
    assert (
        _audit(tmp_path, tmp_path / "old.json", extra=["--max-evidence-age", "none"]).returncode
        == 0
    )
    assert (
        _audit(tmp_path, tmp_path / "old.json", extra=["--max-evidence-age", "0"]).returncode == 0
    )
    # 12h: even a day-old document is too old.
    write_results(tmp_path / "day.json", _document(records, "a", digest, timedelta(days=1)))
    result = _audit(tmp_path, tmp_path / "day.json", extra=["--max-evidence-age", "12h"])
    assert result.returncode == EXIT_CODES[Verdict.INCOMPLETE]
    assert "older than --max-evidence-age 12h (the oldest observed 1d" in result.stderr


def test_stale_records_leave_their_flows_unproven_beside_fresh_ones(tmp_path: Path) -> None:
    """One record too old among fresh ones: its flow has no evidence (unproven, exit 4), never
    compliant on the stale proof; the rules command judges it alike."""
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, ALL_OPEN)
    old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    records[0] = replace(records[0], observed_at=old)
    path = tmp_path / "a.json"
    write_results(path, _document(records, "a", prepared.inventory.digest))
    result = _audit(tmp_path, path)
    code = result.returncode
    assert code not in (0, 2)
    assert code in (EXIT_CODES[Verdict.UNPROVEN], EXIT_CODES[Verdict.INCOMPLETE])
    err = result.stderr
    assert f"a.json: 1 of its {len(records)} records are older than --max-evidence-age 7d" in err
    assert "(the oldest observed 30d" in err
    result = auditor("rules", EXAMPLE, "--results", path)
    assert result.returncode == code
    assert "1 of its" in result.stderr
    result = auditor("rules", EXAMPLE, "--results", path, "--max-evidence-age", "31d")
    assert result.returncode == 0


@pytest.mark.parametrize("value", ["3x", "-1h", "7 days", "", "1y"])
@pytest.mark.parametrize("command", ["audit", "rules"])
def test_a_bad_max_evidence_age_is_one_line_and_exit_2(
    value: str, command: str, tmp_path: Path
) -> None:
    prepared = prepare(EXAMPLE)
    path = tmp_path / "a.json"
    records = _records_for(prepared.flows, ALL_OPEN)
    write_results(path, _document(records, "a", prepared.inventory.digest))
    flag = "--evidence" if command == "audit" else "--results"
    args = [command, str(EXAMPLE), flag, str(path), "--max-evidence-age", value]
    if command == "audit":
        args += ["-q", "--no-store", "-o", str(tmp_path / "r")]
    result = auditor(*args)
    assert result.returncode == 2
    err = result.stderr
    assert err.count("\n") == 1 and err.startswith("error: --max-evidence-age:"), err
    assert not (tmp_path / "r").exists()


def _with_finished_at(path: Path, value: str) -> None:
    """The document at `path` with its `finished_at` rewritten (its records have no time)."""
    text = path.read_text()
    (stamp,) = {line for line in text.splitlines() if '"finished_at"' in line}
    path.write_text(text.replace(stamp, f'    "finished_at": "{value}",'))


def test_records_with_no_time_at_all_are_no_proof(tmp_path: Path) -> None:
    """No observed_at and no finished_at: the age is not known, so they are no proof today
    (they made a 30-day-old document compliant once its date was removed)."""
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, ALL_OPEN)
    path = tmp_path / "undated.json"
    write_results(path, _document(records, "a", prepared.inventory.digest, timedelta(days=30)))
    _with_finished_at(path, "")
    result = _audit(tmp_path, path)
    assert result.returncode == EXIT_CODES[Verdict.INCOMPLETE]
    assert "undated.json: its records are undated (no observed_at" in result.stderr
    assert _audit(tmp_path, path, extra=["--max-evidence-age", "none"]).returncode == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", 'meta.finished_at: is "yesterday" (expected an RFC 3339 date-time'),
        ("2020-01-01T00:00:00", 'is "2020-01-01T00:00:00" (expected an RFC 3339 date-time'),
        ("2099-01-01T00:00:00Z", "meta.finished_at: 2099-01-01T00:00:00Z is in the future"),
    ],
)
def test_a_finished_at_that_dates_no_record_is_one_located_line_and_exit_2(
    value: str, message: str, tmp_path: Path
) -> None:
    """The records' time when they have none of their own: not a date (was an internal
    error), or in the future (the records would never grow old) is refused."""
    prepared = prepare(EXAMPLE)
    records = _records_for(prepared.flows, ALL_OPEN)
    path = tmp_path / "odd.json"
    write_results(path, _document(records, "a", prepared.inventory.digest, timedelta(days=30)))
    _with_finished_at(path, value)
    result = _audit(tmp_path, path)
    assert result.returncode == 2
    err = result.stderr
    assert err.count("\n") == 1 and err.startswith(f"error: {path}:"), err
    assert message in err
    assert not (tmp_path / "r").exists()
