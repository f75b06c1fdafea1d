"""The Markdown report: the HTML report's content, for tickets and chat."""

from __future__ import annotations

from pathlib import Path

from auditor.history.drift import DriftReport
from auditor.model.findings import AuditRun, FlowResult
from auditor.report.diagram import links
from auditor.report.env import make_env
from auditor.report.view import ReportView, report_content


def render_markdown(
    run: AuditRun,
    drift: DriftReport | None = None,
    *,
    templates: Path | None = None,
    shared: tuple[ReportView, tuple[FlowResult, ...]] | None = None,
) -> str:
    """`shared`: the view and flow results already built for this run and drift."""
    view, results = shared if shared is not None else report_content(run, drift)
    env = make_env(html=False, user_dir=templates)
    text = env.get_template("report.md.j2").render(
        v=view,
        drift=drift,
        pair=run.inventory.pair.appliances,
        links=[str(k) for k in links(run, results)],
    )
    return text.rstrip("\n") + "\n"


def render_drift_markdown(drift: DriftReport, *, templates: Path | None = None) -> str:
    env = make_env(html=False, user_dir=templates)
    return env.get_template("drift.md.j2").render(drift=drift).rstrip("\n") + "\n"
