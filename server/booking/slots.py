"""The slot engine: when a purpose can be booked, with whom, and why a time is not offered.

A pure function of (purpose rules, staff with skills, weekly hours and exceptions, external
busy blocks, bookings and holds, ``now``, time zone) → free slots. It does no I/O and reads no
clock: the storage layer loads the inputs (:meth:`SlotRequest.span` says which window) and
passes ``now``. Ask for dates first (:func:`available_dates`), then the times of one date
(:func:`available_times`); :func:`explain` says why a start is not offered.

The rules, precisely (each is pinned by tests/server/booking):

- **Hours.** On local date D a staff member works the union of their weekly rules for D's
  weekday and the EXTRA exceptions on D, minus the CLOSED exceptions on D. A CLOSED exception
  without times closes the whole day, extra hours included. Hours are wall-clock times in
  the request's zone (``Europe/Amsterdam``), expanded per date; DST handling is described in
  :mod:`server.booking.intervals`. Hours never cross midnight (split such a shift in two).
- **Grid.** A slot starts at its rule's (or extra hours') wall-clock start plus a whole number
  of slot intervals, counted in local wall-clock time, and inside those hours; it may run on
  into adjacent hours. It lasts ``duration`` of real time. On a DST day, grid times that do
  not exist are skipped and both occurrences of a repeated one are offered.
- **Buffers.** Slot [s, e) is blocked for a staff member if [s - buffer_before,
  e + buffer_after) overlaps one of their busy blocks or live allocations, even partly.
  Allocations are stored *already widened* by their own purpose's buffers (the periods the
  database's exclusion constraint compares), so they are not widened again here.
- **Live allocation.** A booking, or a hold with ``expires_at > now``. Expired holds neither
  block nor count.
- **Notice.** start >= now + min_notice, in real elapsed time: 4 hours' notice at 23:00 on the
  Saturday before the March change allows 04:00 CEST, not 03:00.
- **Horizon.** The slot's local start date lies in [today, today + horizon_days), where today
  is the local date of ``now``; days, not hours, so a DST change does not move the edge.
- **Caps.** Live allocations are counted per local date of their (stored) start; a staff member
  offers nothing on a date where their count reached ``Staff.daily_cap``, or where their count
  of this purpose's allocations reached ``PurposeRules.daily_cap``.
- **Skill.** Only staff having the purpose's skill are considered.

Speed (bench/slots.py): per staff member, busy blocks and allocations are widened, sorted and
merged once, then candidate starts are swept in one linear pass; dates stop at the first free
slot. Instants are POSIX seconds internally (see intervals.py).

Errors
------
Bad input is refused when the value is built, with a message naming the value::

    BookingError
    ├── InvalidInput         a value handed to the engine is out of range (also a ValueError)
    │   ├── InvalidRule        weekly hours or an exception: weekday, times, kind
    │   ├── InvalidPurpose     duration, buffers, notice, horizon, interval, cap, skill
    │   ├── InvalidInterval    a busy block or allocation: naive or empty period, hold expiry
    │   └── InvalidRequest     naive ``now`` or start, staff listed twice, a bad cap or id
    └── NoStaffFree          pick_staff was handed a slot that names no staff
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from server.booking.intervals import (
    Instant,
    from_instant,
    merge,
    offset_changes_on,
    subtract,
    to_instant,
    union,
    wall_instants,
    wall_to_instant,
)

AMSTERDAM: Final = ZoneInfo("Europe/Amsterdam")

_ZERO: Final = timedelta(0)
_MINUTE: Final = timedelta(minutes=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- errors -------------------------------------------------------------------------------


class BookingError(Exception):
    """Base of every error raised by :mod:`server.booking`."""


class InvalidInput(BookingError, ValueError):
    """A value handed to the engine is out of range; the message names it."""


class InvalidRule(InvalidInput):
    """Weekly hours or an availability exception are malformed."""


class InvalidPurpose(InvalidInput):
    """A purpose's booking rules are out of range."""


class InvalidInterval(InvalidInput):
    """A busy block or allocation has a naive or empty period, or a bad hold expiry."""


class InvalidRequest(InvalidInput):
    """The request as a whole is malformed (naive ``now``, staff listed twice, ...)."""


