"""What the booking tests share: a running Balie with an HTTP client, a seeded tenant, and
the API calls a forms platform makes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.config import (
    BookingSettings,
    CalDAVCredentials,
    Config,
    DatabaseSettings,
    MessagesSettings,
)
from server.db.appkeys import ENGINE
from server.db.schema import appointments, availability_rules, purposes, staff, tenants
from server.messages.appkeys import OUTBOX
from tests.support import config_for, live_server

EMAIL: Final = "test@example.invalid"

#: the Dutch numbering plan's example mobile number, as a resident types it ...
PHONE: Final = "+31 6 12345678"
#: ... and as Balie stores it (E.164)
PHONE_E164: Final = "+31612345678"

HOURS: Final = (clock(8), clock(20))


@dataclasses.dataclass
class BookingClient:
    """The booking API as a forms platform calls it, on the Balie at ``url`` (in this
    process or another)."""

    url: str
    http: aiohttp.ClientSession

    def api(self, tenant: str, path: str) -> str:
        return f"{self.url}/api/tenants/{tenant}{path}"

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        key: str | None = None,
        token: str | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = {}
        if key is not None:
            headers["Idempotency-Key"] = key
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(
            method, url, json=json, headers=headers, params=params
        ) as response:
            if response.content_type == "text/calendar":
                return response.status, await response.read()
            return response.status, await response.json(content_type=None)


@dataclasses.dataclass
class Booking(BookingClient):
    """A running Balie in this process and an HTTP client for it."""

    config: Config
    app: web.Application

    @property
    def engine(self) -> AsyncEngine:
        return self.app[ENGINE]

    async def drain_calendar(self) -> None:
        """Deliver what the outbox holds that is due (calendar writes among it)."""
        await self.app[OUTBOX].run_due()


@asynccontextmanager
async def booking_server(
    data_dir: Path,
    *,
    database_url: str = "",
    credentials: dict[str, CalDAVCredentials] | None = None,
) -> AsyncIterator[Booking]:
    config = config_for(
        data_dir,
        database=DatabaseSettings(url=database_url, demo_data=False),
        booking=BookingSettings(caldav_timeout=10, caldav_credentials=credentials or {}),
        # the tests deliver what is due themselves (drain_calendar), never a poll beside them
        messages=MessagesSettings(poll_seconds=3600),
    )
    # the production access logger, so tests see what an operator's log would show
    async with live_server(data_dir, config=config, access_log=True) as running:
        async with aiohttp.ClientSession() as http:
            yield Booking(config.public_url, http, config, running.app)


async def seed(engine: AsyncEngine, *, calendar_source: str | None = None) -> str:
    """A tenant with one specialist (s1, every day 08:00–20:00) and the purpose ``intake``
    (30 minutes, slots every 30, no notice), whose identity step asks the BSN."""
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(tenants).values(id=tenant, name="Gemeente Test", created_at=now))
        await conn.execute(
            insert(purposes).values(
                tenant_id=tenant,
                key="intake",
                name="Wmo intake",
                skill="wmo",
                duration_minutes=30,
                buffer_before_minutes=0,
                buffer_after_minutes=0,
                min_notice_minutes=0,
                horizon_days=28,
                slot_interval_minutes=30,
                daily_cap=None,
                retention_days=None,
                disclosure=["bsn"],
                active=True,
            )
        )
        await conn.execute(
            insert(staff).values(
                tenant_id=tenant,
                id="s1",
                name="Staff s1",
                skills=["wmo"],
                roles=["specialist"],
                daily_cap=None,
                calendar_source=calendar_source,
                calendar_failure="hide",
                active=True,
            )
        )
        await conn.execute(
            insert(availability_rules),
            [
                {
                    "tenant_id": tenant,
                    "staff_id": "s1",
                    "weekday": weekday,
                    "start_time": HOURS[0],
                    "end_time": HOURS[1],
                }
                for weekday in range(7)
            ],
        )
    return tenant


async def free_times(server: BookingClient, tenant: str) -> list[str]:
    """Starts on a date a few days ahead (clear of today's passing hours)."""
    status, dates = await server.call("GET", server.api(tenant, "/purposes/intake/dates"))
    assert status == 200, dates
    day = dates["dates"][3]
    status, times = await server.call(
        "GET", server.api(tenant, "/purposes/intake/times"), params={"date": day}
    )
    assert status == 200, times
    return [t["start"] for t in times["times"]]


async def hold(server: BookingClient, tenant: str, start: str) -> dict[str, Any]:
    """A hold on ``start`` (of the purpose ``intake``)."""
    status, held = await server.call(
        "POST", server.api(tenant, "/holds"), json={"purpose": "intake", "start": start}, key=key()
    )
    assert status == 201, held
    assert isinstance(held, dict)
    return held


async def book(
    server: BookingClient, tenant: str, start: str, *, contact: dict[str, str] | None = None
) -> dict[str, Any]:
    held = await hold(server, tenant, start)
    body: dict[str, Any] = {"hold_id": held["id"], "version": held["version"]}
    if contact is not None:
        body["contact"] = contact
    status, booked = await server.call(
        "POST", server.api(tenant, "/appointments"), json=body, key=key()
    )
    assert status == 201, booked
    assert isinstance(booked, dict)
    return booked


def key() -> str:
    return str(uuid.uuid4())


async def count_appointments(engine: AsyncEngine, tenant: str) -> dict[str, int]:
    query = (
        select(appointments.c.state, func.count())
        .where(appointments.c.tenant_id == tenant)
        .group_by(appointments.c.state)
    )
    async with engine.connect() as conn:
        return {state: n for state, n in (await conn.execute(query)).all()}
