"""A node's short memory of the dates and times it offered, for the booking pages in a rush.

When a municipality opens a block of appointments, hundreds of residents load the same
dates page and the same times pages within seconds. Each costs a slot search over every
qualified staff member (their hours, exceptions and appointments, read and swept), though
the answer changes only when something is booked, cancelled or re-planned. So a node keeps
each answer for :data:`TTL` seconds and reuses it while:

- no booking write succeeded on this node since (every write forgets everything: a
  resident who just booked never sees the time on offer again from the same node);
- no planner or administrator changed hours, exceptions or holidays on this node since
  (their stores call :meth:`OfferCache.forget`, wired in the apps' setup);
- the service's clock has not moved more than :data:`TTL` from when it was computed (a
  test's clock moved by hand, or a notice boundary crossed).

The service keeps what it reads of the catalog (a purpose, the tenant's holidays, the
qualified staff with their hours and exceptions) the same way, for every slot search and
claim, but forgets it only on the planner's and administrator's changes, not on bookings. A
claim does not trust it: it reads its staff member's hours and exceptions again under that
member's lock.

What another node changed shows here within :data:`TTL`. That is all an offer may be stale
by, and it only ever shows a time as free a moment too long: the hold re-checks the slot
under its lock and refuses it (``slot-taken``), as it does for a time taken between two
clicks. Holds, bookings and the planner's explanations never read this memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Generic, TypeVar

T = TypeVar("T")

#: how long an offer is reused (seconds), on this node's monotonic clock
TTL: Final = 1.0
#: at most this many answers are kept (a tenant's purposes × the dates of their horizon)
MAX_ENTRIES: Final = 4096


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    until: float
    computed_at: datetime
    value: T


class OfferCache:
    """Answers by key, each kept for :data:`TTL` seconds unless forgotten first."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._entries: dict[Hashable, _Entry[object]] = {}
        #: counts :meth:`forget` calls: an answer computed across one is not kept
        self.generation = 0

    def get(self, key: Hashable, now: datetime) -> object | None:
        """The answer kept under ``key``, or None when there is none still good at ``now``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.until <= self._monotonic() or abs(now - entry.computed_at) > _MOVED:
            del self._entries[key]
            return None
        return entry.value

    def put(self, key: Hashable, now: datetime, value: object, generation: int) -> None:
        """Keep ``value``, computed from what was there at ``generation``, unless something
        changed since (it may have read the database before that change)."""
        if generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # a flood of distinct keys: start again rather than grow
        self._entries[key] = _Entry(self._monotonic() + TTL, now, value)

    def forget(self, _tenant_id: str | None = None) -> None:
        """Forget every answer: something they were computed from changed on this node.
        (All tenants' at once: one node serves one or a few municipalities, and a narrower
        rule would have to know which purposes share which staff.)"""
        self.generation += 1
        self._entries.clear()


_MOVED: Final = timedelta(seconds=TTL)
