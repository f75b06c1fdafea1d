"""What the renderers of one plan would otherwise compute more than once: the iptables,
nftables and pf files (their own formats and the ticket's snippets), the vendor object model
(PAN-OS, Check Point and SRX name within the same limits). Kept for the last plan rendered
only, by its identity: a Plan is frozen, and the options that make a key are frozen values."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class LastPlan:
    """`build()`'s result for (the last plan, key); a new plan drops the old plan's results."""

    def __init__(self) -> None:
        # one attribute, replaced whole: a thread never sees one plan with another's results
        self._last: tuple[object, dict[Hashable, Any]] = (None, {})

    def get(self, plan: object, key: Hashable, build: Callable[[], T]) -> T:
        last = self._last
        if last[0] is not plan:
            last = self._last = (plan, {})
        if key in last[1]:
            got: T = last[1][key]
            return got
        got = last[1][key] = build()
        return got
