"""Walk-in opening hours: when a purpose's counter without an appointment is open.

Pure: no database, no web framework, no clock; the caller passes ``now`` from the
application's clock (``app[CLOCK]``), so tests move time instead of waiting for it.

**The model** (:class:`OpeningHours`), wall-clock times in ``Europe/Amsterdam``: per weekday
the ranges [start, end) the counter is open (none: closed; a range never crosses midnight);
dated exceptions, CLOSED for the whole day or OPEN with ranges of their own, which replace
the weekday's hours *and* a public holiday (how a municipality opens on a holiday "set
otherwise", shortens Christmas Eve or opens on a Saturday); and :class:`HolidayRules`. For a
date, an exception decides; else a closing public holiday takes the weekday's hours away;
else the weekday's hours stand. Ranges of a date that touch (09:00–12:00, 12:00–13:00) are
one opening, closing at 13:00. The date of ``now`` is its date in Amsterdam.

**Holidays** are :mod:`server.core.holidays`' (shared with booking, which explains the two
days that are a choice, Bevrijdingsdag and Goede vrijdag): a closing holiday takes away the
hours of a weekday that has hours; on a weekday without hours it changes nothing and names no
reason either ("closed on Saturdays" is the truer answer).

**Daylight saving time.** A date's ranges become instants through zoneinfo, with the booking
engine's rule (:func:`server.booking.intervals.wall_to_instant`, so booked and walk-in hours
agree), never a fixed offset: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer, and on
the Friday before a change the next opening is Monday's at the new offset. The two odd
nights (last Sunday of March and of October, 02:00–03:00) behave predictably:

- **The spring gap** (02:00–03:00 does not exist): a boundary in it means 03:00 CEST, the
  first moment that exists. 01:00–04:00 is open the 2 real hours that pass; a range wholly
  inside the gap (02:15–02:45) never opens.
- **The autumn repeat** (02:00–03:00 happens twice): a boundary in it means its *first*
  occurrence (CEST). 01:00–02:30 closes at the first 02:30 and stays closed while clocks
  show 02:00–02:30 again; 02:30–04:00 opens at the first 02:30, for 2½ real hours.

**The stored form** is plain JSON (:func:`to_data`, :func:`from_data`, which checks it).
Errors are drawn as a tree in :mod:`server.walkin.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Final, NoReturn, TypeVar

from server.booking.intervals import merge, wall_to_instant
from server.core.clock import AMSTERDAM, local_day

# HolidayRules, LiberationDay and closing_holidays are re-exported: walk-in code names them here
from server.core.holidays import DEFAULT_RULES, BadHolidayData, closing_holiday
from server.core.holidays import HolidayRules as HolidayRules
from server.core.holidays import LiberationDay as LiberationDay
from server.core.holidays import closing_holidays as closing_holidays
from server.core.holidays import from_data as holidays_from_data
from server.core.holidays import to_data as holidays_to_data
from server.walkin.errors import (
    BadHoursData,
    BadRange,
    InvalidHours,
    InvalidQuery,
    OverlappingRanges,
)

#: a wall-clock range [start, end) within one local day, in Europe/Amsterdam
TimeRange = tuple[time, time]
#: a real period [start, end) as aware UTC datetimes
Period = tuple[datetime, datetime]

#: weekday keys of the stored form, Monday first (index = :meth:`date.weekday`)
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES: Final = tuple(name.capitalize() for name in WEEKDAYS)

#: days after today :func:`status` looks for the next opening: the longest closure of a normal
#: year, Christmas to New Year with the weekends around it, is at most 11 days; a counter
#: closed for longer answers "no opening known" instead of searching on.
LOOKAHEAD_DAYS: Final = 14

#: the stored form's version: a reader refuses any other, so a later form is never misread
DATA_VERSION: Final = 1

_HHMM: Final = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

V = TypeVar("V")


class ExceptionKind(StrEnum):
    CLOSED = "closed"  #: closed the whole day, whatever the weekday's hours
    OPEN = "open"  #: open exactly its own ranges, whatever the weekday or a holiday says


class ClosedReason(StrEnum):
    #: before, between or after the day's ranges, or a weekday without hours
    OUTSIDE_HOURS = "outside-hours"
    #: a public holiday took the day's hours (``Status.holiday`` names it)
    PUBLIC_HOLIDAY = "public-holiday"
    #: a dated exception closes the day
    EXCEPTION = "exception"


# --- the model ----------------------------------------------------------------------------


def _show(item: TimeRange) -> str:
    return f"{item[0]:%H:%M}–{item[1]:%H:%M}"


def _checked_ranges(where: str, ranges: Iterable[object]) -> tuple[TimeRange, ...]:
    """``ranges`` sorted, each checked (types too: hours built in code by mistake fail here,
    not far away); ``where`` (a weekday or a date) opens every message."""
    if not isinstance(ranges, tuple | list):
        raise BadRange(f"{where}: {ranges!r} is not a tuple of (start, end) ranges", where)
    found: list[TimeRange] = []
    for item in ranges:
        start, end = item if isinstance(item, tuple) and len(item) == 2 else (None, None)
        if not (isinstance(start, time) and isinstance(end, time)):
            raise BadRange(f"{where}: {item!r} is not a (start, end) pair of times", where)
        for at in (start, end):
            if at.tzinfo is not None:
                raise BadRange(f"{where}: {at} must be a wall-clock time without a zone", where)
            if at.second or at.microsecond:
                raise BadRange(f"{where}: {at} must be a whole minute", where)
        if end <= start:
            raise BadRange(
                f"{where}: {_show((start, end))} is empty: it must end after it starts", where
            )
        found.append((start, end))
    found.sort()
    for one, other in pairwise(found):
        if other[0] < one[1]:  # touching (end == next start) is allowed: one opening
            raise OverlappingRanges(f"{where}: {_show(one)} overlaps {_show(other)}", where)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class DateException:
    """One local date's hours set otherwise: closed, or open with ``ranges`` of its own."""

    day: date
    kind: ExceptionKind
    ranges: tuple[TimeRange, ...] = ()

    def __post_init__(self) -> None:
        day: object = self.day  # checked as an object: a datetime or text is refused too
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidHours(f"exception day {day!r} must be a date", repr(day))
        where = self.day.isoformat()
        if not isinstance(self.kind, ExceptionKind):
            raise InvalidHours(f"{where}: kind {self.kind!r} must be an ExceptionKind", where)
        ranges = _checked_ranges(where, self.ranges)
        if self.kind is ExceptionKind.CLOSED and ranges:
            raise InvalidHours(f"{where}: a closed day has no hours (give it kind open)", where)
        if self.kind is ExceptionKind.OPEN and not ranges:
            raise InvalidHours(f"{where}: an open day needs hours (or kind closed)", where)
        object.__setattr__(self, "ranges", ranges)


