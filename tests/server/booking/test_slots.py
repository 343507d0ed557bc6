"""The slot engine, case by case: DST days, notice, buffers, caps, exceptions, explanations.

Times are written as Amsterdam wall-clock text ("09:00", "02:30 CET") so a reader can check
them against a wall clock; ``fold=1`` marks the second 02:30 of an October Sunday.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from server.booking import (
    AMSTERDAM,
    Allocation,
    AllocationKind,
    AvailabilityException,
    BookingError,
    Busy,
    ExceptionKind,
    InvalidInput,
    InvalidInterval,
    InvalidPurpose,
    InvalidRequest,
    InvalidRule,
    NoStaffFree,
    PurposeRules,
    Reason,
    Slot,
    SlotRequest,
    SlotSearch,
    Staff,
    WeeklyRule,
    available_dates,
    available_times,
    explain,
    pick_staff,
)
from server.booking.intervals import offset_changes_on, wall_instants, wall_to_instant
from server.core.holidays import DEFAULT_RULES, HolidayRules

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
MONDAY = date(2026, 6, 1)  # an ordinary Monday, far from any DST change
SPRING_2026, AUTUMN_2026 = date(2026, 3, 29), date(2026, 10, 25)  # last Sundays, 2026
SPRING_2027, AUTUMN_2027 = date(2027, 3, 28), date(2027, 10, 31)


# --- builders -----------------------------------------------------------------------------


def at(day: date | str, hhmm: str, *, fold: int = 0) -> datetime:
    """Amsterdam wall-clock time on ``day`` as an aware UTC datetime."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    wall = datetime.combine(day, time.fromisoformat(hhmm)).replace(tzinfo=AMSTERDAM, fold=fold)
    return wall.astimezone(UTC)


def local(moment: datetime) -> str:
    """Wall-clock "HH:MM" in Amsterdam."""
    return moment.astimezone(AMSTERDAM).strftime("%H:%M")


def local_tz(moment: datetime) -> str:
    return moment.astimezone(AMSTERDAM).strftime("%H:%M %Z")


def hours(*spans: str) -> tuple[tuple[time, time], ...]:
    """hours("09:00-12:00", "13:00-17:00")"""
    out = []
    for span in spans:
        start, end = span.split("-")
        out.append((time.fromisoformat(start), time.fromisoformat(end)))
    return tuple(out)


def staff(
    id: str = "anna",
    *,
    skills: Iterable[str] = ("wmo",),
    weekdays: Iterable[int] = range(7),
    daily: Sequence[str] = ("09:00-17:00",),
    exceptions: Sequence[AvailabilityException] = (),
    cap: int | None = None,
) -> Staff:
    """A staff member working ``daily`` hours on every weekday in ``weekdays``."""
    rules = tuple(
        WeeklyRule(weekday, start, end) for weekday in weekdays for start, end in hours(*daily)
    )
    return Staff(id, frozenset(skills), rules, tuple(exceptions), cap)


WMO_INTAKE = PurposeRules(key="wmo-intake", skill="wmo", duration=30 * MINUTE, horizon_days=28)


def purpose(**changes: Any) -> PurposeRules:
    """The 30-minute WMO intake, with ``changes`` (validated again)."""
    return replace(WMO_INTAKE, **changes)


def request(
    *members: Staff,
    now: datetime | None = None,
    rules: PurposeRules | None = None,
    busy: Sequence[Busy] = (),
    allocations: Sequence[Allocation] = (),
    holidays: HolidayRules = DEFAULT_RULES,
) -> SlotRequest:
    return SlotRequest(
        purpose=rules or purpose(),
        staff=members or (staff(),),
        now=now or at(MONDAY, "07:00"),
        busy=tuple(busy),
        allocations=tuple(allocations),
        holidays=holidays,
    )


def booking(
    start: datetime, end: datetime, who: str = "anna", *, purpose: str = "", ref: str = ""
) -> Allocation:
    return Allocation(who, start, end, AllocationKind.BOOKING, purpose=purpose, ref=ref)


def hold(start: datetime, end: datetime, expires: datetime, who: str = "anna") -> Allocation:
    return Allocation(who, start, end, AllocationKind.HOLD, expires_at=expires, ref="h1")


