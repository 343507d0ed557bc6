"""The resident's invite and cancellation, the staff feed, and feed tokens: parsed back with
icalendar, and checked for what must never be in them."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import datetime, timedelta

import icalendar
import pytest

from server.calendars import (
    FEED_CONTENT_TYPE,
    INVITE_CANCEL_CONTENT_TYPE,
    INVITE_REQUEST_CONTENT_TYPE,
    CalendarAppointment,
    FeedTokens,
    InvalidCalendarInput,
    Organizer,
    appointment_uid,
    invite_cancel,
    invite_request,
    staff_event,
    staff_feed,
)
from tests.server.calendars.ical_text import at

FAKE_BSN = "999999990"
FAKE_NAME = "Test Persoon"
NOW = at("2026-10-20", "14:03")
ORGANIZER = Organizer(name="Gemeente Voorbeeld", email="noreply@voorbeeld.example")
#: what the booking record may hold and no calendar output may show
PERSONAL = (FAKE_BSN, FAKE_NAME, "0612345678", "traplift", "Persoon")


def appointment(**changes: object) -> CalendarAppointment:
    base = CalendarAppointment(
        id="appt-7f3a9c",
        tenant_name="Gemeente Voorbeeld",
        purpose_name="Vraag over Wmo",
        start=at("2026-10-27", "10:00"),  # CET: 09:00 UTC
        end=at("2026-10-27", "10:30"),
        staff_id="anna",
        resident_join_url="https://balie.example/j/resident-link",
        staff_join_url="https://balie.example/staff/calls/appt-7f3a9c",
        sequence=0,
        contact_email="inwoner@example.invalid",
        contact_name=FAKE_NAME,
        contact_phone="0612345678",
        note=f"BSN {FAKE_BSN}, {FAKE_NAME} vraagt om een traplift",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    [event] = calendar.events
    return calendar, event


def assert_no_personal_data(data: bytes) -> None:
    # Unfolded, so a value split over two lines cannot hide.
    text = data.decode().replace("\r\n ", "")
    for value in PERSONAL:
        assert value not in text


# --- the resident's invite ----------------------------------------------------------------


def test_invite_is_a_request_with_stable_uid_utc_times_and_the_join_link() -> None:
    data = invite_request(appointment(), ORGANIZER, now=NOW)
    calendar, event = parse(data)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "appt-7f3a9c@balie" == appointment_uid("appt-7f3a9c")
    assert event.sequence == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert isinstance(event.start, datetime) and event.start.utcoffset() == timedelta(0)
    assert event.start == at("2026-10-27", "10:00")
    assert event.end - event.start == timedelta(minutes=30)
    assert b"DTSTART:20261027T090000Z" in data  # UTC, no floating time, no VTIMEZONE needed
    assert event.DTSTAMP == NOW
    assert str(event["URL"]) == "https://balie.example/j/resident-link"
    assert str(event["LOCATION"]) == "https://balie.example/j/resident-link"
    assert "https://balie.example/j/resident-link" in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]) == "Videogesprek Gemeente Voorbeeld: Vraag over Wmo"
    assert "Doe mee via deze link" in str(event["DESCRIPTION"])
    assert str(event["ORGANIZER"]) == "mailto:noreply@voorbeeld.example"
    assert event["ORGANIZER"].params["CN"] == "Gemeente Voorbeeld"
    assert str(event["ATTENDEE"]) == "mailto:inwoner@example.invalid"
    assert "CN" not in event["ATTENDEE"].params
    assert "https://balie.example/staff" not in data.decode()  # the staff link stays internal
    assert_no_personal_data(data)
    assert "method=REQUEST" in INVITE_REQUEST_CONTENT_TYPE


def test_cancel_has_the_same_uid_a_higher_sequence_and_method_cancel() -> None:
    moved = {"start": at("2026-10-28", "09:00"), "end": at("2026-10-28", "09:30")}
    sent = [appointment(sequence=0), appointment(sequence=1, **moved)]
    invites = [parse(invite_request(a, ORGANIZER, now=NOW))[1] for a in sent]
    data = invite_cancel(replace(sent[1], cancelled=True), ORGANIZER, now=NOW + timedelta(hours=1))
    calendar, cancel = parse(data)

    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert {str(e["UID"]) for e in [*invites, cancel]} == {"appt-7f3a9c@balie"}
    sequences = [e.sequence for e in [*invites, cancel]]
    assert sequences == sorted(set(sequences)) == [0, 1, 2]
    assert cancel.start == sent[1].start
    assert str(cancel["SUMMARY"]).startswith("Afgezegd: ")
    assert str(cancel["ATTENDEE"]) == "mailto:inwoner@example.invalid"
    assert_no_personal_data(data)
    assert "method=CANCEL" in INVITE_CANCEL_CONTENT_TYPE


def test_an_invite_without_a_known_email_has_no_attendee() -> None:
    _, event = parse(invite_request(appointment(contact_email=""), ORGANIZER, now=NOW))
    assert "ATTENDEE" not in event


def test_a_cancelled_appointment_gets_no_invite_and_inputs_are_checked() -> None:
    with pytest.raises(InvalidCalendarInput, match="cancelled"):
        invite_request(appointment(cancelled=True), ORGANIZER, now=NOW)
    with pytest.raises(InvalidCalendarInput, match="time zone"):
        invite_request(appointment(), ORGANIZER, now=NOW.replace(tzinfo=None))
    with pytest.raises(InvalidCalendarInput, match="appointment id"):
        appointment(id="../../etc")
    with pytest.raises(InvalidCalendarInput, match="end is not after start"):
        appointment(end=at("2026-10-27", "10:00"))
    with pytest.raises(InvalidCalendarInput, match="e-mail"):
        appointment(contact_email="a@b.example\r\nATTENDEE:mailto:x@y")


def test_text_with_ical_syntax_stays_inside_its_value() -> None:
    data = invite_request(
        appointment(purpose_name="Wmo;\r\nATTENDEE:mailto:evil@example.invalid"), ORGANIZER, now=NOW
    )
    _, event = parse(data)
    assert str(event["ATTENDEE"]) == "mailto:inwoner@example.invalid"  # still only one


def test_control_characters_never_reach_a_calendar_file() -> None:
    """A stored name with a NUL or an escape sequence must not break the file (or a calendar
    program reading it): every control character but tab, CR and LF is left out."""
    odd = appointment(purpose_name="Wmo\x00 vraag\x1b[2J", tenant_name="Gemeente\x7f Voorbeeld")
    for data in (
        invite_request(odd, ORGANIZER, now=NOW),
        invite_cancel(odd, ORGANIZER, now=NOW),
        staff_event(odd, now=NOW),
    ):
        assert not any(byte < 0x20 and byte not in (0x09, 0x0A, 0x0D) for byte in data)
        assert 0x7F not in data
        _, event = parse(data)
        assert "Wmo vraag[2J" in str(event["SUMMARY"])


# --- the staff event and feed -------------------------------------------------------------


def test_the_staff_event_has_purpose_time_and_staff_link_and_no_method() -> None:
    data = staff_event(appointment(), now=NOW)
    calendar, event = parse(data)
    assert "METHOD" not in calendar
    assert str(event["SUMMARY"]) == "Balie: Vraag over Wmo"
    assert str(event["URL"]) == "https://balie.example/staff/calls/appt-7f3a9c"
    assert "ATTENDEE" not in event and "ORGANIZER" not in event
    assert_no_personal_data(data)
    assert b"inwoner@example.invalid" not in data


def test_the_feed_lists_a_staff_members_live_appointments_in_order() -> None:
    later = appointment(id="appt-2", start=at("2026-10-29", "11:00"), end=at("2026-10-29", "12:00"))
    gone = appointment(id="appt-3", cancelled=True)
    data = staff_feed("anna", [later, gone, appointment()], now=NOW)
    feed = icalendar.Calendar.from_ical(data)
    assert "METHOD" not in feed
    assert str(feed["X-WR-CALNAME"]) == "Balie-afspraken"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT15M" in data
    assert [str(e["UID"]) for e in feed.events] == ["appt-7f3a9c@balie", "appt-2@balie"]
    assert_no_personal_data(data)
    assert b"inwoner@example.invalid" not in data
    assert FEED_CONTENT_TYPE.startswith("text/calendar")
    assert staff_feed("anna", [], now=NOW).startswith(b"BEGIN:VCALENDAR")


def test_the_feed_refuses_another_staff_members_appointment() -> None:
    with pytest.raises(InvalidCalendarInput, match="another staff member"):
        staff_feed("bram", [appointment()], now=NOW)


# --- feed tokens --------------------------------------------------------------------------

SECRET = bytes(range(32))


def test_a_feed_token_opens_only_its_own_feed() -> None:
    tokens = FeedTokens(SECRET)
    token = tokens.issue("voorbeeld", "anna")
    assert len(token) == 43 and token.isascii() and "=" not in token  # 256 bits, URL-safe
    assert token == FeedTokens(SECRET).issue("voorbeeld", "anna")  # stable across restarts
    assert tokens.verify(token, "voorbeeld", "anna")
    assert not tokens.verify(token, "voorbeeld", "bram")
    assert not tokens.verify(token, "anders", "anna")
    assert not tokens.verify(token, "voorbeeld", "anna", generation=1)  # revoked
    assert tokens.verify(tokens.issue("voorbeeld", "anna", 1), "voorbeeld", "anna", generation=1)
    assert not FeedTokens(bytes(32)).verify(token, "voorbeeld", "anna")  # rotated secret
    # The ids are separated, not concatenated: ("ab", "c") is not ("a", "bc").
    assert tokens.issue("ab", "c") != tokens.issue("a", "bc")


@pytest.mark.parametrize("wrong", ["", "x", "é" * 43, "A" * 43, "A" * 500])
def test_a_wrong_token_is_refused_without_error(wrong: str) -> None:
    assert not FeedTokens(SECRET).verify(wrong, "voorbeeld", "anna")


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # No timing measurement (that belongs nowhere in tests): check the comparison used.
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # feed.py looks it up per call
    tokens = FeedTokens(SECRET)
    assert not tokens.verify("guess", "voorbeeld", "anna")
    assert compared == [(b"guess", tokens.issue("voorbeeld", "anna").encode())]


def test_a_short_secret_or_bad_ids_are_refused() -> None:
    with pytest.raises(InvalidCalendarInput, match="32 bytes"):
        FeedTokens(b"too short")
    tokens = FeedTokens(SECRET)
    with pytest.raises(InvalidCalendarInput):
        tokens.issue("", "anna")
    with pytest.raises(InvalidCalendarInput):
        tokens.issue("voorbeeld", "an\x00na")
    with pytest.raises(InvalidCalendarInput):
        tokens.issue("voorbeeld", "anna", generation=-1)
    assert "SECRET" not in repr(tokens) and repr(SECRET) not in repr(tokens)
