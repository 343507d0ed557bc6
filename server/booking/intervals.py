"""Time arithmetic for the slot engine: wall-clock → real instants, and interval algebra.

Wall-clock times (a weekly rule's 09:00) live in a zone; real instants are POSIX seconds (a
``float`` for speed, see below) or aware datetimes. Two local dates a year break the simple
mapping in ``Europe/Amsterdam``; the choices made here are deliberate and pinned by tests:

- **A wall time that does not exist** (02:30 on the last Sunday of March: clocks jump from
  02:00 to 03:00) used as a *boundary* of hours maps to the transition instant, the first
  moment that does exist (03:00 CEST). A rule 01:00–05:00 on that day therefore lasts the
  3 real hours that pass, and a rule ending at 02:30 ends where one starting at 02:30 begins.
- **A wall time that occurs twice** (02:30 on the last Sunday of October) used as a boundary
  means its *first* occurrence (CEST, ``fold=0``), for starts and ends alike, so adjacent
  rules stay contiguous. A rule 01:00–04:00 on that day lasts 4 real hours.
- Slot *starts* are wall-clock grid points; :func:`wall_instants` gives every real instant a
  grid point denotes: none in the gap (so no slot ever starts at a non-existent local time),
  both occurrences in the fold (each is a distinct, bookable real hour).

Why floats: the engine compares tens of thousands of instants per search, and
``datetime.timestamp()`` plus float comparisons are several times cheaper than datetime
arithmetic. The values stay exact: whole seconds are exact in a double, and microsecond
timestamps keep their order against whole seconds (a double's step near 2**31 s is ~2.4e-7 s,
well below one microsecond).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

#: POSIX seconds, as :meth:`datetime.timestamp` returns them
Instant = float

T = TypeVar("T", float, datetime)

_SECOND = timedelta(seconds=1)


def to_instant(moment: datetime) -> Instant:
    """An aware datetime as POSIX seconds."""
    return moment.timestamp()


def from_instant(instant: Instant) -> datetime:
    """POSIX seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(instant, UTC)


def wall_instants(wall: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every real instant (UTC) at which clocks in ``zone`` read the naive ``wall`` time.

    One normally; none in a spring-forward gap; two, in order, in an autumn fold.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return (first,)
    if first < second:
        return (first, second)
    return ()  # PEP 495: in a gap fold=0 maps *later* than fold=1


def wall_to_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The real instant (UTC) of the *boundary* ``at`` on local ``day``.

    Non-existent wall times map to the transition instant, repeated ones to their first
    occurrence (see the module docstring for why).
    """
    wall = datetime.combine(day, at)
    found = wall_instants(wall, zone)
    if found:
        return found[0]
    # In a gap, fold=1 (the offset after the change) lands before the transition and fold=0
    # (the offset before) at or after it; the transition is the first instant in between
    # whose offset is the new one. Bisect on whole seconds: a dozen steps, twice a year.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    new_offset = wall.replace(tzinfo=zone, fold=1).utcoffset()
    lo, hi = 0, (after - before) // _SECOND
    while lo < hi:
        mid = (lo + hi) // 2
        if (before + mid * _SECOND).astimezone(zone).utcoffset() == new_offset:
            hi = mid
        else:
            lo = mid + 1
    return before + lo * _SECOND


def offset_changes_on(day: date, zone: ZoneInfo) -> bool:
    """True if clocks in ``zone`` change their UTC offset during local ``day`` (a DST day)."""
    return zone.utcoffset(datetime.combine(day, time.min)) != zone.utcoffset(
        datetime.combine(day, time.max)
    )


def merge(intervals: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Sorted, disjoint half-open intervals covering the same points; touching ones joined.

    Empty intervals (end <= start) are dropped.
    """
    merged: list[tuple[T, T]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def union(starts: list[Instant], ends: list[Instant]) -> tuple[list[Instant], list[Instant]]:
    """The union of non-empty half-open intervals given as parallel start and end lists,
    as (starts, ends) of sorted, disjoint intervals; touching ones joined.

    Starts and ends are sorted *separately* (floats, no tuples: several times cheaper). That
    is enough: after the k-th start and k-th end in sorted order, k intervals began and k
    ended, so coverage drops to zero exactly where the next start lies beyond the k-th end.
    """
    if not starts:
        return [], []
    starts, ends = sorted(starts), sorted(ends)
    pairs = list(zip(ends[:-1], starts[1:], strict=True))  # (k-th end, next start)
    merged_starts = [starts[0], *(nxt for end, nxt in pairs if nxt > end)]
    merged_ends = [*(end for end, nxt in pairs if nxt > end), ends[-1]]
    return merged_starts, merged_ends


def subtract(windows: list[tuple[T, T]], holes: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """``windows`` minus ``holes``; both half-open, ``windows`` sorted and disjoint."""
    result = windows
    for hole_start, hole_end in merge(holes):
        cut: list[tuple[T, T]] = []
        for start, end in result:
            if hole_end <= start or end <= hole_start:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_end < end:
                cut.append((hole_end, end))
        result = cut
    return result
