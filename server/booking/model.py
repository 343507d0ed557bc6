"""The slot engine's inputs: hours, exceptions, busy time, allocations, staff, purpose rules
and the request that bundles them.

Each value checks itself when built and raises an :class:`~server.booking.errors.InvalidInput`
naming what is wrong, so the engine (:mod:`server.booking.slots`) only ever sees valid input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from server.booking.errors import (
    InvalidInput,
    InvalidInterval,
    InvalidPurpose,
    InvalidRequest,
    InvalidRule,
)
from server.booking.intervals import wall_to_instant
from server.core.clock import AMSTERDAM
from server.core.holidays import DEFAULT_RULES, HolidayRules

_ZERO: Final = timedelta(0)
_MINUTE: Final = timedelta(minutes=1)
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
    #: which Dutch public holidays close the tenant's booking (``tenants.holidays``)
    holidays: HolidayRules = DEFAULT_RULES

    def __post_init__(self) -> None:
        if not isinstance(self.holidays, HolidayRules):
            raise InvalidRequest(f"holidays {self.holidays!r} must be HolidayRules")
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
