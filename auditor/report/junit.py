"""JUnit XML: one testcase per required flow and check, so a pipeline's test view shows the
firewall gaps. Classname is the provider; blocked flows and failed TLS/bind checks are
failures, probe errors are errors, flows not testable from this host are skipped; an unproven
run (auditor.model.verdict) fails one more testcase that says how many flows and why."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

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


# The strict Ant JUnit schema (tests/junit/JUnit.xsd) asks every suite for the host it ran
# on; a run records where its evidence came from per record, not one host: the schema's own
# word for "not determined".
HOSTNAME = "localhost"


def junit_stamp(stamp: str) -> str:
    """A UTC stamp as the schema's timestamp: no zone (`Z`, `+00:00`), no fraction."""
    return stamp.removesuffix("Z").split("+")[0].split(".")[0]


def ant_suite(
    name: str,
    cases: Iterable[ET.Element],
    *,
    timestamp: str,
    package: str,
    time: str | None = None,
    properties: Iterable[tuple[str, str]] = (),
    out: Iterable[str] = (),
) -> ET.Element:
    """A `testsuite` as the strict Ant JUnit schema has it (what Jenkins and GitLab read, and
    valid): its counts, `timestamp` without a zone (`junit_stamp`), `hostname`, `time`,
    `package`, then `properties`, the testcases, `system-out` (`out`, one line each: what a
    passing testcase has to say; Jenkins shows a suite's output for its cases) and
    `system-err`. `ant_document` numbers the suites (`id`)."""
    cases = list(cases)
    suite = ET.Element(
        "testsuite",
        name=name or "-",
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c.find("failure") is not None)),
        errors=str(sum(1 for c in cases if c.find("error") is not None)),
        skipped=str(sum(1 for c in cases if c.find("skipped") is not None)),
        timestamp=junit_stamp(timestamp),
        hostname=HOSTNAME,
        time=time if time is not None else f"{sum(float(c.get('time', '0')) for c in cases):.3f}",
        package=package or "-",
    )
    props = ET.SubElement(suite, "properties")
    for key, value in properties:
        ET.SubElement(props, "property", name=key, value=_x(value))
    suite.extend(cases)
    ET.SubElement(suite, "system-out").text = _x("\n".join(out)) if out else ""
    ET.SubElement(suite, "system-err").text = ""
    return suite


def ant_document(suites: Iterable[ET.Element]) -> str:
    """`testsuites` (no attributes: the schema has none; CI systems sum the suites), the
    suites numbered from 0 (`id`), as UTF-8 text."""
    root = ET.Element("testsuites")
    for i, suite in enumerate(suites):
        suite.set("id", str(i))
        root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _state_cases(live: LiveState) -> tuple[list[ET.Element], list[str]]:
    """One testcase per finding of the pair's live state (errors fail), or one that passes;
    and the suite's output lines (warnings, the state)."""
    status = live.status.value
    cases, out = [], []
    for f in live.findings:
        message = _x(f.message)
        case = ET.Element(
            "testcase", classname=STATE_CLASSNAME, name=_x(f.code.value), time="0.000"
        )
        if f.severity is Severity.ERROR:
            ET.SubElement(case, "failure", message=message, type="state-error").text = message
        else:
            out.append(f"{f.code.value}: {f.severity.value}: {message}")
        cases.append(case)
    if not cases:
        cases.append(
            ET.Element("testcase", classname=STATE_CLASSNAME, name="pair live state", time="0.000")
        )
        out.append(f"pair live state: live state: {status}")
    return cases, out


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
    """The run as JUnit XML text (UTF-8, deterministic), valid against the strict Ant JUnit
    schema (tests/junit/JUnit.xsd)."""
    stamp = run.started_at  # JUnit timestamps carry no zone; the run's are UTC (a property)
    props = (
        ("run_id", run.run_id),
        ("site", run.site),
        ("verdict", run.verdict.value),
        ("started_at", run.started_at),
        ("finished_at", run.finished_at),
    )

    def suite(name: str, cases: Iterable[ET.Element], out: Iterable[str] = ()) -> ET.Element:
        return ant_suite(name, cases, timestamp=stamp, package=_x(run.site), properties=props,
                         out=out)  # fmt: skip

    by_provider: dict[str, list[ET.Element]] = {}
    for result in run.flow_results():
        for i, check in enumerate(result.checks):
            by_provider.setdefault(result.flow.provider, []).append(_case(result, check, i == 0))
    suites = [suite(_x(p), by_provider[p]) for p in sorted(by_provider)]

    lint_cases, lint_out = [], []
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
            lint_out.append(f"{case.get('name')}: {f.severity}: {text}")
        lint_cases.append(case)
    if not lint_cases:
        lint_cases.append(
            ET.Element("testcase", classname=LINT_CLASSNAME, name="inventory lint", time="0.000")
        )
    suites.append(suite(LINT_CLASSNAME, lint_cases, lint_out))
    if run.live_state is not None:
        state_cases, state_out = _state_cases(run.live_state)
        suites.append(suite(STATE_CLASSNAME, state_cases, state_out))
    if run.allowlist:
        suites.append(suite(ALLOWLIST_CLASSNAME, _allowlist_cases(run)))
    if run.verdict is Verdict.UNPROVEN:
        suites.append(suite(UNPROVEN_CLASSNAME, [_unproven_case(run)]))
    return ant_document(suites)
