"""The access-request sheet (`request.csv`): one line per flow that needs a change, as change
tools (Tufin SecureChange, AlgoSec FireFlow) build access requests from: ticket, source (one
address), its role and when it is live, destination (one address), protocol, port (one),
action, justification, requester, expiry and evidence. `flows` is the one expansion of a plan
into its flows, shared with the Tufin and AlgoSec import files (change_tools.py);
docs/formats.md maps every column onto the tools' fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from auditor.plan import Plan, PlannedRule
from auditor.render.environment import render_template
from auditor.render.options import SharedOptions
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


@dataclass(frozen=True, slots=True)
class PlanFlow:
    """One flow a planned rule admits: one source, one destination, one port."""

    rule: PlannedRule
    source: str
    role: str  # `shared`, `unique` (`unknown`: not one of the pair's listed addresses)
    destination: str
    port: int
    seen: str = ""  # what the probe saw of this flow, when the plan kept it

    @property
    def family(self) -> int:
        return self.rule.family

    @property
    def protocol(self) -> str:
        return self.rule.protocol.value

    @property
    def state(self) -> str:
        return STATE.get(self.role, self.role)

    @property
    def evidence(self) -> str:
        seen = self.seen or ", ".join(s.value for s in self.rule.evidence)
        return f"{self.rule.status.value}: {seen}"


def _hosts(nets: Sequence[IPNetwork]) -> Iterator[str]:
    for net in nets:
        for value in range(net.first, net.last + 1):
            yield str(IPAddress(value, net.version))


def flows(plan: Plan) -> list[PlanFlow]:
    """Every flow the plan's rules admit (exactly the flows that need a change), rule by rule."""
    roles = {s.address: s.role for s in plan.sources}
    # the plan keeps each flow's own result for its first EVIDENCE_SAMPLE flows
    seen = {
        (e.source, e.destination, e.protocol, e.port): e.status.value
        for e in plan.evidence
        if e.status is not None
    }
    out = []
    for rule in plan.rules:
        proto = rule.protocol.value
        for src in _hosts(rule.sources):
            for dst in _hosts(rule.destinations):
                for r in rule.ports:
                    for port in range(r.low, r.high + 1):
                        said = seen.get((src, dst, proto, port), "")
                        role = roles.get(src, "unknown")
                        out.append(PlanFlow(rule, src, role, dst, port, said))
    return out


def csv_row(cells: Sequence[str]) -> str:
    """One CSV line, every cell quoted (a `;`-delimited import must not split a cell or see a
    formula) and neutralised for spreadsheets."""
    buf = io.StringIO()
    flat = [csv_cell(" ".join(c.split())) for c in cells]
    csv.writer(buf, lineterminator="", quoting=csv.QUOTE_ALL).writerow(flat)
    return buf.getvalue()


def sheet(options: SharedOptions, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return render_template(
        options.templates,
        "vendor/request.csv.j2",
        header=[csv_row([c]) for c in header],
        rows=[[csv_row(r)] for r in rows],
    )


def render(plan: Plan, options: SharedOptions) -> dict[str, str]:
    rows = [
        [
            options.ticket,
            f.source,
            f.role,
            f.state,
            f.destination,
            f.protocol,
            str(f.port),
            "allow",
            f.rule.justification,
            options.requested_by,
            options.expires,
            f.evidence,
        ]
        for f in flows(plan)
    ]
    return {FILENAME: sheet(options, COLUMNS, rows)}
