"""Import files for change tools, one line per flow that needs a change (request_sheet.flows):

- `tufin.csv`, Tufin SecureChange access requests: a Subject, the Workflow (`--tufin-workflow`),
  the Requester, one access request per line with Action `Accept`, one source and one
  destination address, the service as an upper-case protocol and a port, and a Comment;
- `algosec.csv` (IPv4) and `algosec-ipv6.csv` (IPv6), AlgoSec FireFlow traffic change requests:
  FireFlow does not mix IPv4 and IPv6 in one request, so each family is a file (one request
  each); the Requestor (an e-mail address: `--requested-by` when it is one, else left for
  FireFlow to take from the user who uploads), Source, Destination, the service as `tcp/636`,
  Action `Allow`, Expires and a Comment.

Neither tool has a column for the source's role, its failover state or the probe's evidence:
they go into the comment, with the justification."""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.plan import Plan
from auditor.render.options import SharedOptions, text_problems
from auditor.render.request_sheet import PlanFlow, flows, sheet

TUFIN = "tufin.csv"
ALGOSEC = "algosec.csv"
ALGOSEC6 = "algosec-ipv6.csv"
TUFIN_COLUMNS = (
    "Subject",
    "Workflow",
    "Requester",
    "Access Request",
    "Action",
    "Source",
    "Destination",
    "Protocol",
    "Port",
    "Comment",
)
ALGOSEC_COLUMNS = (
    "Requestor",
    "Subject",
    "Source",
    "Destination",
    "Service",
    "Action",
    "Expires",
    "Comment",
)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


@dataclass(frozen=True, slots=True)
class TufinOptions:
    """The SecureChange workflow the Tufin import file names."""

    workflow: str = "Access Request"

    def problems(self) -> list[str]:
        return text_problems((("--tufin-workflow", self.workflow),))


def _subject(plan: Plan, options: SharedOptions) -> str:
    change = f"auditor change {plan.change_id} for {plan.site}"
    return f"{options.ticket}: {change}" if options.ticket else change


def _comment(f: PlanFlow, options: SharedOptions) -> str:
    parts = [
        f"source {f.role} ({f.state})",
        f"evidence {f.evidence}",
        f.rule.justification,
    ]
    if options.expires:
        parts.append(f"access until {options.expires}")
    return "; ".join(parts)


def render_tufin(plan: Plan, options: SharedOptions, tufin: TufinOptions) -> dict[str, str]:
    subject = _subject(plan, options)
    rows = [
        [
            subject,
            tufin.workflow,
            options.requested_by,
            f"AR{n}",
            "Accept",
            f.source,
            f.destination,
            f.protocol.upper(),
            str(f.port),
            _comment(f, options),
        ]
        for n, f in enumerate(flows(plan), start=1)
    ]
    return {TUFIN: sheet(options, TUFIN_COLUMNS, rows)}


def render_algosec(plan: Plan, options: SharedOptions) -> dict[str, str]:
    requestor = options.requested_by if _EMAIL.fullmatch(options.requested_by) else ""
    subject = _subject(plan, options)
    by_family: dict[int, list[list[str]]] = {4: [], 6: []}
    for f in flows(plan):
        by_family[f.family].append(
            [
                requestor,
                subject,
                f.source,
                f.destination,
                f"{f.protocol}/{f.port}",
                "Allow",
                options.expires,
                _comment(f, options),
            ]
        )
    files = {}
    if by_family[4] or not by_family[6]:
        files[ALGOSEC] = sheet(options, ALGOSEC_COLUMNS, by_family[4])
    if by_family[6]:
        files[ALGOSEC6] = sheet(options, ALGOSEC_COLUMNS, by_family[6])
    return files
