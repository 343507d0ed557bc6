"""Small statistics the benchmarks share."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], share: float) -> float:
    """The value ``share`` of the way up the sorted values (0.5: the upper median; 0.99: p99),
    nearest rank, no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
