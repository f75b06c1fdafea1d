"""A small line chart as inline SVG, written by hand: deterministic text (fixed precision, no
clock, no ids from a counter), no script, so it can sit in a golden file and any mail client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH, HEIGHT = 560, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 12, 28
# Colour-blind-safe (Okabe-Ito); series beyond the palette repeat it.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per x label; None leaves a gap


def _f(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    top: float | None = None,
    mark: float | None = None,
) -> str:
    """An SVG line chart of `series` over `labels` (oldest first), y from 0 to `top` (default:
    the largest value, at least 1); the first and last label are written under the axis, each
    series named at the right; `mark` draws a dashed line at that value (a threshold)."""
    if top is None:
        top = max([v for s in series for v in s.values if v is not None] + [1.0, mark or 0.0])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)
    base = TOP + plot_h

    def point(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, base - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
        '<g font-family="sans-serif" font-size="10" fill="#57606a">',
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}" stroke="#d0d7de"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#d0d7de"/>',
        _text(LEFT - 4, TOP + 4, _num(top) + unit, 'text-anchor="end"'),
        _text(LEFT - 4, base + 4, "0" + unit, 'text-anchor="end"'),
    ]
    if labels:
        parts.append(_text(LEFT, HEIGHT - 8, labels[0]))
    if len(labels) > 1:
        parts.append(_text(LEFT + plot_w, HEIGHT - 8, labels[-1], 'text-anchor="end"'))
    if mark is not None:
        my = _f(base - mark / top * plot_h)
        parts += [
            f'<line x1="{LEFT}" y1="{my}" x2="{LEFT + plot_w}" y2="{my}" stroke="#cf222e" '
            'stroke-dasharray="4 3"/>',
            _text(LEFT - 4, base - mark / top * plot_h + 4, _num(mark) + unit, 'text-anchor="end"'),
        ]
    parts.append("</g>")
    for n, s in enumerate(series):
        points = [point(i, v) for i, v in enumerate(s.values) if v is not None]
        parts += _line(
            s.name, points, PALETTE[n % len(PALETTE)], LEFT + plot_w + 8, TOP + 12 * n + 8
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _line(
    name: str, points: Sequence[tuple[float, float]], colour: str, x: float, y: float
) -> list[str]:
    """One series: its line, a dot per value, its name at (x, y)."""
    out = []
    if len(points) > 1:
        path = " ".join(f"{_f(px)},{_f(py)}" for px, py in points)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
    out += [f'<circle cx="{_f(px)}" cy="{_f(py)}" r="2.5" fill="{colour}"/>' for px, py in points]
    out.append(_text(x, y, name, f'font-family="sans-serif" font-size="10" fill="{colour}"'))
    return out


def _text(x: float, y: float, text: str, attrs: str = "") -> str:
    extra = f" {attrs}" if attrs else ""
    return f'<text x="{_f(x)}" y="{_f(y)}"{extra}>{escape(text)}</text>'


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"
