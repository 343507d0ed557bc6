"""Booking, reschedule and cancel, each delivering exactly the expected e-mails to a real SMTP
server (aiosmtpd), with a valid ``.ics``; reminders at the right local times across the
October DST change; a mail server that is down, then back; a refused address the planner
sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from server.core.metrics import METRICS
from server.db.appkeys import ENGINE
from server.db.schema import appointments
from server.messages import outbox as outbox_store
from server.messages.model import State
from tests.server.booking.support import EMAIL, key, seed
from tests.server.messages.smtp import Delivered, SmtpServer
from tests.server.messages.support import (
    FRIDAY,
    MONDAY_TEN,
    book,
    deliver_due,
    messaging_server,
    outbox_rows,
)
from tests.support import MovableClock


def parts(message: EmailMessage) -> tuple[str, str, list[icalendar.Calendar]]:
    """The plain text, the HTML and the parsed calendar attachments."""
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    calendars = [
        icalendar.Calendar.from_ical(part.get_content().encode())
        for part in message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]
    return str(plain.get_content()), str(html.get_content()), calendars


def only(received: list[Delivered], subject_part: str) -> Delivered:
    found = [d for d in received if subject_part in str(d.message["Subject"])]
    assert len(found) == 1, [str(d.message["Subject"]) for d in received]
    return found[0]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_booking_reschedule_and_cancel_each_send_exactly_their_mail(
    tmp_path: Path, database: str, postgres_url: str
) -> None:
    clock = MovableClock(FRIDAY)
    url = postgres_url if database == "postgresql" else ""
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock, database_url=url) as server:
            tenant = await seed(server.engine)
            booked = await book(server, tenant, MONDAY_TEN, {"email": EMAIL})
            assert await deliver_due(server) == 1  # reminders are not due yet
            (confirmation,) = smtp.received
            assert confirmation.recipients == [EMAIL]
            message = confirmation.message
            assert str(message["Subject"]) == "Uw afspraak op maandag 26 oktober om 10:00"
            assert "Gemeente Test" in str(message["From"])
            plain, html, (invite,) = parts(message)
            assert "Wmo intake" in plain and "tot 10:30" in plain
            assert f"/afspraak/{tenant}/{booked['id']}#token=" in plain
            assert str(booked["join_url"]).split("#")[0] + "#token=" in plain
            assert f"Uw afspraaknummer is {booked['reference']}" in html
            assert invite["METHOD"] == "REQUEST"
            (event,) = invite.walk("VEVENT")
            assert event.decoded("DTSTART") == MONDAY_TEN
            (alarm,) = event.walk("VALARM")
            assert alarm["ACTION"] == "DISPLAY"
            assert alarm.decoded("TRIGGER") == -timedelta(minutes=30)
            # the same Message-ID on every attempt: made from the outbox row
            rows = await outbox_rows(server, str(booked["id"]))
            sent = next(r for r in rows if r.template == "confirmation")
            assert message["Message-ID"] == f"<{sent.id}@balie>"
            assert sent.state == "sent" and sent.attempts == 1

            # Reschedule to Tuesday: one "moved" mail for the new appointment, nothing for the
            # old one (the move says it all), and the old one's reminders dropped.
            status, moved = await server.call(
                "POST",
                server.api(tenant, f"/appointments/{booked['id']}/reschedule"),
                json={"start": (MONDAY_TEN + timedelta(days=1)).isoformat()},
                key=key(),
                token=str(booked["manage_token"]),
            )
            assert status == 201, moved
            assert await deliver_due(server) == 1
            moved_mail = only(smtp.received, "verzet")
            assert str(moved_mail.message["Subject"]) == (
                "Uw afspraak is verzet naar dinsdag 27 oktober om 10:00"
            )
            _, _, (moved_invite,) = parts(moved_mail.message)
            (moved_event,) = moved_invite.walk("VEVENT")
            assert str(moved_event["UID"]).startswith(str(moved["id"]))
            old_rows = await outbox_rows(server, str(booked["id"]))
            assert {r.template: r.state for r in old_rows if r.channel == "email"} == {
                "confirmation": "sent",
                "reminder-day": "dropped",
                "reminder-hour": "dropped",
            }

            # Cancel: one cancellation with the invite's CANCEL.
            status, _ = await server.call(
                "POST",
                server.api(tenant, f"/appointments/{moved['id']}/cancel"),
                key=key(),
                token=str(moved["manage_token"]),
            )
            assert status == 200
            assert await deliver_due(server) == 1
            cancelled = only(smtp.received, "gaat niet door")
            plain, _, (cancel_invite,) = parts(cancelled.message)
            assert cancel_invite["METHOD"] == "CANCEL"
            assert f"/afspraak/{tenant}/kies/intake" in plain and "#token=" not in plain
            assert len(smtp.received) == 3

            # A week later nothing else has gone out: every reminder was dropped.
            clock.advance(days=7)
            assert await deliver_due(server) == 0
            assert len(smtp.received) == 3


async def test_reminders_fall_at_local_times_across_the_dst_change(tmp_path: Path) -> None:
    clock = MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock) as server:
            tenant = await seed(server.engine)
            await book(server, tenant, MONDAY_TEN, {"email": EMAIL})
            await deliver_due(server)
            assert len(smtp.received) == 1
            # The day before at the same wall-clock time: Sunday 10:00 CET is 09:00 UTC,
            # 25 real hours before (the clocks went back that night).
            clock.now = datetime(2026, 10, 25, 8, 59, tzinfo=UTC)
            assert await deliver_due(server) == 0
            clock.now = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
            assert await deliver_due(server) == 1
            day = only(smtp.received, "morgen")
            assert str(day.message["Subject"]) == "Herinnering: morgen uw afspraak om 10:00"
            # An hour before, in real time: 09:00 CET, 08:00 UTC.
            clock.now = datetime(2026, 10, 26, 7, 59, tzinfo=UTC)
            assert await deliver_due(server) == 0
            clock.now = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
            assert await deliver_due(server) == 1
            hour = only(smtp.received, "over een uur")
            plain, _, calendars = parts(hour.message)
            assert "/call/" in plain and len(calendars) == 1
            assert len(smtp.received) == 3


async def test_a_resident_who_opted_out_gets_no_reminders(tmp_path: Path) -> None:
    clock = MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock) as server:
            tenant = await seed(server.engine)
            booked = await book(server, tenant, MONDAY_TEN, {"email": EMAIL})
            await deliver_due(server)
            status, _ = await server.call(
                "POST",
                server.api(tenant, f"/appointments/{booked['id']}/reminders"),
                json={"reminders": False},
                token=str(booked["manage_token"]),
            )
            assert status == 200
            async with server.app[ENGINE].connect() as conn:
                wanted = (
                    await conn.execute(
                        select(appointments.c.reminders).where(appointments.c.id == booked["id"])
                    )
                ).scalar_one()
            assert wanted is False
            clock.advance(days=4)
            assert await deliver_due(server) == 0
            assert [str(d.message["Subject"]) for d in smtp.received] == [
                "Uw afspraak op maandag 26 oktober om 10:00"
            ]


async def test_a_mail_server_that_is_down_delays_the_mail_and_the_planner_sees_it(
    tmp_path: Path,
) -> None:
    clock = MovableClock(FRIDAY)
    smtp = SmtpServer()  # not started: nothing listens on its port yet
    async with messaging_server(tmp_path, smtp.port, clock) as server:
        tenant = await seed(server.engine)
        booked = await book(server, tenant, MONDAY_TEN, {"email": EMAIL})
        assert await deliver_due(server) == 1
        (row,) = [
            r for r in await outbox_rows(server, str(booked["id"])) if r.template == "confirmation"
        ]
        assert row.state == "pending" and row.attempts == 1
        assert row.last_error.startswith("SMTP connection failed")
        assert EMAIL not in row.last_error
        async with server.app[ENGINE].connect() as conn:
            retrying = await outbox_store.unsent(conn, tenant)
            counts = await outbox_store.counts(conn, tenant)
        assert [job.message.id for job in retrying] == [row.id]
        assert counts[State.PENDING] == 3 and counts[State.SENT] == 0
        # Not again before the backoff has passed...
        assert await deliver_due(server) == 0
        smtp.start()
        try:
            clock.advance(seconds=30)
            assert await deliver_due(server) == 1
            assert len(smtp.received) == 1
            (row,) = [
                r
                for r in await outbox_rows(server, str(booked["id"]))
                if r.template == "confirmation"
            ]
            assert row.state == "sent" and row.attempts == 2 and row.last_error is None
            registry = server.app[METRICS].registry
            for outcome in ("deferred", "sent"):
                labels = {"channel": "email", "outcome": outcome}
                assert registry.get_sample_value("balie_messages_total", labels) == 1
        finally:
            smtp.stop()


async def test_a_refused_address_fails_at_once_and_the_planner_can_send_it_again(
    tmp_path: Path,
) -> None:
    clock = MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        smtp.handler.refuse_rcpt = "550 5.1.1 mailbox unavailable"
        async with messaging_server(tmp_path, smtp.port, clock) as server:
            tenant = await seed(server.engine)
            await book(server, tenant, MONDAY_TEN, {"email": EMAIL})
            assert await deliver_due(server) == 1
            async with server.app[ENGINE].connect() as conn:
                (failed,) = await outbox_store.unsent(conn, tenant)
            assert failed.message.state is State.FAILED
            assert failed.message.last_error == "SMTP refused the recipient (550)"
            smtp.handler.refuse_rcpt = None
            async with server.app[ENGINE].begin() as conn:
                assert await outbox_store.retry(conn, tenant, failed.message.id, clock())
                assert not await outbox_store.retry(conn, tenant, failed.message.id, clock())
            assert await deliver_due(server) == 1
            assert len(smtp.received) == 1