class NoStaffFree(BookingError):
    """:func:`pick_staff` was handed a slot that names no staff member."""


def _check_hours(what: str, start: time, end: time, error: type[InvalidInput]) -> None:
    for at in (start, end):
        if at.tzinfo is not None:
            raise error(f"{what}: {at!r} must be a wall-clock time without a zone")
        if at.second or at.microsecond:
            raise error(f"{what}: {at.isoformat()} must be a whole minute")
    if end <= start:
        raise error(f"{what}: end {end:%H:%M} must be after start {start:%H:%M} on the same day")


def _check_period(what: str, start: datetime, end: datetime) -> None:
    for moment in (start, end):
        if moment.utcoffset() is None:
            raise InvalidInterval(f"{what}: {moment.isoformat()} has no time zone")
    if end <= start:
        raise InvalidInterval(f"{what}: end {end.isoformat()} is not after {start.isoformat()}")


def _check_minutes(what: str, value: timedelta, *, positive: bool) -> None:
    if value < _ZERO or (positive and value == _ZERO):
        raise InvalidPurpose(f"{what} {value} must be {'positive' if positive else '>= 0'}")
    if value % _MINUTE:
        raise InvalidPurpose(f"{what} {value} must be whole minutes")


def _check_cap(what: str, cap: int | None, error: type[InvalidInput]) -> None:
    if cap is not None and (isinstance(cap, bool) or cap < 1):
        raise error(f"{what} {cap!r} must be a whole number >= 1, or None for no cap")


# --- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """Working hours on one weekday, wall-clock in the request's zone, ``start`` to ``end``."""

    weekday: int  #: 0 = Monday ... 6 = Sunday, as :meth:`date.weekday`
    start: time
    end: time

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or self.weekday not in range(7):
            raise InvalidRule(f"weekday {self.weekday!r} must be 0 (Monday) to 6 (Sunday)")
        _check_hours(f"{_WEEKDAYS[self.weekday]} rule", self.start, self.end, InvalidRule)


class ExceptionKind(StrEnum):
    #: no hours: the whole day (no times), or from start to end
    CLOSED = "closed"
    #: hours on top of the weekly rules, from start to end
    EXTRA = "extra"


@dataclass(frozen=True, slots=True)
class AvailabilityException:
    """A change to one local date's hours: closed (holiday, training) or extra hours."""

    day: date
    kind: ExceptionKind
    start: time | None = None
    end: time | None = None
    reason: str = ""  #: shown by explain(), e.g. "Koningsdag"

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime):
            raise InvalidRule(f"exception day {self.day!r} must be a date, not a datetime")
        if not isinstance(self.kind, ExceptionKind):
            raise InvalidRule(f"exception kind {self.kind!r} must be an ExceptionKind")
        what = f"{self.kind} exception on {self.day}"
        if self.start is not None and self.end is not None:
            _check_hours(what, self.start, self.end, InvalidRule)
        elif self.start is not None or self.end is not None:
            raise InvalidRule(f"{what}: give both start and end, or neither")
        elif self.kind is ExceptionKind.EXTRA:
            raise InvalidRule(f"{what}: extra hours need a start and an end")

    @property
    def hours(self) -> tuple[time, time] | None:
        """(start, end), or None for a whole day."""
        if self.start is None or self.end is None:
            return None
        return (self.start, self.end)


@dataclass(frozen=True, slots=True)
class Busy:
    """Time a staff member is not free, from outside Balie (their calendar, a roster)."""

    staff_id: str
    start: datetime
    end: datetime
    #: where it came from, shown by explain(): "calendar", "roster", ...
    source: str = "calendar"
    #: its kind at the source (e.g. FBTYPE BUSY-TENTATIVE); every kind blocks
    kind: str = "busy"
    #: its id at the source, so a planner can find it
    ref: str = ""

    def __post_init__(self) -> None:
        _check_period(f"busy block of {self.staff_id!r}", self.start, self.end)