def starts(slots: Sequence[Slot], *, tz: bool = False) -> list[str]:
    return [(local_tz if tz else local)(slot.start) for slot in slots]


def reasons(req: SlotRequest, start: datetime, who: str = "anna") -> set[Reason]:
    verdict = {v.staff_id: v for v in explain(req, start).staff}[who]
    return {finding.reason for finding in verdict.findings}


# --- wall clock → real time ---------------------------------------------------------------


@pytest.mark.parametrize("day", [SPRING_2026, SPRING_2027])
def test_a_non_existent_boundary_maps_to_the_moment_clocks_jump(day: date) -> None:
    assert wall_to_instant(day, time(2, 30), AMSTERDAM) == at(day, "03:00")
    assert wall_to_instant(day, time(2, 0), AMSTERDAM) == at(day, "03:00")
    assert wall_instants(datetime.combine(day, time(2, 30)), AMSTERDAM) == ()


@pytest.mark.parametrize("day", [AUTUMN_2026, AUTUMN_2027])
def test_a_repeated_boundary_means_its_first_occurrence(day: date) -> None:
    first, second = wall_instants(datetime.combine(day, time(2, 30)), AMSTERDAM)
    assert second - first == HOUR
    assert wall_to_instant(day, time(2, 30), AMSTERDAM) == first == at(day, "02:30")


def test_only_the_last_sundays_change_the_offset() -> None:
    changing = [
        d
        for d in (date(2026, 1, 1) + timedelta(days=i) for i in range(365))
        if offset_changes_on(d, AMSTERDAM)
    ]
    assert changing == [SPRING_2026, AUTUMN_2026]


# --- DST days -----------------------------------------------------------------------------


@pytest.mark.parametrize("day", [SPRING_2026, AUTUMN_2026, SPRING_2027, AUTUMN_2027, MONDAY])
def test_nine_to_five_is_eight_real_hours_on_dst_days(day: date) -> None:
    # the spring change of 2027 is Easter Sunday: a tenant open on holidays books it
    req = request(now=at(day - timedelta(days=1), "12:00"), holidays=HolidayRules(close=False))
    slots = available_times(req, day)
    assert len(slots) == 16
    assert slots[0].start == at(day, "09:00")
    assert slots[-1].end == at(day, "17:00")
    assert slots[-1].end - slots[0].start == 8 * HOUR
    assert starts(slots)[:3] == ["09:00", "09:30", "10:00"]


def test_hours_across_the_spring_gap_last_the_real_elapsed_time() -> None:
    req = request(
        staff(daily=["01:00-05:00"]),
        now=at("2026-03-28", "12:00"),
        rules=purpose(duration=HOUR),
    )
    slots = available_times(req, SPRING_2026)
    # 02:00 CET does not exist; the wall clock reads 01:00, then 03:00.
    assert starts(slots, tz=True) == ["01:00 CET", "03:00 CEST", "04:00 CEST"]
    assert slots[-1].end - slots[0].start == 3 * HOUR


def test_a_grid_time_that_does_not_exist_is_skipped_not_shifted() -> None:
    req = request(
        staff(daily=["01:00-05:00"]),
        now=at("2026-03-28", "12:00"),
        rules=purpose(duration=45 * MINUTE),
    )
    slots = available_times(req, SPRING_2026)
    # the wall grid is 01:00, 01:45, 02:30 (does not exist), 03:15, 04:00
    assert starts(slots, tz=True) == ["01:00 CET", "01:45 CET", "03:15 CEST", "04:00 CEST"]
    assert all(slot.end - slot.start == 45 * MINUTE for slot in slots)
    assert Reason.NOT_ALIGNED in reasons(req, at(SPRING_2026, "03:00"))


def test_both_occurrences_of_a_repeated_hour_are_offered() -> None:
    req = request(
        staff(daily=["01:00-04:00"]),
        now=at("2026-10-24", "12:00"),
        rules=purpose(duration=HOUR),
    )
    slots = available_times(req, AUTUMN_2026)
    assert starts(slots, tz=True) == ["01:00 CEST", "02:00 CEST", "02:00 CET", "03:00 CET"]
    assert [s.start for s in slots] == [at(AUTUMN_2026, "01:00") + i * HOUR for i in range(4)]
    assert explain(req, at(AUTUMN_2026, "02:00", fold=1)).available


