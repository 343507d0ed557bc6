"""Walk-in opening hours: the Dutch public holidays (27 April and its moves, Easter, Ascension,
Whitsun, Christmas, New Year, 5 May), dated exceptions, both DST weekends, the next opening
over long weekends, validation and the stored form.

Times are written as Amsterdam wall-clock text ("09:00") and compared with UTC instants
written out in full, so a reader can check every offset by hand; the clock is the
application's injected clock (:class:`~tests.server.db.support.FakeClock`), moved by the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from holidays import HolidayBase, country_holidays
from holidays.constants import OPTIONAL, PUBLIC

from server.core import holidays as holidays_module
from server.core.clock import AMSTERDAM
from server.walkin import errors
from server.walkin.errors import (
    BadHoursData,
    BadRange,
    InvalidHours,
    InvalidQuery,
    OverlappingRanges,
    WalkinError,
)
from server.walkin.hours import (
    ClosedReason,
    DateException,
    ExceptionKind,
    HolidayRules,
    LiberationDay,
    OpeningHours,
    Status,
    TimeRange,
    closing_holidays,
    from_data,
    is_open,
    opening_periods,
    status,
    to_data,
)
from tests.server.db.support import FakeClock
from tests.test_layering import ROOT, imported_modules, loaded_by

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
OUTSIDE, HOLIDAY, EXCEPTION = (
    ClosedReason.OUTSIDE_HOURS,
    ClosedReason.PUBLIC_HOLIDAY,
    ClosedReason.EXCEPTION,
)
OPEN, CLOSED = ExceptionKind.OPEN, ExceptionKind.CLOSED


# --- builders -----------------------------------------------------------------------------


def at(day: str, hhmm: str, *, fold: int = 0) -> datetime:
    """Amsterdam wall-clock time ``hhmm`` on ``day`` as an aware UTC datetime."""
    wall = datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm))
    return wall.replace(tzinfo=AMSTERDAM, fold=fold).astimezone(UTC)


def utc(text: str) -> datetime:
    """``"2026-03-29 07:00"`` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ranges(*texts: str) -> tuple[TimeRange, ...]:
    """``"09:00-12:00"`` → ((09:00, 12:00),)"""
    found = []
    for text in texts:
        start, end = text.split("-")
        found.append((time.fromisoformat(start), time.fromisoformat(end)))
    return tuple(found)


def week(
    weekdays: tuple[TimeRange, ...] = (),
    saturday: tuple[TimeRange, ...] = (),
    sunday: tuple[TimeRange, ...] = (),
) -> tuple[tuple[TimeRange, ...], ...]:
    """Weekly hours: the same on Monday to Friday, and Saturday and Sunday of their own."""
    return (weekdays,) * 5 + (saturday, sunday)


#: a town hall's walk-in counter: Monday to Friday, closed for lunch
OFFICE = OpeningHours(weekly=week(ranges("09:00-12:00", "13:00-16:00")))
#: the same, also open on Saturday morning
WITH_SATURDAY = replace(
    OFFICE, weekly=week(ranges("09:00-12:00", "13:00-16:00"), ranges("10:00-13:00"))
)
#: open every day 09:00 to 17:00, holidays included: for the DST weekends
EVERY_DAY = OpeningHours(weekly=(ranges("09:00-17:00"),) * 7, holidays=HolidayRules(close=False))


def closed(reason: ClosedReason, opens_at: datetime | None, holiday: str | None = None) -> Status:
    return Status(False, reason=reason, holiday=holiday, opens_at=opens_at)


def open_until(closes_at: datetime) -> Status:
    return Status(True, closes_at=closes_at)


# --- 27 April: Koningsdag and its move -------------------------------------------------------


def test_27_april_2026_a_monday_is_closed_for_koningsdag() -> None:
    clock = FakeClock(at("2026-04-27", "10:00"))
    assert status(OFFICE, clock()) == closed(HOLIDAY, utc("2026-04-28 07:00"), "Koningsdag")
    assert not is_open(OFFICE, clock())
    clock.advance(timedelta(days=-7))  # the Monday before: an ordinary day
    assert status(OFFICE, clock()) == open_until(utc("2026-04-20 10:00"))
    assert is_open(OFFICE, clock())


def test_the_holiday_is_the_reason_all_day_long_not_only_in_opening_hours() -> None:
    # at 20:00 the counter would be closed anyway; "Koningsdag" is still the truer answer
    assert status(OFFICE, at("2026-04-27", "20:00")) == closed(
        HOLIDAY, utc("2026-04-28 07:00"), "Koningsdag"
    )
    assert status(OFFICE, at("2026-04-27", "00:00")).holiday == "Koningsdag"