class AllocationKind(StrEnum):
    BOOKING = "booking"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Allocation:
    """Balie's own claim on a staff member's time: a booking, or a hold while a resident books.

    ``start``/``end`` are the stored period, already widened by the allocation's own purpose's
    buffers (the period the database's exclusion constraint guards).
    """

    staff_id: str
    start: datetime
    end: datetime
    kind: AllocationKind
    #: holds only: the hold stops blocking at this instant
    expires_at: datetime | None = None
    #: the purpose key, counted against that purpose's daily cap
    purpose: str = ""
    #: the allocation's id, shown by explain()
    ref: str = ""

    def __post_init__(self) -> None:
        what = f"{self.kind} of {self.staff_id!r}"
        if not isinstance(self.kind, AllocationKind):
            raise InvalidInterval(f"allocation kind {self.kind!r} must be an AllocationKind")
        _check_period(what, self.start, self.end)
        if self.kind is AllocationKind.HOLD:
            if self.expires_at is None or self.expires_at.utcoffset() is None:
                raise InvalidInterval(f"{what}: expires_at {self.expires_at!r} must be aware")
        elif self.expires_at is not None:
            raise InvalidInterval(f"{what}: a booking does not expire ({self.expires_at!r})")

    def live(self, now: datetime) -> bool:
        """Does this allocation block time at ``now``? Bookings do; holds until they expire."""
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    skills: frozenset[str]
    rules: tuple[WeeklyRule, ...] = ()
    exceptions: tuple[AvailabilityException, ...] = ()
    #: most allocations (all purposes) per local date, or None for no cap
    daily_cap: int | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidRequest(f"staff id {self.id!r} must be a non-empty string")
        _check_cap(f"daily cap of {self.id!r}", self.daily_cap, InvalidRequest)


