"""A control character in any form field is refused with a page and changes nothing, on
SQLite and on PostgreSQL (which refuses a NUL itself, with an error that was a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from server.config import DatabaseSettings
from server.db.appkeys import ENGINE
from server.db.schema import appointments, audit_events, feedback
from tests.server.booking.support import Booking, booking_server, seed
from tests.server.resident.support import (
    Resident,
    book,
    field,
    hold,
    radios,
    room_and_token,
    times_page,
)
from tests.server.staff.support import csrf_of, staff_client, staffed_server
from tests.support import config_for

NUL = "\x00"


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[Booking]:
    async with booking_server(tmp_path, database_url=database_url) as live:
        yield live


@pytest.fixture
async def resident(server: Booking) -> AsyncIterator[Resident]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Resident(server, http)


async def _feedback_rows(server: Booking) -> int:
    async with server.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(feedback))).scalar_one())


async def test_a_contact_address_with_a_nul_books_nothing(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    status, location = await hold(resident, tenant, page, radios(page, "start")[0])
    assert status == 303
    _, details = await resident.get(location)
    form = {"key": field(details, "key"), "email": f"test{NUL}@example.invalid", "phone": ""}
    status, _ = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 400  # a page for a browser (Accept: text/html), problem JSON otherwise
    async with server.engine.connect() as conn:
        states = list(await conn.execute(select(appointments.c.state)))
    assert [row.state for row in states] == ["held"]


async def test_a_feedback_comment_with_a_control_character_is_not_stored(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    await book(resident, tenant)
    _, room, token = await room_and_token(server, tenant)
    status, form_page = await resident.post(f"/feedback/{room}", {"room_token": token})
    assert status == 200
    answer = {"room_token": field(form_page, "room_token"), "answer": "1", "score": "4"}
    for bad in (f"prima{NUL}", "prima\x1b[2J", "prima\x7f"):
        status, _ = await resident.post(f"/feedback/{room}", answer | {"comment": bad})
        assert status == 400
    assert await _feedback_rows(server) == 0


async def test_a_sign_in_with_a_nul_is_refused_and_counts_nothing(
    tmp_path: Path, database_url: str
) -> None:
    config = config_for(tmp_path, database=DatabaseSettings(url=database_url, demo_data=True))
    async with staffed_server(tmp_path, config=config) as server, staff_client(server) as client:
        token = await csrf_of(client, f"{server.url}/staff/sign-in")
        form = {"csrf_token": token, "tenant": "demo", "login": f"special{NUL}ist", "password": "x"}
        async with client.post(f"{server.url}/staff/sign-in", data=form) as response:
            assert response.status == 400
            assert "Dit verzoek klopt niet" in await response.text()
        async with server.app[ENGINE].connect() as conn:
            failed = await conn.scalar(
                select(func.count()).where(audit_events.c.action == "staff.sign_in_failed")
            )
        assert failed == 0
