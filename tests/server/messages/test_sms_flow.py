"""A resident who gave a mobile number instead of an e-mail address: the confirmation and the
reminders reach them as SMS, through the CM.com provider, at a local gateway that checks
every request against CM's documented shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_aiohttp import AiohttpServer

from server.config import SmsProviderName
from server.walkin.appkeys import WALKIN
from tests.server.booking.support import Booking, seed
from tests.server.messages.cm import PATH, TOKEN, FakeCm
from tests.server.messages.smtp import SmtpServer
from tests.server.messages.support import (
    FRIDAY,
    MONDAY_TEN,
    book,
    deliver_due,
    messaging_server,
    outbox_rows,
)
from tests.support import MovableClock

PHONE = "06 12345678"


@asynccontextmanager
async def texting_server(
    tmp_path: Path,
    smtp: SmtpServer,
    aiohttp_server: AiohttpServer,
    fake: FakeCm,
    clock: MovableClock,
) -> AsyncIterator[Booking]:
    """Balie sending its SMS through CM.com at ``fake``, on a loopback port."""
    gateway = await aiohttp_server(fake.app())
    async with messaging_server(
        tmp_path,
        smtp.port,
        clock,
        sms_provider=SmsProviderName.CM,
        sms_url=str(gateway.make_url(PATH)),
        sms_token=TOKEN,
    ) as server:
        yield server


async def test_a_phone_number_gets_the_confirmation_and_reminders_by_sms(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake, clock = FakeCm(), MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with texting_server(tmp_path, smtp, aiohttp_server, fake, clock) as server:
            tenant = await seed(server.engine)
            booked = await book(server, tenant, MONDAY_TEN, {"phone": PHONE})
            assert await deliver_due(server) == 1
            clock.now = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)  # the day reminder
            assert await deliver_due(server) == 1
            rows = await outbox_rows(server, str(booked["id"]))
    assert smtp.received == []  # no e-mail address: no e-mail
    assert fake.problems == []
    texts = [m["messages"]["msg"][0] for m in fake.seen]
    assert [t["to"] for t in texts] == [[{"number": "0031612345678"}]] * 2
    first, second = (t["body"]["content"] for t in texts)
    assert first.startswith("Gemeente Test: uw afspraak is op maandag 26 oktober om 10:00.")
    assert f"/afspraak/{tenant}/{booked['id']}#token=" in first
    assert second.startswith("Gemeente Test: morgen uw afspraak, maandag 26 oktober om 10:00.")
    sent = {r.template: r for r in rows if r.channel == "sms"}
    assert sent["confirmation"].state == "sent" and sent["reminder-day"].state == "sent"
    # CM's reference is the outbox row, so its support can trace one message
    assert texts[0]["reference"] == sent["confirmation"].id.replace("-", "")


async def test_without_an_sms_provider_the_planner_sees_why_nothing_went(tmp_path: Path) -> None:
    clock = MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock, max_attempts=1) as server:
            tenant = await seed(server.engine)
            booked = await book(server, tenant, MONDAY_TEN, {"phone": PHONE})
            assert await deliver_due(server) == 1
            (row,) = [
                r
                for r in await outbox_rows(server, str(booked["id"]))
                if r.template == "confirmation"
            ]
    assert row.state == "failed"
    assert row.last_error == "no SMS provider is configured (BALIE_SMS_PROVIDER)"


async def test_a_call_back_to_a_mobile_number_is_confirmed_by_sms_and_a_landline_is_not(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    fake, clock = FakeCm(), MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with texting_server(tmp_path, smtp, aiohttp_server, fake, clock) as server:
            tenant = await seed(server.engine)
            callbacks = server.app[WALKIN].callbacks
            window = (MONDAY_TEN, MONDAY_TEN + timedelta(hours=1))
            mobile = await callbacks.request(tenant, "intake", PHONE, window, [window], FRIDAY)
            await callbacks.request(tenant, "intake", "020 555 0123", window, [window], FRIDAY)
            assert await deliver_due(server) == 1
            rows = await outbox_rows(server)
    assert fake.problems == []
    (sent,) = [m["messages"]["msg"][0] for m in fake.seen]
    assert sent["to"] == [{"number": "0031612345678"}]
    assert sent["body"]["content"] == (
        "Gemeente Test: we bellen u terug op maandag 26 oktober tussen 10:00 en 11:00 over "
        "Wmo intake. Het nummer waarmee we bellen kan afgeschermd zijn."
    )
    assert [(r.template, r.subject_id, r.state) for r in rows] == [("callback", mobile.id, "sent")]
