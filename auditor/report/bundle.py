"""Every report file of one run, as `{file name: text}`: the audit command writes them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.history.drift import DriftReport
from auditor.model.findings import AuditRun
from auditor.model.rundoc import dumps
from auditor.render.environment import template_guard
from auditor.report.html import render_html
from auditor.report.junit import render_junit
from auditor.report.markdown import render_markdown
from auditor.report.view import report_content


def render_reports(
    run: AuditRun,
    drift: DriftReport | None = None,
    *,
    templates: Path | None = None,
    document: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """report.html, report.md, junit.xml and run.json (the run document `auditor drift
    --baseline FILE` reads; `document` is `run_to_json(run)` when the caller has it). The
    snippets and results.json are the rules and probe stages'."""
    shared = report_content(run, drift)  # built once for both reports
    with template_guard(templates, "report.html.j2"):
        html = render_html(run, drift, templates=templates, shared=shared)
    with template_guard(templates, "report.md.j2"):
        markdown = render_markdown(run, drift, templates=templates, shared=shared)
    return {
        "report.html": html,
        "report.md": markdown,
        "junit.xml": render_junit(run),
        "run.json": dumps(run, document),
    }
