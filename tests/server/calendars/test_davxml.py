"""The WebDAV XML edge: what is taken from a multistatus answer and what is refused."""

from __future__ import annotations

import pytest

from server.calendars import CalendarUnreadable
from server.calendars.davxml import (
    calendar_objects_from_multistatus,
    calendar_query_body,
    collection_from_multistatus,
)
from tests.server.calendars.ical_text import at

LABEL = "CalDAV calendar of staff 'anna' at dav.example"


def multistatus(*responses: str) -> bytes:
    return (
        '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'
        + "".join(responses)
        + "</d:multistatus>"
    ).encode()


def response(href: str, status: str, prop: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{prop}</d:prop>"
        f"<d:status>HTTP/1.1 {status}</d:status></d:propstat></d:response>"
    )


def test_the_query_asks_for_vevents_in_the_window_in_utc() -> None:
    body = calendar_query_body(at("2026-10-27", "10:00"), at("2026-10-27", "11:00")).decode()
    assert '<C:time-range start="20261027T090000Z" end="20261027T100000Z"/>' in body
    assert '<C:comp-filter name="VEVENT">' in body and "expand" not in body


def test_objects_are_taken_from_200_propstats_with_calendar_data_only() -> None:
    body = multistatus(
        response(
            "/cal/a.ics",
            "200 OK",
            '<d:getetag>"1"</d:getetag><c:calendar-data>BEGIN:VCALENDAR</c:calendar-data>',
        ),
        response("/cal/b.ics", "404 Not Found", "<c:calendar-data/>"),
        response(
            "/cal/c.ics",
            "200 OK",
            '<d:getetag>"3"</d:getetag><c:calendar-data>  </c:calendar-data>',
        ),
    )
    [found] = calendar_objects_from_multistatus(body, LABEL)
    assert (found.href, found.etag, found.data) == ("/cal/a.ics", '"1"', "BEGIN:VCALENDAR")


def test_a_collection_says_whether_it_is_a_calendar() -> None:
    calendar = multistatus(
        response(
            "/cal/",
            "200 OK",
            "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
            "<d:displayname>Werk</d:displayname><cs:getctag>42</cs:getctag>",
        )
    )
    info = collection_from_multistatus(calendar, LABEL)
    assert (info.is_calendar, info.display_name, info.change_tag) == (True, "Werk", "42")
    plain = multistatus(
        response("/anna/", "200 OK", "<d:resourcetype><d:collection/></d:resourcetype>")
    )
    assert not collection_from_multistatus(plain, LABEL).is_calendar


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTD"),
        (b"<d:multistatus xmlns:d='DAV:'>", "well-formed"),
        (b"<html><body>Login</body></html>", "not a multistatus"),
    ],
)
def test_dtds_broken_xml_and_other_documents_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(CalendarUnreadable, match=why) as caught:
        calendar_objects_from_multistatus(body, LABEL)
    assert caught.value.calendar == LABEL
