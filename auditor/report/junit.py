"""JUnit XML: one testcase per required flow and check, so a pipeline's test view shows the
firewall gaps. Classname is the provider; blocked flows and failed TLS/bind checks are
failures, probe errors are errors, flows not testable from this host are skipped; an unproven
run (auditor.model.verdict) fails one more testcase that says how many flows and why."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime

from auditor.model.findings import AuditRun, CheckResult, FlowResult, is_lint_error, tally_results
from auditor.model.livestate import LiveState, Severity
from auditor.model.verdict import Outcome, Verdict
from auditor.report.view import flow_name

LINT_CLASSNAME = "inventory-lint"
STATE_CLASSNAME = "pair-live-state"
ALLOWLIST_CLASSNAME = "application-allow-list"
UNPROVEN_CLASSNAME = "unproven-flows"
# Characters XML 1.0 cannot carry at all; a probe reason or an inventory string may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", str(text))


def _seconds(started: str, finished: str) -> str:
    try:
        span = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    except ValueError:
        return "0.000"
    return f"{max(span.total_seconds(), 0.0):.3f}"


def _case(result: FlowResult, check: CheckResult, first: bool) -> ET.Element:
    name = _x(flow_name(result.flow))
    if not first:
        name = f"{name} [{check.check}]"
    case = ET.Element("testcase", classname=_x(result.flow.provider), name=name)
    rec = check.record
    case.set("time", f"{(rec.latency_ms or 0.0) / 1000:.3f}" if rec is not None else "0.000")
    outcome = check.outcome
    message = _x(f"{check.status}: {check.reason}" if check.reason else check.status)
    if outcome in (Outcome.BLOCKED, Outcome.FAILING):
        fail = ET.SubElement(case, "failure", message=message, type=check.status)
        fail.text = f"{name}: {message}"
    elif outcome is Outcome.ERROR:
        err = ET.SubElement(case, "error", message=message, type=check.status)
        err.text = f"{name}: {message}"
    elif outcome is Outcome.UNVERIFIED:
        ET.SubElement(case, "skipped", message=message)
    return case


def _suite(name: str, cases: Iterable[ET.Element], timestamp: str) -> ET.Element:
    cases = list(cases)
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c.find("failure") is not None)),
        errors=str(sum(1 for c in cases if c.find("error") is not None)),
        skipped=str(sum(1 for c in cases if c.find("skipped") is not None)),
        timestamp=timestamp,
        time=f"{sum(float(c.get('time', '0')) for c in cases):.3f}",
    )
    suite.extend(cases)
    return suite


def _state_cases(live: LiveState) -> list[ET.Element]:
    """One testcase per finding of the pair's live state (errors fail), or one that passes."""
    status = live.status.value
    cases = []
    for f in live.findings:
        message = _x(f.message)
        case = ET.Element(
            "testcase", classname=STATE_CLASSNAME, name=_x(f.code.value), time="0.000"
        )
        if f.severity is Severity.ERROR:
            ET.SubElement(case, "failure", message=message, type="state-error").text = message
        else:
            ET.SubElement(case, "system-out").text = _x(f"{f.severity.value}: {message}")
        cases.append(case)
    if not cases:
        case = ET.Element(
            "testcase", classname=STATE_CLASSNAME, name="pair live state", time="0.000"
        )
        ET.SubElement(case, "system-out").text = _x(f"live state: {status}")
        cases.append(case)
    return cases


def _allowlist_cases(run: AuditRun) -> list[ET.Element]:
    """One testcase per server that ignores addresses the firewall admits."""
    cases = []
    for f in run.allowlist:
        case = ET.Element(
            "testcase", classname=ALLOWLIST_CLASSNAME, name=_x(f.server), time="0.000"
        )
        message = _x(f.message)
        ET.SubElement(case, "failure", message=message, type="allow-list").text = message
        cases.append(case)
    return cases


def _unproven_case(run: AuditRun) -> ET.Element:
    """An unproven run fails one testcase: the flows it skipped are not a pass."""
    flows = tally_results(run.flow_results())
    case = ET.Element(
        "testcase", classname=UNPROVEN_CLASSNAME, name="required flows proven", time="0.000"
    )
    message = _x(
        f"{flows.unverified} of {flows.flows} required flows decided by no evidence "
        f"({flows.unproven_text}); --accept-unverified {flows.unverified} accepts them"
    )
    ET.SubElement(case, "failure", message=message, type="unproven").text = message
    return case


def render_junit(run: AuditRun) -> str:
    """The run as JUnit XML text (UTF-8, deterministic)."""
    # JUnit timestamps carry no zone; the run's are UTC.
    stamp = run.started_at.removesuffix("Z").split("+")[0]
    by_provider: dict[str, list[ET.Element]] = {}
    for result in run.flow_results():
        for i, check in enumerate(result.checks):
            by_provider.setdefault(result.flow.provider, []).append(_case(result, check, i == 0))
    suites = [_suite(_x(p), by_provider[p], stamp) for p in sorted(by_provider)]

    lint_cases = []
    for f in run.lint:
        case = ET.Element(
            "testcase",
            classname=LINT_CLASSNAME,
            name=_x(f"{f.rule} {f.field}".strip()),
            time="0.000",
        )
        where = (
            f"{run.inventory.source}:{f.line}" if f.line is not None else str(run.inventory.source)
        )
        text = _x(f"{where}: {f.field}: {f.message}" + (f" (hint: {f.hint})" if f.hint else ""))
        if is_lint_error(f):
            fail = ET.SubElement(case, "failure", message=_x(f.message), type="lint-error")
            fail.text = text
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _x(f"{f.severity}: {text}")
        lint_cases.append(case)
    if not lint_cases:
        lint_cases.append(
            ET.Element("testcase", classname=LINT_CLASSNAME, name="inventory lint", time="0.000")
        )
    suites.append(_suite(LINT_CLASSNAME, lint_cases, stamp))
    if run.live_state is not None:
        suites.append(_suite(STATE_CLASSNAME, _state_cases(run.live_state), stamp))
    if run.allowlist:
        suites.append(_suite(ALLOWLIST_CLASSNAME, _allowlist_cases(run), stamp))
    if run.verdict is Verdict.UNPROVEN:
        suites.append(_suite(UNPROVEN_CLASSNAME, [_unproven_case(run)], stamp))

    root = ET.Element(
        "testsuites",
        name=_x(f"auditor {run.site}"),
        tests=str(sum(int(s.get("tests", "0")) for s in suites)),
        failures=str(sum(int(s.get("failures", "0")) for s in suites)),
        errors=str(sum(int(s.get("errors", "0")) for s in suites)),
        skipped=str(sum(int(s.get("skipped", "0")) for s in suites)),
        time=_seconds(run.started_at, run.finished_at),
    )
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