_NO_HOURS: Final[tuple[tuple[TimeRange, ...], ...]] = ((),) * 7


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A purpose's walk-in opening hours; see the module docstring for the rules.

    Built values are normalised (ranges and exceptions sorted), so two equal schedules
    compare equal however they were written, and a stored form reads back equal.
    """

    #: seven tuples of ranges, Monday first
    weekly: tuple[tuple[TimeRange, ...], ...] = _NO_HOURS
    exceptions: tuple[DateException, ...] = ()
    holidays: HolidayRules = DEFAULT_RULES
    _by_day: Mapping[date, DateException] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        weekly = tuple(self.weekly)
        if len(weekly) != 7:
            raise InvalidHours(f"weekly: {len(weekly)} days, not 7 (Monday first)", "weekly")
        weekly = tuple(_checked_ranges(_DAY_NAMES[i], day) for i, day in enumerate(weekly))
        by_day: dict[date, DateException] = {}
        for exception in self.exceptions:
            if not isinstance(exception, DateException):
                raise InvalidHours(f"{exception!r} is not a DateException", "exceptions")
            if exception.day in by_day:
                where = exception.day.isoformat()
                raise InvalidHours(f"{where}: two exceptions for one date", where)
            by_day[exception.day] = exception
        if not isinstance(self.holidays, HolidayRules):
            raise InvalidHours(f"{self.holidays!r} is not HolidayRules", "holidays")
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "exceptions", tuple(by_day[day] for day in sorted(by_day)))
        object.__setattr__(self, "_by_day", MappingProxyType(by_day))

    def exception_on(self, day: date) -> DateException | None:
        return self._by_day.get(day)


# --- questions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    """The counter at one instant.

    Open: ``closes_at`` is when this opening ends. Closed: ``reason`` says why, ``holiday``
    names the public holiday when that is the reason, and ``opens_at`` is the next opening
    within the look-ahead, or None if there is none. Instants are aware UTC datetimes.
    """

    is_open: bool
    closes_at: datetime | None = None
    reason: ClosedReason | None = None
    holiday: str | None = None
    opens_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Day:
    """A local date's ranges after exceptions and holidays; why it is closed outside them."""

    ranges: tuple[TimeRange, ...]
    reason: ClosedReason
    holiday: str | None = None