def test_hours_that_start_in_the_gap_start_when_clocks_jump_on_the_rule_grid() -> None:
    for step, first in ((30, "03:00 CEST"), (60, "03:30 CEST")):
        req = request(
            staff(daily=["02:30-05:00"]),
            now=at("2026-03-28", "12:00"),
            rules=purpose(slot_interval=step * MINUTE),
        )
        assert starts(available_times(req, SPRING_2026), tz=True)[0] == first


def test_adjacent_rules_meet_at_the_first_of_two_repeated_times() -> None:
    req = request(
        staff(daily=["01:00-02:30", "02:30-04:00"]),
        now=at("2026-10-24", "12:00"),
        rules=purpose(duration=HOUR, slot_interval=30 * MINUTE),
    )
    got = starts(available_times(req, AUTUMN_2026), tz=True)
    # 02:00 CEST runs on from the first rule into the second: no seam between them.
    assert got == ["01:00 CEST", "01:30 CEST", "02:00 CEST", "02:30 CEST", "02:30 CET", "03:00 CET"]


# --- minimum notice -----------------------------------------------------------------------


def test_notice_across_the_spring_change_counts_real_hours() -> None:
    # Saturday 23:00 CET + 4 h = 04:00 CEST; a wall-clock sum would wrongly allow 03:00.
    req = request(
        staff(daily=["00:00-08:00"]),
        now=at("2026-03-28", "23:00"),
        rules=purpose(duration=HOUR, min_notice=4 * HOUR),
    )
    assert starts(available_times(req, SPRING_2026), tz=True) == [
        "04:00 CEST",
        "05:00 CEST",
        "06:00 CEST",
        "07:00 CEST",
    ]
    assert reasons(req, at(SPRING_2026, "03:00")) == {Reason.NOTICE}
    assert explain(req, at(SPRING_2026, "04:00")).available


def test_notice_across_the_autumn_change_counts_real_hours() -> None:
    # Saturday 23:00 CEST + 4 h = the second 02:00 (CET).
    req = request(
        staff(daily=["00:00-05:00"]),
        now=at("2026-10-24", "23:00"),
        rules=purpose(duration=HOUR, min_notice=4 * HOUR),
    )
    got = starts(available_times(req, AUTUMN_2026), tz=True)
    assert got == ["02:00 CET", "03:00 CET", "04:00 CET"]
    assert reasons(req, at(AUTUMN_2026, "02:00")) == {Reason.NOTICE}


def test_notice_on_the_dst_day_itself() -> None:
    # 01:30 CET + 2 h = 04:30 CEST (Cal.com #12137 offered 03:30)
    req = request(
        staff(daily=["00:00-08:00"]),
        now=at(SPRING_2026, "01:30"),
        rules=purpose(min_notice=2 * HOUR),
    )
    assert starts(available_times(req, SPRING_2026))[0] == "04:30"


def test_notice_rounds_a_fractional_now_up() -> None:
    now = at(MONDAY, "08:00") + timedelta(microseconds=1)
    req = request(now=now, rules=purpose(min_notice=HOUR))
    assert starts(available_times(req, MONDAY))[0] == "09:30"
    assert reasons(req, at(MONDAY, "09:00")) == {Reason.NOTICE}


# --- horizon ------------------------------------------------------------------------------


def test_the_horizon_is_a_count_of_local_dates_from_today() -> None:
    req = request(now=at(MONDAY, "23:30"), rules=purpose(horizon_days=3))
    assert available_dates(req) == [MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)]
    assert available_times(req, MONDAY + timedelta(days=3)) == []
    assert reasons(req, at(MONDAY + timedelta(days=3), "09:00")) == {Reason.HORIZON}


def test_dates_can_be_asked_for_a_range() -> None:
    req = request(now=at(MONDAY, "07:00"))
    got = available_dates(req, MONDAY + timedelta(days=2), MONDAY + timedelta(days=4))
    assert got == [MONDAY + timedelta(days=i) for i in (2, 3, 4)]


# --- buffers and overlaps -----------------------------------------------------------------


