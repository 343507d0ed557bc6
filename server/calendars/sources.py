"""Calendar sources: where a staff member's busy time comes from, and what a failure does.

A :class:`CalendarSource` answers one question, the busy time of one staff calendar in a
window. :class:`InternalCalendar` is the default and in-process twin: Balie's own bookings
reach the slot engine as allocations from the database, so it adds no busy time. The CalDAV
connector (:class:`server.calendars.caldav.CalDAVSource`) reads external calendars.

:func:`collect_busy` asks a source for every staff member of a slot search at once and
applies each one's :class:`FailurePolicy` when their calendar fails. It never hides a failure:
the result lists every failed calendar, with the policy applied and the reason, so the caller
logs it and shows the planner a warning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from server.booking.model import Busy
from server.calendars.errors import CalendarUnavailable, InvalidCalendarInput
from server.calendars.model import FailurePolicy, StaffCalendar

#: the ``source`` of the busy block that hides a staff member whose calendar failed;
#: :func:`server.booking.explain` shows it as the reason no slot is offered
UNAVAILABLE_SOURCE: Final = "calendar-unavailable"

#: calendars read at once: enough to overlap network waits, few enough not to flood a server
DEFAULT_CONCURRENCY: Final = 8


class CalendarSource(Protocol):
    """Reads busy time from a staff member's calendar."""

    async def busy(self, calendar: StaffCalendar, start: datetime, end: datetime) -> list[Busy]:
        """The busy blocks of ``calendar.staff_id`` overlapping [start, end), UTC.

        Raises :class:`~server.calendars.errors.CalendarUnavailable` when the calendar
        cannot be read; any other exception is a bug and propagates.
        """
        ...


class InternalCalendar:
    """The default source: no busy time beyond Balie's own allocations."""

    async def busy(self, calendar: StaffCalendar, start: datetime, end: datetime) -> list[Busy]:
        return []


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A staff calendar that could not be read, and what the lookup did about it.

    Free of personal data, so it can be logged as is and shown to a planner.
    """

    staff_id: str
    policy: FailurePolicy
    #: the calendar, as :attr:`StaffCalendar.label` (staff id and host)
    calendar: str
    #: the error's class and message, e.g. "CalendarRefused: ... answered 401"
    reason: str
    #: the HTTP status, when the server answered
    status: int | None = None

    @property
    def hidden(self) -> bool:
        """True if the staff member offers no slots in this lookup's window."""
        return self.policy is FailurePolicy.HIDE


@dataclass(frozen=True, slots=True)
class BusyLookup:
    """The busy time of several staff calendars over one window.

    ``busy`` plugs straight into :class:`~server.booking.model.SlotRequest`. A hidden staff
    member has one block covering the whole window (source :data:`UNAVAILABLE_SOURCE`), so
    the engine offers them nothing and :func:`~server.booking.explain` says why.
    """

    busy: tuple[Busy, ...]
    failures: tuple[SourceFailure, ...] = ()

    @property
    def complete(self) -> bool:
        """True if every calendar was read."""
        return not self.failures

    @property
    def hidden_staff(self) -> frozenset[str]:
        """Staff members who offer no slots because their calendar failed (policy hide)."""
        return frozenset(failure.staff_id for failure in self.failures if failure.hidden)


async def collect_busy(
    source: CalendarSource,
    calendars: Sequence[StaffCalendar],
    start: datetime,
    end: datetime,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> BusyLookup:
    """Read every calendar's busy time in [start, end), applying each failure policy.

    Pass the slot search's :meth:`~server.booking.model.SlotRequest.span` as the window, so a
    hidden staff member is blocked for all of it. Calendars are read concurrently, at most
    ``concurrency`` at a time; the result keeps ``calendars`` order.
    """
    for name, moment in (("start", start), ("end", end)):
        if moment.utcoffset() is None:
            raise InvalidCalendarInput(f"busy lookup {name} {moment.isoformat()} has no zone")
    if end <= start:
        raise InvalidCalendarInput("busy lookup end is not after start")
    if concurrency < 1:
        raise InvalidCalendarInput(f"concurrency {concurrency} must be >= 1")
    seen: set[str] = set()
    for calendar in calendars:
        if calendar.staff_id in seen:
            raise InvalidCalendarInput(f"staff {calendar.staff_id!r} has two calendars listed")
        seen.add(calendar.staff_id)

    gate = asyncio.Semaphore(concurrency)

    async def read(calendar: StaffCalendar) -> list[Busy] | SourceFailure:
        async with gate:
            try:
                return await source.busy(calendar, start, end)
            except CalendarUnavailable as exc:
                return SourceFailure(
                    staff_id=calendar.staff_id,
                    policy=calendar.on_failure,
                    calendar=exc.calendar,
                    reason=f"{type(exc).__name__}: {exc.reason}",
                    status=exc.status,
                )

    results = await asyncio.gather(*(read(calendar) for calendar in calendars))
    busy: list[Busy] = []
    failures: list[SourceFailure] = []
    for calendar, result in zip(calendars, results, strict=True):
        if isinstance(result, SourceFailure):
            failures.append(result)
            if result.hidden:
                busy.append(
                    Busy(
                        staff_id=calendar.staff_id,
                        start=start,
                        end=end,
                        source=UNAVAILABLE_SOURCE,
                        kind="source-failed",
                    )
                )
            continue
        busy.extend(result)
    return BusyLookup(busy=tuple(busy), failures=tuple(failures))
