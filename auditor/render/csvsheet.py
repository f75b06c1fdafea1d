"""The change-request sheet: one row per planned rule, in the columns change tools import.
Written with the csv module (every cell quoted, CRLF); every cell that a spreadsheet would read as
a formula is prefixed with a single quote."""

from __future__ import annotations

import csv
import io

from auditor.plan import Plan
from auditor.render.fields import destination_texts, ports_text, source_texts
from auditor.render.options import SharedOptions
from auditor.textout import csv_cell

FILENAME = "change-request.csv"
COLUMNS = (
    "Source",
    "Destination",
    "Service",
    "Protocol",
    "Port",
    "Action",
    "Justification",
    "Provider",
    "Status",
    "Requested by",
    "Ticket",
)


def render(plan: Plan, options: SharedOptions) -> dict[str, str]:
    buf = io.StringIO()
    # every cell quoted: a `;`-delimited import must not split a cell or see a formula
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for rule in plan.rules:
        row = (
            " ".join(source_texts(rule)),
            " ".join(destination_texts(rule)),
            " ".join(rule.kinds),
            rule.protocol.value,
            ports_text(rule.ports, range_sep="-", list_sep=","),
            "allow",
            rule.justification,
            " ".join(rule.providers),
            rule.status.value,
            options.requested_by,
            options.ticket,
        )
        writer.writerow([csv_cell(" ".join(cell.split())) for cell in row])
    return {FILENAME: buf.getvalue()}