@pytest.mark.parametrize(
    ("year", "koningsdag"),
    [
        (2025, "2025-04-26"),  # 27 April is a Sunday: Saturday 26 April
        (2026, "2026-04-27"),  # Monday
        (2027, "2027-04-27"),  # Tuesday
        (2028, "2028-04-27"),  # Thursday
        (2029, "2029-04-27"),  # Friday
        (2030, "2030-04-27"),  # Saturday: stays
        (2031, "2031-04-26"),  # Sunday again: Saturday 26 April
        (2036, "2036-04-26"),
    ],
)
def test_koningsdag_is_27_april_or_the_saturday_before_when_that_is_a_sunday(
    year: int, koningsdag: str
) -> None:
    found = {
        d for d, name in closing_holidays(HolidayRules(), year).items() if name == "Koningsdag"
    }
    assert found == {date.fromisoformat(koningsdag)}


def test_in_2025_a_counter_open_monday_to_friday_loses_no_day_to_koningsdag() -> None:
    # Koningsdag is Saturday 26 April 2025, Sunday 27 April is no holiday: the week around
    # it is an ordinary week for a counter closed at weekends
    assert status(OFFICE, at("2025-04-25", "10:00")) == open_until(utc("2025-04-25 10:00"))
    assert status(OFFICE, at("2025-04-26", "10:00")) == closed(OUTSIDE, utc("2025-04-28 07:00"))
    assert status(OFFICE, at("2025-04-27", "10:00")) == closed(OUTSIDE, utc("2025-04-28 07:00"))
    assert status(OFFICE, at("2025-04-28", "10:00")) == open_until(utc("2025-04-28 10:00"))


def test_in_2025_a_counter_open_on_saturday_is_closed_on_saturday_26_april() -> None:
    assert status(WITH_SATURDAY, at("2025-04-26", "10:30")) == closed(
        HOLIDAY, utc("2025-04-28 07:00"), "Koningsdag"
    )
    # the Saturday before is an ordinary Saturday
    assert status(WITH_SATURDAY, at("2025-04-19", "10:30")) == open_until(utc("2025-04-19 11:00"))


@pytest.mark.parametrize(
    ("day", "opens_at"),
    [
        ("2027-04-27", "2027-04-28 07:00"),  # Tuesday: Wednesday opens
        ("2028-04-27", "2028-04-28 07:00"),  # Thursday: Friday opens
        ("2029-04-27", "2029-04-30 07:00"),  # Friday: a long weekend, Monday opens
    ],
)
def test_koningsdag_on_a_weekday_closes_the_counter(day: str, opens_at: str) -> None:
    assert status(OFFICE, at(day, "09:30")) == closed(HOLIDAY, utc(opens_at), "Koningsdag")


# --- the other holidays -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "name", "opens_at"),
    [
        ("2026-01-01", "Nieuwjaarsdag", "2026-01-02 08:00"),  # Thursday; Friday opens (CET)
        ("2027-01-01", "Nieuwjaarsdag", "2027-01-04 08:00"),  # Friday; Monday opens
        ("2026-04-06", "Tweede paasdag", "2026-04-07 07:00"),  # Easter Monday (CEST)
        ("2026-05-14", "Hemelvaartsdag", "2026-05-15 07:00"),  # Ascension, a Thursday
        ("2026-05-25", "Tweede pinksterdag", "2026-05-26 07:00"),  # Whit Monday
        ("2026-12-25", "Eerste kerstdag", "2026-12-28 08:00"),  # Friday; Monday opens
        ("2025-12-25", "Eerste kerstdag", "2025-12-29 08:00"),  # Thursday, Friday too
        ("2025-12-26", "Tweede kerstdag", "2025-12-29 08:00"),
    ],
)
def test_public_holidays_close_the_counter_and_name_themselves(
    day: str, name: str, opens_at: str
) -> None:
    assert status(OFFICE, at(day, "10:00")) == closed(HOLIDAY, utc(opens_at), name)
    # the same weekday two weeks earlier is open (a week before New Year is Christmas)
    earlier = at(day, "10:00") - timedelta(days=14)
    assert is_open(OFFICE, earlier)


def test_sunday_holidays_close_a_counter_open_on_sunday() -> None:
    sundays = replace(OFFICE, weekly=week(sunday=ranges("12:00-16:00")))
    assert status(sundays, at("2026-04-05", "13:00")) == closed(
        HOLIDAY, utc("2026-04-12 10:00"), "Eerste paasdag"
    )
    assert status(sundays, at("2026-05-24", "13:00")).holiday == "Eerste pinksterdag"
    assert is_open(sundays, at("2026-04-12", "13:00"))


def test_the_closing_holidays_of_2026() -> None:
    assert closing_holidays(HolidayRules(), 2026) == {
        date(2026, 1, 1): "Nieuwjaarsdag",
        date(2026, 4, 5): "Eerste paasdag",
        date(2026, 4, 6): "Tweede paasdag",
        date(2026, 4, 27): "Koningsdag",
        date(2026, 5, 5): "Bevrijdingsdag",
        date(2026, 5, 14): "Hemelvaartsdag",
        date(2026, 5, 24): "Eerste pinksterdag",
        date(2026, 5, 25): "Tweede pinksterdag",
        date(2026, 12, 25): "Eerste kerstdag",
        date(2026, 12, 26): "Tweede kerstdag",
    }
    assert closing_holidays(HolidayRules(close=False), 2026) == {}