def test_buffers_widen_the_slot_against_busy_time() -> None:
    busy = Busy("anna", at(MONDAY, "10:00"), at(MONDAY, "11:00"), source="calendar", ref="ev-1")
    req = request(
        busy=[busy],
        rules=purpose(
            slot_interval=15 * MINUTE, buffer_before=15 * MINUTE, buffer_after=15 * MINUTE
        ),
    )
    morning = [s for s in starts(available_times(req, MONDAY)) if s < "11:30"]
    # 09:15 ends 09:45 + 15 min = 10:00: touching is not overlapping. 11:15 - 15 min = 11:00.
    assert morning == ["09:00", "09:15", "11:15"]
    why = explain(req, at(MONDAY, "09:30")).staff[0].findings
    assert [(f.reason, "calendar" in f.detail, "ev-1" in f.detail) for f in why] == [
        (Reason.BUSY, True, True)
    ]
    assert reasons(req, at(MONDAY, "11:00")) == {Reason.BUSY}


def test_a_partial_overlap_blocks_the_slot() -> None:
    busy = Busy("anna", at(MONDAY, "10:10"), at(MONDAY, "10:20"))
    got = starts(available_times(request(busy=[busy]), MONDAY))
    assert "10:00" not in got
    assert {"09:30", "10:30"} <= set(got)


def test_busy_time_of_someone_else_does_not_block() -> None:
    busy = Busy("bram", at(MONDAY, "09:00"), at(MONDAY, "17:00"))
    assert len(available_times(request(busy=[busy]), MONDAY)) == 16


def test_stored_allocations_are_not_widened_again() -> None:
    booked = booking(at(MONDAY, "10:00"), at(MONDAY, "11:00"), ref="b-7")
    plain = request(allocations=[booked])
    assert "11:00" in starts(available_times(plain, MONDAY))
    buffered = request(
        allocations=[booked],
        rules=purpose(buffer_before=10 * MINUTE, slot_interval=10 * MINUTE),
    )
    got = starts(available_times(buffered, MONDAY))
    assert "11:00" not in got
    assert "11:10" in got
    assert reasons(buffered, at(MONDAY, "11:00")) == {Reason.BOOKED}


def test_a_live_hold_blocks_and_an_expired_one_does_not() -> None:
    now = at(MONDAY, "07:00")
    slot = (at(MONDAY, "10:00"), at(MONDAY, "10:30"))
    live = request(now=now, allocations=[hold(*slot, expires=now + timedelta(seconds=1))])
    assert "10:00" not in starts(available_times(live, MONDAY))
    assert reasons(live, slot[0]) == {Reason.HELD}
    for expires in (now, now - MINUTE):  # expires_at <= now: expired
        gone = request(now=now, allocations=[hold(*slot, expires=expires)])
        assert "10:00" in starts(available_times(gone, MONDAY))
        assert explain(gone, slot[0]).available


# --- caps ---------------------------------------------------------------------------------


def test_a_staff_daily_cap_empties_that_day_only() -> None:
    taken = [
        booking(at(MONDAY, "09:00"), at(MONDAY, "09:30")),
        hold(at(MONDAY, "10:00"), at(MONDAY, "10:30"), at(MONDAY, "07:10")),
    ]
    req = request(staff(cap=2), allocations=taken)
    assert available_times(req, MONDAY) == []
    assert MONDAY not in available_dates(req)
    assert MONDAY + timedelta(days=1) in available_dates(req)
    assert reasons(req, at(MONDAY, "14:00")) == {Reason.CAP}


def test_an_expired_hold_does_not_count_against_the_cap() -> None:
    taken = [
        booking(at(MONDAY, "09:00"), at(MONDAY, "09:30")),
        hold(at(MONDAY, "10:00"), at(MONDAY, "10:30"), at(MONDAY, "06:00")),
    ]
    req = request(staff(cap=2), allocations=taken)
    assert "10:00" in starts(available_times(req, MONDAY))


def test_bookings_before_now_still_count_against_the_cap() -> None:
    taken = [booking(at(MONDAY, "08:00"), at(MONDAY, "08:30"))]
    req = request(staff(cap=1), now=at(MONDAY, "09:00"), allocations=taken)
    assert available_times(req, MONDAY) == []