def _plan(hours: OpeningHours, day: date) -> _Day:
    exception = hours.exception_on(day)
    if exception is not None:
        if exception.kind is ExceptionKind.OPEN:
            return _Day(exception.ranges, ClosedReason.OUTSIDE_HOURS)
        return _Day((), ClosedReason.EXCEPTION)
    ranges = hours.weekly[day.weekday()]
    if ranges:  # a holiday is the reason only where it took hours away (module docstring)
        holiday = closing_holiday(hours.holidays, day)
        if holiday is not None:
            return _Day((), ClosedReason.PUBLIC_HOLIDAY, holiday)
    return _Day(ranges, ClosedReason.OUTSIDE_HOURS)


def _periods(day: date, ranges: tuple[TimeRange, ...]) -> tuple[Period, ...]:
    # merge() joins touching ranges into one opening, and drops a range that fell wholly
    # into the spring gap (both ends map to the same instant: empty)
    return tuple(
        merge(
            (wall_to_instant(day, start, AMSTERDAM), wall_to_instant(day, end, AMSTERDAM))
            for start, end in ranges
        )
    )


def opening_periods(hours: OpeningHours, day: date) -> tuple[Period, ...]:
    """The counter's openings on local ``day`` as real UTC periods [start, end), in order."""
    return _periods(day, _plan(hours, day).ranges)


def _check_now(now: object) -> None:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidQuery(f"now {now!r} must be an aware datetime (the clock's now)")


def is_open(hours: OpeningHours, now: datetime) -> bool:
    """Is the counter open at ``now`` (aware)?"""
    _check_now(now)
    return any(start <= now < end for start, end in opening_periods(hours, local_day(now)))


def status(hours: OpeningHours, now: datetime, *, lookahead_days: int = LOOKAHEAD_DAYS) -> Status:
    """The counter at ``now`` (aware): open until when, or closed, why, and until when.

    The next opening is searched for today and the ``lookahead_days`` local dates after it.
    """
    _check_now(now)
    if type(lookahead_days) is not int or lookahead_days < 0:
        raise InvalidQuery(f"lookahead_days {lookahead_days!r} must be a whole number >= 0")
    today = local_day(now)
    plan = _plan(hours, today)
    for start, end in _periods(today, plan.ranges):
        if now < start:
            return Status(False, reason=plan.reason, opens_at=start)
        if now < end:
            return Status(True, closes_at=end)
    opens_at = None
    for offset in range(1, lookahead_days + 1):
        periods = opening_periods(hours, today + timedelta(days=offset))
        if periods:
            opens_at = periods[0][0]
            break
    return Status(False, reason=plan.reason, holiday=plan.holiday, opens_at=opens_at)


# --- the stored form ----------------------------------------------------------------------


def _range_data(item: TimeRange) -> list[str]:
    return [f"{item[0]:%H:%M}", f"{item[1]:%H:%M}"]


