"""An index over the elements of a concatenated nft set (`ip daddr . tcp dport @s`), so a
packet is looked up, not compared with each of a million elements.

The first field picks the candidates: a dictionary for elements whose first part is one value,
and for ranges and prefixes the elementary segments between their bounds (each segment lists
the elements covering it). An element that covers very many segments (a `0.0.0.0/0 . 22`
among narrow ones) is kept aside and tested for every packet. The remaining parts are then
compared for the few candidates.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

Span = tuple[int, int]
_WIDE = 64  # segments one element may be listed in before it is kept aside


class ConcatIndex:
    """Elements of numeric spans; `hit(values)` for numeric values."""

    __slots__ = ("_bounds", "_points", "_segments", "_wide")

    def __init__(self, elements: Sequence[tuple[Span, ...]]) -> None:
        points: dict[int, list[tuple[Span, ...]]] = {}
        ranged: list[tuple[int, int, tuple[Span, ...]]] = []
        for element in elements:
            (lo, hi), rest = element[0], element[1:]
            if lo == hi:
                points.setdefault(lo, []).append(rest)
            else:
                ranged.append((lo, hi, rest))
        bounds = sorted({lo for lo, _, _ in ranged} | {hi + 1 for _, hi, _ in ranged})
        segments: list[list[tuple[Span, ...]]] = [[] for _ in bounds]
        wide: list[tuple[Span, ...]] = []
        for lo, hi, rest in ranged:
            first, last = bisect_left(bounds, lo), bisect_left(bounds, hi + 1)
            if last - first > _WIDE:
                wide.append(((lo, hi), *rest))
                continue
            for at in range(first, last):
                segments[at].append(rest)
        self._points, self._bounds, self._segments, self._wide = points, bounds, segments, wide

    def hit(self, values: Sequence[int]) -> bool:
        first, rest = values[0], values[1:]
        for tail in self._points.get(first, ()):
            if _inside(tail, rest):
                return True
        at = bisect_right(self._bounds, first) - 1
        if at >= 0:
            for tail in self._segments[at]:
                if _inside(tail, rest):
                    return True
        return any(_inside(element, values) for element in self._wide)


def _inside(spans: tuple[Span, ...], values: Sequence[int]) -> bool:
    return all(lo <= value <= hi for (lo, hi), value in zip(spans, values, strict=True))
