"""A staff record's calendar_source, credentials from the environment, and the adapter the
booking service calls, end to end against Radicale."""

from __future__ import annotations

import aiohttp
import pytest

from server.booking.busy import BusySource, CalendarRef, read_busy
from server.calendars import (
    CalDAVLink,
    CalDAVSource,
    FailurePolicy,
    InvalidCalendarInput,
    StaffCalendarsBusy,
    parse_calendar_source,
)
from server.config import CalDAVCredentials, ConfigError, credentials_from_env
from tests.server.calendars.conftest import AUTH, PASSWORD, USER, Radicale
from tests.server.calendars.ical_text import at, vcalendar, vevent

URL = "https://cloud.example.nl/remote.php/dav/calendars/balie/jan-werk/"
PAIRS = {"DAV": CalDAVCredentials("balie", "geheim")}


def test_credentials_come_in_named_pairs_from_the_environment() -> None:
    env = {
        "BALIE_CALDAV_DAV_USERNAME": "balie",
        "BALIE_CALDAV_DAV_PASSWORD": "geheim",
        "BALIE_CALDAV_KCC_TEAM_USERNAME": "kcc",
        "BALIE_CALDAV_TIMEOUT": "15",  # not a pair
        "PATH": "/usr/bin",
    }
    assert credentials_from_env(env) == {
        "DAV": CalDAVCredentials("balie", "geheim"),
        "KCC_TEAM": CalDAVCredentials("kcc", ""),
    }
    assert "geheim" not in repr(credentials_from_env(env))
    with pytest.raises(ConfigError, match="BALIE_CALDAV_X_USERNAME"):
        credentials_from_env({"BALIE_CALDAV_X_PASSWORD": "p"})


def test_a_calendar_source_is_a_url_with_a_credentials_name_in_its_fragment() -> None:
    calendar = parse_calendar_source("jan", f"{URL}#credentials=dav", PAIRS, "ignore")
    assert calendar.caldav == CalDAVLink(URL, "balie", "geheim")
    assert calendar.on_failure is FailurePolicy.IGNORE
    assert parse_calendar_source("jan", URL, PAIRS).caldav == CalDAVLink(URL)
    assert parse_calendar_source("jan", None, PAIRS).caldav is None
    assert parse_calendar_source("jan", "  ", PAIRS).on_failure is FailurePolicy.HIDE


@pytest.mark.parametrize(
    ("source", "policy", "why"),
    [
        (f"{URL}#credentials=NOPE", "hide", "BALIE_CALDAV_NOPE_USERNAME is not set"),
        (f"{URL}#password=x", "hide", "unknown option"),
        ("ftp://cloud.example.nl/cal/", "hide", "http"),
        (URL, "sometimes", "'hide' or 'ignore'"),
    ],
)
def test_a_bad_calendar_source_is_refused_without_quoting_the_url(
    source: str, policy: str, why: str
) -> None:
    with pytest.raises(InvalidCalendarInput, match=why) as caught:
        parse_calendar_source("jan", source, PAIRS, policy)
    assert "jan-werk" not in str(caught.value)


async def test_booking_reads_busy_time_and_failures_through_the_adapter(
    session: aiohttp.ClientSession, radicale: Radicale, calendar_link: CalDAVLink
) -> None:
    async with session.put(
        f"{calendar_link.url}meeting.ics",
        data=vcalendar(vevent("m1", "DTSTART:20261027T090000Z", "DTEND:20261027T100000Z")),
        headers={"Content-Type": "text/calendar", "Authorization": AUTH},
    ) as response:
        assert response.status == 201
    adapter: BusySource = StaffCalendarsBusy(
        CalDAVSource(session), {"RADICALE": CalDAVCredentials(USER, PASSWORD)}
    )
    calendars = [
        CalendarRef("anna", f"{calendar_link.url}#credentials=radicale"),
        CalendarRef("bram", f"{calendar_link.url}"),  # no credentials: 401
        CalendarRef("cees", f"{calendar_link.url}#credentials=missing"),  # misconfigured
    ]
    blocks, failed = await read_busy(
        adapter, "voorbeeld", calendars, at("2026-10-26", "00:00"), at("2026-10-28", "00:00")
    )
    assert [(b.staff_id, b.ref) for b in blocks] == [("anna", "m1")]
    assert failed == {"bram", "cees"}
