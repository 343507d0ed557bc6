"""Which channels reach a resident: e-mail to an address, SMS to a mobile number only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from server.booking.appointment import Appointment, AppointmentState, Contact
from server.messages.changes import resident_channels
from server.messages.model import Channel

AT = datetime(2026, 12, 8, 9, tzinfo=UTC)
BOOKED = Appointment(
    id="a1",
    tenant_id="t",
    reference="ABCDEFGH",
    purpose_key="intake",
    staff_id="s1",
    state=AppointmentState.BOOKED,
    start=AT,
    end=AT,
    buffered_start=AT,
    buffered_end=AT,
    hold_expires_at=None,
    room_id=None,
    version=2,
    rescheduled_from=None,
    created_at=AT,
    updated_at=AT,
)


def test_each_detail_given_is_a_channel_and_a_landline_gets_no_sms() -> None:
    def channels(email: str | None = None, phone: str | None = None) -> list[Channel]:
        return resident_channels(replace(BOOKED, contact=Contact(email=email, phone=phone)))

    assert channels() == []
    assert channels(email="test@example.invalid") == [Channel.EMAIL]
    assert channels(phone="+31612345678") == [Channel.SMS]
    assert channels(email="test@example.invalid", phone="+31612345678") == [
        Channel.EMAIL,
        Channel.SMS,
    ]
    assert channels(phone="+31205550123") == []  # a caller's landline, noted by a planner
