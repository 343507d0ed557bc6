"""iCalendar → busy blocks, without a server: what blocks time and what does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.booking import Busy
from server.calendars import (
    CalendarUnreadable,
    InvalidCalendarInput,
    busy_from_icalendar,
)
from server.calendars import busy as busy_module
from tests.server.calendars.ical_text import (
    CUSTOM_TZID,
    CUSTOM_VTIMEZONE,
    at,
    local,
    vcalendar,
    vevent,
)

WINDOW = (at("2026-10-19", "00:00"), at("2026-11-02", "00:00"))
LABEL = "CalDAV calendar of staff 'anna' at dav.example"


def busy(*objects: str, window: tuple[datetime, datetime] = WINDOW) -> list[Busy]:
    return busy_from_icalendar(
        objects, staff_id="anna", start=window[0], end=window[1], calendar=LABEL
    )


def spans(blocks: list[Busy]) -> list[str]:
    return [f"{local(block.start)}–{local(block.end)}" for block in blocks]


def test_transparent_and_cancelled_events_block_nothing_tentative_does() -> None:
    blocks = busy(
        vcalendar(
            vevent(
                "free", "DTSTART:20261020T080000Z", "DTEND:20261020T090000Z", "TRANSP:TRANSPARENT"
            ),
            vevent("off", "DTSTART:20261020T090000Z", "DTEND:20261020T100000Z", "STATUS:CANCELLED"),
            vevent(
                "maybe", "DTSTART:20261020T100000Z", "DTEND:20261020T110000Z", "STATUS:TENTATIVE"
            ),
            vevent(
                "meeting", "DTSTART:20261020T110000Z", "DTEND:20261020T113000Z", "TRANSP:OPAQUE"
            ),
        )
    )
    assert [(b.ref, b.kind) for b in blocks] == [("maybe", "tentative"), ("meeting", "busy")]
    assert spans(blocks) == [
        "2026-10-20 12:00–2026-10-20 13:00",
        "2026-10-20 13:00–2026-10-20 13:30",
    ]
    assert all(b.staff_id == "anna" and b.source == "calendar" for b in blocks)
    assert all(b.start.tzinfo is UTC for b in blocks)


def test_a_cancelled_override_frees_only_its_own_instance() -> None:
    blocks = busy(
        vcalendar(
            vevent(
                "daily",
                "DTSTART;TZID=Europe/Amsterdam:20261020T090000",
                "DTEND;TZID=Europe/Amsterdam:20261020T093000",
                "RRULE:FREQ=DAILY;COUNT=3",
            ),
            vevent(
                "daily",
                "RECURRENCE-ID;TZID=Europe/Amsterdam:20261021T090000",
                "DTSTART;TZID=Europe/Amsterdam:20261021T090000",
                "DTEND;TZID=Europe/Amsterdam:20261021T093000",
                "STATUS:CANCELLED",
            ),
        )
    )
    assert spans(blocks) == [
        "2026-10-20 09:00–2026-10-20 09:30",
        "2026-10-22 09:00–2026-10-22 09:30",
    ]


def test_an_all_day_event_blocks_the_whole_amsterdam_day_even_the_25_hour_one() -> None:
    blocks = busy(
        vcalendar(vevent("away", "DTSTART;VALUE=DATE:20261025", "DTEND;VALUE=DATE:20261026"))
    )
    assert spans(blocks) == ["2026-10-25 00:00–2026-10-26 00:00"]
    assert blocks[0].end - blocks[0].start == timedelta(hours=25)  # clocks went back


def test_an_all_day_event_without_dtend_lasts_one_day() -> None:
    blocks = busy(vcalendar(vevent("away", "DTSTART;VALUE=DATE:20261020")))
    assert spans(blocks) == ["2026-10-20 00:00–2026-10-21 00:00"]


def test_a_vtimezone_with_an_unknown_name_is_followed_across_the_dst_change() -> None:
    blocks = busy(
        vcalendar(
            CUSTOM_VTIMEZONE,
            vevent(
                "weekly",
                f"DTSTART;TZID={CUSTOM_TZID}:20261020T100000",
                f"DTEND;TZID={CUSTOM_TZID}:20261020T110000",
                "RRULE:FREQ=WEEKLY;COUNT=2",
            ),
        )
    )
    # 10:00 wall-clock both weeks: 08:00 UTC in CEST, 09:00 UTC in CET
    assert spans(blocks) == [
        "2026-10-20 10:00–2026-10-20 11:00",
        "2026-10-27 10:00–2026-10-27 11:00",
    ]
    assert [b.start.hour for b in blocks] == [8, 9]


def test_floating_times_are_amsterdam_wall_clock() -> None:
    blocks = busy(vcalendar(vevent("float", "DTSTART:20261027T100000", "DTEND:20261027T110000")))
    assert spans(blocks) == ["2026-10-27 10:00–2026-10-27 11:00"]


def test_balies_own_events_are_not_busy_other_domains_are() -> None:
    blocks = busy(
        vcalendar(
            vevent("a1@balie", "DTSTART:20261020T080000Z", "DTEND:20261020T090000Z"),
            vevent("a1@balie.other", "DTSTART:20261020T090000Z", "DTEND:20261020T100000Z"),
        )
    )
    assert [b.ref for b in blocks] == ["a1@balie.other"]


def test_edges_are_half_open_and_zero_length_events_block_nothing() -> None:
    start, end = WINDOW
    blocks = busy(
        vcalendar(
            vevent("before", "DTSTART:20261018T200000Z", f"DTEND:{start:%Y%m%dT%H%M%SZ}"),
            vevent("after", f"DTSTART:{end:%Y%m%dT%H%M%SZ}", "DTEND:20261102T010000Z"),
            vevent("instant", "DTSTART:20261020T080000Z"),
            vevent("across", "DTSTART:20261018T200000Z", "DTEND:20261019T010000Z"),
        )
    )
    assert [b.ref for b in blocks] == ["across"]
    assert blocks[0].start < start  # not clipped: the engine handles blocks beyond the window


def test_malformed_data_is_unreadable_and_the_error_names_only_the_calendar() -> None:
    with pytest.raises(CalendarUnreadable) as caught:
        busy("this is not iCalendar, Test Persoon")
    assert caught.value.calendar == LABEL
    assert "Test Persoon" not in str(caught.value)
    with pytest.raises(CalendarUnreadable):
        busy(
            vcalendar(
                vevent(
                    "x",
                    "SUMMARY:Test Persoon",
                    "DTSTART:20261020T080000Z",
                    "DTEND:20261020T090000Z",
                    "RRULE:FREQ=WEEKLY;BYDAY=XX",
                )
            )
        )


def test_too_many_occurrences_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busy_module, "MAX_OCCURRENCES", 5)
    hourly = vcalendar(
        vevent("tick", "DTSTART:20261020T080000Z", "DTEND:20261020T081000Z", "RRULE:FREQ=HOURLY")
    )
    with pytest.raises(CalendarUnreadable, match="5"):
        busy(hourly)


def test_a_naive_or_empty_window_is_refused() -> None:
    with pytest.raises(InvalidCalendarInput):
        busy(vcalendar(), window=(datetime(2026, 10, 19), datetime(2026, 10, 20)))
    with pytest.raises(InvalidCalendarInput):
        busy(vcalendar(), window=(WINDOW[1], WINDOW[0]))


def test_a_windows_zone_name_as_outlook_writes_it_is_understood() -> None:
    zone = "W. Europe Standard Time"
    blocks = busy(
        vcalendar(
            vevent(
                "outlook",
                f"DTSTART;TZID={zone}:20261027T100000",
                f"DTEND;TZID={zone}:20261027T110000",
            )
        )
    )
    assert spans(blocks) == ["2026-10-27 10:00–2026-10-27 11:00"]
