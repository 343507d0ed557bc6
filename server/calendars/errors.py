"""The errors of :mod:`server.calendars`: one tree, every one a :class:`CalendarError`.

Messages name the calendar by staff id and host (never a URL path, which often holds a
person's e-mail address), the HTTP method and status; never credentials or event contents::

    CalendarError
    ├── InvalidCalendarInput     a value handed to this package is malformed (also a ValueError):
    │                            a naive datetime, a bad URL or appointment id, a short secret
    └── CalendarUnavailable      a staff member's calendar could not be read or written
        ├── CalendarUnreachable    no answer: connection refused, DNS, TLS, timeout
        ├── CalendarRefused        an answer with an unexpected HTTP status (401, 404, 5xx, ...)
        │   └── CalendarConflict     a conditional write kept losing to concurrent writers (412)
        └── CalendarUnreadable     an answer that is not valid WebDAV XML or iCalendar, or that
                                   expands to too many occurrences

:class:`CalendarUnavailable` is what a failing calendar source raises; the busy-time lookup
(:func:`server.calendars.sources.collect_busy`) turns it into a
:class:`~server.calendars.sources.SourceFailure` per the staff member's failure policy.
"""

from __future__ import annotations


class CalendarError(Exception):
    """Base of every error raised by :mod:`server.calendars`."""


class InvalidCalendarInput(CalendarError, ValueError):
    """A value handed to this package is malformed; the message names it."""


class CalendarUnavailable(CalendarError):
    """A calendar could not be read or written.

    :param calendar: which calendar, as :attr:`StaffCalendar.label` (staff id and host)
    :param reason: what failed, free of personal data
    :param status: the HTTP status, when the server answered
    """

    def __init__(self, calendar: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{calendar}: {reason}")
        self.calendar = calendar
        self.reason = reason
        self.status = status


class CalendarUnreachable(CalendarUnavailable):
    """The calendar server did not answer (connection, DNS, TLS, timeout)."""


class CalendarRefused(CalendarUnavailable):
    """The calendar server answered with an HTTP status the operation did not expect."""


class CalendarConflict(CalendarRefused):
    """A conditional PUT kept failing its precondition (412): others are writing the event."""


class CalendarUnreadable(CalendarUnavailable):
    """The answer is not valid WebDAV XML or iCalendar, or expands to too many occurrences."""
