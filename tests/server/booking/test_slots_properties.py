"""Properties of the slot engine over random staff, hours, busy time, bookings, holds and now.

``now`` is drawn around the DST changes of 2026 and 2027 (and one ordinary week; Easter 2027
falls in the March one, so public holidays close or, by the tenant's rules, do not), hours and
purposes on a 5-minute grid, busy blocks to the minute. The checks are written directly
against the inputs, not through the engine's index, and :func:`explain` (computed the slow,
direct way) must agree with the fast sweep on every 5-minute start in the horizon.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.booking import (
    AMSTERDAM,
    Allocation,
    AllocationKind,
    AvailabilityException,
    Busy,
    ExceptionKind,
    PurposeRules,
    SlotRequest,
    SlotSearch,
    Staff,
    WeeklyRule,
    available_dates,
    available_times,
)
from server.booking.intervals import merge, union, wall_to_instant
from server.booking.slots import rank_staff
from server.core.holidays import HolidayRules, closing_holiday

FIVE = timedelta(minutes=5)
MINUTE = timedelta(minutes=1)
#: Fridays before the last Sundays of March and October 2026/2027, and an ordinary Wednesday
BASES = (date(2026, 3, 27), date(2026, 10, 23), date(2027, 3, 26), date(2027, 10, 29))
ORDINARY = date(2026, 6, 3)
STAFF_IDS = ("s0", "s1", "s2")
SKILL = "wmo"

grid_times = st.integers(0, 24 * 12 - 1).map(lambda k: time(k // 12, k % 12 * 5))
fives = st.integers(1, 24).map(lambda k: k * FIVE)


#: half the hours lie in the small hours, where the clocks change
night_times = st.integers(0, 6 * 12).map(lambda k: time(k // 12, k % 12 * 5))
weekdays = st.sampled_from((6, 6, 6, 0, 1, 2, 3, 4, 5))  # Sunday: the DST changes


@st.composite
def hours(draw: st.DrawFn) -> tuple[time, time]:
    times = draw(st.sampled_from((grid_times, night_times)))
    start, end = sorted(draw(st.lists(times, min_size=2, max_size=2, unique=True)))
    return start, end


@st.composite
def scenarios(draw: st.DrawFn) -> SlotRequest:
    base = draw(st.sampled_from((*BASES, ORDINARY)))
    base_midnight = datetime.combine(base, time(0)).replace(tzinfo=AMSTERDAM).astimezone(UTC)
    now = base_midnight + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    now += timedelta(microseconds=draw(st.sampled_from((0, 0, 1, 999_999))))
    purpose = PurposeRules(
        key="a",
        skill=SKILL,
        duration=draw(fives),
        buffer_before=draw(st.sampled_from((0, 0, 1, 2, 3, 6))) * FIVE,
        buffer_after=draw(st.sampled_from((0, 0, 1, 2, 3, 6))) * FIVE,
        min_notice=draw(st.integers(0, 8 * 12)) * FIVE,
        horizon_days=draw(st.integers(1, 3)),
        slot_interval=draw(st.none() | fives),
        daily_cap=draw(st.none() | st.integers(1, 3)),
    )
    ids = STAFF_IDS[: draw(st.integers(1, len(STAFF_IDS)))]
    near = [now.astimezone(AMSTERDAM).date() + timedelta(days=i) for i in range(-1, 4)]
    members = []
    for member in ids:
        rules = [WeeklyRule(draw(weekdays), *draw(hours())) for _ in range(draw(st.integers(0, 3)))]
        if draw(st.booleans()):  # the usual shape: the same hours every day of the week
            every_day = draw(hours())
            rules += [WeeklyRule(weekday, *every_day) for weekday in range(7)]
        exceptions = []
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(ExceptionKind))
            span = draw(hours()) if kind is ExceptionKind.EXTRA else draw(st.none() | hours())
            opens, closes = span if span is not None else (None, None)
            exceptions.append(
                AvailabilityException(draw(st.sampled_from(near)), kind, opens, closes)
            )
        skills = frozenset(draw(st.sampled_from(((SKILL,), (SKILL,), ("paspoort",)))))
        cap = draw(st.none() | st.integers(1, 3))
        members.append(Staff(member, skills, tuple(rules), tuple(exceptions), cap))
    owners = st.sampled_from((*ids, "ghost"))
    # around the horizon, which starts at local midnight today and lasts at most 3 days
    local_midnight = datetime.combine(now.astimezone(AMSTERDAM).date(), time(0))
    midnight = local_midnight.replace(tzinfo=AMSTERDAM).astimezone(UTC)
    start_minutes = st.integers(-6 * 60, 3 * 24 * 60 + 6 * 60)
    busy = []
    for _ in range(draw(st.integers(0, 8))):
        start = midnight + draw(start_minutes) * MINUTE
        busy.append(Busy(draw(owners), start, start + draw(st.integers(1, 240)) * MINUTE))
    allocations = []
    for _ in range(draw(st.integers(0, 12))):
        start = midnight + draw(start_minutes) * MINUTE
        end = start + draw(st.integers(1, 24)) * FIVE
        who, purpose_key = draw(owners), draw(st.sampled_from(("a", "b")))
        if draw(st.booleans()):
            allocations.append(
                Allocation(who, start, end, AllocationKind.BOOKING, None, purpose_key)
            )
        else:
            expires = now + draw(st.integers(-30, 30)) * MINUTE
            allocations.append(
                Allocation(who, start, end, AllocationKind.HOLD, expires, purpose_key)
            )
    return SlotRequest(
        purpose=purpose,
        staff=tuple(members),
        now=now,
        busy=tuple(busy),
        allocations=tuple(allocations),
        holidays=draw(st.sampled_from((HolidayRules(), HolidayRules(close=False)))),
    )


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return start < other_end and other_start < end


def weekly_hours(member: Staff, day: date, holidays: HolidayRules) -> list[tuple[time, time]]:
    """The member's weekly rules for ``day``, none on a closing public holiday."""
    if closing_holiday(holidays, day):
        return []
    return [(r.start, r.end) for r in member.rules if r.weekday == day.weekday()]


