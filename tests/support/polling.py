"""Waiting for a condition a test cannot be told about (a process gone, a file there)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(what: Callable[[], bool], seconds: float) -> bool:
    """True as soon as `what()` is, polling every 50 ms; after `seconds`, `what()` once more."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return what()
