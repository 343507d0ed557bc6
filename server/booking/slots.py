# Longer than 500 lines: the slot search is one algorithm (hours, exceptions, busy time, buffers,
# caps) whose steps are private to it.
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
- **Public holidays.** On a date that :func:`~server.core.holidays.closing_holiday` closes under
  the request's ``holidays`` (the tenant's rules: by default every Dutch public holiday and
  5 May, not Goede vrijdag), the weekly rules give no hours: only EXTRA exceptions on that
  date open it (how a municipality opens on a holiday), and CLOSED ones still cut them.
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

Errors are drawn as a tree in :mod:`server.booking.errors`; the inputs are in
:mod:`server.booking.model`, and the explanation types in :mod:`server.booking.explanation`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from server.booking.errors import InvalidRequest, NoStaffFree
from server.booking.explanation import Explanation, Finding, Reason, StaffVerdict, _local
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
from server.booking.model import (
    _MINUTE,
    _WEEKDAYS,
    _ZERO,
    Allocation,
    AllocationKind,
    AvailabilityException,
    Busy,
    ExceptionKind,
    SlotRequest,
    Staff,
)
from server.core.holidays import closing_holiday

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: two instants closer than this (seconds) are one: starts are whole seconds
_SAME_INSTANT: Final = 1e-3


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time; ``staff_ids`` are the qualified staff free for it, in request order."""

    start: datetime  #: UTC
    end: datetime  #: UTC
    staff_ids: tuple[str, ...]


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
        #: the bookable dates a public holiday closes, with its Dutch name
        self._holidays = {
            day: name for day in self._days if (name := closing_holiday(request.holidays, day))
        }
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

    def free_at(self, start: datetime) -> tuple[str, ...]:
        """The staff free for a slot at ``start``: what :meth:`times` names for it, checked
        for that one start only (a booking asks this of every qualified staff member)."""
        day = start.astimezone(self._zone).date()
        if day not in self._day_index:
            return ()
        at = to_instant(start)
        return tuple(member.id for member in self.qualified if self._free_at(member, day, at))

    def fairest_free(self, start: datetime, count: int) -> tuple[str, ...]:
        """The first ``count`` of :meth:`free_at`'s staff in :func:`rank_staff`'s order,
        checking members in that order only until ``count`` are found (a claim locks the
        first of them that no other writer holds; with hundreds of staff it needs a few)."""
        day = start.astimezone(self._zone).date()
        if day not in self._day_index:
            return ()
        at = to_instant(start)
        members = {member.id: member for member in self.qualified}
        found: list[str] = []
        for member_id in rank_staff(self.request, start, members):
            if self._free_at(members[member_id], day, at):
                found.append(member_id)
                if len(found) == count:
                    break
        return tuple(found)

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
        if self._capped(member, index, day):
            return []
        starts, ends = self._blocks(member, index)
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

    def _free_at(self, member: Staff, day: date, at: Instant) -> bool:
        """:meth:`_free` for the one start ``at``: whether it is among that member's starts."""
        index = self._indexes.get(member.id)
        if index is None:
            index = self._indexes[member.id] = self._index(member)
        plan = self._plan(index, day)
        if plan is None:
            return False
        windows, candidates = plan
        # Grid starts are sums of floats: the same instant may differ in its last bits.
        i = bisect_left(candidates, at - _SAME_INSTANT)
        if i == len(candidates) or candidates[i] > at + _SAME_INSTANT:
            return False
        at = candidates[i]
        w = bisect_right(windows, (at, math.inf)) - 1
        if w < 0 or windows[w][1] < at + self._duration:
            return False
        if self._capped(member, index, day):
            return False
        starts, ends = self._blocks(member, index)
        j = bisect_right(ends, at)
        return not (j < len(starts) and starts[j] < at + self._duration)

    def _capped(self, member: Staff, index: _StaffIndex, day: date) -> bool:
        """Whether ``member``'s own or the purpose's daily cap is reached on ``day``."""
        cap = self.request.purpose.daily_cap
        if member.daily_cap is None and cap is None:
            return False
        if index.booked is None:
            index.booked = self._booked(member.id)
        booked, booked_purpose = index.booked
        return (member.daily_cap is not None and booked[day] >= member.daily_cap) or (
            cap is not None and booked_purpose[day] >= cap
        )

    def _blocks(self, member: Staff, index: _StaffIndex) -> tuple[list[Instant], list[Instant]]:
        if index.blocked is None:
            index.blocked = self._blocked(member.id)
        return index.blocked

    def _plan(
        self, index: _StaffIndex, day: date
    ) -> tuple[list[tuple[Instant, Instant]], list[Instant]] | None:
        """(open windows, candidate starts) of one staff member on one date, or None."""
        sources = index.hours[day.weekday()]
        if day in self._holidays:
            sources = ()  # the holiday takes the weekly hours; extra hours below still open
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
        holiday = closing_holiday(request.holidays, day)
        return Explanation(start, end, zone, tuple(verdicts), holiday)

    def _hours_findings(
        self, member: Staff, start: datetime, end: datetime, day: date
    ) -> list[Finding]:
        zone = self._zone
        weekly = [(r.start, r.end) for r in member.rules if r.weekday == day.weekday()]
        # a holiday is the reason only where it took hours away (server/core/holidays.py)
        holiday = closing_holiday(self.request.holidays, day) if weekly else None
        sources = [] if holiday else list(weekly)
        closed: list[AvailabilityException] = []
        for exception in member.exceptions:
            if exception.day != day:
                continue
            hours = exception.hours
            if exception.kind is ExceptionKind.EXTRA and hours is not None:
                sources.append(hours)
            else:
                closed.append(exception)
        if not sources and holiday:
            return [Finding(Reason.PUBLIC_HOLIDAY, f"closed on {day}: public holiday {holiday}")]
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
            if holiday and any(
                wall_to_instant(day, a, zone) <= start and end <= wall_to_instant(day, b, zone)
                for a, b in weekly
            ):  # the weekly hours would have taken it
                findings.append(
                    Finding(
                        Reason.PUBLIC_HOLIDAY,
                        f"public holiday {holiday}: only the extra hours {hours_text} are open",
                    )
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
    """The staff member to assign ``slot`` to, fairly: the first of :func:`rank_staff`."""
    if not slot.staff_ids:
        raise NoStaffFree(f"the slot at {slot.start.isoformat()} names no staff member")
    return rank_staff(request, slot.start, slot.staff_ids)[0]


def rank_staff(request: SlotRequest, start: datetime, staff_ids: Iterable[str]) -> list[str]:
    """``staff_ids``, fairest first for a slot at ``start``: the fewest live allocations on
    its local date, then the fewest in the whole request, then the smallest id (stable across
    requests, unlike list order)."""
    day = start.astimezone(request.zone).date()
    that_day: Counter[str] = Counter()
    overall: Counter[str] = Counter()
    for allocation in request.allocations:
        if allocation.live(request.now):
            overall[allocation.staff_id] += 1
            if allocation.start.astimezone(request.zone).date() == day:
                that_day[allocation.staff_id] += 1
    return sorted(staff_ids, key=lambda member: (that_day[member], overall[member], member))
