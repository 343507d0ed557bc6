"""Small statistics the benchmarks share."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(values: Iterable[float], share: float) -> float:
    """The value ``share`` of the way up the sorted values (0.5: the upper median; 0.99: p99),
    nearest rank, no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def medians_of(group: Sequence[object], names: Iterable[str]) -> dict[str, Any]:
    """The median of each named attribute over ``group``: keyword arguments for a summary."""
    return {name: statistics.median(getattr(item, name) for item in group) for name in names}
