"""The access-request sheet (`request.csv`): one line per flow as change tools (Tufin
SecureChange, AlgoSec FireFlow) build access requests from: ticket, source, its role and when it
is live, destination, protocol, port, action, justification, requester, expiry and evidence.
A flow here is one source block to one destination block on one port range of a planned rule;
docs/formats.md maps the columns onto the tools' fields."""

from __future__ import annotations

import csv
import io

from netaddr import IPAddress, IPNetwork

from auditor.plan import Plan, PlannedRule, SourceInfo
from auditor.render.environment import render_template
from auditor.render.fields import blocks
from auditor.render.options import RenderOptions
from auditor.textout import csv_cell

FILENAME = "request.csv"
COLUMNS = (
    "Ticket",
    "Source",
    "Source role",
    "Failover state",
    "Destination",
    "Protocol",
    "Port",
    "Action",
    "Justification",
    "Requester",
    "Expires",
    "Evidence",
)
STATE = {
    "unique": "always enabled (both failover states)",
    "shared": "enabled on the primary only (moves at failover)",
}


def _row(cells: list[str]) -> str:
    buf = io.StringIO()
    flat = [csv_cell(" ".join(c.split())) for c in cells]
    # every cell quoted: a `;`-delimited import must not split a cell or see a formula
    csv.writer(buf, lineterminator="", quoting=csv.QUOTE_ALL).writerow(flat)
    return buf.getvalue()


def _roles(block: str, sources: tuple[SourceInfo, ...]) -> list[str]:
    """The roles of the pair's addresses inside `block` (`unique`, `shared`)."""
    net = IPNetwork(block)
    roles = {s.role for s in sources if IPAddress(s.address) in net}
    return sorted(roles) or ["unknown"]


def _rows(plan: Plan, rule: PlannedRule, options: RenderOptions) -> list[list[str]]:
    evidence = f"{rule.status.value}: {', '.join(s.value for s in rule.evidence)}"
    out = []
    for src in blocks(rule.sources):
        roles = _roles(src, plan.sources)
        state = "; ".join(STATE.get(r, r) for r in roles)
        for dst in blocks(rule.destinations):
            for ports in rule.ports:
                out.append(
                    [
                        options.ticket,
                        src,
                        " ".join(roles),
                        state,
                        dst,
                        rule.protocol.value,
                        str(ports),
                        "allow",
                        rule.justification,
                        options.requested_by,
                        options.expires,
                        evidence,
                    ]
                )
    return out


def render(plan: Plan, options: RenderOptions) -> dict[str, str]:
    rows = [_row(r) for rule in plan.rules for r in _rows(plan, rule, options)]
    text = render_template(
        options.templates,
        "vendor/request.csv.j2",
        header=[_row([c]) for c in COLUMNS],
        rows=[[row] for row in rows],
    )
    return {FILENAME: text}