def test_goede_vrijdag_is_open_unless_chosen_otherwise() -> None:
    friday = at("2026-04-03", "10:00")
    assert status(OFFICE, friday) == open_until(utc("2026-04-03 10:00"))
    closing = replace(OFFICE, holidays=HolidayRules(good_friday=True))
    # Goede vrijdag and Easter Monday around a weekend: Tuesday is the next opening
    assert status(closing, friday) == closed(HOLIDAY, utc("2026-04-07 07:00"), "Goede vrijdag")


@pytest.mark.parametrize(
    ("choice", "day", "closes"),
    [
        (LiberationDay.EVERY_YEAR, "2026-05-05", True),  # Tuesday
        (LiberationDay.EVERY_YEAR, "2027-05-05", True),  # Wednesday
        (LiberationDay.LUSTRUM, "2026-05-05", False),
        (LiberationDay.LUSTRUM, "2027-05-05", False),
        (LiberationDay.LUSTRUM, "2025-05-05", True),  # Monday of a lustrum year
        (LiberationDay.NEVER, "2025-05-05", False),
        (LiberationDay.NEVER, "2026-05-05", False),
    ],
)
def test_bevrijdingsdag_closes_as_chosen(choice: LiberationDay, day: str, closes: bool) -> None:
    hours = replace(OFFICE, holidays=HolidayRules(liberation_day=choice))
    found = status(hours, at(day, "10:00"))
    assert found.is_open is not closes
    assert found.holiday == ("Bevrijdingsdag" if closes else None)


def test_bevrijdingsdag_closes_every_year_by_default() -> None:
    assert HolidayRules().liberation_day is LiberationDay.EVERY_YEAR
    assert status(OFFICE, at("2026-05-05", "10:00")).holiday == "Bevrijdingsdag"


def test_what_the_package_says_about_5_may_and_goede_vrijdag() -> None:
    """The facts the choices above are built on: if the package changes them, look again."""
    for year in (2025, 2026):
        public = country_holidays("NL", years=year, categories=PUBLIC, language="nl")
        optional = country_holidays("NL", years=year, categories=OPTIONAL, language="nl")
        # 5 May: every year in the optional list, in the public list only in lustrum years
        assert "Bevrijdingsdag" in optional.get_list(date(year, 5, 5))
        assert ("Bevrijdingsdag" in public.get_list(date(year, 5, 5))) is (year % 5 == 0)
    assert country_holidays("NL", years=2026, language="nl").get(date(2026, 4, 3)) == (
        "Goede vrijdag"
    )


