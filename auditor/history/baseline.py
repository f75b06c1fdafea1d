"""The baseline a run is compared with: the last compliant run of the site, a run id of the
history store, or a file (a run document, or a probe results document). Read and checked
before anything is probed, so a bad baseline is bad input, not a failed run."""

from __future__ import annotations

from pathlib import Path

from auditor.documents.jsonsource import load_json
from auditor.errors import UsageError
from auditor.history.store import Store
from auditor.model.findings import AuditRun, compute_verdict
from auditor.model.inventory import Flow, Inventory
from auditor.model.results import ResultsDocument, results_from_json
from auditor.model.rundoc import MAX_BYTES as RUN_MAX_BYTES
from auditor.model.rundoc import is_run_document, run_from_document


def load_baseline(
    ref: str | None,
    *,
    db: Store | None,
    inventory: Inventory,
    flows: tuple[Flow, ...],
) -> AuditRun | None:
    """The run to compare with, read and checked before any probe (a bad baseline is bad
    input); a results.json baseline takes the current inventory and flows."""
    if ref is None:
        return None
    site = inventory.site.name
    if Path(ref).is_file():
        path = Path(ref)
        found = read_baseline_file(path)
        if isinstance(found, ResultsDocument):
            return run_from_results(path, found, site=site, inventory=inventory, flows=flows)
        run = found
    elif db is None:
        raise UsageError("--baseline last-green or RUN_ID needs the history store (not --no-store)")
    elif ref == "last-green":
        green = db.last_green(site)
        if green is None:
            raise UsageError(
                f"{db.display}: no compliant audit of site {site} recorded yet to compare with "
                "(give --baseline RUN_ID or FILE, or leave --baseline out)"
            )
        run = db.load_run(green)
    else:
        run = db.load_run(ref)
    if run.site != site:
        raise UsageError(
            f"baseline {ref} is an audit of site {run.site}, not {site} (expected a run of the "
            "same site)"
        )
    return run


def read_baseline_file(path: Path) -> AuditRun | ResultsDocument:
    """A run document (`run.json`) or a probe results document (`results.json`), read once:
    its size checked first, its problems located by the JSON text itself."""
    doc, text = load_json(path, str(path), RUN_MAX_BYTES, "a run.json or results.json document")
    if is_run_document(doc):
        return run_from_document(doc, text, str(path))
    return results_from_json(doc, text, str(path))


def run_from_results(
    path: Path,
    doc: ResultsDocument,
    *,
    site: str,
    inventory: Inventory,
    flows: tuple[Flow, ...],
) -> AuditRun:
    """A probe results document holds records only: its inventory is taken to be the current
    one (address changes and failovers cannot show against it)."""
    return AuditRun(
        run_id=str(path),
        site=site,
        started_at=doc.meta.started_at,
        finished_at=doc.meta.finished_at,
        inventory_digest=doc.meta.inventory_digest,
        inventory=inventory,
        flows=flows,
        records=doc.records,
        verdict=compute_verdict(flows, doc.records),
    )


def baseline_from_file(path: Path, current: AuditRun) -> AuditRun:
    """A run document (`run.json`), or a probe results document (`results.json`)."""
    found = read_baseline_file(path)
    if isinstance(found, ResultsDocument):
        return run_from_results(
            path, found, site=current.site, inventory=current.inventory, flows=current.flows
        )
    return found
