"""The outbox's state machine and the reminder times, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.core.clock import AMSTERDAM
from server.messages.errors import InvalidTransition
from server.messages.model import (
    FIRST_BACKOFF,
    LEASE,
    MAX_BACKOFF,
    Message,
    State,
    backoff,
    reminder_times,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def pending(**fields: object) -> Message:
    values: dict[str, object] = {
        "id": "m1",
        "state": State.PENDING,
        "attempts": 0,
        "not_before": NOW,
    }
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


def test_a_due_message_is_claimed_under_a_lease_and_sent() -> None:
    claimed = pending().claim(NOW)
    assert claimed.state is State.SENDING
    assert claimed.attempts == 1
    assert claimed.lease_until == NOW + LEASE
    sent = claimed.sent(NOW + timedelta(seconds=1))
    assert sent.state is State.SENT and sent.sent_at == NOW + timedelta(seconds=1)
    assert sent.lease_until is None


def test_a_message_not_due_or_leased_cannot_be_claimed() -> None:
    with pytest.raises(InvalidTransition, match="pending \\(not due\\)"):
        pending(not_before=NOW + timedelta(minutes=1)).claim(NOW)
    leased = pending().claim(NOW)
    with pytest.raises(InvalidTransition, match="sending \\(leased\\)"):
        leased.claim(NOW + LEASE - timedelta(seconds=1))
    # a worker that died: its lease ran out, the next one claims it again
    again = leased.claim(NOW + LEASE)
    assert again.state is State.SENDING and again.attempts == 2


@pytest.mark.parametrize("state", [State.SENT, State.FAILED, State.DROPPED])
def test_a_finished_message_cannot_be_claimed(state: State) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot claim a message that is {state}"):
        pending(state=state).claim(NOW)


def test_a_deferred_message_waits_longer_each_time_then_fails() -> None:
    message = pending()
    waits = []
    for attempt in range(1, 4):
        message = message.claim(message.not_before)
        message = message.deferred(message.not_before, "SMTP answered 451", max_attempts=4)
        assert message.state is State.PENDING and message.attempts == attempt
        assert message.last_error == "SMTP answered 451"
        waits.append(message.not_before)
    assert waits[0] - NOW == FIRST_BACKOFF
    assert waits[1] - waits[0] == 2 * FIRST_BACKOFF
    assert waits[2] - waits[1] == 4 * FIRST_BACKOFF
    failed = message.claim(message.not_before).deferred(NOW, "SMTP answered 451", 4)
    assert failed.state is State.FAILED and failed.attempts == 4


def test_backoff_is_capped() -> None:
    assert backoff(1) == FIRST_BACKOFF
    assert backoff(30) == MAX_BACKOFF


def test_a_refused_message_fails_at_once_and_a_planner_can_retry_it() -> None:
    failed = pending().claim(NOW).refused("SMTP refused the recipient (550)")
    assert failed.state is State.FAILED
    retried = failed.retried(NOW + timedelta(hours=1))
    assert retried.state is State.PENDING and retried.attempts == 0
    assert retried.not_before == NOW + timedelta(hours=1)
    with pytest.raises(InvalidTransition, match="cannot retry a message that is pending"):
        retried.retried(NOW)


def test_only_a_pending_message_is_dropped_and_only_a_sending_one_skipped() -> None:
    assert pending().dropped().state is State.DROPPED
    skipped = pending().claim(NOW).skipped("the appointment is cancelled")
    assert skipped.state is State.DROPPED and skipped.last_error == "the appointment is cancelled"
    with pytest.raises(InvalidTransition, match="cannot drop a message that is sending"):
        pending().claim(NOW).dropped()
    with pytest.raises(InvalidTransition, match="cannot mark sent a message that is pending"):
        pending().sent(NOW)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "day", "hour"),
    [
        # an ordinary week: Tuesday 10:00 CET → Monday 10:00 CET (09:00 UTC)
        (utc(2026, 12, 8, 9), utc(2026, 12, 7, 9), utc(2026, 12, 8, 8)),
        # clocks go back on Sunday 25 October 2026: Monday 10:00 CET (09:00 UTC) is reminded
        # on Sunday at 10:00 CET (09:00 UTC), 25 real hours before
        (utc(2026, 10, 26, 9), utc(2026, 10, 25, 9), utc(2026, 10, 26, 8)),
        # clocks go forward on Sunday 29 March 2026: Monday 10:00 CEST (08:00 UTC) is
        # reminded on Sunday at 10:00 CEST (08:00 UTC), 24 real hours before
        (utc(2026, 3, 30, 8), utc(2026, 3, 29, 8), utc(2026, 3, 30, 7)),
        # the day of the change itself: Sunday 10:00 CEST (08:00 UTC), reminded on Saturday
        # 10:00 CET (09:00 UTC), 23 real hours before
        (utc(2026, 3, 29, 8), utc(2026, 3, 28, 9), utc(2026, 3, 29, 7)),
    ],
)
def test_reminders_fall_on_the_local_wall_clock(
    start: datetime, day: datetime, hour: datetime
) -> None:
    plan = reminder_times(start, utc(2026, 1, 1), AMSTERDAM)
    assert (plan.day, plan.hour) == (day, hour)


def test_a_reminder_too_close_to_the_booking_is_left_out() -> None:
    start = utc(2026, 12, 8, 9)
    booked_evening_before = reminder_times(start, utc(2026, 12, 7, 18), AMSTERDAM)
    assert booked_evening_before.day is None and booked_evening_before.hour == utc(2026, 12, 8, 8)
    booked_in_the_hour = reminder_times(start, utc(2026, 12, 8, 7, 45), AMSTERDAM)
    assert booked_in_the_hour.day is None and booked_in_the_hour.hour is None


def test_a_purpose_may_send_only_one_reminder() -> None:
    plan = reminder_times(utc(2026, 12, 8, 9), utc(2026, 1, 1), AMSTERDAM, day=False)
    assert plan.day is None and plan.hour is not None
