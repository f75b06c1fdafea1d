"""Candidate rules per packet field, as bitsets (bit i: rule i may match on this field): the
evaluator tests in full only the rules every field leaves, lowest (earliest) first."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from auditor.ruleset.model import Intervals


class SegmentIndex:
    """Which rules' intervals hold a value: the boundaries of every interval, and for each
    segment between two boundaries the bitset of rules that cover it."""

    __slots__ = ("_bits", "_starts")

    def __init__(self, intervals: Iterable[tuple[int, Intervals]]) -> None:
        toggles: dict[int, int] = {}
        for rule, spans in intervals:
            bit = 1 << rule
            # a rule's own spans are merged and disjoint: toggling on and off is exact
            for low, high in spans.spans():
                toggles[low] = toggles.get(low, 0) ^ bit
                toggles[high + 1] = toggles.get(high + 1, 0) ^ bit
        self._starts: list[int] = sorted(toggles)
        self._bits: list[int] = []
        current = 0
        for start in self._starts:
            current ^= toggles[start]
            self._bits.append(current)

    def lookup(self, value: int) -> int:
        at = bisect_right(self._starts, value) - 1
        return self._bits[at] if at >= 0 else 0


class FieldIndex:
    """Rules that may match a value of one field: those that always might (any, negated, or
    with members the configuration cannot resolve) and those whose intervals hold it."""

    __slots__ = ("_always", "_cache", "_segments")

    def __init__(self, always: int, segments: dict[object, SegmentIndex]) -> None:
        self._always = always
        self._segments = segments
        self._cache: dict[tuple[object, int], int] = {}

    def lookup(self, key: object, value: int) -> int:
        got = self._cache.get((key, value))
        if got is None:
            segments = self._segments.get(key)
            got = self._always | (segments.lookup(value) if segments is not None else 0)
            self._cache[(key, value)] = got
        return got
