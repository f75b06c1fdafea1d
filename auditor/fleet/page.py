"""The fleet report's files: index.html (one row per pair, a trend sparkline, a link to the
pair's report), fleet.json and junit.xml (one test suite per pair). Pure: a summary and the
folder the files will sit in, text out; deterministic (no clock, but for the stamp of the
junit.xml of a store with no pair at all: there is no run to take it from)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup

from auditor.filemode import file_mode
from auditor.fleet.summary import SPARK_RUNS, FleetSummary, PairSummary
from auditor.model.verdict import Outcome, Verdict
from auditor.report.env import make_env
from auditor.report.junit import ant_document, ant_suite

FORMAT = "auditor-fleet/1"
# Characters XML 1.0 cannot carry: a reason from a probe or a store may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SPARK_W, SPARK_H = 120, 24
VERDICT_CLASS = {
    Verdict.COMPLIANT.value: "ok",
    Verdict.FINDINGS.value: "blocked",
    Verdict.INCOMPLETE.value: "unverified",
    Verdict.UNPROVEN.value: "unverified",
}


def _x(text: object) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", str(text))


def sparkline(values: Sequence[float]) -> Markup:
    """Shares 0..1, oldest first, as a small inline SVG polyline (no script)."""
    if not values:
        return Markup("-")
    step = SPARK_W / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{(1 - v) * (SPARK_H - 2) + 1:.1f}" for i, v in enumerate(values)
    )
    last = values[-1]
    # numbers only, written here: nothing from a store or an inventory reaches this markup
    return Markup(  # noqa: S704
        f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" '
        f'viewBox="0 0 {SPARK_W} {SPARK_H}" role="img" '
        f'aria-label="flows open: {last * 100:.0f}% in the newest run">'
        f'<polyline fill="none" stroke="#0072b2" stroke-width="1.5" points="{points}"/></svg>'
    )


def report_link(pair: PairSummary, folder: Path) -> str | None:
    """The pair's report.html relative to `folder`, when it is still there."""
    if pair.report is None:
        return None
    target = Path(pair.report) / "report.html"
    if not target.is_file():
        return None
    return Path(os.path.relpath(target, folder)).as_posix()


def fleet_html(summary: FleetSummary, folder: Path) -> str:
    tally: dict[str, int] = {}
    for p in summary.pairs:
        key = f"{p.verdict} (stale)" if p.stale else p.verdict
        if p.unreadable is not None:
            key = f"{p.verdict} (history not readable)"
        tally[key] = tally.get(key, 0) + 1
    env = make_env(html=True)
    return env.get_template("fleet.html.j2").render(
        summary=summary,
        tally=sorted(tally.items()),
        sparks={p.pair: sparkline(p.trend) for p in summary.pairs},
        links={p.pair: report_link(p, folder) for p in summary.pairs},
        verdict_class=VERDICT_CLASS,
        spark_runs=SPARK_RUNS,
    )


def fleet_json(summary: FleetSummary, folder: Path) -> str:
    doc = {
        "format": FORMAT,
        "store": summary.store,
        "verdict": summary.verdict.value,
        "exit_code": summary.exit_code,
        "pairs": [{**asdict(p), "report_html": report_link(p, folder)} for p in summary.pairs],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _suite(pair: PairSummary) -> ET.Element:
    cases: list[ET.Element] = []
    verdict = ET.Element("testcase", classname=_x(pair.pair), name="verdict", time="0")
    message = _x(
        f"{pair.verdict} since {pair.since}: {pair.blocked} blocked, {pair.failing} failing, "
        f"{pair.unverified} unverified of {pair.flows} flows"
        + (
            f"; stale: its newest run ({pair.started_at}) is older than the report's "
            "--max-age, so it vouches for nothing now"
            if pair.stale
            else ""
        )
        + (f"; its history could not be read: {pair.unreadable}" if pair.unreadable else "")
    )
    if pair.judged in (Verdict.FINDINGS, Verdict.UNPROVEN):  # unproven flows are no pass
        ET.SubElement(verdict, "failure", message=message, type=pair.verdict).text = message
    elif pair.judged is Verdict.INCOMPLETE:
        ET.SubElement(verdict, "error", message=message, type=pair.verdict).text = message
    cases.append(verdict)
    drift = ET.Element("testcase", classname=_x(pair.pair), name="drift", time="0")
    if not pair.drift_measured:
        ET.SubElement(drift, "skipped", message="no baseline to compare with")
    elif pair.drift:
        text = "; ".join(f"{d.kind}: {d.subject} ({d.before} -> {d.after})" for d in pair.drift)
        ET.SubElement(drift, "failure", message=_x(text), type="drift").text = _x(text)
    cases.append(drift)
    for flow in pair.problems:
        case = ET.Element(
            "testcase", classname=_x(f"{pair.pair}.{flow.provider}"), name=_x(flow.flow), time="0"
        )
        text = _x(
            f"{flow.check}: {flow.status}: {flow.reason}"
            if flow.reason
            else f"{flow.check}: {flow.status}"
        )
        if flow.outcome in (Outcome.BLOCKED.value, Outcome.FAILING.value):
            ET.SubElement(case, "failure", message=text, type=flow.status).text = text
        elif flow.outcome == Outcome.ERROR.value:
            ET.SubElement(case, "error", message=text, type=flow.status).text = text
        else:
            ET.SubElement(case, "skipped", message=text)
        cases.append(case)
    # the run's own time is not in the summary: 0 (the schema asks for one)
    return ant_suite(
        _x(f"{pair.group}/{pair.pair}" if pair.group else pair.pair),
        cases,
        timestamp=pair.started_at,
        package=_x(pair.group or "fleet"),
        time="0",
        properties=(("run_id", pair.run_id), ("verdict", pair.verdict),
                    ("started_at", pair.started_at), ("stale", str(pair.stale).lower())),
    )  # fmt: skip


def fleet_junit(summary: FleetSummary, now: str | None = None) -> str:
    """One suite per pair, valid against the strict Ant JUnit schema (tests/junit/); a store
    with no pair is one suite with an error (stamped `now`: no run to take it from)."""
    suites = [_suite(p) for p in summary.pairs]
    if not summary.pairs:  # no pair at all is no green: a pipeline must fail on it too
        text = _x(f"no pair has a complete run in {summary.store}: nothing was judged")
        case = ET.Element("testcase", classname="fleet", name="pairs", time="0")
        ET.SubElement(case, "error", message=text, type="incomplete").text = text
        stamp = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        suites.append(ant_suite("fleet", [case], timestamp=stamp, package="fleet", time="0"))
    return ant_document(suites)


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Each file replaced whole (a reader sees the old or the new one, never half)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, file_mode())
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def fleet_files(summary: FleetSummary, folder: Path) -> dict[str, str]:
    """Every file of the fleet report, by name, for `folder` (links are relative to it)."""
    return {
        "index.html": fleet_html(summary, folder),
        "fleet.json": fleet_json(summary, folder),
        "junit.xml": fleet_junit(summary),
    }