def test_an_optional_day_other_than_the_two_chosen_ones_does_not_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should the package add an optional day (a regional or unofficial one), it does not
    close every counter in the country unasked."""

    def with_sint_maarten(*args: Any, **kwargs: Any) -> HolidayBase:
        found = country_holidays(*args, **kwargs)
        if kwargs.get("categories") == OPTIONAL:
            found[date(2026, 11, 11)] = "Sint-Maarten"
        return found

    monkeypatch.setattr(holidays_module, "country_holidays", with_sint_maarten)
    holidays_module._dutch_holidays.cache_clear()
    closing_holidays.cache_clear()
    try:
        found = closing_holidays(HolidayRules(), 2026)
        assert date(2026, 11, 11) not in found
        assert found[date(2026, 5, 5)] == "Bevrijdingsdag"  # the optional list was read
    finally:
        holidays_module._dutch_holidays.cache_clear()
        closing_holidays.cache_clear()


def test_5_may_on_hemelvaartsdag_stays_closed_whatever_is_chosen_for_5_may() -> None:
    # 5 May 2016 was also Ascension Day
    never = HolidayRules(liberation_day=LiberationDay.NEVER)
    assert closing_holidays(never, 2016)[date(2016, 5, 5)] == "Hemelvaartsdag"
    assert closing_holidays(HolidayRules(), 2016)[date(2016, 5, 5)] == (
        "Hemelvaartsdag, Bevrijdingsdag"
    )


def test_a_counter_that_ignores_holidays_opens_on_koningsdag() -> None:
    hours = replace(OFFICE, holidays=HolidayRules(close=False))
    assert status(hours, at("2026-04-27", "10:00")) == open_until(utc("2026-04-27 10:00"))


# --- exceptions ---------------------------------------------------------------------------


def test_an_exception_opens_the_counter_on_a_holiday() -> None:
    koningsdag = DateException(date(2026, 4, 27), OPEN, ranges("10:00-14:00"))
    hours = replace(OFFICE, exceptions=(koningsdag,))
    clock = FakeClock(at("2026-04-27", "09:59"))
    assert status(hours, clock()) == closed(OUTSIDE, utc("2026-04-27 08:00"))
    clock.advance(MINUTE)
    assert status(hours, clock()) == open_until(utc("2026-04-27 12:00"))  # 14:00 CEST
    clock.advance(4 * 60 * MINUTE)
    assert status(hours, clock()) == closed(OUTSIDE, utc("2026-04-28 07:00"))


def test_an_open_exception_replaces_the_weekday_hours() -> None:
    # Christmas Eve 2026 (Thursday) only in the morning; Friday is Christmas
    eve = DateException(date(2026, 12, 24), OPEN, ranges("09:00-12:00"))
    hours = replace(OFFICE, exceptions=(eve,))
    assert status(hours, at("2026-12-24", "11:00")) == open_until(utc("2026-12-24 11:00"))
    assert status(hours, at("2026-12-24", "13:30")) == closed(OUTSIDE, utc("2026-12-28 08:00"))


def test_an_open_exception_opens_a_day_without_weekly_hours() -> None:
    saturday = DateException(date(2026, 6, 6), OPEN, ranges("10:00-12:00"))
    hours = replace(OFFICE, exceptions=(saturday,))
    assert status(hours, at("2026-06-05", "17:00")) == closed(OUTSIDE, utc("2026-06-06 08:00"))
    assert status(hours, at("2026-06-06", "11:00")) == open_until(utc("2026-06-06 10:00"))


def test_a_closed_exception_closes_the_day_and_says_so() -> None:
    # the municipality's own closing day: the Friday after Ascension 2026
    bridge = DateException(date(2026, 5, 15), CLOSED)
    hours = replace(OFFICE, exceptions=(bridge,))
    assert status(hours, at("2026-05-14", "10:00")) == closed(
        HOLIDAY, utc("2026-05-18 07:00"), "Hemelvaartsdag"
    )
    assert status(hours, at("2026-05-15", "10:00")) == closed(EXCEPTION, utc("2026-05-18 07:00"))
    assert status(OFFICE, at("2026-05-15", "10:00")).is_open  # without it: open


def test_a_closed_exception_on_a_holiday_names_the_exception() -> None:
    hours = replace(OFFICE, exceptions=(DateException(date(2026, 4, 27), CLOSED),))
    assert status(hours, at("2026-04-27", "10:00")) == closed(EXCEPTION, utc("2026-04-28 07:00"))


# --- a day's hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [
        ("08:59", closed(OUTSIDE, utc("2026-06-01 07:00"))),
        ("09:00", open_until(utc("2026-06-01 10:00"))),
        ("11:59", open_until(utc("2026-06-01 10:00"))),
        ("12:00", closed(OUTSIDE, utc("2026-06-01 11:00"))),  # lunch
        ("13:00", open_until(utc("2026-06-01 14:00"))),
        ("16:00", closed(OUTSIDE, utc("2026-06-02 07:00"))),
        ("23:59", closed(OUTSIDE, utc("2026-06-02 07:00"))),
    ],
)
def test_an_ordinary_monday(hhmm: str, expected: Status) -> None:
    now = at("2026-06-01", hhmm)
    assert status(OFFICE, now) == expected
    assert is_open(OFFICE, now) is expected.is_open


def test_ranges_that_touch_are_one_opening() -> None:
    hours = OpeningHours(weekly=week(ranges("12:00-13:00", "09:00-12:00")))
    assert status(hours, at("2026-06-01", "10:00")) == open_until(utc("2026-06-01 11:00"))
    assert opening_periods(hours, date(2026, 6, 1)) == (
        (utc("2026-06-01 07:00"), utc("2026-06-01 11:00")),
    )


def test_now_in_any_zone_gives_the_same_answer() -> None:
    now = at("2026-06-01", "10:00")
    assert status(OFFICE, now.astimezone(AMSTERDAM)) == status(OFFICE, now)
    answer = status(OFFICE, at("2026-06-01", "17:00").astimezone(AMSTERDAM))
    assert answer.opens_at is not None and answer.opens_at.tzinfo is UTC


def test_the_next_opening_is_found_over_a_long_weekend() -> None:
    # Whitsun 2026: Friday afternoon, Saturday, Sunday, Whit Monday
    assert status(OFFICE, at("2026-05-22", "16:00")) == closed(OUTSIDE, utc("2026-05-26 07:00"))
    # Christmas and New Year 2026/2027 with the days between closed by exceptions
    between = tuple(DateException(date(2026, 12, d), CLOSED) for d in (24, 28, 29, 30, 31))
    hours = replace(OFFICE, exceptions=between)
    assert status(hours, at("2026-12-23", "16:00")) == closed(OUTSIDE, utc("2027-01-04 08:00"))


def test_the_next_opening_is_looked_for_14_days_ahead_and_no_further() -> None:
    only = OpeningHours(exceptions=(DateException(date(2026, 6, 15), OPEN, ranges("09:00-10:00")),))
    assert status(only, at("2026-06-01", "12:00")) == closed(OUTSIDE, utc("2026-06-15 07:00"))
    assert status(only, at("2026-05-31", "12:00")) == closed(OUTSIDE, None)  # 15 days
    assert status(only, at("2026-06-01", "12:00"), lookahead_days=13) == closed(OUTSIDE, None)
    assert status(only, at("2026-06-15", "08:00"), lookahead_days=0) == closed(
        OUTSIDE, utc("2026-06-15 07:00")
    )
    assert status(OpeningHours(), at("2026-06-01", "12:00")) == closed(OUTSIDE, None)


@pytest.mark.parametrize(
    "ask",
    [
        lambda: status(OFFICE, datetime(2026, 6, 1, 10, 0)),
        lambda: is_open(OFFICE, datetime(2026, 6, 1, 10, 0)),
        lambda: status(OFFICE, at("2026-06-01", "10:00"), lookahead_days=-1),
    ],
    ids=["naive now", "naive now (is_open)", "negative look-ahead"],
)
def test_a_malformed_question_is_refused(ask: Callable[[], object]) -> None:
    with pytest.raises(ValueError) as refused:  # bad input is a ValueError too
        ask()
    assert isinstance(refused.value, InvalidQuery)


# --- daylight saving time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "opens", "closes", "opens_next"),
    [
        # spring 2026: clocks go from 02:00 CET to 03:00 CEST on Sunday 29 March
        ("2026-03-28", "2026-03-28 08:00", "2026-03-28 16:00", "2026-03-29 07:00"),  # CET
        ("2026-03-29", "2026-03-29 07:00", "2026-03-29 15:00", "2026-03-30 07:00"),  # CEST
        ("2026-03-30", "2026-03-30 07:00", "2026-03-30 15:00", "2026-03-31 07:00"),
        # autumn 2026: clocks go from 03:00 CEST back to 02:00 CET on Sunday 25 October
        ("2026-10-24", "2026-10-24 07:00", "2026-10-24 15:00", "2026-10-25 08:00"),  # CEST
        ("2026-10-25", "2026-10-25 08:00", "2026-10-25 16:00", "2026-10-26 08:00"),  # CET
        ("2026-10-26", "2026-10-26 08:00", "2026-10-26 16:00", "2026-10-27 08:00"),
    ],
)
def test_09_00_to_17_00_in_utc_around_the_dst_weekends(
    day: str, opens: str, closes: str, opens_next: str
) -> None:
    opening, closing = utc(opens), utc(closes)
    assert opening_periods(EVERY_DAY, date.fromisoformat(day)) == ((opening, closing),)
    clock = FakeClock(opening - SECOND)
    assert not is_open(EVERY_DAY, clock())
    assert status(EVERY_DAY, clock()) == closed(OUTSIDE, opening)
    clock.advance(SECOND)
    assert is_open(EVERY_DAY, clock())
    assert status(EVERY_DAY, clock()) == open_until(closing)
    clock.now = closing - SECOND
    assert status(EVERY_DAY, clock()) == open_until(closing)
    clock.advance(SECOND)
    assert not is_open(EVERY_DAY, clock())
    assert status(EVERY_DAY, clock()) == closed(OUTSIDE, utc(opens_next))


@pytest.mark.parametrize(
    ("now", "opens_at"),
    [
        # Friday afternoon before the spring change: Monday 09:00 is already CEST
        (at("2026-03-27", "16:00"), "2026-03-30 07:00"),
        (at("2026-03-28", "23:59"), "2026-03-30 07:00"),
        (utc("2026-03-29 01:00"), "2026-03-30 07:00"),  # the moment of the change
        # Friday afternoon before the autumn change: Monday 09:00 is CET again
        (at("2026-10-23", "16:00"), "2026-10-26 08:00"),
        (at("2026-10-25", "02:30", fold=0), "2026-10-26 08:00"),
        (at("2026-10-25", "02:30", fold=1), "2026-10-26 08:00"),
    ],
)
def test_the_next_opening_over_a_dst_weekend_uses_the_new_offset(
    now: datetime, opens_at: str
) -> None:
    assert status(OFFICE, now) == closed(OUTSIDE, utc(opens_at))


def test_a_range_across_the_spring_gap_lasts_the_real_hours_that_pass() -> None:
    # 01:00-04:00 on 29 March 2026: 01:00 CET is 00:00 UTC, 04:00 CEST is 02:00 UTC
    night = OpeningHours(weekly=week(sunday=ranges("01:00-04:00")))
    assert opening_periods(night, date(2026, 3, 29)) == (
        (utc("2026-03-29 00:00"), utc("2026-03-29 02:00")),
    )
    assert status(night, utc("2026-03-29 01:30")) == open_until(utc("2026-03-29 02:00"))
    # a boundary inside the gap is the first moment that exists: 03:00 CEST (01:00 UTC)
    until = OpeningHours(weekly=week(sunday=ranges("01:00-02:30")))
    assert opening_periods(until, date(2026, 3, 29)) == (
        (utc("2026-03-29 00:00"), utc("2026-03-29 01:00")),
    )
    after = OpeningHours(weekly=week(sunday=ranges("02:30-05:00")))
    assert opening_periods(after, date(2026, 3, 29)) == (
        (utc("2026-03-29 01:00"), utc("2026-03-29 03:00")),
    )


def test_a_range_wholly_inside_the_spring_gap_never_opens() -> None:
    gap = OpeningHours(weekly=week(sunday=ranges("02:15-02:45")))
    assert opening_periods(gap, date(2026, 3, 29)) == ()
    # the next Sunday, 5 April, is Eerste paasdag: the Sunday after opens
    assert status(gap, at("2026-03-29", "01:59")) == closed(OUTSIDE, utc("2026-04-12 00:15"))
    # on an ordinary Sunday the same range is open its half hour
    assert opening_periods(gap, date(2026, 4, 12)) == (
        (utc("2026-04-12 00:15"), utc("2026-04-12 00:45")),
    )


def test_a_boundary_in_the_repeated_hour_is_its_first_occurrence() -> None:
    # 25 October 2026: 02:00-03:00 happens twice, first CEST (00:00-01:00 UTC), then CET
    # (01:00-02:00 UTC). A range ending 02:30 closes at the first 02:30 ...
    until = OpeningHours(weekly=week(sunday=ranges("01:00-02:30")))
    assert opening_periods(until, date(2026, 10, 25)) == (
        (utc("2026-10-24 23:00"), utc("2026-10-25 00:30")),
    )
    assert is_open(until, at("2026-10-25", "02:15", fold=0))
    assert not is_open(until, at("2026-10-25", "02:45", fold=0))
    assert not is_open(until, at("2026-10-25", "02:15", fold=1))  # the second pass: closed
    # ... and a range starting 02:30 opens then, the second pass included: 2.5 real hours
    after = OpeningHours(weekly=week(sunday=ranges("02:30-04:00")))
    assert opening_periods(after, date(2026, 10, 25)) == (
        (utc("2026-10-25 00:30"), utc("2026-10-25 03:00")),
    )
    assert status(after, at("2026-10-25", "02:15", fold=1)) == open_until(utc("2026-10-25 03:00"))


def _wall_clock_open(hours: OpeningHours, moment: datetime) -> bool:
    """The oracle: what a person reading the wall clock says (exact for daytime hours)."""
    local = moment.astimezone(AMSTERDAM)
    return any(start <= local.time() < end for start, end in hours.weekly[local.weekday()])


@pytest.mark.parametrize("friday", ["2026-03-27", "2026-10-23"])
def test_minute_by_minute_over_a_dst_weekend_the_status_agrees_with_the_wall_clock(
    friday: str,
) -> None:
    hours = replace(WITH_SATURDAY, holidays=HolidayRules(close=False))
    clock = FakeClock(at(friday, "00:00"))
    end = clock() + timedelta(days=5)
    seen: list[tuple[datetime, Status]] = []
    while clock() < end:
        seen.append((clock(), status(hours, clock())))
        clock.advance(MINUTE)
    # every opens_at and closes_at is the first minute at which the wall clock says so
    next_open: datetime | None = None
    next_closed: datetime | None = None
    checked = 0
    for moment, found in reversed(seen):
        wall_open = _wall_clock_open(hours, moment)
        assert found.is_open is wall_open, moment
        assert is_open(hours, moment) is wall_open
        if wall_open:
            if next_closed is not None:
                assert found.closes_at == next_closed, moment
                checked += 1
            next_open = moment
        else:
            if next_open is not None:
                assert found.opens_at == next_open, moment
                checked += 1
            next_closed = moment
    assert checked > 5 * 24 * 60 - 2 * 24 * 60  # most minutes had a known next change


# --- validation ---------------------------------------------------------------------------


def _weekly_with(weekday: int, value: tuple[TimeRange, ...]) -> OpeningHours:
    weekly: list[tuple[TimeRange, ...]] = [()] * 7
    weekly[weekday] = value
    return OpeningHours(weekly=tuple(weekly))


ZONED = time(9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("build", "error", "where", "message"),
    [
        (
            lambda: _weekly_with(0, ranges("12:00-09:00")),
            BadRange,
            "Monday",
            "Monday: 12:00–09:00 is empty: it must end after it starts",
        ),
        (
            lambda: _weekly_with(1, ranges("09:00-09:00")),
            BadRange,
            "Tuesday",
            "Tuesday: 09:00–09:00 is empty",
        ),
        (
            lambda: _weekly_with(2, ranges("09:00-12:00", "11:00-13:00")),
            OverlappingRanges,
            "Wednesday",
            "Wednesday: 09:00–12:00 overlaps 11:00–13:00",
        ),
        (
            lambda: _weekly_with(2, ranges("13:00-17:00", "09:00-12:00", "10:00-10:30")),
            OverlappingRanges,
            "Wednesday",
            "Wednesday: 09:00–12:00 overlaps 10:00–10:30",
        ),
        (
            lambda: _weekly_with(3, ((time(9, 0, 30), time(12)),)),
            BadRange,
            "Thursday",
            "Thursday: 09:00:30 must be a whole minute",
        ),
        (
            lambda: _weekly_with(4, ((ZONED, time(12)),)),
            BadRange,
            "Friday",
            "Friday: 09:00:00+00:00 must be a wall-clock time without a zone",
        ),
        (
            lambda: _weekly_with(5, ((time(9),),)),  # type: ignore[arg-type]
            BadRange,
            "Saturday",
            "Saturday: (datetime.time(9, 0),) is not a (start, end) pair of times",
        ),
        (
            lambda: OpeningHours(weekly=((),) * 6),
            InvalidHours,
            "weekly",
            "weekly: 6 days, not 7 (Monday first)",
        ),
        (
            lambda: DateException(date(2026, 12, 24), OPEN),
            InvalidHours,
            "2026-12-24",
            "2026-12-24: an open day needs hours",
        ),
        (
            lambda: DateException(date(2026, 12, 24), CLOSED, ranges("09:00-12:00")),
            InvalidHours,
            "2026-12-24",
            "2026-12-24: a closed day has no hours",
        ),
        (
            lambda: DateException(date(2026, 12, 24), OPEN, ranges("09:00-12:00", "11:30-12:30")),
            OverlappingRanges,
            "2026-12-24",
            "2026-12-24: 09:00–12:00 overlaps 11:30–12:30",
        ),
        (
            lambda: DateException(date(2026, 12, 24), OPEN, ranges("14:00-13:00")),
            BadRange,
            "2026-12-24",
            "2026-12-24: 14:00–13:00 is empty",
        ),
        (
            lambda: OpeningHours(
                exceptions=(
                    DateException(date(2026, 12, 24), CLOSED),
                    DateException(date(2026, 12, 24), OPEN, ranges("09:00-12:00")),
                )
            ),
            InvalidHours,
            "2026-12-24",
            "2026-12-24: two exceptions for one date",
        ),
        (
            lambda: DateException(datetime(2026, 12, 24, 9, 0), CLOSED),
            InvalidHours,
            "datetime.datetime(2026, 12, 24, 9, 0)",
            "must be a date",
        ),
    ],
    ids=[
        "inverted",
        "empty",
        "overlapping",
        "overlapping, unsorted",
        "seconds",
        "zoned",
        "not a pair",
        "six weekdays",
        "open without hours",
        "closed with hours",
        "overlapping exception",
        "inverted exception",
        "two exceptions for a date",
        "datetime as a day",
    ],
)
def test_impossible_hours_are_refused_naming_the_day(
    build: Callable[[], object], error: type[InvalidHours], where: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:  # bad input is a ValueError too
        build()
    found = refused.value
    assert type(found) is error and isinstance(found, InvalidHours)  # so a WalkinError
    assert found.where == where
    assert message in str(found)


def test_hours_are_normalised_so_equal_schedules_compare_equal() -> None:
    one = OpeningHours(
        weekly=week(ranges("13:00-16:00", "09:00-12:00")),
        exceptions=(
            DateException(date(2026, 12, 31), CLOSED),
            DateException(date(2026, 12, 24), OPEN, ranges("10:00-11:00", "09:00-10:00")),
        ),
    )
    other = OpeningHours(
        weekly=week(ranges("09:00-12:00", "13:00-16:00")),
        exceptions=(
            DateException(date(2026, 12, 24), OPEN, ranges("09:00-10:00", "10:00-11:00")),
            DateException(date(2026, 12, 31), CLOSED),
        ),
    )
    assert one == other and hash(one) == hash(other)
    assert one.weekly[0] == ranges("09:00-12:00", "13:00-16:00")
    assert [e.day for e in one.exceptions] == [date(2026, 12, 24), date(2026, 12, 31)]
    assert one.exception_on(date(2026, 12, 24)) == other.exceptions[0]
    assert one.exception_on(date(2026, 12, 25)) is None


# --- the stored form ----------------------------------------------------------------------

FULL = OpeningHours(
    weekly=week(ranges("09:00-12:00", "13:00-16:30"), saturday=ranges("10:00-13:00")),
    exceptions=(
        DateException(date(2026, 4, 27), OPEN, ranges("10:00-13:00")),
        DateException(date(2026, 5, 15), CLOSED),
    ),
    holidays=HolidayRules(liberation_day=LiberationDay.LUSTRUM, good_friday=True),
)


def test_the_stored_form_is_plain_json() -> None:
    assert to_data(FULL) == {
        "version": 1,
        "weekly": {
            "monday": [["09:00", "12:00"], ["13:00", "16:30"]],
            "tuesday": [["09:00", "12:00"], ["13:00", "16:30"]],
            "wednesday": [["09:00", "12:00"], ["13:00", "16:30"]],
            "thursday": [["09:00", "12:00"], ["13:00", "16:30"]],
            "friday": [["09:00", "12:00"], ["13:00", "16:30"]],
            "saturday": [["10:00", "13:00"]],
            "sunday": [],
        },
        "exceptions": [
            {"date": "2026-04-27", "kind": "open", "hours": [["10:00", "13:00"]]},
            {"date": "2026-05-15", "kind": "closed"},
        ],
        "holidays": {"close": True, "liberation_day": "lustrum", "good_friday": True},
    }


@pytest.mark.parametrize(
    "hours", [FULL, OFFICE, OpeningHours(), EVERY_DAY], ids=["full", "office", "never", "every day"]
)
def test_the_stored_form_reads_back_equal(hours: OpeningHours) -> None:
    stored = json.dumps(to_data(hours))
    assert from_data(json.loads(stored)) == hours


def _good() -> dict[str, Any]:
    return deepcopy(to_data(FULL))


DROP = object()
M, T = ("weekly", "monday"), ("weekly", "tuesday")
E0, E1 = ("exceptions", 0), ("exceptions", 1)


def _with(path: tuple[str | int, ...], value: object) -> object:
    """The good data with ``value`` put at ``path`` (``DROP``: that key taken out)."""
    if not path:
        return value
    data = _good()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    if value is DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "error", "where"),
    [
        ((), [], BadHoursData, ""),
        (("holidays",), DROP, BadHoursData, "holidays"),
        (("colour",), "blue", BadHoursData, "colour"),
        (("version",), 2, BadHoursData, "version"),
        (("version",), True, BadHoursData, "version"),
        (("version",), "1", BadHoursData, "version"),
        (("weekly",), [], BadHoursData, "weekly"),
        (("weekly", "sunday"), DROP, BadHoursData, "weekly.sunday"),
        (("weekly", "funday"), [], BadHoursData, "weekly.funday"),
        (M, "09:00-12:00", BadHoursData, "weekly.monday"),
        (M, [["09:00", "10:00", "11:00"]], BadHoursData, "weekly.monday[0]"),
        (M, ["09:00"], BadHoursData, "weekly.monday[0]"),
        (M, [["9:00", "12:00"]], BadHoursData, "weekly.monday[0][0]"),
        (M, [["09:00", "24:00"]], BadHoursData, "weekly.monday[0][1]"),
        (M, [["09:00:00", "12:00"]], BadHoursData, "weekly.monday[0][0]"),
        (M, [[900, "12:00"]], BadHoursData, "weekly.monday[0][0]"),
        (M, [["12:00", "09:00"]], BadRange, "Monday"),
        (T, [["09:00", "12:00"], ["11:00", "13:00"]], OverlappingRanges, "Tuesday"),
        (("exceptions",), {}, BadHoursData, "exceptions"),
        (("exceptions", 0), "2026-04-27", BadHoursData, "exceptions[0]"),
        ((*E0, "date"), "2026-02-30", BadHoursData, "exceptions[0].date"),
        ((*E0, "date"), "27-04-2026", BadHoursData, "exceptions[0].date"),
        ((*E0, "date"), 20260427, BadHoursData, "exceptions[0].date"),
        ((*E0, "kind"), "maybe", BadHoursData, "exceptions[0].kind"),
        ((*E0, "note"), "feestdag", BadHoursData, "exceptions[0].note"),
        ((*E0, "hours"), DROP, BadHoursData, "exceptions[0].hours"),
        ((*E1, "hours"), [["09:00", "12:00"]], BadHoursData, "exceptions[1].hours"),
        ((*E0, "hours"), [], InvalidHours, "2026-04-27"),
        ((*E1, "date"), "2026-04-27", InvalidHours, "2026-04-27"),
        (("holidays", "close"), 1, BadHoursData, "holidays.close"),
        (("holidays", "close"), "yes", BadHoursData, "holidays.close"),
        (("holidays", "liberation_day"), "sometimes", BadHoursData, "holidays.liberation_day"),
        (("holidays", "good_friday"), DROP, BadHoursData, "holidays.good_friday"),
    ],
)
def test_bad_stored_data_is_refused_naming_where(
    path: tuple[str | int, ...], value: object, error: type[InvalidHours], where: str
) -> None:
    with pytest.raises(error) as refused:
        from_data(_with(path, value))
    assert type(refused.value) is error
    assert refused.value.where == where
    assert str(refused.value).startswith(f"{where or 'the data'}: ")  # the message says where


def test_the_good_data_the_bad_cases_start_from_is_good() -> None:
    assert from_data(_good()) == FULL  # so each case above fails for its own change only


# --- purity -------------------------------------------------------------------------------


def test_the_hours_module_is_free_of_io() -> None:
    imported = imported_modules(ROOT / "server" / "walkin" / "hours.py")
    ours = {name for name in imported if name.split(".")[0] in ("server", "sqlalchemy", "aiohttp")}
    assert ours == {
        "server.walkin.errors",
        "server.booking.intervals",
        "server.core.clock",
        "server.core.holidays",
    }
    assert loaded_by(ROOT, ["server.walkin.hours"], ["aiohttp", "sqlalchemy"]) == []


def test_every_hours_error_is_drawn_in_the_tree_and_hangs_from_walkin_error() -> None:
    tree = errors.__doc__ or ""
    for error in (InvalidHours, BadRange, OverlappingRanges, BadHoursData, InvalidQuery):
        assert f"── {error.__name__} " in tree
        assert WalkinError in error.__mro__ and ValueError in error.__mro__


def test_the_stored_form_shown_in_the_docs_reads() -> None:
    section = (ROOT / "docs" / "walk-in.md").read_text().split("\n## Opening hours\n")[1]
    section = section.split("\n## ")[0]
    example = section.split("```json\n")[1].split("```")[0]
    hours = from_data(json.loads(example))
    assert hours.exception_on(date(2026, 4, 27)) == DateException(
        date(2026, 4, 27), OPEN, ranges("10:00-13:00")
    )
    assert to_data(hours) == json.loads(example)
