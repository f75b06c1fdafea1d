"""Work shared with forked helper processes: `fn(0) ... fn(count - 1)`, in order, the first part
computed here while helper processes compute the rest at the same time (a fleet reads and
checks its pairs so: every input of every pair, before anything runs, on every core). `fn(0)`
is computed before the helpers are forked: a first call pays for lazy imports and caches
(0.2 s for a fleet's first pair), once, not once more in each helper. The helpers are forked:
they inherit `fn` and everything it reads, nothing of it is pickled; only their results come
back, pickled. What does not come back (a result that does not pickle, such as one holding a
TLS context; a helper that ended abruptly, killed or out of memory) is computed here
afterwards: the results are always those of `fn` called here, in order."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar, cast

T = TypeVar("T")

# The function the helpers call: set before they are forked (they inherit it), cleared after.
_TASK: list[Callable[[int], Any]] = []


def split_map(fn: Callable[[int], T], count: int, *, helpers: int) -> list[T]:
    """`[fn(i) for i in range(count)]`, the last parts of the range in `helpers` forked
    processes (0: all here). Call it where no other thread runs (it forks)."""
    if helpers <= 0 or count < 2:
        return [fn(i) for i in range(count)]
    helpers = min(helpers, count - 1)
    bounds = [count * k // (helpers + 1) for k in range(helpers + 2)]
    first = fn(0)  # before the fork: what it imports and caches, the helpers inherit
    _TASK[:] = [fn]
    gc.freeze()  # the objects so far out of the collector's reach: fewer copied pages
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=multiprocessing.get_context("fork"))
    try:
        parts = [pool.submit(_part, bounds[k], bounds[k + 1]) for k in range(1, helpers + 1)]
        _TASK.clear()  # forked at the first submit: the helpers hold their own copy
        done = [first, *(fn(i) for i in range(1, bounds[1]))]
        for k, part in enumerate(parts, start=1):
            try:
                blobs = part.result()
            except Exception:  # the helper ended or failed: its part here
                blobs = [None] * (bounds[k + 1] - bounds[k])
            done += [
                fn(i) if blob is None else cast(T, pickle.loads(blob))  # noqa: S301  # our own
                for i, blob in zip(range(bounds[k], bounds[k + 1]), blobs, strict=True)
            ]
    finally:
        _TASK.clear()
        pool.shutdown(cancel_futures=True)
        gc.unfreeze()
    return done


def _part(start: int, stop: int) -> list[bytes | None]:
    """In a helper: each result pickled, or None when it does not pickle."""
    fn = _TASK[0]
    found: list[bytes | None] = []
    for i in range(start, stop):
        try:
            found.append(pickle.dumps(fn(i), protocol=pickle.HIGHEST_PROTOCOL))
        except (pickle.PicklingError, TypeError, AttributeError):
            found.append(None)
    return found
