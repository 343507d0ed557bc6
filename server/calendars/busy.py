"""iCalendar events → busy blocks for the slot engine. Pure: text in, :class:`Busy` out.

Recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are expanded here, on our side,
by ``recurring-ical-events``: servers differ in what their ``expand`` does, and hand-rolled
loops are where other schedulers' recurrence bugs came from (research/booking.md).

What blocks time, precisely (pinned by tests/server/calendars/test_busy.py):

- every VEVENT occurrence overlapping the window, except ``TRANSP:TRANSPARENT`` ("show as
  free") and ``STATUS:CANCELLED`` (also when only one overridden instance is cancelled);
- ``STATUS:TENTATIVE`` blocks too, marked ``kind="tentative"`` for explain();
- an all-day event (DTSTART a DATE) blocks its local dates in ``zone`` from midnight to
  midnight, however long those days are on a DST change;
- times with a TZID use that zone (a VTIMEZONE in the data, or the IANA name); floating times
  (no zone) are read as wall-clock time in ``zone``;
- events whose UID ends in ``@<own_uid_domain>`` are Balie's own bookings written back to the
  staff calendar: the slot engine already has them as allocations (widened by buffers), and
  skipping them keeps a booking whose calendar DELETE failed from blocking its old time;
- an occurrence with no duration (a DATE-TIME start and no end) blocks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]  # ships no py.typed; wrapped below

from server.booking.intervals import wall_instants, wall_to_instant
from server.booking.model import Busy
from server.calendars.errors import CalendarUnreadable, InvalidCalendarInput
from server.calendars.model import DEFAULT_UID_DOMAIN
from server.core.clock import AMSTERDAM

#: the most occurrences one lookup may expand to; a rule like FREQ=MINUTELY would otherwise
#: flood the slot engine (a busy working week has a few dozen)
MAX_OCCURRENCES: Final = 10_000


def busy_from_icalendar(
    objects: Iterable[str | bytes],
    *,
    staff_id: str,
    start: datetime,
    end: datetime,
    calendar: str,
    zone: ZoneInfo = AMSTERDAM,
    own_uid_domain: str = DEFAULT_UID_DOMAIN,
) -> list[Busy]:
    """The busy blocks of ``staff_id`` in [start, end) from iCalendar ``objects``, sorted.

    Each object is one VCALENDAR (a CalDAV resource: a series with its overrides, or single
    events). Blocks are UTC and not clipped to the window. ``calendar`` names the source in
    errors (:attr:`StaffCalendar.label`). Raises :class:`CalendarUnreadable` for data that
    does not parse or expands past :data:`MAX_OCCURRENCES`.
    """
    for name, moment in (("start", start), ("end", end)):
        if moment.utcoffset() is None:
            raise InvalidCalendarInput(f"busy lookup {name} {moment.isoformat()} has no zone")
    if end <= start:
        raise InvalidCalendarInput("busy lookup end is not after start")
    own_suffix = f"@{own_uid_domain}"
    found: list[Busy] = []
    for occurrence in _occurrences(objects, start, end, calendar):
        uid = str(occurrence.get("UID", ""))
        if uid.endswith(own_suffix):
            continue
        if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        status = str(occurrence.get("STATUS", "CONFIRMED")).upper()
        if status == "CANCELLED":
            continue
        period = _period(occurrence, zone)
        if period is None:
            continue
        block_start, block_end = period
        if block_end <= start or end <= block_start:
            continue  # the query is inclusive at its edges; ours is half-open
        found.append(
            Busy(
                staff_id=staff_id,
                start=block_start,
                end=block_end,
                source="calendar",
                kind="tentative" if status == "TENTATIVE" else "busy",
                ref=uid,
            )
        )
        if len(found) > MAX_OCCURRENCES:
            raise CalendarUnreadable(
                calendar, f"more than {MAX_OCCURRENCES} busy occurrences in the window"
            )
    found.sort(key=lambda block: (block.start, block.end))
    return found


def _occurrences(
    objects: Iterable[str | bytes], start: datetime, end: datetime, calendar: str
) -> Iterator[icalendar.Event]:
    utc_start, utc_end = start.astimezone(UTC), end.astimezone(UTC)
    for number, data in enumerate(objects, 1):
        # Both libraries raise ValueError subclasses for malformed data (bad RRULE, end
        # before start, unparsable lines); the message is about syntax, never contents.
        try:
            parsed = icalendar.Calendar.from_ical(data)
            found: list[icalendar.Event] = recurring_ical_events.of(parsed).between(
                utc_start, utc_end
            )
        except ValueError as exc:
            raise CalendarUnreadable(
                calendar, f"calendar object #{number} is not valid iCalendar ({type(exc).__name__})"
            ) from None
        if len(found) > MAX_OCCURRENCES:
            raise CalendarUnreadable(
                calendar, f"calendar object #{number} expands past {MAX_OCCURRENCES} times"
            )
        yield from found


def _period(event: icalendar.Event, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The occurrence's real period in UTC, or None when it has none."""
    try:
        first, last = event.start, event.end
    except icalendar.IncompleteComponent:
        return None
    block_start, block_end = _instant(first, zone), _instant(last, zone)
    if block_end <= block_start:
        return None
    return block_start, block_end


def _instant(moment: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(moment, datetime):
        # All-day: the local date from midnight; a DST day is 23 or 25 real hours.
        return wall_to_instant(moment, time(0), zone)
    if moment.utcoffset() is None:
        # Floating time: the same wall-clock reading everywhere; ours is the tenant's zone.
        # In a DST gap there is no such instant; the boundary rule of the slot engine applies.
        found = wall_instants(moment, zone)
        return found[0] if found else wall_to_instant(moment.date(), moment.time(), zone)
    return moment.astimezone(UTC)
