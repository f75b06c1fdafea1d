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


def records_digest(rows: Iterable[Sequence[object]]) -> str | None:
    """The digest of a run's record rows, each (seq, source, destination, protocol, port,
    provider, check, status, reason, document), in sequence order; None when a value is not
    of a type the store writes (text, or a whole number): such a run is damaged anyway."""
    hasher = hashlib.sha256()
    for row in rows:
        if len(row) != RECORD_FIELDS or not all(isinstance(v, str) or type(v) is int for v in row):
            return None
        # JSON keeps the types apart (a port 5 is not the text '5'); one line per record
        hasher.update(json.dumps(list(row), ensure_ascii=False).encode("utf-8", "surrogatepass"))
        hasher.update(b"\n")
    return DIGEST_PREFIX + hasher.hexdigest()
