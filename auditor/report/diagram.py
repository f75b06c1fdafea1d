"""The pair diagram: an inline SVG of the primary and backup (unique and shared IPs, enabled or
not), a line from each appliance to each provider coloured by the worst status of its flows,
and the peer link between the two. Every colour also has its word, for readers who cannot
tell the colours apart and for text-only captures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from auditor.model.findings import AuditRun, FlowResult
from auditor.model.inventory import Appliance
from auditor.model.verdict import Outcome, worst

COLOURS = {
    Outcome.OK.value: "#1a7f37",
    Outcome.BLOCKED.value: "#cf222e",
    Outcome.FAILING.value: "#bc4c00",
    Outcome.ERROR.value: "#8250df",
    Outcome.UNVERIFIED.value: "#6e7781",
    "none": "#afb8c1",
}

WIDTH = 940
APP_X, APP_W = 20, 320
PROV_X, PROV_W = 620, 300
LINE_H = 18
PAD = 12
FONT = "font-family:DejaVu Sans,Arial,sans-serif"


@dataclass(frozen=True, slots=True)
class Link:
    """One appliance-to-provider line: the worst status of the flows between them."""

    appliance: str
    provider: str
    status: str
    flows: int

    def __str__(self) -> str:
        return f"{self.appliance} -> {self.provider}: {self.status} ({self.flows} flows)"


def links(run: AuditRun, results: tuple[FlowResult, ...]) -> tuple[Link, ...]:
    """Appliance x provider links (pair order, inventory order), then the peer link."""
    out = []
    for a in run.inventory.pair.appliances:
        for p in run.inventory.providers:
            mine = [
                r for r in results if a.name in r.flow.appliances and p.name in r.flow.providers
            ]
            if mine:
                out.append(Link(a.name, p.name, worst(r.outcome for r in mine).value, len(mine)))
    peer = [r for r in results if r.flow.is_peer]
    if peer:
        out.append(
            Link(
                run.inventory.pair.primary.name,
                run.inventory.pair.backup.name,
                worst(r.outcome for r in peer).value,
                len(peer),
            )
        )
    return tuple(out)


def _t(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 13,
    weight: str = "normal",
    fill: str = "#1f2328",
    anchor: str = "start",
) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
        f'fill="{fill}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _appliance_box(a: Appliance, y: int) -> tuple[list[str], int]:
    height = PAD * 2 + LINE_H * (2 + len(a.addresses))
    parts = [
        f'<g class="appliance" data-side="{escape(a.side.value)}">',
        f'<rect x="{APP_X}" y="{y}" width="{APP_W}" height="{height}" rx="6" fill="#f6f8fa" '
        f'stroke="#57606a" stroke-width="1.5"/>',
        _t(APP_X + PAD, y + PAD + 13, f"{a.side.value.upper()}: {a.name}", weight="bold"),
        _t(APP_X + PAD, y + PAD + 13 + LINE_H, a.hostname or "", size=12, fill="#57606a"),
    ]
    for i, addr in enumerate(a.addresses):
        state = "enabled" if addr.enabled else "disabled"
        fill = "#1f2328" if addr.enabled else "#6e7781"
        label = f"{addr.interface}  {addr.role.value}  {state}"
        parts.append(_t(APP_X + PAD, y + PAD + 13 + LINE_H * (2 + i), label, size=12, fill=fill))
    parts.append("</g>")
    return parts, height


_Anchors = dict[str, tuple[int, int]]  # box name -> (y top, height)


def _provider_boxes(run: AuditRun) -> tuple[list[str], _Anchors, int]:
    body: list[str] = []
    anchors: _Anchors = {}
    py = 20
    for p in run.inventory.providers:
        shown = list(p.endpoints[:3]) + (
            [f"... {len(p.endpoints) - 3} more"] if len(p.endpoints) > 3 else []
        )
        h = PAD * 2 + LINE_H * (1 + len(shown))
        body.append('<g class="provider">')
        body.append(
            f'<rect x="{PROV_X}" y="{py}" width="{PROV_W}" height="{h}" rx="6" fill="#ffffff" '
            f'stroke="#57606a" stroke-width="1.5"/>'
        )
        body.append(_t(PROV_X + PAD, py + PAD + 13, f"{p.name} ({p.kind})", weight="bold"))
        for i, e in enumerate(shown):
            body.append(_t(PROV_X + PAD, py + PAD + 13 + LINE_H * (1 + i), e, size=12))
        body.append("</g>")
        anchors[p.name] = (py, h)
        py += h + 24
    return body, anchors, py - 24


def _link_lines(
    run: AuditRun, all_links: Sequence[Link], anchors: _Anchors, prov_anchor: _Anchors
) -> tuple[list[str], list[str]]:
    """One line per appliance and provider, and its label."""
    lines: list[str] = []
    labels: list[str] = []
    side_index = {a.name: i for i, a in enumerate(run.inventory.pair.appliances)}
    for link in all_links:
        if link.provider not in prov_anchor:
            continue
        ai = side_index[link.appliance]
        ay, ah = anchors[link.appliance]
        x1, y1 = APP_X + APP_W, ay + ah // 2 + (ai * 2 - 1) * 8
        top, ph = prov_anchor[link.provider]
        x2, y2 = PROV_X, top + ph // 2 + (ai * 2 - 1) * 6
        colour = COLOURS[link.status]
        dash = ' stroke-dasharray="6 4"' if link.status == Outcome.UNVERIFIED.value else ""
        lines.append(
            f'<line class="flow {link.status}" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
            f'stroke="{colour}" stroke-width="3"{dash}>'
            f"<title>{escape(str(link))}</title></line>"
        )
        # Labels sit just before the provider box, above the primary's line and below the
        # backup's, so two lines crossing in the middle never stack their words.
        lx = x2 - 40
        ly = y2 - 6 if ai == 0 else y2 + 16
        labels.append(
            f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="11" fill="{colour}" '
            f'text-anchor="middle" stroke="#ffffff" stroke-width="3" paint-order="stroke">'
            f"{escape(link.status)}</text>"
        )
    return lines, labels


def _peer_line(
    run: AuditRun, peer: Sequence[Link], anchors: _Anchors
) -> tuple[list[str], list[str]]:
    if not peer:
        return [], []
    pair = run.inventory.pair
    status = peer[0].status
    (t0, h0), (t1, _h1) = anchors[pair.primary.name], anchors[pair.backup.name]
    x = APP_X + 40
    colour = COLOURS[status]
    line = (
        f'<line class="flow peer {status}" x1="{x}" y1="{t0 + h0}" x2="{x}" y2="{t1}" '
        f'stroke="{colour}" stroke-width="3"><title>failover peer link: {status}</title></line>'
    )
    label = _t(x + 10, (t0 + h0 + t1) // 2 + 4, f"failover peer: {status}", size=12, fill=colour)
    return [line], [label]


def _legend(height: int) -> list[str]:
    legend_y = height - 30
    legend = [_t(APP_X, legend_y, "Line colour = worst status of the flows:", size=12)]
    lx = APP_X + 250
    for name in (o.value for o in Outcome):
        legend.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="22" height="6" fill="{COLOURS[name]}"/>'
        )
        legend.append(_t(lx + 28, legend_y, name, size=12))
        lx += 110
    return legend


def render_svg(run: AuditRun, results: tuple[FlowResult, ...] | None = None) -> Markup:
    """The diagram as an `<svg>` element, ready to inline in HTML."""
    if results is None:
        results = run.flow_results()
    body: list[str] = []
    anchors: _Anchors = {}
    y = 20
    for a in run.inventory.pair.appliances:
        parts, h = _appliance_box(a, y)
        body += parts
        anchors[a.name] = (y, h)
        y += h + 60
    provider_body, prov_anchor, providers_bottom = _provider_boxes(run)
    body += provider_body
    height = max(y - 60, providers_bottom) + 70
    all_links = links(run, results)
    lines, labels = _link_lines(run, all_links, anchors, prov_anchor)
    peer_lines, peer_labels = _peer_line(
        run, [k for k in all_links if k.provider not in prov_anchor], anchors
    )
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pair-diagram" role="img" '
        f'aria-labelledby="diagram-title diagram-desc" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" style="{FONT}">',
        f'<title id="diagram-title">Failover pair {escape(run.site)} and its providers</title>',
        '<desc id="diagram-desc">Primary and backup appliances with their unique and shared '
        "addresses, and one line per appliance and provider coloured by the worst status of "
        "the flows between them.</desc>",
        *lines,
        *peer_lines,
        *body,
        *labels,
        *peer_labels,
        *_legend(height),
        "</svg>",
    ]
    # Every text piece above went through escape(); the rest is our own markup.
    return Markup("\n".join(svg))  # noqa: S704
