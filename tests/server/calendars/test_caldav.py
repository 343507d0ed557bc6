"""The CalDAV connector against a real Radicale: busy time through the slot engine, writing
and removing bookings, and the explicit hide/ignore behaviour of a failing calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from xml.etree import ElementTree

import aiohttp
import icalendar
import pytest

from server.booking import (
    PurposeRules,
    Reason,
    SlotRequest,
    Staff,
    WeeklyRule,
    available_dates,
    available_times,
    explain,
)
from server.calendars import (
    UNAVAILABLE_SOURCE,
    CalDAVLink,
    CalDAVSource,
    CalendarAppointment,
    CalendarRefused,
    CalendarUnreachable,
    CalendarUnreadable,
    FailurePolicy,
    InternalCalendar,
    StaffCalendar,
    collect_busy,
)
from tests.server.calendars.conftest import AUTH, PASSWORD, USER, Radicale, make_calendar
from tests.server.calendars.ical_text import at, local, vcalendar, vevent

HOUR = timedelta(hours=1)
WMO = PurposeRules(key="wmo", skill="wmo", duration=HOUR, horizon_days=28)
NOW = at("2026-10-12", "07:00")  # a Monday; the horizon runs to Sunday 8 November
FAKE_BSN = "999999990"
FAKE_NAME = "Test Persoon"


def worker(staff_id: str) -> Staff:
    """Works Monday to Friday 09:00-12:00 Amsterdam: slots at 09:00, 10:00 and 11:00."""
    rules = tuple(WeeklyRule(day, time(9), time(12)) for day in range(5))
    return Staff(id=staff_id, skills=frozenset({"wmo"}), rules=rules)


async def put(session: aiohttp.ClientSession, link: CalDAVLink, name: str, text: str) -> None:
    """Store a calendar object the way a staff member's own calendar app would."""
    async with session.put(
        f"{link.url}{name}.ics",
        data=text.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8", "Authorization": AUTH},
    ) as response:
        assert response.status == 201, response.status


async def stored(session: aiohttp.ClientSession, link: CalDAVLink) -> list[icalendar.Calendar]:
    """Every calendar object in the collection, read back with plain HTTP and icalendar."""
    auth = {"Authorization": AUTH}
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
    )
    async with session.request(
        "PROPFIND", link.url, data=body, headers={"Depth": "1", **auth}
    ) as response:
        assert response.status == 207
        listing = await response.text()
    root = ElementTree.fromstring(listing)  # noqa: S314 - our own test server's answer
    hrefs = [href.text or "" for href in root.iter("{DAV:}href")]
    found = []
    for href in hrefs:
        if not href.endswith(".ics"):
            continue  # the collection itself
        async with session.get(link.url + href.rsplit("/", 1)[-1], headers=auth) as response:
            assert response.status == 200
            found.append(icalendar.Calendar.from_ical(await response.read()))
    return found


def times(request: SlotRequest, day: str) -> list[str]:
    return [local(slot.start)[-5:] for slot in available_times(request, date.fromisoformat(day))]


# --- busy time ------------------------------------------------------------------------------


async def test_recurring_busy_time_removes_exactly_the_right_slots_across_the_dst_change(
    session: aiohttp.ClientSession, calendar_link: CalDAVLink
) -> None:
    # Every Tuesday 10:00-11:00 Amsterdam, six times from 13 October 2026; clocks go back on
    # Sunday 25 October, so the 27 October meeting is at 09:00 UTC, not 08:00.
    # 20 October is cancelled (EXDATE); the 3 November one moved to Wednesday 4, 11:00.
    await put(
        session,
        calendar_link,
        "weekly",
        vcalendar(
            vevent(
                "weekly-overleg",
                "SUMMARY:Teamoverleg",
                "DTSTART;TZID=Europe/Amsterdam:20261013T100000",
                "DTEND;TZID=Europe/Amsterdam:20261013T110000",
                "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6",
                "EXDATE;TZID=Europe/Amsterdam:20261020T100000",
            ),
            vevent(
                "weekly-overleg",
                "SUMMARY:Teamoverleg (verzet)",
                "RECURRENCE-ID;TZID=Europe/Amsterdam:20261103T100000",
                "DTSTART;TZID=Europe/Amsterdam:20261104T110000",
                "DTEND;TZID=Europe/Amsterdam:20261104T120000",
            ),
        ),
    )
    # These block nothing: shown as free, and cancelled.
    await put(
        session,
        calendar_link,
        "free",
        vcalendar(
            vevent(
                "lunch-optional",
                "DTSTART;TZID=Europe/Amsterdam:20261027T090000",
                "DTEND;TZID=Europe/Amsterdam:20261027T100000",
                "TRANSP:TRANSPARENT",
            )
        ),
    )
    await put(
        session,
        calendar_link,
        "cancelled",
        vcalendar(
            vevent(
                "training-off",
                "DTSTART;TZID=Europe/Amsterdam:20261027T110000",
                "DTEND;TZID=Europe/Amsterdam:20261027T120000",
                "STATUS:CANCELLED",
            )
        ),
    )
    # A day off: the whole Amsterdam day.
    await put(
        session,
        calendar_link,
        "dayoff",
        vcalendar(vevent("vrij", "DTSTART;VALUE=DATE:20261029", "DTEND;VALUE=DATE:20261030")),
    )

    request = SlotRequest(purpose=WMO, staff=(worker("anna"),), now=NOW)
    lookup = await collect_busy(
        CalDAVSource(session), [StaffCalendar("anna", calendar_link)], *request.span()
    )
    assert lookup.complete and not lookup.hidden_staff
    request = replace(request, busy=lookup.busy)

    assert times(request, "2026-10-13") == ["09:00", "11:00"]
    assert times(request, "2026-10-20") == ["09:00", "10:00", "11:00"]  # EXDATE
    assert times(request, "2026-10-27") == ["09:00", "11:00"]  # after the DST change
    assert times(request, "2026-10-29") == []  # day off
    assert times(request, "2026-11-03") == ["09:00", "10:00", "11:00"]  # moved away...
    assert times(request, "2026-11-04") == ["09:00", "10:00"]  # ...to here
    weekdays = [
        NOW.date() + timedelta(days=i)
        for i in range(28)
        if (NOW.date() + timedelta(days=i)).weekday() < 5
    ]
    assert available_dates(request) == [day for day in weekdays if day != date(2026, 10, 29)]
    why = explain(request, at("2026-10-27", "10:00"))
    assert [finding.reason for finding in why.staff[0].findings] == [Reason.BUSY]


