"""The slot engine on Dutch public holidays: closed by default, open by the tenant's rules or
by a staff member's extra hours on that date (server/booking/slots.py, server/core/holidays.py).

The dates were checked against the ``holidays`` package's Dutch list: Christmas 2027 falls on
a weekend and the Netherlands has no substitute days, so Monday 27 December 2027 is an
ordinary working day; Goede vrijdag stays open unless a tenant closes it.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from server.booking import (
    AvailabilityException,
    ExceptionKind,
    Reason,
    SlotSearch,
    available_dates,
    available_times,
    explain,
)
from server.core.holidays import HolidayRules, LiberationDay
from tests.server.booking.test_slots import at, purpose, request, staff

#: public holidays that fall on a weekday, with their Dutch names
CLOSING = [
    ("2026-01-01", "Nieuwjaarsdag"),
    ("2026-04-06", "Tweede paasdag"),
    ("2026-04-27", "Koningsdag"),
    ("2026-05-05", "Bevrijdingsdag"),
    ("2026-05-14", "Hemelvaartsdag"),
    ("2026-05-25", "Tweede pinksterdag"),
    ("2026-12-25", "Eerste kerstdag"),
    ("2027-01-01", "Nieuwjaarsdag"),
    ("2027-03-29", "Tweede paasdag"),
    ("2027-04-27", "Koningsdag"),
    ("2027-05-05", "Bevrijdingsdag"),
    ("2027-05-06", "Hemelvaartsdag"),
    ("2027-05-17", "Tweede pinksterdag"),
]
#: public holidays on a weekend: closed too for staff who work then (all week, here)
WEEKEND = [
    ("2026-04-05", "Eerste paasdag"),
    ("2026-05-24", "Eerste pinksterdag"),
    ("2026-12-26", "Tweede kerstdag"),
    ("2027-12-25", "Eerste kerstdag"),
    ("2027-12-26", "Tweede kerstdag"),
]
#: working days that look like holidays but are not closed by default
OPEN_DAYS = [
    "2026-04-03",  # Goede vrijdag
    "2027-03-26",  # Goede vrijdag
    "2027-12-27",  # the Monday after a weekend Christmas: no substitute day in NL
    "2026-04-28",  # the day after Koningsdag
]
OPEN_ON_HOLIDAYS = HolidayRules(close=False)


def at_time(hhmm: str) -> time:
    return time.fromisoformat(hhmm)


def _the_week_before(day: date) -> SlotSearch:
    """A search from noon a week before ``day``, which lies in its 28-day horizon."""
    return SlotSearch(request(now=at(day - timedelta(days=7), "12:00")))


@pytest.mark.parametrize(("day", "name"), CLOSING + WEEKEND)
def test_no_slot_is_offered_on_a_public_holiday(day: str, name: str) -> None:
    holiday = date.fromisoformat(day)
    search = _the_week_before(holiday)
    assert search.times(holiday) == []
    assert holiday not in search.dates()
    assert search.dates()  # the days around it are booked as usual
    why = search.explain(at(holiday, "10:00"))
    assert not why.available
    [finding] = why.staff[0].findings
    assert finding.reason is Reason.PUBLIC_HOLIDAY
    assert name in finding.detail
    assert why.holiday == name


@pytest.mark.parametrize("day", OPEN_DAYS)
def test_days_that_are_no_closing_holiday_are_booked_as_usual(day: str) -> None:
    ordinary = date.fromisoformat(day)
    assert len(_the_week_before(ordinary).times(ordinary)) == 16  # 09:00-17:00, 30 minutes


@pytest.mark.parametrize(("day", "name"), CLOSING)
def test_a_tenant_open_on_holidays_books_them_as_usual(day: str, name: str) -> None:
    holiday = date.fromisoformat(day)
    req = request(now=at(holiday - timedelta(days=7), "12:00"), holidays=OPEN_ON_HOLIDAYS)
    assert len(available_times(req, holiday)) == 16
    assert explain(req, at(holiday, "10:00")).available
    assert explain(req, at(holiday, "10:00")).holiday is None


def test_the_tenant_chooses_5_may_and_goede_vrijdag() -> None:
    may_5, good_friday = date(2026, 5, 5), date(2026, 4, 3)
    now = at("2026-03-30", "12:00")
    lustrum = HolidayRules(liberation_day=LiberationDay.LUSTRUM, good_friday=True)
    assert available_times(request(now=now, holidays=lustrum), good_friday) == []
    assert available_times(request(now=now), good_friday) != []  # the default books it
    may = at("2026-04-28", "12:00")
    assert available_times(request(now=may), may_5) == []  # the default closes every 5 May
    assert available_times(request(now=may, holidays=lustrum), may_5) != []  # 2026: no lustrum
    in_2030 = at("2030-04-30", "12:00")
    assert available_times(request(now=in_2030, holidays=lustrum), date(2030, 5, 6)) != []
    assert available_times(request(now=in_2030, holidays=lustrum), date(2030, 5, 5)) == []


def test_extra_hours_open_a_holiday_and_only_they_are_offered() -> None:
    kingsday = date(2026, 4, 27)
    extra = AvailabilityException(
        kingsday, ExceptionKind.EXTRA, at_time("10:00"), at_time("12:00"), "Extra spreekuur"
    )
    anna, bert = staff("anna", exceptions=[extra]), staff("bert")
    req = request(anna, bert, now=at("2026-04-20", "12:00"))
    slots = available_times(req, kingsday)
    assert [s.start for s in slots] == [
        at(kingsday, t) for t in ("10:00", "10:30", "11:00", "11:30")
    ]
    assert {s.staff_ids for s in slots} == {("anna",)}  # bert's weekly hours do not open it
    assert kingsday in available_dates(req)
    afternoon = explain(req, at(kingsday, "14:00"))
    assert not afternoon.available
    reasons = {v.staff_id: {f.reason for f in v.findings} for v in afternoon.staff}
    assert reasons == {
        "anna": {Reason.OUTSIDE_HOURS, Reason.PUBLIC_HOLIDAY},
        "bert": {Reason.PUBLIC_HOLIDAY},
    }
    assert explain(req, at(kingsday, "10:30")).offered_by == ("anna",)


def test_a_closed_exception_still_cuts_extra_hours_on_a_holiday() -> None:
    kingsday = date(2026, 4, 27)
    extra = AvailabilityException(kingsday, ExceptionKind.EXTRA, at_time("09:00"), at_time("12:00"))
    lunch = AvailabilityException(
        kingsday, ExceptionKind.CLOSED, at_time("10:00"), at_time("11:00")
    )
    req = request(staff(exceptions=[extra, lunch]), now=at("2026-04-20", "12:00"))
    starts = [s.start for s in available_times(req, kingsday)]
    assert starts == [at(kingsday, t) for t in ("09:00", "09:30", "11:00", "11:30")]


def test_a_holiday_on_a_day_without_hours_names_no_holiday_reason() -> None:
    # Koningsdag 2026 is a Monday; a member who works Tuesday to Friday has no hours anyway
    req = request(staff(weekdays=range(1, 5)), now=at("2026-04-20", "12:00"))
    [finding] = explain(req, at("2026-04-27", "10:00")).staff[0].findings
    assert finding.reason is Reason.NO_RULE


def test_the_purpose_rules_do_not_change_the_holiday_rule() -> None:
    """A purpose with another slot length and buffers is closed on the holiday too."""
    long = purpose(duration=timedelta(minutes=60), buffer_after=timedelta(minutes=15))
    req = request(rules=long, now=at("2026-04-20", "12:00"))
    assert available_times(req, date(2026, 4, 27)) == []
    assert available_times(req, date(2026, 4, 28)) != []
