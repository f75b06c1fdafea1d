"""A run's records digest (schema 6): SHA-256 over its record rows as the store holds them
(every column, in sequence order), written with the run and checked wherever its records are
read. A record row edited by hand, or half-written by a broken tool, into another valid
status is then a damaged run, not a silently different one. (It finds a change, not a forger:
whoever edits a record can recompute the digest.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

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
