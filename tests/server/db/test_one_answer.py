"""One feedback answer per room and per appointment, refused by the database itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import writer
from server.db.schema import feedback
from tests.server.db.support import seed_tenant

AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def _answer(engine: AsyncEngine, tenant: str, **values: object) -> None:
    async with writer(engine).begin() as conn:
        await conn.execute(insert(feedback).values(tenant_id=tenant, score=4, at=AT, **values))


async def test_a_second_answer_for_a_room_is_refused(engine: AsyncEngine) -> None:
    tenant = await seed_tenant(engine)
    room = f"r_{uuid.uuid4().hex}"
    await _answer(engine, tenant, room_id=room)
    with pytest.raises(IntegrityError):
        await _answer(engine, tenant, room_id=room)
    await _answer(engine, tenant, room_id=f"r_{uuid.uuid4().hex}")  # another room answers


async def test_a_second_answer_for_an_appointment_is_refused(engine: AsyncEngine) -> None:
    tenant = await seed_tenant(engine)
    appointment = str(uuid.uuid4())
    await _answer(engine, tenant, appointment_id=appointment, room_id=f"r_{uuid.uuid4().hex}")
    with pytest.raises(IntegrityError):
        # the same appointment through another room (a rescheduled call's old link)
        await _answer(engine, tenant, appointment_id=appointment, room_id=f"r_{uuid.uuid4().hex}")
