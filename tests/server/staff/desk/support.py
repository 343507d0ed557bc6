"""What the desk tests share: appointments on today's list, the desk's states and forms."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import aiohttp
from sqlalchemy import insert

from server.booking.appkeys import BOOKING
from server.booking.appointment import Appointment, AppointmentState
from server.booking.intervals import wall_to_instant
from server.booking.join_links import new_room_id
from server.core.clock import AMSTERDAM
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import appointments
from tests.server.staff.support import CSRF, Staffed


def today_start(server: Staffed) -> datetime:
    """A start time of today that has come: a few minutes ago, or just after midnight."""
    now = server.clock.now
    midnight = wall_to_instant(now.astimezone(AMSTERDAM).date(), time(0), AMSTERDAM)
    return max(now - timedelta(minutes=5), midnight + timedelta(minutes=1))


async def add_appointment(
    server: Staffed,
    start: datetime,
    *,
    staff_id: str = "demo-anna",
    state: AppointmentState = AppointmentState.BOOKED,
    purpose: str = "bijstand",
) -> Appointment:
    end = start + timedelta(minutes=30)
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tenant_id": "demo",
        "reference": "T" + secrets.token_hex(3).upper(),
        "purpose_key": purpose,
        "staff_id": staff_id,
        "state": state.value,
        "starts_at": start,
        "ends_at": end,
        "buffered_start": start,
        "buffered_end": end,
        "hold_expires_at": None,
        "room_id": new_room_id(),
        "version": 1,
        "rescheduled_from": None,
        "contact_email": None,
        "contact_phone": None,
        "created_at": server.clock.now,
        "updated_at": server.clock.now,
    }
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments).values(values))
    return await server.app[BOOKING].get("demo", values["id"])


async def desk_states(server: Staffed, session: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
    async with session.get(
        f"{server.url}/staff/desk/state", headers={"Accept": "application/json"}
    ) as response:
        assert response.status == 200
        body = await response.json()
    return {row["id"]: row for row in body["appointments"]}


async def desk_csrf(server: Staffed, session: aiohttp.ClientSession) -> str:
    async with session.get(f"{server.url}/staff/desk") as response:
        assert response.status == 200
        found = CSRF.search(await response.text())
    assert found is not None
    return found.group(1)


async def post_form(
    server: Staffed,
    session: aiohttp.ClientSession,
    path: str,
    form: dict[str, str],
    *,
    csrf: bool = True,
) -> aiohttp.ClientResponse:
    data = dict(form)
    if csrf:
        data["csrf_token"] = await desk_csrf(server, session)
    async with session.post(server.url + path, data=data, allow_redirects=False) as response:
        await response.read()
        return response


async def outcome(
    server: Staffed,
    session: aiohttp.ClientSession,
    appointment: Appointment,
    outcome: str,
    *,
    csrf: bool = True,
) -> aiohttp.ClientResponse:
    path = f"/staff/desk/appointments/{appointment.id}/outcome"
    return await post_form(server, session, path, {"outcome": outcome}, csrf=csrf)


def was_recorded(response: aiohttp.ClientResponse) -> bool:
    """Did the outcome form answer "recorded" (not, say, a redirect to sign-in)?"""
    return response.status == 303 and response.headers["Location"] == "/staff/desk?vastgelegd=1"
