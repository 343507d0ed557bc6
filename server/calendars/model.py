"""The values this package works on: a staff member's calendar, its failure policy, and the
appointment as calendars see it.

Plain dataclasses, not tied to a database schema: the storage layer builds them from its rows.
Each checks itself when built and raises :class:`InvalidCalendarInput` naming what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from server.calendars.errors import InvalidCalendarInput

#: the right-hand side of the UIDs Balie gives its events: ``<appointment id>@balie``
DEFAULT_UID_DOMAIN: Final = "balie"

# Appointment ids become UIDs and CalDAV resource names (``<uid>.ics``): keep them to
# characters that need no escaping in a URL path or an iCalendar value.
_SAFE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_SAFE_DOMAIN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")


class FailurePolicy(StrEnum):
    """What a slot search does while a staff member's calendar cannot be read."""

    #: the staff member offers no slots (the default: never book over a meeting we cannot see)
    HIDE = "hide"
    #: treat the calendar as empty (keeps slots on offer; risks booking over a meeting)
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class CalDAVLink:
    """Where a staff member's CalDAV calendar collection lives, and how to log in.

    ``url`` is the collection itself (``https://dav.example.nl/calendars/jan/werk/``), not the
    principal or server root; a trailing slash is added if missing. ``password`` is kept out of
    ``repr`` so a logged value never shows it.
    """

    url: str
    username: str = ""
    password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidCalendarInput("CalDAV url must be an absolute http(s) URL")
        if parts.username or parts.password:
            raise InvalidCalendarInput("CalDAV url must not carry credentials; use username")
        if parts.query or parts.fragment:
            raise InvalidCalendarInput("CalDAV url must not have a query or fragment")
        if ":" in self.username:
            raise InvalidCalendarInput("CalDAV user name must not contain ':' (Basic auth)")
        if not self.url.endswith("/"):
            object.__setattr__(self, "url", self.url + "/")

    @property
    def host(self) -> str:
        """The server's host (and port), safe to log: the path may name a person."""
        return urlsplit(self.url).netloc


@dataclass(frozen=True, slots=True)
class StaffCalendar:
    """One staff member's calendar source and what to do when it fails."""

    staff_id: str
    #: an external CalDAV calendar; None means Balie's internal calendar only
    caldav: CalDAVLink | None = None
    on_failure: FailurePolicy = FailurePolicy.HIDE

    def __post_init__(self) -> None:
        if not self.staff_id:
            raise InvalidCalendarInput(f"staff id {self.staff_id!r} must be non-empty")
        if not isinstance(self.on_failure, FailurePolicy):
            raise InvalidCalendarInput(
                f"failure policy {self.on_failure!r} of staff {self.staff_id!r} must be a "
                "FailurePolicy (hide or ignore)"
            )

    @property
    def label(self) -> str:
        """Names this calendar in errors and logs: staff id and host, no path or user name."""
        if self.caldav is None:
            return f"internal calendar of staff {self.staff_id!r}"
        return f"CalDAV calendar of staff {self.staff_id!r} at {self.caldav.host}"


@dataclass(frozen=True, slots=True)
class Organizer:
    """Who sends the resident's invite: the municipality, with a no-reply address."""

    name: str  #: "Gemeente Voorbeeld"
    email: str  #: "noreply@voorbeeld.nl"

    def __post_init__(self) -> None:
        if not self.name or "@" not in self.email or any(c in self.email for c in ":\r\n "):
            raise InvalidCalendarInput("organizer needs a name and a plain e-mail address")


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarAppointment:
    """An appointment as calendars see it; built by the booking service from its record.

    The functions in :mod:`server.calendars.ics` and the CalDAV writer pick the fields they
    may show. The personal fields at the bottom are never written to any calendar output:
    they are here so a caller can hand over the appointment whole and this package is the
    one place that decides what leaves Balie (tests pin that they do not leak).
    """

    id: str
    tenant_name: str  #: "Gemeente Voorbeeld", shown to the resident
    purpose_name: str  #: the purpose's public name, "Vraag over bijstand"
    start: datetime  #: aware
    end: datetime  #: aware
    staff_id: str
    #: the resident's join link (the device check and waiting room)
    resident_join_url: str
    #: the staff member's link to the call; it goes into external calendars, so it must not
    #: be a bearer capability (staff log in to Balie to use it)
    staff_join_url: str
    #: changes sent to the resident so far; invites carry it, a cancel carries one more
    sequence: int = 0
    cancelled: bool = False
    #: the resident's e-mail: the ATTENDEE of their own invite, nowhere else
    contact_email: str = ""
    # --- never written to a calendar ---
    contact_name: str = ""
    contact_phone: str = ""
    #: what the resident or a planner wrote about the question (case details)
    note: str = ""

    def __post_init__(self) -> None:
        if not _SAFE_ID.fullmatch(self.id):
            raise InvalidCalendarInput(
                "appointment id must be 1-200 characters of A-Z, a-z, 0-9, '.', '_', '-'"
            )
        for name, moment in (("start", self.start), ("end", self.end)):
            if moment.utcoffset() is None:
                raise InvalidCalendarInput(f"appointment {self.id}: {name} has no time zone")
        if self.end <= self.start:
            raise InvalidCalendarInput(f"appointment {self.id}: end is not after start")
        if isinstance(self.sequence, bool) or self.sequence < 0:
            raise InvalidCalendarInput(f"appointment {self.id}: sequence must be >= 0")
        if any(c in self.contact_email for c in ":\r\n "):
            raise InvalidCalendarInput(f"appointment {self.id}: contact e-mail is malformed")


def appointment_uid(appointment_id: str, domain: str = DEFAULT_UID_DOMAIN) -> str:
    """The stable iCalendar UID of an appointment's events: ``<appointment id>@<domain>``.

    The same UID names the resident's invite, its cancellation, the event in the staff
    member's calendar and the feed entry, so every calendar treats them as one event.
    """
    if not _SAFE_ID.fullmatch(appointment_id):
        raise InvalidCalendarInput("appointment id has characters a UID cannot carry")
    if not _SAFE_DOMAIN.fullmatch(domain):
        raise InvalidCalendarInput(f"UID domain {domain!r} must be a host-like name")
    return f"{appointment_id}@{domain}"
