"""What the planner tests share: dates to book on, the console's pages, seeded numbers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

import aiohttp
from sqlalchemy import insert

from server.booking.appkeys import BOOKING
from server.booking.service import BookingService
from server.core.clock import AMSTERDAM
from server.core.holidays import DEFAULT_RULES, closing_holiday
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import appointments, audit_events, feedback
from tests.server.staff.support import Staffed

TENANT = "demo"
ANNA = "demo-anna"
#: the dashboard's seeded week starts on this Monday
MONDAY = date(2026, 3, 2)
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
HOURS_TABLE = re.compile(r'<table class="hours-grid">.*?</table>', re.S)
HIDDEN_LABEL = re.compile(r'<label class="visually-hidden" for="([^"]+)">([^<]+)</label>')


def booking_service(server: Staffed) -> BookingService:
    return server.app[BOOKING]


def next_weekday(weekday: int, *, after_days: int = 2) -> date:
    """The first local date with ``weekday`` at least ``after_days`` from today that no public
    holiday closes (the demo tenant keeps the default holiday rules): past every purpose's
    notice, inside every horizon."""
    day = datetime.now(AMSTERDAM).date() + timedelta(days=after_days)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while closing_holiday(DEFAULT_RULES, day) is not None:
        day += timedelta(days=7)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=AMSTERDAM)


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def post(
    session: aiohttp.ClientSession, url: str, data: dict[str, str]
) -> tuple[int, str, str]:
    async with session.post(url, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def book(server: Staffed, purpose: str, start: datetime) -> str:
    service = booking_service(server)
    held = await service.hold(TENANT, purpose, start)
    booked = await service.confirm(TENANT, held.id, held.version)
    return booked.id


async def seed_numbers(server: Staffed) -> None:
    """Two completed calls and a no-show on Monday 2 March 2026, one completed call on
    Wednesday; lobby waits of 4 and 2 minutes on Monday; feedback in two weeks."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    ids = []
    for day, hour, state, purpose in (
        (MONDAY, 9, "completed", "bijstand"),
        (MONDAY, 10, "completed", "wmo"),
        (MONDAY, 11, "no_show", "bijstand"),
        (MONDAY + timedelta(days=2), 9, "completed", "bijstand"),
        (MONDAY + timedelta(days=2), 10, "cancelled", "bijstand"),
        (MONDAY + timedelta(days=9), 9, "completed", "bijstand"),  # outside the window
    ):
        start = local(day, hour)
        appointment_id = str(uuid.uuid4())
        ids.append(appointment_id)
        rows.append(
            {
                "id": appointment_id,
                "tenant_id": TENANT,
                "reference": appointment_id[:8].upper(),
                "purpose_key": purpose,
                "staff_id": ANNA,
                "state": state,
                "starts_at": start,
                "ends_at": start + timedelta(minutes=30),
                "buffered_start": start,
                "buffered_end": start + timedelta(minutes=40),
                "version": 5,
                "contact_email": "persoon@example.invalid",
                "created_at": now,
                "updated_at": now,
            }
        )
    events = []
    for appointment_id, hour, minutes in ((ids[0], 9, 4), (ids[1], 10, 2)):
        admitted = local(MONDAY, hour, 5)
        for action, at in (
            ("appointment.check_in", admitted - timedelta(minutes=minutes)),
            ("appointment.start_call", admitted),
        ):
            events.append(
                {
                    "tenant_id": TENANT,
                    "at": at,
                    "actor": "resident",
                    "action": action,
                    "subject": f"appointment:{appointment_id}",
                    "attributes": [],
                }
            )
    scores = [
        (local(MONDAY, 12), "bijstand", 4),
        (local(MONDAY, 13), "bijstand", 5),
        (local(MONDAY, 14), "wmo", 2),
        (local(MONDAY + timedelta(days=7), 12), "bijstand", 3),
        (local(MONDAY + timedelta(days=7), 12), None, 1),
    ]
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments), rows)
        await conn.execute(insert(audit_events), events)
        await conn.execute(
            insert(feedback),
            [
                {
                    "tenant_id": TENANT,
                    "purpose_key": purpose,
                    "score": score,
                    "comment": "Mevrouw Jansen was erg aardig",
                    "at": at,
                }
                for at, purpose, score in scores
            ],
        )


EXPECTED_CSV = [
    ["metric", "period", "purpose", "value", "count"],
    ["calls", "2026-03-02", "", "2", ""],
    ["no_shows", "2026-03-02", "", "1", ""],
    ["waiting_minutes_avg", "2026-03-02", "", "3.0", "2"],
    *[
        row
        for n in range(1, 8)
        for row in (
            ["calls", (MONDAY + timedelta(days=n)).isoformat(), "", "1" if n == 2 else "0", ""],
            ["no_shows", (MONDAY + timedelta(days=n)).isoformat(), "", "0", ""],
            ["waiting_minutes_avg", (MONDAY + timedelta(days=n)).isoformat(), "", "", "0"],
        )
    ],
    ["satisfaction_avg", "2026-W10", "bijstand", "4.5", "2"],
    ["satisfaction_avg", "2026-W10", "wmo", "2.0", "1"],
    ["satisfaction_avg", "2026-W11", "-", "1.0", "1"],
    ["satisfaction_avg", "2026-W11", "bijstand", "3.0", "1"],
]
