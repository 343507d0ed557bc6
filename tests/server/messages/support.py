"""What the message tests share: a Balie sending to a real SMTP server, with a movable clock,
and the outbox rows of an appointment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from server.config import DatabaseSettings
from server.db.appkeys import ENGINE
from server.db.schema import outbox
from server.messages.appkeys import OUTBOX
from tests.server.booking.support import Booking, BookingClient, key
from tests.server.messages.smtp import smtp_settings
from tests.support import MovableClock, config_for, live_server

#: the tests' now: Friday 23 October 2026, 12:00 in Amsterdam (CEST); the clocks go back on
#: Sunday the 25th
FRIDAY = datetime(2026, 10, 23, 10, 0, tzinfo=UTC)
#: the appointment they book: Monday 26 October 2026, 10:00 in Amsterdam, now CET (UTC+1)
MONDAY_TEN = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def messaging_server(
    data_dir: Path,
    smtp_port: int,
    clock: MovableClock,
    *,
    database_url: str = "",
    **messages: Any,
) -> AsyncIterator[Booking]:
    """Balie sending its e-mail to 127.0.0.1:``smtp_port``, without demo data. The tests run
    what is due themselves (:func:`deliver_due`), at the clock's time."""
    config = config_for(
        data_dir,
        database=DatabaseSettings(url=database_url, demo_data=False),
        messages=smtp_settings(smtp_port, **messages),
    )
    async with live_server(data_dir, config=config, clock=clock) as running:
        async with aiohttp.ClientSession() as http:
            yield Booking(config.public_url, http, config, running.app)


async def deliver_due(server: Booking) -> int:
    return await server.app[OUTBOX].run_due()


async def outbox_rows(server: Booking, subject_id: str | None = None) -> list[Any]:
    query = select(outbox).order_by(outbox.c.created_at, outbox.c.template)
    if subject_id is not None:
        query = query.where(outbox.c.subject_id == subject_id)
    async with server.app[ENGINE].connect() as conn:
        return list((await conn.execute(query)).all())


async def book(
    client: BookingClient, tenant: str, start: datetime, contact: dict[str, str]
) -> dict[str, Any]:
    """Hold and confirm ``start`` of the purpose ``intake`` through the API, as a forms
    platform does, with the resident's ``contact`` details."""
    status, held = await client.call(
        "POST",
        client.api(tenant, "/holds"),
        json={"purpose": "intake", "start": start.isoformat()},
        key=key(),
    )
    assert status == 201, held
    status, booked = await client.call(
        "POST",
        client.api(tenant, "/appointments"),
        json={"hold_id": held["id"], "version": held["version"], "contact": contact},
        key=key(),
    )
    assert status == 201, booked
    assert isinstance(booked, dict)
    return booked
