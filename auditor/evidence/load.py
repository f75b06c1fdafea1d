"""Evidence given to a run instead of (or besides) probing: results documents written by
`auditor probe` on one or several hosts, checked against the inventory and merged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from auditor.errors import UsageError
from auditor.evidence.merge import merge_records
from auditor.evidence.record import ProbeRecord
from auditor.inventory.model import Inventory
from auditor.probe.document import read_results


@dataclass(frozen=True, slots=True)
class GivenEvidence:
    records: tuple[ProbeRecord, ...]
    hosts: tuple[str, ...]  # the probing host of each document, in the order given
    warnings: tuple[str, ...] = ()


def load_evidence(
    paths: Sequence[Path], inventory: Inventory, *, any_inventory: bool = False
) -> GivenEvidence:
    """Read every results document (bad input raises before anything else happens), refuse one
    probed with another inventory unless `any_inventory`, and merge their records."""
    documents = [(path, read_results(path)) for path in paths]
    warnings: list[str] = []
    for path, doc in documents:
        if doc.meta.inventory_digest == inventory.digest:
            continue
        message = (
            f"{path} was probed with another inventory or another version of it "
            f"({doc.meta.inventory}, {doc.meta.inventory_digest[:19]}...; this one "
            f"is {inventory.digest[:19]}...)"
        )
        if not any_inventory:
            # Evidence about other addresses would be called proven: refuse unless asked.
            raise UsageError(
                f"{message}: probe again with this inventory, or pass --any-inventory to use "
                "its evidence anyway"
            )
        warnings.append(f"{message}: flows it has no record of count as unverified")
    # Records written before records carried their origin take the document's host.
    per_document = [
        [r if r.origin else replace(r, origin=doc.meta.probing_host) for r in doc.records]
        for _, doc in documents
    ]
    return GivenEvidence(
        records=merge_records(per_document),
        hosts=tuple(doc.meta.probing_host for _, doc in documents),
        warnings=tuple(warnings),
    )
