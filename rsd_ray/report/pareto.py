"""The Pareto front of (cost, accuracy) points: lower cost and higher accuracy are better."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (cost, accuracy), whether no other point is at least as good in both and better in one.

    Equal points are all kept (none dominates the other).
    """
    flags = []
    for i, (c, a) in enumerate(points):
        dominated = any(c2 <= c and a2 >= a and (c2 < c or a2 > a) for j, (c2, a2) in enumerate(points) if j != i)
        flags.append(not dominated)
    return flags
