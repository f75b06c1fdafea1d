"""The run verdict is computed once, with drift as one of its inputs: for runs with and without
drift (that matters or not), the exit code, the run document and the reports are what judging
first and patching the verdict with the drift afterwards gave."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from support.cli import auditor
from support.model import fresh_times

from auditor.flows.prepare import prepare
from auditor.history.drift import compare
from auditor.model.findings import compute_verdict
from auditor.model.inventory import Flow
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, write_results
from auditor.report.bundle import render_reports
from auditor.run import AuditRequest, ready_audit, run_audit

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "pair.yaml"
A, B, C = "198.51.100.10", "198.51.100.11", "198.51.100.12"
ALL_OPEN = {A: Status.OPEN, B: Status.OPEN, C: Status.OPEN}


def records_for(flows: Sequence[Flow], status_of: dict[str, Status]) -> list[ProbeRecord]:
    """Every check of every flow, reachability chosen per source (absent: not on this host)."""
    out = []
    for flow in flows:
        reach = status_of.get(str(flow.source), Status.NOT_LOCAL)
        for i, check in enumerate(flow.checks):
            status = reach if i == 0 else Status.SKIPPED
            if i and reach is Status.OPEN:
                status = {"tls": Status.TLS_OK, "ldap-bind": Status.BIND_OK}.get(check, reach)
            out.append(
                ProbeRecord(
                    str(flow.source), str(flow.destination), flow.protocol.value, flow.port,
                    flow.provider, check.value, status,
                )
            )  # fmt: skip
    return out


def evidence(tmp_path: Path, name: str, status_of: dict[str, Status]) -> Path:
    prepared = prepare(EXAMPLE)
    meta = RunMeta("test", str(EXAMPLE), prepared.inventory.digest, "node",
                   *fresh_times())  # fmt: skip
    path = tmp_path / f"{name}.json"
    records = tuple(records_for(prepared.flows, status_of))
    write_results(path, ResultsDocument(meta=meta, records=records))
    return path


def audit(tmp_path: Path, name: str, given: Path, baseline: Path | None = None) -> int:
    args = ["audit", EXAMPLE, "-q", "--no-store", "--evidence", given, "-o", tmp_path / name]
    return auditor(*args, *(["--baseline", baseline] if baseline is not None else [])).returncode


# (baseline evidence, current evidence, exit code without a baseline, exit code with it)
CASES = {
    "no change": (ALL_OPEN, ALL_OPEN, 0, 0),
    "newly unverified (matters)": (ALL_OPEN, {A: Status.OPEN, B: Status.OPEN}, 4, 1),
    "newly open (does not matter)": ({**ALL_OPEN, B: Status.FILTERED}, ALL_OPEN, 0, 0),
    "newly blocked": (ALL_OPEN, {**ALL_OPEN, B: Status.FILTERED}, 1, 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_exit_code_with_and_without_drift(case: str, tmp_path: Path) -> None:
    before, now, alone, with_drift = CASES[case]
    assert audit(tmp_path, "base", evidence(tmp_path, "before", before)) in (0, 1)
    current = evidence(tmp_path, "now", now)
    assert audit(tmp_path, "alone", current) == alone
    assert audit(tmp_path, "drift", current, tmp_path / "base" / "run.json") == with_drift
    run_doc = json.loads((tmp_path / "drift" / "run.json").read_text(encoding="utf-8"))
    assert run_doc["verdict"] == ("compliant" if with_drift == 0 else "findings")


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_verdict_equals_judging_then_patching_with_the_drift(case: str, tmp_path: Path) -> None:
    before, now, _, with_drift = CASES[case]
    assert audit(tmp_path, "base", evidence(tmp_path, "before", before)) in (0, 1)
    request = AuditRequest(
        inventory=EXAMPLE,
        evidence=(evidence(tmp_path, "now", now),),
        baseline=str(tmp_path / "base" / "run.json"),
    )
    ready = ready_audit(request)
    result = run_audit(ready)
    run, baseline = result.run, ready.baseline
    assert baseline is not None and result.drift is not None
    # What the verdict was before drift became one of its inputs: judged, then re-judged.
    drift = compare(baseline, run)
    patched = compute_verdict(
        run.flows, run.records, run.lint, drift_matters=drift.matters, live_state=run.live_state
    )
    assert run.verdict is patched and run.exit_code == with_drift
    assert result.drift == drift and result.drift.current_verdict == run.verdict.value
    expected = render_reports(run, drift)
    for name in ("report.md", "report.html", "junit.xml", "run.json"):
        assert result.files[name] == expected[name]


def test_without_a_baseline_there_is_no_drift_and_the_verdict_is_the_evidence_s(
    tmp_path: Path,
) -> None:
    given = evidence(tmp_path, "now", {**ALL_OPEN, B: Status.FILTERED})
    result = run_audit(ready_audit(AuditRequest(inventory=EXAMPLE, evidence=(given,))))
    run = result.run
    assert result.drift is None
    assert run.verdict is compute_verdict(run.flows, run.records, run.lint)
    assert result.files["report.md"] == render_reports(run, None)["report.md"]