def test_a_purpose_cap_counts_only_that_purpose() -> None:
    other = booking(at(MONDAY, "09:00"), at(MONDAY, "09:30"), purpose="paspoort")
    same = booking(at(MONDAY, "09:00"), at(MONDAY, "09:30"), purpose="wmo-intake")
    capped = purpose(daily_cap=1)
    assert available_times(request(rules=capped, allocations=[other]), MONDAY)
    assert available_times(request(rules=capped, allocations=[same]), MONDAY) == []
    assert reasons(request(rules=capped, allocations=[same]), at(MONDAY, "14:00")) == {Reason.CAP}


# --- exceptions ---------------------------------------------------------------------------


def test_a_closed_day_offers_nothing_and_says_why() -> None:
    training = date(2026, 4, 28)  # a Tuesday; public holidays: test_slots_holidays.py
    closed = AvailabilityException(training, ExceptionKind.CLOSED, reason="Opleiding")
    req = request(staff(exceptions=[closed]), now=at("2026-04-24", "12:00"))
    assert training not in available_dates(req)
    assert training + timedelta(days=1) in available_dates(req)
    assert available_times(req, training) == []
    [finding] = explain(req, at(training, "10:00")).staff[0].findings
    assert finding.reason is Reason.EXCEPTION
    assert "Opleiding" in finding.detail


def test_closed_hours_cut_a_window_out_of_the_day() -> None:
    lunch = AvailabilityException(
        MONDAY, ExceptionKind.CLOSED, time(12, 0), time(13, 0), reason="teamoverleg"
    )
    req = request(staff(exceptions=[lunch]))
    got = starts(available_times(req, MONDAY))
    assert "11:30" in got
    assert "12:00" not in got
    assert "12:30" not in got
    assert "13:00" in got
    assert reasons(req, at(MONDAY, "12:30")) == {Reason.EXCEPTION}


def test_a_slot_may_run_on_into_adjacent_hours_but_not_across_a_gap() -> None:
    split = request(staff(daily=["09:00-12:00", "12:00-13:00"]), rules=purpose(duration=HOUR))
    assert starts(available_times(split, MONDAY)) == ["09:00", "10:00", "11:00", "12:00"]
    gap = request(staff(daily=["09:00-11:30", "12:00-13:00"]), rules=purpose(duration=HOUR))
    assert starts(available_times(gap, MONDAY)) == ["09:00", "10:00", "12:00"]
    assert reasons(gap, at(MONDAY, "11:00")) == {Reason.OUTSIDE_HOURS}


def test_extra_hours_open_a_day_without_rules() -> None:
    saturday = MONDAY + timedelta(days=5)
    extra = AvailabilityException(saturday, ExceptionKind.EXTRA, time(10, 0), time(12, 0))
    req = request(staff(weekdays=range(5), exceptions=[extra]))
    assert starts(available_times(req, saturday)) == ["10:00", "10:30", "11:00", "11:30"]
    assert saturday in available_dates(req)
    assert saturday + timedelta(days=1) not in available_dates(req)


def test_extra_hours_extend_a_day_and_a_whole_day_closure_wins() -> None:
    extra = AvailabilityException(MONDAY, ExceptionKind.EXTRA, time(17, 0), time(19, 0))
    extended = request(staff(exceptions=[extra]))
    got = starts(available_times(extended, MONDAY))
    assert got[0] == "09:00"
    assert got[-1] == "18:30"
    assert "16:45" not in got  # each stretch keeps the grid of its own start
    closed = AvailabilityException(MONDAY, ExceptionKind.CLOSED, reason="ziek")
    assert available_times(request(staff(exceptions=[extra, closed])), MONDAY) == []


# --- staff --------------------------------------------------------------------------------


def test_only_staff_with_the_skill_are_offered() -> None:
    anna, bram = staff("anna"), staff("bram", skills={"belastingen"})
    req = request(anna, bram)
    assert {slot.staff_ids for slot in available_times(req, MONDAY)} == {("anna",)}
    assert reasons(req, at(MONDAY, "09:00"), "bram") == {Reason.SKILL}
    assert explain(req, at(MONDAY, "09:00")).offered_by == ("anna",)


