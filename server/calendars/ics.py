"""iCalendar output: the resident's invite and its cancellation, the event Balie writes to a
staff member's calendar, and a staff member's feed. Pure: values in, ``.ics`` bytes out.

What goes out, on purpose:

- **Resident invite** (iTIP, RFC 5546): ``METHOD:REQUEST`` with ORGANIZER (the municipality's
  no-reply address) and, when known, the resident's own e-mail as ATTENDEE; a SUMMARY (Dutch,
  or the resident's language),
  the join link in LOCATION, URL and DESCRIPTION. The cancellation is ``METHOD:CANCEL`` with
  the same UID, ``STATUS:CANCELLED`` and SEQUENCE one above the last invite: a client drops
  the event only for a higher SEQUENCE (a REQUEST with STATUS:CANCELLED, as some schedulers
  send, leaves it in the resident's calendar).
- **Staff event and feed**: purpose name, time and the staff join link. No METHOD (RFC 4791
  forbids one in stored calendar objects; a feed is not a scheduling message).
- **Never**: the resident's name, phone, BSN, case notes or any verified attribute. SUMMARY
  and DESCRIPTION are built from the tenant and purpose names alone.

Times are written in UTC (``...Z``), which every client reads the same way and which needs no
VTIMEZONE; clients show them in the reader's zone. DTSTAMP is the ``now`` the caller passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

import icalendar

from server.calendars.errors import InvalidCalendarInput
from server.calendars.model import (
    DEFAULT_UID_DOMAIN,
    CalendarAppointment,
    Organizer,
    appointment_uid,
)
from server.core.language import N_

PRODID: Final = "-//Balie//Digitale balie//NL"

#: MIME types of the e-mail parts: clients ignore an invite whose part lacks ``method=``
INVITE_REQUEST_CONTENT_TYPE: Final = 'text/calendar; charset="utf-8"; method=REQUEST'
INVITE_CANCEL_CONTENT_TYPE: Final = 'text/calendar; charset="utf-8"; method=CANCEL'
FEED_CONTENT_TYPE: Final = 'text/calendar; charset="utf-8"'

#: how often a subscribed calendar app should fetch the feed again (RFC 7986 REFRESH-INTERVAL)
FEED_REFRESH: Final = timedelta(minutes=15)


#: translates the invite's Dutch texts into the resident's language (``N_``: stays Dutch)
Translate = Callable[[str], str]


def invite_request(
    appointment: CalendarAppointment,
    organizer: Organizer,
    *,
    now: datetime,
    uid_domain: str = DEFAULT_UID_DOMAIN,
    gettext: Translate = N_,
    alarm: timedelta | None = None,
) -> bytes:
    """The resident's invite (``METHOD:REQUEST``), also for a changed time, in the language
    ``gettext`` translates into; with ``alarm``, a VALARM that shows a reminder that long
    before the start (the e-mailed invite: the resident's own calendar reminds them too).

    Send it again after every change with the appointment's ``sequence`` raised by one.
    """
    if appointment.cancelled:
        raise InvalidCalendarInput(
            f"appointment {appointment.id} is cancelled: send invite_cancel, not an invite"
        )
    event = _event(appointment, now=now, uid_domain=uid_domain)
    event.add("summary", _resident_summary(appointment, gettext))
    event.add("description", _resident_description(appointment, gettext))
    event.add("location", appointment.resident_join_url)
    event.add("url", appointment.resident_join_url)
    event.add("status", "CONFIRMED")
    event.add("sequence", appointment.sequence)
    _add_parties(event, appointment, organizer)
    if alarm is not None:
        reminder = icalendar.Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", _resident_summary(appointment, gettext))
        reminder.add("trigger", -alarm)
        event.add_component(reminder)
    return _serialise(_calendar([event], method="REQUEST"))


def invite_cancel(
    appointment: CalendarAppointment,
    organizer: Organizer,
    *,
    now: datetime,
    uid_domain: str = DEFAULT_UID_DOMAIN,
    gettext: Translate = N_,
) -> bytes:
    """The cancellation of the resident's invite (``METHOD:CANCEL``), same UID.

    Its SEQUENCE is ``appointment.sequence + 1``, so it outranks the last invite sent, whether
    or not the caller already counted the cancellation as a change.
    """
    event = _event(appointment, now=now, uid_domain=uid_domain)
    summary = _resident_summary(appointment, gettext)
    event.add("summary", gettext("Afgezegd: %(summary)s") % {"summary": summary})
    event.add(
        "description",
        gettext(
            "Deze afspraak gaat niet door.\n\n"
            "Wilt u toch een gesprek? Maak een nieuwe afspraak bij %(tenant)s."
        )
        % {"tenant": appointment.tenant_name},
    )
    event.add("status", "CANCELLED")
    event.add("sequence", appointment.sequence + 1)
    _add_parties(event, appointment, organizer)
    return _serialise(_calendar([event], method="CANCEL"))


def staff_event(
    appointment: CalendarAppointment,
    *,
    now: datetime,
    uid_domain: str = DEFAULT_UID_DOMAIN,
) -> bytes:
    """The calendar object Balie PUTs into the staff member's CalDAV calendar."""
    return _serialise(_calendar([_staff_vevent(appointment, now=now, uid_domain=uid_domain)]))


def staff_feed(
    staff_id: str,
    appointments: Iterable[CalendarAppointment],
    *,
    now: datetime,
    name: str = "Balie-afspraken",
    uid_domain: str = DEFAULT_UID_DOMAIN,
) -> bytes:
    """One staff member's feed: a VCALENDAR of their appointments that are not cancelled.

    Cancelled appointments are left out; a subscribed app drops what the feed no longer
    lists. An appointment of another staff member is refused, not skipped: it means the
    caller's query is wrong, and a feed must never show someone else's diary.
    """
    events: list[icalendar.Event] = []
    for appointment in appointments:
        if appointment.staff_id != staff_id:
            raise InvalidCalendarInput(
                f"appointment {appointment.id} belongs to another staff member than "
                f"{staff_id!r}; a feed lists only its own staff member's appointments"
            )
        if not appointment.cancelled:
            events.append(_staff_vevent(appointment, now=now, uid_domain=uid_domain))
    events.sort(key=lambda event: (event.start, str(event["UID"])))
    feed = _calendar(events)
    feed.add("name", name)  # RFC 7986
    feed.add("x-wr-calname", name)  # what most apps read
    feed.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    feed.add("x-published-ttl", f"PT{FEED_REFRESH // timedelta(minutes=1)}M")
    return _serialise(feed)


# --- building blocks ----------------------------------------------------------------------


def _calendar(events: list[icalendar.Event], method: str | None = None) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method is not None:
        calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return calendar


#: control characters RFC 5545 does not allow in content lines (tab, CR and LF it does)
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _serialise(calendar: icalendar.Calendar) -> bytes:
    """The calendar's bytes, without a control character any stored name might carry:
    calendar programs refuse a file with one, or worse, read on past it."""
    data: bytes = calendar.to_ical()
    return _CONTROL.sub(b"", data)


def _event(appointment: CalendarAppointment, *, now: datetime, uid_domain: str) -> icalendar.Event:
    if now.utcoffset() is None:
        raise InvalidCalendarInput(f"now {now.isoformat()} has no time zone")
    event = icalendar.Event()
    event.add("uid", appointment_uid(appointment.id, uid_domain))
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", appointment.start.astimezone(UTC))
    event.add("dtend", appointment.end.astimezone(UTC))
    return event


def _staff_vevent(
    appointment: CalendarAppointment, *, now: datetime, uid_domain: str
) -> icalendar.Event:
    event = _event(appointment, now=now, uid_domain=uid_domain)
    event.add("summary", f"Balie: {appointment.purpose_name}")
    event.add(
        "description",
        f"Videogesprek via Balie over: {appointment.purpose_name}.\n\n"
        f"Open het gesprek in Balie:\n{appointment.staff_join_url}",
    )
    event.add("location", "Balie (videogesprek)")
    event.add("url", appointment.staff_join_url)
    event.add("transp", "OPAQUE")
    event.add("status", "CONFIRMED")
    event.add("sequence", appointment.sequence)
    return event


_SUMMARY: Final = N_("Videogesprek %(tenant)s: %(purpose)s")
_DESCRIPTION: Final = N_(
    "U heeft een videogesprek met %(tenant)s over: %(purpose)s.\n\n"
    "Doe mee via deze link:\n%(link)s\n\n"
    "Open de link 5 minuten voor de afspraak. Dan kunt u uw camera en geluid testen.\n"
    "Houd uw telefoon bij de hand: daarmee laat u zien wie u bent."
)


def _resident_summary(appointment: CalendarAppointment, gettext: Translate) -> str:
    names = {"tenant": appointment.tenant_name, "purpose": appointment.purpose_name}
    return gettext(_SUMMARY) % names


def _resident_description(appointment: CalendarAppointment, gettext: Translate) -> str:
    return gettext(_DESCRIPTION) % {
        "tenant": appointment.tenant_name,
        "purpose": appointment.purpose_name,
        "link": appointment.resident_join_url,
    }


def _add_parties(
    event: icalendar.Event, appointment: CalendarAppointment, organizer: Organizer
) -> None:
    event.add(
        "organizer",
        icalendar.vCalAddress(f"mailto:{organizer.email}"),
        parameters={"CN": organizer.name},
    )
    if appointment.contact_email:
        # The resident's own address, so their mail app files the invite as theirs; no CN:
        # their name stays out of the file.
        event.add(
            "attendee",
            icalendar.vCalAddress(f"mailto:{appointment.contact_email}"),
            parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"},
        )