def working_hours(
    member: Staff, day: date, holidays: HolidayRules
) -> list[tuple[datetime, datetime]]:
    """The member's hours on ``day`` as real intervals: rules (none on a holiday) + extra -
    closed."""
    spans = weekly_hours(member, day, holidays)
    closed = []
    for exception in member.exceptions:
        if exception.day == day:
            if exception.kind is ExceptionKind.EXTRA:
                assert exception.hours is not None
                spans.append(exception.hours)
            elif exception.hours is None:
                return []
            else:
                closed.append(exception.hours)

    def real(span: tuple[time, time]) -> tuple[datetime, datetime]:
        return (wall_to_instant(day, span[0], AMSTERDAM), wall_to_instant(day, span[1], AMSTERDAM))

    open_spans = merge(real(s) for s in spans)
    for hole_start, hole_end in (real(s) for s in closed):
        cut = []
        for start, end in open_spans:
            if start < hole_start:
                cut.append((start, min(end, hole_start)))
            if end > hole_end:
                cut.append((max(start, hole_end), end))
        open_spans = cut
    return open_spans


def is_live(allocation: Allocation, now: datetime) -> bool:
    return allocation.kind is AllocationKind.BOOKING or (
        allocation.expires_at is not None and allocation.expires_at > now
    )


def on_grid(
    member: Staff, day: date, moment: datetime, step: timedelta, holidays: HolidayRules
) -> bool:
    """Does ``moment`` lie on the wall-clock grid of the hours it falls in?"""
    sources = weekly_hours(member, day, holidays)
    sources += [x.hours for x in member.exceptions if x.day == day and x.hours is not None]
    wall = moment.astimezone(AMSTERDAM).replace(tzinfo=None)
    for start, end in sources:
        offset = wall - datetime.combine(day, start)
        real_start = wall_to_instant(day, start, AMSTERDAM)
        real_end = wall_to_instant(day, end, AMSTERDAM)
        if real_start <= moment < real_end and offset >= timedelta(0) and not offset % step:
            return True
    return False


def free_staff(request: SlotRequest, moment: datetime) -> tuple[str, ...]:
    """Who may take a slot starting at ``moment``: the rules of slots.py's docstring, verbatim."""
    purpose, now = request.purpose, request.now
    end = moment + purpose.duration
    day = moment.astimezone(AMSTERDAM).date()
    today = now.astimezone(AMSTERDAM).date()
    if not today <= day < today + timedelta(days=purpose.horizon_days):
        return ()
    if moment < now + purpose.min_notice:
        return ()
    low, high = moment - purpose.buffer_before, end + purpose.buffer_after
    free = []
    for member in request.staff:
        if SKILL not in member.skills:
            continue
        if not any(
            lo <= moment and end <= hi for lo, hi in working_hours(member, day, request.holidays)
        ):
            continue
        if not on_grid(member, day, moment, purpose.step, request.holidays):
            continue
        mine = [a for a in request.allocations if a.staff_id == member.id and is_live(a, now)]
        theirs = [b for b in request.busy if b.staff_id == member.id]
        if any(overlaps(low, high, a.start, a.end) for a in mine):
            continue
        if any(overlaps(low, high, b.start, b.end) for b in theirs):
            continue
        that_day = [a for a in mine if a.start.astimezone(AMSTERDAM).date() == day]
        if member.daily_cap is not None and len(that_day) >= member.daily_cap:
            continue
        same = sum(a.purpose == purpose.key for a in that_day)
        if purpose.daily_cap is not None and same >= purpose.daily_cap:
            continue
        free.append(member.id)
    return tuple(free)


