"""Hand-written iCalendar text for the tests: every property visible in the test itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from server.booking import AMSTERDAM

#: Europe/Amsterdam under a name no zone database knows, so only this VTIMEZONE defines it
#: (what Outlook and some servers send)
CUSTOM_TZID = "Custom Amsterdam"
CUSTOM_VTIMEZONE = f"""BEGIN:VTIMEZONE
TZID:{CUSTOM_TZID}
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19810329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZNAME:CEST
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19961027T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZNAME:CET
END:STANDARD
END:VTIMEZONE"""


def vcalendar(*components: str) -> str:
    """A VCALENDAR around ``components`` (VEVENTs, VTIMEZONEs), with CRLF line ends."""
    body = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Balie tests//NL", *components])
    return "\r\n".join([*body.splitlines(), "END:VCALENDAR", ""])


def vevent(uid: str, *lines: str) -> str:
    return "\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT"]
    )


def at(day: str, hhmm: str) -> datetime:
    """Amsterdam wall-clock time on ``day`` as an aware UTC datetime."""
    wall = datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm))
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC)


def local(moment: datetime) -> str:
    """Amsterdam "YYYY-MM-DD HH:MM"."""
    return moment.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M")