def test_a_slot_lists_every_free_staff_member() -> None:
    busy = Busy("anna", at(MONDAY, "09:00"), at(MONDAY, "10:00"))
    req = request(staff("anna"), staff("cees"), busy=[busy])
    slots = {local(s.start): s.staff_ids for s in available_times(req, MONDAY)}
    assert slots["09:00"] == ("cees",)
    assert slots["10:00"] == ("anna", "cees")


def test_no_qualified_staff_means_no_dates() -> None:
    assert available_dates(request(staff(skills={"paspoort"}))) == []


def test_pick_staff_prefers_the_least_booked_that_day_then_overall_then_id() -> None:
    tuesday = MONDAY + timedelta(days=1)
    slot = Slot(at(MONDAY, "15:00"), at(MONDAY, "15:30"), ("cees", "anna", "bram"))
    allocs = [
        booking(at(MONDAY, "09:00"), at(MONDAY, "09:30"), "anna"),
        booking(at(tuesday, "09:00"), at(tuesday, "09:30"), "bram"),
    ]
    members = (staff("anna"), staff("bram"), staff("cees"))
    assert pick_staff(request(*members, allocations=allocs), slot) == "cees"
    allocs.append(booking(at(MONDAY, "10:00"), at(MONDAY, "10:30"), "cees"))
    assert pick_staff(request(*members, allocations=allocs), slot) == "bram"
    assert pick_staff(request(*members), slot) == "anna"
    with pytest.raises(NoStaffFree):
        pick_staff(request(), Slot(slot.start, slot.end, ()))


# --- explanations -------------------------------------------------------------------------


def test_explain_names_the_rule_that_removed_a_start() -> None:
    req = request(staff(weekdays=range(5)), rules=purpose(horizon_days=10))
    sunday = MONDAY + timedelta(days=6)
    assert reasons(req, at(sunday, "10:00")) == {Reason.NO_RULE}
    assert reasons(req, at(MONDAY, "08:30")) == {Reason.OUTSIDE_HOURS}
    assert reasons(req, at(MONDAY, "16:45")) == {Reason.OUTSIDE_HOURS}
    assert reasons(req, at(MONDAY, "09:10")) == {Reason.NOT_ALIGNED}
    assert reasons(req, at(MONDAY, "06:00")) == {Reason.OUTSIDE_HOURS, Reason.NOTICE}
    assert reasons(req, at(MONDAY + timedelta(days=10), "09:00")) == {Reason.HORIZON}
    assert reasons(req, at(MONDAY, "09:30")) == set()


def test_explain_lists_every_reason_and_reads_as_text() -> None:
    allocs = [booking(at(MONDAY, "10:00"), at(MONDAY, "10:30"), ref="b-42")]
    busy = [Busy("anna", at(MONDAY, "10:15"), at(MONDAY, "11:00"), source="outlook")]
    req = request(staff("anna"), staff("bram", skills=()), busy=busy, allocations=allocs)
    why = explain(req, at(MONDAY, "10:00"))
    assert not why.available
    assert reasons(req, at(MONDAY, "10:00")) == {Reason.BOOKED, Reason.BUSY}
    text = "\n".join(why.lines())
    assert "2026-06-01 10:00 CEST" in text
    assert "not available" in text
    assert "b-42" in text
    assert "outlook" in text
    assert "bram: skill" in text
    free = explain(req, at(MONDAY, "11:00"))
    assert free.available
    assert free.lines()[0].endswith("available with anna")


def test_explain_refuses_a_naive_start() -> None:
    with pytest.raises(InvalidRequest, match="start 2026-06-01T10:00:00 has no time zone"):
        explain(request(), datetime(2026, 6, 1, 10, 0))


def test_search_answers_dates_then_times_consistently() -> None:
    busy = [Busy("anna", at(MONDAY, "09:00"), at(MONDAY, "17:00"))]
    search = SlotSearch(request(busy=busy, rules=purpose(horizon_days=3)))
    assert search.dates() == [MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)]
    assert list(search.slots()) == search.dates()
    assert search.times(MONDAY) == []


# --- span ---------------------------------------------------------------------------------


