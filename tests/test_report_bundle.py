"""The set of report files one audit writes, and names that read the same everywhere."""

from __future__ import annotations

from pathlib import Path

import report_factories as rf
from netaddr import IPAddress
from support.readers import read_run_file

from auditor.model.inventory import BOTH_STATES, Check, Flow, Protocol, Role
from auditor.report.bundle import render_reports
from auditor.report.view import flow_name


def test_every_report_file_and_the_run_document_reads_back(tmp_path: Path) -> None:
    run = rf.findings_run(lint=(rf.lint_finding("error"),))
    files = render_reports(run)
    assert sorted(files) == ["junit.xml", "report.html", "report.md", "run.json"]
    (tmp_path / "run.json").write_text(files["run.json"])
    assert read_run_file(tmp_path / "run.json") == run


def test_ipv6_destinations_are_bracketed_in_flow_names() -> None:
    flow = Flow(
        IPAddress("2001:db8::11"), IPAddress("2001:db8:1::10"), Protocol.TCP, 636, ("ad",),
        "ldaps", (Check.TCP,), frozenset({"site1"}), BOTH_STATES, Role.UNIQUE, "2001:db8:1::10",
    )  # fmt: skip
    assert flow_name(flow) == "2001:db8::11 -> [2001:db8:1::10]:636/tcp"


def test_the_real_front_of_the_pipeline_feeds_every_report(tmp_path: Path) -> None:
    """The example inventory through the real loader, lint and flow builder; records made up
    (probing needs the lab): the reports, the store and drift take what the stages give."""
    from auditor.flows.prepare import prepare
    from auditor.history.drift import compare
    from auditor.history.store import Store
    from auditor.inventory.lint import lint
    from auditor.model.findings import AuditRun, compute_verdict

    example = Path(__file__).resolve().parent.parent / "examples" / "pair.yaml"
    prepared = prepare(example, resolve=False)
    findings = lint(prepared.inventory)
    records = rf.records_for(prepared.flows, rf.classic_gap, ad_days={})
    run = AuditRun(
        run_id="real-front",
        site=prepared.inventory.site.name,
        started_at="2026-11-24T01:00:00Z",
        finished_at="2026-11-24T01:00:09Z",
        inventory_digest=prepared.inventory.digest,
        inventory=prepared.inventory,
        flows=prepared.flows,
        records=records,
        verdict=compute_verdict(prepared.flows, records, findings),
        lint=findings,
    )
    files = render_reports(run, compare(run, run))
    assert 'class="matrix"' in files["report.html"]
    assert "corp-ad" in files["report.md"]
    store = Store(tmp_path / "h.sqlite")
    store.save_run(run)
    back = store.load_run("real-front")
    assert back.flows == run.flows and back.records == run.records
    assert back.inventory == run.inventory
    assert [(f.rule, f.line) for f in back.lint] == [(f.rule, f.line) for f in findings]