async def test_a_calendar_without_caldav_link_is_internal_and_adds_no_busy_time(
    session: aiohttp.ClientSession,
) -> None:
    calendars = [StaffCalendar("anna"), StaffCalendar("bram")]
    window = (at("2026-10-12", "00:00"), at("2026-11-09", "00:00"))
    for source in (InternalCalendar(), CalDAVSource(session)):
        lookup = await collect_busy(source, calendars, *window)
        assert lookup.busy == () and lookup.complete


async def test_probe_tells_a_calendar_from_another_collection(
    session: aiohttp.ClientSession, radicale: Radicale, calendar_link: CalDAVLink
) -> None:
    source = CalDAVSource(session)
    info = await source.probe(StaffCalendar("anna", calendar_link))
    assert info.is_calendar and info.change_tag
    with pytest.raises(CalendarUnreadable, match="not a calendar"):
        await source.probe(StaffCalendar("anna", radicale.link(f"/{USER}/")))


# --- writing bookings ---------------------------------------------------------------------


def appointment(**changes: object) -> CalendarAppointment:
    base = CalendarAppointment(
        id="appt-7f3a9c",
        tenant_name="Gemeente Voorbeeld",
        purpose_name="Vraag over Wmo",
        start=at("2026-10-27", "10:00"),
        end=at("2026-10-27", "10:30"),
        staff_id="anna",
        resident_join_url="https://balie.example/j/resident-link",
        staff_join_url="https://balie.example/staff/calls/appt-7f3a9c",
        contact_email="inwoner@example.invalid",
        contact_name=FAKE_NAME,
        contact_phone="0612345678",
        note=f"BSN {FAKE_BSN}, {FAKE_NAME} vraagt om een traplift",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_booking_is_written_updated_in_place_and_removed(
    session: aiohttp.ClientSession, calendar_link: CalDAVLink
) -> None:
    source = CalDAVSource(session)
    calendar = StaffCalendar("anna", calendar_link)
    booking = appointment()

    etag = await source.write_booking(calendar, booking)
    assert etag
    [written] = await stored(session, calendar_link)
    [event] = written.events
    assert str(event["UID"]) == "appt-7f3a9c@balie"
    assert str(event["SUMMARY"]) == "Balie: Vraag over Wmo"
    assert str(event["URL"]) == booking.staff_join_url
    assert event.start == booking.start and event.end == booking.end
    assert "METHOD" not in written  # stored calendar objects carry none (RFC 4791)
    raw = written.to_ical().decode()
    for secret in (FAKE_BSN, FAKE_NAME, "0612345678", "inwoner@example.invalid", "traplift"):
        assert secret not in raw
    assert booking.resident_join_url not in raw  # the resident's link is theirs alone

    # Rescheduled: the same UID is replaced, not duplicated.
    moved = replace(
        booking, start=at("2026-10-28", "14:00"), end=at("2026-10-28", "14:30"), sequence=1
    )
    assert await source.write_booking(calendar, moved) not in (None, etag)
    [rewritten] = await stored(session, calendar_link)
    [event] = rewritten.events
    assert str(event["UID"]) == "appt-7f3a9c@balie"
    assert event.start == moved.start and event.sequence == 1

    # Balie's own event is an allocation already, so it is not read back as busy time.
    window = (at("2026-10-26", "00:00"), at("2026-10-30", "00:00"))
    assert await source.busy(calendar, *window) == []

    assert await source.remove_booking(calendar, booking.id) is True
    assert await stored(session, calendar_link) == []
    assert await source.remove_booking(calendar, booking.id) is False  # 404: already gone


async def test_an_edit_by_the_calendar_owner_is_updated_through_its_etag(
    session: aiohttp.ClientSession, calendar_link: CalDAVLink
) -> None:
    # The staff member's app touched the event (new ETag); Balie's rewrite must still land.
    source = CalDAVSource(session)
    calendar = StaffCalendar("anna", calendar_link)
    await source.write_booking(calendar, appointment())
    [written] = await stored(session, calendar_link)
    written.events[0]["DESCRIPTION"] = "edited in the calendar app"
    async with session.put(
        f"{calendar_link.url}appt-7f3a9c@balie.ics",
        data=written.to_ical(),
        headers={"Content-Type": "text/calendar", "Authorization": AUTH},
    ) as response:
        assert response.status in (201, 204)
    await source.write_booking(calendar, appointment(sequence=2))
    [event] = (await stored(session, calendar_link))[0].events
    assert event.sequence == 2 and "edited" not in str(event["DESCRIPTION"])


async def test_an_internal_calendar_is_not_written(session: aiohttp.ClientSession) -> None:
    source = CalDAVSource(session)
    assert await source.write_booking(StaffCalendar("anna"), appointment()) is None
    assert await source.remove_booking(StaffCalendar("anna"), "appt-7f3a9c") is False


# --- a failing calendar -------------------------------------------------------------------


async def test_a_stopped_server_hides_or_is_ignored_per_staff_member_and_says_so(
    session: aiohttp.ClientSession, radicale_to_stop: Radicale
) -> None:
    link = await make_calendar(session, radicale_to_stop)
    radicale_to_stop.stop()
    calendars = [
        StaffCalendar("anna", link),  # hide is the default
        StaffCalendar("bram", link, on_failure=FailurePolicy.IGNORE),
    ]
    request = SlotRequest(purpose=WMO, staff=(worker("anna"), worker("bram")), now=NOW)
    start, end = request.span()

    lookup = await collect_busy(CalDAVSource(session), calendars, start, end)

    assert not lookup.complete
    assert [(f.staff_id, f.policy, f.hidden, f.status) for f in lookup.failures] == [
        ("anna", FailurePolicy.HIDE, True, None),
        ("bram", FailurePolicy.IGNORE, False, None),
    ]
    assert all(f.reason.startswith("CalendarUnreachable: REPORT failed") for f in lookup.failures)
    assert lookup.failures[0].calendar == (
        f"CalDAV calendar of staff 'anna' at 127.0.0.1:{radicale_to_stop.port}"
    )
    assert lookup.hidden_staff == {"anna"}
    [block] = lookup.busy
    assert (block.staff_id, block.start, block.end, block.source) == (
        "anna",
        start,
        end,
        UNAVAILABLE_SOURCE,
    )

    request = replace(request, busy=lookup.busy)
    slots = available_times(request, date(2026, 10, 13))
    assert [(local(s.start)[-5:], s.staff_ids) for s in slots] == [
        ("09:00", ("bram",)),
        ("10:00", ("bram",)),
        ("11:00", ("bram",)),
    ]
    with pytest.raises(CalendarUnreachable):
        await CalDAVSource(session).busy(calendars[0], start, end)


async def test_a_wrong_password_or_url_is_a_refusal_with_its_status(
    session: aiohttp.ClientSession, radicale: Radicale, calendar_link: CalDAVLink
) -> None:
    wrong_password = replace(calendar_link, password="fout-wachtwoord")
    wrong_url = radicale.link(f"/{USER}/does-not-exist/")
    calendars = [
        StaffCalendar("anna", wrong_password),
        StaffCalendar("bram", wrong_url, on_failure=FailurePolicy.IGNORE),
    ]
    window = (at("2026-10-12", "00:00"), at("2026-11-09", "00:00"))

    lookup = await collect_busy(CalDAVSource(session), calendars, *window)

    assert [(f.staff_id, f.status, f.hidden) for f in lookup.failures] == [
        ("anna", 401, True),
        ("bram", 404, False),
    ]
    assert lookup.failures[0].reason == (
        "CalendarRefused: REPORT answered 401 (check the user name, password and rights)"
    )
    for failure in lookup.failures:
        for secret in ("fout-wachtwoord", PASSWORD, USER, "does-not-exist"):
            assert secret not in f"{failure}"
    assert [block.staff_id for block in lookup.busy] == ["anna"]
    with pytest.raises(CalendarRefused) as caught:
        await CalDAVSource(session).write_booking(calendars[0], appointment())
    assert caught.value.status == 401