def test_span_covers_today_and_the_buffered_end_of_the_horizon() -> None:
    rules = purpose(horizon_days=2, buffer_before=10 * MINUTE, buffer_after=5 * MINUTE)
    start, end = request(rules=rules, now=at(MONDAY, "15:00")).span()
    assert start == at(MONDAY, "00:00") - 10 * MINUTE
    assert end == at(MONDAY + timedelta(days=2), "00:00") + 35 * MINUTE


# --- validation ---------------------------------------------------------------------------


def test_errors_form_one_tree() -> None:
    for error in (InvalidRule, InvalidPurpose, InvalidInterval, InvalidRequest):
        assert issubclass(error, InvalidInput)
    assert issubclass(InvalidInput, ValueError)
    assert issubclass(InvalidInput, BookingError)
    assert issubclass(NoStaffFree, BookingError)


@pytest.mark.parametrize(
    ("build", "error", "names"),
    [
        (lambda: WeeklyRule(7, time(9), time(17)), InvalidRule, "weekday 7"),
        (lambda: WeeklyRule(0, time(17), time(9)), InvalidRule, "end 09:00"),
        (lambda: WeeklyRule(0, time(9, 0, 30), time(17)), InvalidRule, "09:00:30"),
        (lambda: WeeklyRule(0, time(9, tzinfo=UTC), time(17)), InvalidRule, "tzinfo"),
        (
            lambda: AvailabilityException(MONDAY, ExceptionKind.EXTRA),
            InvalidRule,
            "extra exception on 2026-06-01",
        ),
        (
            lambda: AvailabilityException(MONDAY, ExceptionKind.CLOSED, time(9)),
            InvalidRule,
            "both start and end",
        ),
        (
            lambda: AvailabilityException(datetime(2026, 6, 1), ExceptionKind.CLOSED),
            InvalidRule,
            "datetime.datetime(2026, 6, 1",
        ),
        (lambda: purpose(duration=timedelta(0)), InvalidPurpose, "duration of 'wmo-intake'"),
        (lambda: purpose(duration=timedelta(seconds=90)), InvalidPurpose, "0:01:30"),
        (lambda: purpose(buffer_after=-MINUTE), InvalidPurpose, "buffer_after"),
        (lambda: purpose(min_notice=-HOUR), InvalidPurpose, "min_notice"),
        (lambda: purpose(slot_interval=timedelta(0)), InvalidPurpose, "slot_interval"),
        (lambda: purpose(horizon_days=0), InvalidPurpose, "horizon_days of 'wmo-intake' 0"),
        (lambda: purpose(daily_cap=0), InvalidPurpose, "daily_cap of 'wmo-intake' 0"),
        (lambda: purpose(skill=""), InvalidPurpose, "skill ''"),
        (lambda: staff(cap=0), InvalidRequest, "daily cap of 'anna' 0"),
        (lambda: staff(""), InvalidRequest, "staff id ''"),
        (
            lambda: Busy("anna", datetime(2026, 6, 1, 9), at(MONDAY, "10:00")),
            InvalidInterval,
            "busy block of 'anna': 2026-06-01T09:00:00 has no time zone",
        ),
        (
            lambda: Busy("anna", at(MONDAY, "10:00"), at(MONDAY, "10:00")),
            InvalidInterval,
            "is not after",
        ),
        (
            lambda: Allocation(
                "anna", at(MONDAY, "09:00"), at(MONDAY, "10:00"), AllocationKind.HOLD
            ),
            InvalidInterval,
            "expires_at None",
        ),
        (
            lambda: Allocation(
                "anna",
                at(MONDAY, "09:00"),
                at(MONDAY, "10:00"),
                AllocationKind.BOOKING,
                expires_at=at(MONDAY, "08:00"),
            ),
            InvalidInterval,
            "does not expire",
        ),
        (lambda: request(staff("anna"), staff("anna")), InvalidRequest, "'anna' is listed twice"),
        (
            lambda: request(now=datetime(2026, 6, 1, 9)),
            InvalidRequest,
            "now 2026-06-01T09:00:00 has no",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_it(
    build: object, error: type[Exception], names: str
) -> None:
    assert callable(build)
    with pytest.raises(error) as caught:
        build()
    assert names in str(caught.value)
