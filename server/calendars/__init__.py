"""Calendars: staff members' busy time in, bookings and invites out.

Its modules:

- :mod:`server.calendars.errors` – the exception tree, every one a :class:`CalendarError`;
- :mod:`server.calendars.model` – a staff calendar and its failure policy, the appointment as
  calendars see it, the stable UID;
- :mod:`server.calendars.sources` – the :class:`CalendarSource` interface, the internal
  default, and :func:`collect_busy` with its explicit failure result;
- :mod:`server.calendars.caldav` – the CalDAV connector (aiohttp): busy time, write, remove;
- :mod:`server.calendars.busy` – iCalendar events → busy blocks (recurrences expanded);
- :mod:`server.calendars.davxml` – the WebDAV XML the connector sends and parses;
- :mod:`server.calendars.ics` – the resident's invite and cancellation, the staff feed;
- :mod:`server.calendars.feed` – feed tokens;
- :mod:`server.calendars.staff_source` – a staff record's ``calendar_source`` → StaffCalendar,
  credentials from the environment, and the adapter booking's ``BusySource`` calls.

See docs/calendars.md.
"""

from server.calendars.busy import MAX_OCCURRENCES, busy_from_icalendar
from server.calendars.caldav import DEFAULT_TIMEOUT, CalDAVSource
from server.calendars.davxml import CollectionInfo
from server.calendars.errors import (
    CalendarConflict,
    CalendarError,
    CalendarRefused,
    CalendarUnavailable,
    CalendarUnreachable,
    CalendarUnreadable,
    InvalidCalendarInput,
)
from server.calendars.feed import FeedTokens
from server.calendars.ics import (
    FEED_CONTENT_TYPE,
    INVITE_CANCEL_CONTENT_TYPE,
    INVITE_REQUEST_CONTENT_TYPE,
    invite_cancel,
    invite_request,
    staff_event,
    staff_feed,
)
from server.calendars.model import (
    DEFAULT_UID_DOMAIN,
    CalDAVLink,
    CalendarAppointment,
    FailurePolicy,
    Organizer,
    StaffCalendar,
    appointment_uid,
)
from server.calendars.sources import (
    UNAVAILABLE_SOURCE,
    BusyLookup,
    CalendarSource,
    InternalCalendar,
    SourceFailure,
    collect_busy,
)
from server.calendars.staff_source import StaffCalendarsBusy, parse_calendar_source

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_UID_DOMAIN",
    "FEED_CONTENT_TYPE",
    "INVITE_CANCEL_CONTENT_TYPE",
    "INVITE_REQUEST_CONTENT_TYPE",
    "MAX_OCCURRENCES",
    "UNAVAILABLE_SOURCE",
    "BusyLookup",
    "CalDAVLink",
    "CalDAVSource",
    "CalendarAppointment",
    "CalendarConflict",
    "CalendarError",
    "CalendarRefused",
    "CalendarSource",
    "CalendarUnavailable",
    "CalendarUnreachable",
    "CalendarUnreadable",
    "CollectionInfo",
    "FailurePolicy",
    "FeedTokens",
    "InternalCalendar",
    "InvalidCalendarInput",
    "Organizer",
    "SourceFailure",
    "StaffCalendar",
    "StaffCalendarsBusy",
    "appointment_uid",
    "busy_from_icalendar",
    "collect_busy",
    "invite_cancel",
    "invite_request",
    "parse_calendar_source",
    "staff_event",
    "staff_feed",
]
