"""Appointments for the call page's browser tests: a row in the demo tenant (as a planner's
booking would leave it), the resident's join link the confirmation shows, and the room token
the desk hands the specialist. Obviously fake data only; no personal data in the rows.

Times are real (the server's clock is the real one): a test picks a start relative to now.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp
from sqlalchemy import insert

from identity.wallet import TestWallet
from server.booking.appkeys import BOOKING
from server.booking.appointment import Appointment
from server.booking.join_links import LATE_LEAVE, new_room_id, resident_join_url
from server.core.appkeys import KEYS
from server.core.clock import AMSTERDAM
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import appointments
from signaling.roles import Role
from signaling.tokens import issue_room_token
from tests.e2e.browser import Participant, click_join, wait_for_phase
from tests.support import LiveServer

TENANT: Final = "demo"
PURPOSE: Final = "bijstand"
#: how the demo tenant names :data:`PURPOSE`
PURPOSE_NAME: Final = "Bijstand (Participatiewet)"
#: the demo staff; the database refuses overlapping appointments of one staff member, so a
#: test with several appointments gives each its own
STAFF: Final = ("demo-anna", "demo-bram", "demo-chantal", "demo-daan", "demo-esra")


async def add_appointment(
    server: LiveServer,
    start: datetime,
    *,
    minutes: int = 30,
    staff_id: str = STAFF[0],
    state: str = "booked",
) -> Appointment:
    """A booked appointment with a room, starting at ``start`` (aware)."""
    appointment_id = str(uuid.uuid4())
    end = start + timedelta(minutes=minutes)
    row = {
        "id": appointment_id,
        "tenant_id": TENANT,
        "reference": "T" + appointment_id[:7].upper(),
        "purpose_key": PURPOSE,
        "staff_id": staff_id,
        "state": state,
        "starts_at": start,
        "ends_at": end,
        "buffered_start": start,
        "buffered_end": end,
        "room_id": new_room_id(),
        "version": 1,
        "created_at": start - timedelta(days=3),
        "updated_at": start - timedelta(days=3),
    }
    async with writer(server.app[ENGINE]).begin() as conn:
        await conn.execute(insert(appointments).values(row))
    found: Appointment = await server.app[BOOKING].get(TENANT, appointment_id)
    return found


def resident_link(
    server: LiveServer, appointment: Appointment, *, shown: datetime | None = None
) -> str:
    """The join link the resident's confirmation shows (``shown``: when it was shown)."""
    url = resident_join_url(
        server.config, server.app[KEYS], appointment, now=shown or datetime.now(UTC)
    )
    assert url is not None, "the appointment has no room"
    return url


def specialist_link(
    server: LiveServer, appointment: Appointment, seat: str = "p_specialist"
) -> str:
    """The call link the desk's "Naar het gesprek" leads to (token in the fragment)."""
    assert appointment.room_id is not None
    now = int(time.time())
    token = issue_room_token(
        server.app[KEYS],
        issuer=server.config.tokens.issuer,
        room=appointment.room_id,
        participant_id=seat,
        role=Role.SPECIALIST,
        now=now,
        ttl=int((appointment.end + LATE_LEAVE).timestamp()) - now,
        purpose=appointment.purpose_key,
        tenant=appointment.tenant_id,
    )
    return f"{server.url}/call/{appointment.room_id}#token={token}"


def due_now() -> datetime:
    """A start whose call is open now: five minutes ago."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


#: Dutch day and month names, as the call page writes a date ("dinsdag 3 juni")
_DAYS: Final = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS: Final = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


def dutch_day(moment: datetime) -> str:
    """``moment``'s Amsterdam date in words."""
    local = moment.astimezone(AMSTERDAM)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def clock_time(moment: datetime) -> str:
    """``moment``'s Amsterdam time of day ("14:05")."""
    return f"{moment.astimezone(AMSTERDAM):%H:%M}"


#: obviously fake values for the demo wallet
FAKE_VALUES: Final = {
    "irma-demo.gemeente.personalData.bsn": "999999990",
    "irma-demo.gemeente.personalData.fullname": "Test Persoon",
}


async def join_and_show_identity(resident: Participant) -> None:
    """Press "Deelnemen" and let the scripted test wallet answer the page's Yivi session
    (read from the network, as a phone reads the QR code); ends in the lobby."""
    async with resident.page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await click_join(resident)
    started: Any = await (await caught.value).json()
    await resident.page.locator("#yivi-web-form canvas").wait_for(state="visible")
    async with aiohttp.ClientSession() as http:
        await TestWallet(http).disclose(started["sessionPtr"], FAKE_VALUES)
    await wait_for_phase(resident, "lobby")
