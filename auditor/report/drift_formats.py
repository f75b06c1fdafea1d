"""Drift in each output format `auditor drift --format` offers."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import assert_never

from auditor.history.drift import DriftReport
from auditor.report.html import render_drift_html
from auditor.report.markdown import render_drift_markdown
from auditor.textout import printable


class DriftFormat(StrEnum):
    TEXT = "text"
    MD = "md"
    HTML = "html"
    JSON = "json"


def render_drift_text(drift: DriftReport) -> str:
    t = printable  # every value from a store or a baseline file is shown, never obeyed
    head = (
        f"drift of {t(drift.site)}: baseline {t(drift.baseline_id)} ({t(drift.baseline_at)}, "
        f"{t(drift.baseline_verdict)}) -> {t(drift.current_id)} ({t(drift.current_at)}, "
        f"{t(drift.current_verdict)})"
    )
    if not drift.items:
        return f"{head}\nno change\n"
    lines = [head]
    for item in drift.items:
        mark = "!" if item.matters else " "
        detail = f"  {t(item.detail)}" if item.detail else ""
        lines.append(
            f"{mark} {item.kind.value:<24} {t(item.subject)}: {t(item.before)} -> "
            f"{t(item.after)}{detail}"
        )
    mattering = sum(1 for item in drift.items if item.matters)
    lines.append(
        f"{len(drift.items)} change(s), "
        + (f"{mattering} that matter (drift)" if mattering else "none that matter")
    )
    return "\n".join(lines) + "\n"


def render_drift(drift: DriftReport, fmt: DriftFormat) -> str:
    if fmt is DriftFormat.TEXT:
        return render_drift_text(drift)
    if fmt is DriftFormat.MD:
        return render_drift_markdown(drift)
    if fmt is DriftFormat.HTML:
        return render_drift_html(drift)
    if fmt is DriftFormat.JSON:
        return json.dumps(drift.to_json(), indent=2, sort_keys=True) + "\n"
    assert_never(fmt)
