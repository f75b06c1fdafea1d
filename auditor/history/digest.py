"""A run's digest (schema 6, `runs.record_digest`): SHA-256 over the run row's judged columns
(RUN_DIGESTED: its verdict, counts, stored drift, times, ...) and its record rows as the store
holds them (every column, in sequence order), written with the run and checked wherever its
records are read. A record row, or the run's verdict and counts together, edited by hand or
half-written by a broken tool into other valid values is then a damaged run, not a silently
different one. (It finds a change, not a forger: whoever edits a row can recompute it.)
`run_digest` is its one definition: the writer, the readers and migration 0006 all use it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

# the run row's columns the digest covers, in this order: what the fleet report, `history`,
# `drift` and `trend` show or judge by (never changed once the run is written)
RUN_DIGESTED = ("run_id", "site", "started_at", "finished_at", "inventory_digest", "verdict",
                "counts", "drift", "report")  # fmt: skip
# seq, source, destination, protocol, port, provider, check, status, reason, document
RECORD_FIELDS = 10
DIGEST_PREFIX = "sha256:"
# one encoder for every row (json.dumps with options builds one per call: a third of the cost)
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def records_digest(rows: Iterable[Sequence[object]]) -> str | None:
    """The digest of a run's record rows, each (seq, source, destination, protocol, port,
    provider, check, status, reason, document), in sequence order; None when a row is not
    one the store writes (another number of columns, a value JSON cannot write): such a run
    is damaged anyway."""
    hasher = hashlib.sha256()
    for row in rows:
        if len(row) != RECORD_FIELDS:
            return None
        try:
            # JSON keeps the types apart (a port 5 is not the text '5', nor 5.0) and writes
            # a line break in a value as an escape: one line per record
            line = _ENCODE(list(row)).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError):
            return None
        hasher.update(line)
        hasher.update(b"\n")
    return DIGEST_PREFIX + hasher.hexdigest()


def run_digest(run: Sequence[object], records: str | None) -> str | None:
    """The digest of a run: its row's RUN_DIGESTED columns (in that order, as the store holds
    them) and `records`, the `records_digest` of its record rows; None when either is not
    one the store writes (such a run is damaged anyway)."""
    if records is None or len(run) != len(RUN_DIGESTED):
        return None
    try:
        line = _ENCODE(list(run)).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return None
    return DIGEST_PREFIX + hashlib.sha256(line + b"\n" + records.encode()).hexdigest()