@dataclass(frozen=True, slots=True)
class PurposeRules:
    """How one purpose (onderwerp) may be booked."""

    #: the purpose's key; allocations with the same ``purpose`` count against ``daily_cap``
    key: str
    #: the skill a staff member needs to take it
    skill: str
    duration: timedelta
    buffer_before: timedelta = _ZERO
    buffer_after: timedelta = _ZERO
    min_notice: timedelta = _ZERO
    #: bookable local dates: today and the next ``horizon_days - 1``
    horizon_days: int = 28
    #: distance between slot starts; None means the duration
    slot_interval: timedelta | None = None
    #: most allocations of this purpose per staff member per local date, or None
    daily_cap: int | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise InvalidPurpose(f"purpose key {self.key!r} must be a non-empty string")
        if not self.skill:
            raise InvalidPurpose(f"skill {self.skill!r} of {self.key!r} must be non-empty")
        _check_minutes(f"duration of {self.key!r}", self.duration, positive=True)
        _check_minutes(f"buffer_before of {self.key!r}", self.buffer_before, positive=False)
        _check_minutes(f"buffer_after of {self.key!r}", self.buffer_after, positive=False)
        _check_minutes(f"min_notice of {self.key!r}", self.min_notice, positive=False)
        if self.slot_interval is not None:
            _check_minutes(f"slot_interval of {self.key!r}", self.slot_interval, positive=True)
        if isinstance(self.horizon_days, bool) or not 1 <= self.horizon_days <= 366:
            raise InvalidPurpose(
                f"horizon_days of {self.key!r} {self.horizon_days!r} must be 1 to 366"
            )
        _check_cap(f"daily_cap of {self.key!r}", self.daily_cap, InvalidPurpose)

    @property
    def step(self) -> timedelta:
        """The distance between slot starts."""
        return self.duration if self.slot_interval is None else self.slot_interval


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotRequest:
    """Everything one slot search depends on. Busy blocks and allocations of staff not listed
    (or without the skill) are ignored."""

    purpose: PurposeRules
    staff: tuple[Staff, ...]
    #: the current instant (aware); the engine never reads a clock
    now: datetime
    busy: tuple[Busy, ...] = ()
    allocations: tuple[Allocation, ...] = ()
    zone: ZoneInfo = AMSTERDAM

    def __post_init__(self) -> None:
        if self.now.utcoffset() is None:
            raise InvalidRequest(f"now {self.now.isoformat()} has no time zone")
        seen: set[str] = set()
        for member in self.staff:
            if member.id in seen:
                raise InvalidRequest(f"staff {member.id!r} is listed twice")
            seen.add(member.id)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    def days(self) -> list[date]:
        """The bookable local dates, in order."""
        today = self.today
        return [today + timedelta(days=i) for i in range(self.purpose.horizon_days)]

    def span(self) -> tuple[datetime, datetime]:
        """The UTC window [start, end) whose busy blocks and allocations this search needs.

        The storage layer loads what overlaps it: allocations from today's local midnight for
        the caps, and everything a buffered slot on the last bookable date can touch.
        """
        days = self.days()
        purpose = self.purpose
        first = wall_to_instant(days[0], time(0), self.zone)
        last = wall_to_instant(days[-1] + timedelta(days=1), time(0), self.zone)
        return (
            first - purpose.buffer_before,
            last + purpose.duration + purpose.buffer_after,
        )


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time; ``staff_ids`` are the qualified staff free for it, in request order."""

    start: datetime  #: UTC
    end: datetime  #: UTC
    staff_ids: tuple[str, ...]


class Reason(StrEnum):
    """Why a staff member cannot take a slot."""

    SKILL = "skill"  #: they lack the purpose's skill
    NO_RULE = "no-rule"  #: they have no hours at all on that date
    OUTSIDE_HOURS = "outside-hours"  #: the slot does not fit inside their hours
    EXCEPTION = "exception"  #: a closed exception (holiday, training) covers it
    NOT_ALIGNED = "not-aligned"  #: it is not on the slot grid of their hours
    NOTICE = "notice"  #: it starts too soon
    HORIZON = "horizon"  #: its date is not bookable yet (or any more)
    CAP = "cap"  #: they reached a daily cap that date
    BUSY = "busy"  #: a busy block from their calendar overlaps it (buffers included)
    BOOKED = "booked"  #: one of their bookings overlaps it (buffers included)
    HELD = "held"  #: a live hold on them overlaps it (buffers included)


@dataclass(frozen=True, slots=True)
class Finding:
    reason: Reason
    detail: str  #: in plain words, with local times; no personal data


@dataclass(frozen=True, slots=True)
class StaffVerdict:
    staff_id: str
    findings: tuple[Finding, ...]

    @property
    def available(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a start is or is not offered: every reason, for every staff member."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    staff: tuple[StaffVerdict, ...]

    @property
    def available(self) -> bool:
        """True exactly when :func:`available_times` offers this start."""
        return any(verdict.available for verdict in self.staff)

    @property
    def offered_by(self) -> tuple[str, ...]:
        return tuple(verdict.staff_id for verdict in self.staff if verdict.available)

    def lines(self) -> list[str]:
        """The explanation as text for a planner, one line per finding."""
        when = f"{_local(self.start, self.zone)} – {_local(self.end, self.zone)}"
        if self.available:
            head = f"{when}: available with {', '.join(self.offered_by)}"
        else:
            head = f"{when}: not available"
        out = [head]
        for verdict in self.staff:
            if verdict.available:
                out.append(f"  {verdict.staff_id}: free")
            out += [f"  {verdict.staff_id}: {f.reason}: {f.detail}" for f in verdict.findings]
        return out


def _local(moment: datetime, zone: ZoneInfo) -> str:
    # %Z tells CEST from CET, which is what tells the two 02:30s of an October Sunday apart.
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


# --- the engine ---------------------------------------------------------------------------


@dataclass(slots=True)
class _StaffIndex:
    """One staff member's inputs, prepared once per search, each part on first need: a date
    without hours needs no counts, a date over a cap no busy blocks."""

    hours: tuple[tuple[tuple[time, time], ...], ...]  # per weekday, sorted
    exceptions: dict[date, list[AvailabilityException]]
    #: live allocations per local date: (all purposes, this purpose)
    booked: tuple[Counter[date], Counter[date]] | None = None
    #: busy blocks and live allocations, widened by the buffers and merged: (starts, ends)
    blocked: tuple[list[Instant], list[Instant]] | None = None


class SlotSearch:
    """One request prepared for several questions: dates, times of a date, explanations.

    Work is done lazily and per staff member, so asking for dates usually converts only the
    few staff members it takes to find a free slot on each date.
    """

    def __init__(self, request: SlotRequest) -> None:
        self.request = request
        purpose = request.purpose
        zone = request.zone
        self._zone = zone
        self._days = request.days()
        self._day_index = {day: i for i, day in enumerate(self._days)}
        # Local midnights bound the dates: an instant's date is found by bisection.
        self._midnights = [
            to_instant(wall_to_instant(day, time(0), zone))
            for day in [*self._days, self._days[-1] + timedelta(days=1)]
        ]
        self._duration = purpose.duration.total_seconds()
        self._step = purpose.step.total_seconds()
        self._before = purpose.buffer_before.total_seconds()
        self._after = purpose.buffer_after.total_seconds()
        # Candidate starts are whole seconds, so rounding the exact bound up loses nothing
        # (and integer arithmetic keeps a microsecond in ``now`` from being rounded away).
        since_epoch = request.now + purpose.min_notice - _EPOCH
        self._earliest = float(-(-since_epoch // timedelta(seconds=1)))
        self.qualified = tuple(s for s in request.staff if purpose.skill in s.skills)
        self._busy: dict[str, list[Busy]] = {s.id: [] for s in self.qualified}
        self._allocations: dict[str, list[Allocation]] = {s.id: [] for s in self.qualified}
        for block in request.busy:
            found = self._busy.get(block.staff_id)
            if found is not None:
                found.append(block)
        now = request.now
        for allocation in request.allocations:
            taken = self._allocations.get(allocation.staff_id)
            # Allocation.live, inlined: this loop sees every allocation of the horizon.
            if taken is not None and (allocation.expires_at is None or allocation.expires_at > now):
                taken.append(allocation)
        self._indexes: dict[str, _StaffIndex] = {}
        self._walls: dict[tuple[date, time], Instant] = {}
        self._shifts: dict[date, bool] = {}
        self._plain_days: dict[
            tuple[date, tuple[tuple[time, time], ...]],
            tuple[list[tuple[Instant, Instant]], list[Instant]],
        ] = {}

    # --- questions ---

    def dates(self, first: date | None = None, last: date | None = None) -> list[date]:
        """Bookable dates (within ``first``..``last`` inclusive, if given) with a free slot."""
        found = []
        for day in self._days:
            if (first is not None and day < first) or (last is not None and day > last):
                continue
            if any(self._free(member, day, first_only=True) for member in self.qualified):
                found.append(day)
        return found

    def times(self, day: date) -> list[Slot]:
        """The free slots on local ``day``, in order, each with the staff free for it."""
        if day not in self._day_index:
            return []
        by_start: defaultdict[Instant, list[str]] = defaultdict(list)
        for member in self.qualified:
            for start in self._free(member, day, first_only=False):
                by_start[start].append(member.id)
        return [
            Slot(from_instant(start), from_instant(start + self._duration), tuple(names))
            for start, names in sorted(by_start.items())
        ]

    def slots(self) -> dict[date, list[Slot]]:
        """Every free slot of every bookable date (the whole horizon at once)."""
        found = {}
        for day in self._days:
            times = self.times(day)
            if times:
                found[day] = times
        return found

    # --- one staff member, one date ---

    def _free(self, member: Staff, day: date, *, first_only: bool) -> list[Instant]:
        index = self._indexes.get(member.id)
        if index is None:
            index = self._indexes[member.id] = self._index(member)
        plan = self._plan(index, day)
        if plan is None or not plan[1]:
            return []
        windows, candidates = plan
        cap = self.request.purpose.daily_cap
        if member.daily_cap is not None or cap is not None:
            if index.booked is None:
                index.booked = self._booked(member.id)
            booked, booked_purpose = index.booked
            if member.daily_cap is not None and booked[day] >= member.daily_cap:
                return []
            if cap is not None and booked_purpose[day] >= cap:
                return []
        if index.blocked is None:
            index.blocked = self._blocked(member.id)
        starts, ends = index.blocked
        duration = self._duration
        blocked = len(starts)
        j = bisect_right(ends, candidates[0])  # the first block still running at that start
        w, windows_left = 0, len(windows)
        window_start, window_end = windows[0]
        free: list[Instant] = []
        for start in candidates:
            while window_end <= start:
                w += 1
                if w == windows_left:
                    return free
                window_start, window_end = windows[w]
            if start < window_start or start + duration > window_end:
                continue
            while j < blocked and ends[j] <= start:
                j += 1
            if j < blocked and starts[j] < start + duration:
                continue
            free.append(start)
            if first_only:
                break
        return free

    def _plan(
        self, index: _StaffIndex, day: date
    ) -> tuple[list[tuple[Instant, Instant]], list[Instant]] | None:
        """(open windows, candidate starts) of one staff member on one date, or None."""
        sources = index.hours[day.weekday()]
        exceptions = index.exceptions.get(day)
        closed: list[tuple[time, time]] = []
        if exceptions:
            extra = list(sources)
            for exception in exceptions:
                hours = exception.hours
                if exception.kind is ExceptionKind.EXTRA and hours is not None:
                    extra.append(hours)
                elif hours is None:
                    return None  # closed all day
                else:
                    closed.append(hours)
            sources = tuple(sorted(extra))
        if not sources:
            return None
        if closed:
            return self._expand(day, sources, closed)
        # Most staff share their hours; expand each (date, hours) once per search.
        key = (day, sources)
        plan = self._plain_days.get(key)
        if plan is None:
            plan = self._plain_days[key] = self._expand(day, sources, closed)
        return plan

    def _expand(
        self, day: date, sources: tuple[tuple[time, time], ...], closed: list[tuple[time, time]]
    ) -> tuple[list[tuple[Instant, Instant]], list[Instant]]:
        wall = self._wall
        spans = [(wall(day, start), wall(day, end)) for start, end in sources]
        windows = merge(spans)
        if closed:
            windows = subtract(
                windows, [(wall(day, start), wall(day, end)) for start, end in closed]
            )
        if not windows:
            return windows, []
        return windows, self._grid(day, sources, spans)

    def _grid(
        self,
        day: date,
        sources: tuple[tuple[time, time], ...],
        spans: list[tuple[Instant, Instant]],
    ) -> list[Instant]:
        """Candidate starts on ``day``: each source's wall-clock grid, not before the notice."""
        earliest, step = self._earliest, self._step
        shifts = self._shifts.get(day)
        if shifts is None:
            shifts = self._shifts[day] = offset_changes_on(day, self._zone)
        if not shifts:
            # The offset is constant all day, so wall-clock steps are real-time steps.
            points: list[Instant] = []
            for span_start, span_end in spans:
                first = span_start
                if earliest > span_start:
                    first += math.ceil((earliest - span_start) / step) * step
                count = math.ceil((span_end - first) / step)
                points.extend(first + k * step for k in range(count))
            return points if len(spans) == 1 else sorted(set(points))
        # A DST day: walk the wall clock and keep the real instants each grid time denotes.
        found: set[Instant] = set()
        interval = self.request.purpose.step
        for (start, end), (span_start, span_end) in zip(sources, spans, strict=True):
            wall, stop = datetime.combine(day, start), datetime.combine(day, end)
            while wall < stop:
                for moment in wall_instants(wall, self._zone):
                    instant = to_instant(moment)
                    if span_start <= instant < span_end and instant >= earliest:
                        found.add(instant)
                wall += interval
        return sorted(found)

    def _wall(self, day: date, at: time) -> Instant:
        key = (day, at)
        instant = self._walls.get(key)
        if instant is None:
            instant = self._walls[key] = to_instant(wall_to_instant(day, at, self._zone))
        return instant

    def _index(self, member: Staff) -> _StaffIndex:
        hours: list[list[tuple[time, time]]] = [[] for _ in range(7)]
        for rule in member.rules:
            hours[rule.weekday].append((rule.start, rule.end))
        exceptions: dict[date, list[AvailabilityException]] = {}
        for exception in member.exceptions:
            if exception.day in self._day_index:
                exceptions.setdefault(exception.day, []).append(exception)
        return _StaffIndex(tuple(tuple(sorted(day)) for day in hours), exceptions)

    def _booked(self, member_id: str) -> tuple[Counter[date], Counter[date]]:
        booked: Counter[date] = Counter()
        booked_purpose: Counter[date] = Counter()
        purpose = self.request.purpose.key
        midnights, days = self._midnights, self._days
        for allocation in self._allocations[member_id]:
            i = bisect_right(midnights, allocation.start.timestamp()) - 1
            if 0 <= i < len(days):
                booked[days[i]] += 1
                if allocation.purpose == purpose:
                    booked_purpose[days[i]] += 1
        return booked, booked_purpose

    def _blocked(self, member_id: str) -> tuple[list[Instant], list[Instant]]:
        # Slot [s, e) widened by this purpose's buffers overlaps [b, c) exactly when [s, e)
        # overlaps [b - buffer_after, c + buffer_before): widen the blocks once instead.
        # Plain float lists and comprehensions: this is the hot loop of a search.
        before, after = self._before, self._after
        busy, taken = self._busy[member_id], self._allocations[member_id]
        starts = [b.start.timestamp() - after for b in busy]
        starts += [a.start.timestamp() - after for a in taken]
        ends = [b.end.timestamp() + before for b in busy]
        ends += [a.end.timestamp() + before for a in taken]
        return union(starts, ends)

    # --- explanations ---

    def explain(self, start: datetime) -> Explanation:
        """Why ``start`` is or is not offered: every reason for every staff member.

        Deliberately computed the slow, direct way (datetimes, every input checked) rather than
        by the sweep above, so the two can be tested against each other.
        """
        if start.utcoffset() is None:
            raise InvalidRequest(f"start {start.isoformat()} has no time zone")
        request, purpose, zone = self.request, self.request.purpose, self._zone
        start = start.astimezone(UTC)
        end = start + purpose.duration
        day = start.astimezone(zone).date()
        common: list[Finding] = []
        earliest = request.now + purpose.min_notice
        if start < earliest:
            common.append(
                Finding(
                    Reason.NOTICE,
                    f"starts before {_local(earliest, zone)}; "
                    f"{_minutes(purpose.min_notice)} minutes' notice is needed",
                )
            )
        if day not in self._day_index:
            common.append(
                Finding(
                    Reason.HORIZON,
                    f"{day} is not a bookable date ({self._days[0]} to {self._days[-1]})",
                )
            )
        verdicts = []
        for member in request.staff:
            findings: list[Finding] = []
            if purpose.skill not in member.skills:
                findings.append(Finding(Reason.SKILL, f"lacks the skill {purpose.skill!r}"))
            findings += self._hours_findings(member, start, end, day)
            findings += self._overlap_findings(member, start, end)
            findings += self._cap_findings(member, day)
            verdicts.append(StaffVerdict(member.id, (*findings, *common)))
        return Explanation(start, end, zone, tuple(verdicts))

    def _hours_findings(
        self, member: Staff, start: datetime, end: datetime, day: date
    ) -> list[Finding]:
        zone = self._zone
        sources = [(r.start, r.end) for r in member.rules if r.weekday == day.weekday()]
        closed: list[AvailabilityException] = []
        for exception in member.exceptions:
            if exception.day != day:
                continue
            hours = exception.hours
            if exception.kind is ExceptionKind.EXTRA and hours is not None:
                sources.append(hours)
            else:
                closed.append(exception)
        if not sources:
            return [
                Finding(Reason.NO_RULE, f"no working hours on {_WEEKDAYS[day.weekday()]} {day}")
            ]
        spans = [(wall_to_instant(day, a, zone), wall_to_instant(day, b, zone)) for a, b in sources]
        findings = []
        inside = any(lo <= start and end <= hi for lo, hi in merge(spans))
        if not inside:
            hours_text = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in sorted(sources))
            findings.append(
                Finding(Reason.OUTSIDE_HOURS, f"does not fit in the hours {hours_text} on {day}")
            )
        for exception in closed:
            hours = exception.hours
            why = f" ({exception.reason})" if exception.reason else ""
            if hours is None:
                findings.append(Finding(Reason.EXCEPTION, f"closed all day on {day}{why}"))
            elif wall_to_instant(day, hours[0], zone) < end and start < wall_to_instant(
                day, hours[1], zone
            ):
                findings.append(
                    Finding(Reason.EXCEPTION, f"closed {hours[0]:%H:%M}–{hours[1]:%H:%M}{why}")
                )
        if inside and not any(
            lo <= start < hi and self._on_grid(start, day, a)
            for (a, _), (lo, hi) in zip(sources, spans, strict=True)
        ):
            findings.append(
                Finding(
                    Reason.NOT_ALIGNED,
                    f"slots start every {_minutes(self.request.purpose.step)} minutes "
                    f"from the start of the hours",
                )
            )
        return findings

    def _on_grid(self, start: datetime, day: date, origin: time) -> bool:
        wall = start.astimezone(self._zone).replace(tzinfo=None)
        offset = wall - datetime.combine(day, origin)
        return offset >= _ZERO and offset % self.request.purpose.step == _ZERO

    def _overlap_findings(self, member: Staff, start: datetime, end: datetime) -> list[Finding]:
        request, zone = self.request, self._zone
        low, high = start - request.purpose.buffer_before, end + request.purpose.buffer_after
        findings = []
        for block in request.busy:
            if block.staff_id == member.id and block.start < high and low < block.end:
                ref = f" [{block.ref}]" if block.ref else ""
                findings.append(
                    Finding(
                        Reason.BUSY,
                        f"{block.source} {block.kind} {_local(block.start, zone)} – "
                        f"{_local(block.end, zone)}{ref} (buffers included)",
                    )
                )
        for allocation in request.allocations:
            if (
                allocation.staff_id == member.id
                and allocation.live(request.now)
                and allocation.start < high
                and low < allocation.end
            ):
                held = allocation.kind is AllocationKind.HOLD
                ref = f" [{allocation.ref}]" if allocation.ref else ""
                until = ""
                if allocation.expires_at is not None:
                    until = f", held until {_local(allocation.expires_at, zone)}"
                findings.append(
                    Finding(
                        Reason.HELD if held else Reason.BOOKED,
                        f"{allocation.kind} {_local(allocation.start, zone)} – "
                        f"{_local(allocation.end, zone)}{ref}{until} (buffers included)",
                    )
                )
        return findings

    def _cap_findings(self, member: Staff, day: date) -> list[Finding]:
        request, zone = self.request, self._zone
        purpose = request.purpose
        same_day = [
            a
            for a in request.allocations
            if a.staff_id == member.id
            and a.live(request.now)
            and a.start.astimezone(zone).date() == day
        ]
        findings = []
        if member.daily_cap is not None and len(same_day) >= member.daily_cap:
            findings.append(
                Finding(
                    Reason.CAP,
                    f"has {len(same_day)} appointments or holds on {day}; "
                    f"their daily cap is {member.daily_cap}",
                )
            )
        if purpose.daily_cap is not None:
            mine = sum(1 for a in same_day if a.purpose == purpose.key)
            if mine >= purpose.daily_cap:
                findings.append(
                    Finding(
                        Reason.CAP,
                        f"has {mine} {purpose.key!r} appointments or holds on {day}; "
                        f"the purpose allows {purpose.daily_cap} a day",
                    )
                )
        return findings


