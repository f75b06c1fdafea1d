"""A trend in each output format `auditor trend --format` offers. Pure: data in, text out."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from markupsafe import Markup

from auditor.history.drift import EXPIRY_WARN_DAYS
from auditor.history.trend import (
    FLAP_CHANGES,
    Trend,
    percent,
    render_trend_json,
    render_trend_text,
)
from auditor.report.chart import Series, line_chart
from auditor.report.env import make_env


class TrendFormat(StrEnum):
    TEXT = "text"
    MD = "md"
    HTML = "html"
    JSON = "json"


def _day(started_at: str) -> str:
    return started_at[:10]


def open_chart(trend: Trend) -> str:
    """Share of required flows open, per run."""
    labels = [_day(r.started_at) for r in trend.runs]
    values: list[float | None] = [round(r.open_share * 100, 1) for r in trend.runs]
    return line_chart("Flows open per run", labels, [Series("open", values)], unit="%", top=100.0)


def cert_chart(trend: Trend) -> str:
    """Days left of each certificate, per run (a gap where a run saw none)."""
    labels = [_day(r.started_at) for r in trend.runs]
    index = {r.run_id: i for i, r in enumerate(trend.runs)}
    series = []
    for c in trend.certificates:
        values: list[float | None] = [None] * len(labels)
        for p in c.points:
            values[index[p.run_id]] = float(p.days_left)
        series.append(Series(c.endpoint, values))
    return line_chart("Certificate days left", labels, series, mark=float(EXPIRY_WARN_DAYS))


def _context(trend: Trend) -> dict[str, Any]:
    return {"trend": trend, "percent": percent, "flap_changes": FLAP_CHANGES}


def render_trend_markdown(trend: Trend, *, templates: Path | None = None) -> str:
    env = make_env(html=False, user_dir=templates)
    text = env.get_template("trend.md.j2").render(**_context(trend))
    return text.rstrip("\n") + "\n"


def render_trend_html(trend: Trend, *, templates: Path | None = None) -> str:
    """One self-contained page: tables and two inline SVG charts, no script."""
    env = make_env(html=True, user_dir=templates)
    charts = {}
    if trend.runs:
        # The SVG is built from escaped text (report.chart), so it is safe as markup.
        charts = {"open_chart": Markup(open_chart(trend)), "cert_chart": Markup(cert_chart(trend))}  # noqa: S704
    return env.get_template("trend.html.j2").render(
        **_context(trend), **charts, expiry_warn_days=EXPIRY_WARN_DAYS
    )


def render_trend(trend: Trend, fmt: TrendFormat) -> str:
    if fmt is TrendFormat.TEXT:
        return render_trend_text(trend)
    if fmt is TrendFormat.MD:
        return render_trend_markdown(trend)
    if fmt is TrendFormat.HTML:
        return render_trend_html(trend)
    if fmt is TrendFormat.JSON:
        return render_trend_json(trend)
    assert_never(fmt)
