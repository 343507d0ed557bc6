"""Durability: a booking survives a restart, and a process killed in the middle of a
booking leaves all of it or none of it (no half-written rows, no lock left behind)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import AppointmentState
from server.booking.errors import SlotTaken
from server.booking.service import BookingService
from server.db.schema import appointments, audit_events, idempotency_keys
from tests.server.db.support import TUESDAY_10, Database, FakeClock, seed_tenant

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = 60.0  # only stops a hung worker from hanging the suite


async def test_a_booking_survives_a_restart(database: Database, clock: FakeClock) -> None:
    first = database.engine()
    try:
        tenant = await seed_tenant(first)
        booking = BookingService(first, clock=clock)
        held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
        booked = await booking.confirm(tenant, held.id, held.version)
    finally:
        await first.dispose()

    second = database.engine()  # a new process would start exactly like this
    try:
        again = BookingService(second, clock=clock)
        assert await again.get(tenant, booked.id) == booked
        with pytest.raises(SlotTaken):
            await again.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    finally:
        await second.dispose()


async def rows(engine: AsyncEngine, tenant: str) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        counts = []
        for table in (appointments, audit_events, idempotency_keys):
            query = select(func.count()).select_from(table).where(table.c.tenant_id == tenant)
            counts.append(int((await conn.execute(query)).scalar_one()))
    return counts[0], counts[1], counts[2]


async def kill_at(url: str, tenant: str, point: str) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.server.db.crash_worker",
        url,
        tenant,
        point,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None and worker.stderr is not None
    try:
        line = await asyncio.wait_for(worker.stdout.readline(), DEADLINE)
        if line.decode().strip() != f"AT {point}":
            error = await asyncio.wait_for(worker.stderr.read(), DEADLINE)
            pytest.fail(f"worker did not reach {point}: {line!r} {error.decode()[-2000:]}")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        assert await asyncio.wait_for(worker.wait(), DEADLINE) == -signal.SIGKILL


@pytest.mark.parametrize("point", ["insert", "audit"])
async def test_a_kill_inside_the_transaction_leaves_nothing(
    database: Database, engine: AsyncEngine, clock: FakeClock, point: str
) -> None:
    tenant = await seed_tenant(engine)
    await kill_at(database.url, tenant, point)
    assert await rows(engine, tenant) == (0, 0, 0)
    # Nothing was left behind either: no row, no lock. The same slot and key are free.
    booking = BookingService(engine, clock=clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="crash")
    assert held.state is AppointmentState.HELD


async def test_a_kill_after_the_commit_leaves_the_whole_booking(
    database: Database, engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    await kill_at(database.url, tenant, "commit")
    assert await rows(engine, tenant) == (1, 1, 1)
    # The resident's retry (same key) gets the booking the dead process made.
    booking = BookingService(engine, clock=clock)
    replay = await booking.hold(
        tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="crash"
    )
    assert replay.state is AppointmentState.HELD
    assert await rows(engine, tenant) == (1, 1, 1)