def five_minute_starts(request: SlotRequest) -> list[datetime]:
    """Every 5-minute instant from 2 h before the horizon to 2 h after it."""
    days = request.days()
    moment = wall_to_instant(days[0], time(0), AMSTERDAM) - timedelta(hours=2)
    stop = wall_to_instant(days[-1] + timedelta(days=1), time(0), AMSTERDAM) + timedelta(hours=2)
    found = []
    while moment < stop:
        found.append(moment)
        moment += FIVE
    return found


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_the_engine_offers_exactly_what_the_rules_allow(request: SlotRequest) -> None:
    offered = {
        s.start: s.staff_ids for slots in SlotSearch(request).slots().values() for s in slots
    }
    starts = five_minute_starts(request)
    assert set(offered) <= set(starts)
    for moment in starts:
        assert offered.get(moment, ()) == free_staff(request, moment), moment


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(1, 4))
def test_free_at_names_the_staff_the_rules_allow_for_one_start(
    request: SlotRequest, off_grid_minutes: int
) -> None:
    """The booking path's one-start check (a fresh search per start, as a booking makes)
    against the rules written out directly; off the grid nobody is free."""
    for moment in five_minute_starts(request):
        assert SlotSearch(request).free_at(moment) == free_staff(request, moment), moment
        fairest = rank_staff(request, moment, free_staff(request, moment))
        assert SlotSearch(request).fairest_free(moment, 2) == tuple(fairest[:2]), moment
        assert SlotSearch(request).free_at(moment + off_grid_minutes * MINUTE) == ()


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_every_offered_slot_respects_every_rule(request: SlotRequest) -> None:
    purpose, now = request.purpose, request.now
    members = {member.id: member for member in request.staff}
    live = [a for a in request.allocations if is_live(a, now)]
    today = now.astimezone(AMSTERDAM).date()
    for day in request.days():
        slots = available_times(request, day)
        assert [s.start for s in slots] == sorted({s.start for s in slots})
        for slot in slots:
            assert slot.staff_ids, slot
            assert slot.end - slot.start == purpose.duration
            assert slot.start >= now + purpose.min_notice
            assert slot.start.astimezone(AMSTERDAM).date() == day
            assert today <= day < today + timedelta(days=purpose.horizon_days)
            assert list(slot.staff_ids) == [m for m in members if m in slot.staff_ids]
            low, high = slot.start - purpose.buffer_before, slot.end + purpose.buffer_after
            for member_id in slot.staff_ids:
                member = members[member_id]
                assert SKILL in member.skills
                spans = working_hours(member, day, request.holidays)
                assert any(lo <= slot.start and slot.end <= hi for lo, hi in spans), (
                    member_id,
                    slot,
                )
                for block in request.busy:
                    if block.staff_id == member_id:
                        assert not overlaps(low, high, block.start, block.end), (slot, block)
                mine = [a for a in live if a.staff_id == member_id]
                for allocation in mine:
                    assert not overlaps(low, high, allocation.start, allocation.end), (
                        slot,
                        allocation,
                    )
                that_day = [a for a in mine if a.start.astimezone(AMSTERDAM).date() == day]
                if member.daily_cap is not None:
                    assert len(that_day) < member.daily_cap
                if purpose.daily_cap is not None:
                    assert sum(a.purpose == purpose.key for a in that_day) < purpose.daily_cap


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_dates_are_exactly_the_days_with_times(request: SlotRequest) -> None:
    with_times = [day for day in request.days() if available_times(request, day)]
    assert available_dates(request) == with_times
    assert list(SlotSearch(request).slots()) == with_times


@settings(max_examples=120, deadline=None)
@given(scenarios(), st.integers(1, 4))
def test_explain_says_available_exactly_for_offered_slots(
    request: SlotRequest, off_grid_minutes: int
) -> None:
    search = SlotSearch(request)
    offered = {slot.start: slot.staff_ids for day in request.days() for slot in search.times(day)}
    for moment in five_minute_starts(request):
        why = search.explain(moment)
        assert why.available == (moment in offered), (moment, why.lines())
        if why.available:
            assert why.offered_by == offered[moment]
        else:
            assert all(verdict.findings for verdict in why.staff)
    # Off the 5-minute grid nothing is ever offered.
    for slot_start in list(offered)[:5]:
        assert not search.explain(slot_start + off_grid_minutes * MINUTE).available


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_inputs_outside_the_span_change_nothing(request: SlotRequest) -> None:
    low, high = request.span()
    trimmed = SlotRequest(
        purpose=request.purpose,
        staff=request.staff,
        now=request.now,
        busy=tuple(b for b in request.busy if b.start < high and low < b.end),
        allocations=tuple(a for a in request.allocations if a.start < high and low < a.end),
        holidays=request.holidays,
    )
    full, cut = SlotSearch(request), SlotSearch(trimmed)
    assert full.slots() == cut.slots()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 40)), max_size=30))
def test_union_of_separately_sorted_bounds_is_the_merge(spans: list[tuple[int, int]]) -> None:
    intervals = [(float(start), float(start + length)) for start, length in spans]
    starts, ends = union([s for s, _ in intervals], [e for _, e in intervals])
    assert list(zip(starts, ends, strict=True)) == merge(intervals)
