"""The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from auditor.history.drift import DriftReport
from auditor.model.findings import AuditRun, FlowResult
from auditor.report.diagram import render_svg
from auditor.report.env import make_env
from auditor.report.view import ReportView, report_content


def render_html(
    run: AuditRun,
    drift: DriftReport | None = None,
    *,
    templates: Path | None = None,
    shared: tuple[ReportView, tuple[FlowResult, ...]] | None = None,
) -> str:
    """The report of `run`, with the drift since a baseline when one is given. `shared`: the
    view and flow results already built for this run and drift (the Markdown report's too)."""
    view, results = shared if shared is not None else report_content(run, drift)
    env = make_env(html=True, user_dir=templates)
    return env.get_template("report.html.j2").render(
        v=view, drift=drift, svg=render_svg(run, results)
    )


def render_drift_html(drift: DriftReport, *, templates: Path | None = None) -> str:
    """A drift report as a page of its own."""
    env = make_env(html=True, user_dir=templates)
    return env.get_template("drift.html.j2").render(drift=drift)