def _minutes(value: timedelta) -> int:
    return value // _MINUTE


# --- the public functions -----------------------------------------------------------------


def available_dates(
    request: SlotRequest, first: date | None = None, last: date | None = None
) -> list[date]:
    """The local dates with at least one free slot (within ``first``..``last``, inclusive)."""
    return SlotSearch(request).dates(first, last)


def available_times(request: SlotRequest, day: date) -> list[Slot]:
    """The free slots on local ``day``, in order, each with the qualified staff free for it."""
    return SlotSearch(request).times(day)


def explain(request: SlotRequest, start: datetime) -> Explanation:
    """Why a slot starting at ``start`` is or is not offered (which rule, block or cap)."""
    return SlotSearch(request).explain(start)


def pick_staff(request: SlotRequest, slot: Slot) -> str:
    """The staff member to assign ``slot`` to, fairly: the fewest live allocations on the
    slot's local date, then the fewest in the whole request, then the smallest id (stable
    across requests, unlike list order)."""
    if not slot.staff_ids:
        raise NoStaffFree(f"the slot at {slot.start.isoformat()} names no staff member")
    day = slot.start.astimezone(request.zone).date()
    that_day: Counter[str] = Counter()
    overall: Counter[str] = Counter()
    for allocation in request.allocations:
        if allocation.live(request.now):
            overall[allocation.staff_id] += 1
            if allocation.start.astimezone(request.zone).date() == day:
                that_day[allocation.staff_id] += 1
    return min(slot.staff_ids, key=lambda member: (that_day[member], overall[member], member))