def to_data(hours: OpeningHours) -> dict[str, object]:
    """``hours`` as plain JSON values (for a JSON column), the form shown in docs/walk-in.md;
    :func:`from_data` reads it back."""
    rules = hours.holidays
    return {
        "version": DATA_VERSION,
        "weekly": {
            name: [_range_data(r) for r in ranges]
            for name, ranges in zip(WEEKDAYS, hours.weekly, strict=True)
        },
        "exceptions": [
            {"date": e.day.isoformat(), "kind": e.kind.value}
            | ({"hours": [_range_data(r) for r in e.ranges]} if e.ranges else {})
            for e in hours.exceptions
        ],
        "holidays": holidays_to_data(rules),
    }


def _refuse(where: str, problem: str) -> NoReturn:
    raise BadHoursData(f"{where or 'the data'}: {problem}", where)


def _object(value: object, where: str, keys: tuple[str, ...], extra: str = "") -> dict[str, object]:
    if not isinstance(value, dict):
        _refuse(where, f"{type(value).__name__} is not an object")
    for key in value:
        if key not in keys and key != extra:
            _refuse(f"{where}.{key}" if where else str(key), "not a key of the stored form")
    for key in keys:
        if key not in value:
            _refuse(f"{where}.{key}" if where else key, "missing")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        _refuse(where, f"{type(value).__name__} is not a list")
    return value


def _time(value: object, where: str) -> time:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        _refuse(where, f"{value!r} is not a time as HH:MM (00:00 to 23:59)")
    return time.fromisoformat(value)


def _ranges(value: object, where: str) -> tuple[TimeRange, ...]:
    found = []
    for i, item in enumerate(_list(value, where)):
        pair = _list(item, at := f"{where}[{i}]")
        if len(pair) != 2:
            _refuse(at, f"{pair!r} is not a [start, end] pair")
        found.append((_time(pair[0], f"{at}[0]"), _time(pair[1], f"{at}[1]")))
    return tuple(found)


def _date(value: object, where: str) -> date:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # 2026-02-30
    _refuse(where, f"{value!r} is not a date as YYYY-MM-DD")


def _one_of(values: Iterable[V], value: object, where: str) -> V:
    for allowed in values:  # by type too: 1 is not true, True is not version 1
        if type(value) is type(allowed) and value == allowed:
            return allowed
    _refuse(where, f"{value!r} is not one of {', '.join(repr(v) for v in values)}")


def from_data(data: object) -> OpeningHours:
    """Opening hours from the form :func:`to_data` writes, checked: anything else raises
    :class:`~server.walkin.errors.InvalidHours` (:class:`BadHoursData` for a malformed form,
    naming where in it; the other branches for hours that cannot be, naming the day)."""
    top = _object(data, "", ("version", "weekly", "exceptions", "holidays"))
    _one_of((DATA_VERSION,), top["version"], "version")
    weekly = _object(top["weekly"], "weekly", WEEKDAYS)
    exceptions = []
    for i, item in enumerate(_list(top["exceptions"], "exceptions")):
        fields = _object(item, where := f"exceptions[{i}]", ("date", "kind"), extra="hours")
        kind = ExceptionKind(_one_of(_values(ExceptionKind), fields["kind"], f"{where}.kind"))
        if (kind is ExceptionKind.OPEN) != ("hours" in fields):
            _refuse(f"{where}.hours", "an open day needs hours, a closed day has none")
        ranges = _ranges(fields["hours"], f"{where}.hours") if "hours" in fields else ()
        exceptions.append(DateException(_date(fields["date"], f"{where}.date"), kind, ranges))
    try:
        rules = holidays_from_data(top["holidays"], "holidays")
    except BadHolidayData as error:  # one error tree for the walk-in's stored form
        raise BadHoursData(str(error), error.where) from error
    return OpeningHours(
        weekly=tuple(_ranges(weekly[name], f"weekly.{name}") for name in WEEKDAYS),
        exceptions=tuple(exceptions),
        holidays=rules,
    )


def _values(kind: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)
