"""The demo tenant: seeded idempotently, and bookable."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.service import BookingService
from server.db.demo import DEMO_TENANT, PURPOSES, STAFF, seed_demo
from server.db.schema import availability_rules, purposes, staff
from tests.server.db.support import FakeClock


async def counts(engine: AsyncEngine) -> tuple[int, ...]:
    async with engine.connect() as conn:
        found = []
        for table in (purposes, staff, availability_rules):
            query = select(func.count()).select_from(table).where(table.c.tenant_id == DEMO_TENANT)
            found.append(int((await conn.execute(query)).scalar_one()))
    return tuple(found)


async def test_seeding_twice_adds_nothing_the_second_time(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await seed_demo(engine)
    first = await counts(engine)
    assert first[:2] == (len(PURPOSES), len(STAFF))
    await seed_demo(engine)
    assert await counts(engine) == first

    booking = BookingService(engine, clock=clock)
    for purpose in PURPOSES:
        dates = await booking.available_dates(DEMO_TENANT, purpose["key"])
        assert dates, purpose["key"]
        slots = await booking.available_times(DEMO_TENANT, purpose["key"], dates[0])
        held = await booking.hold(DEMO_TENANT, purpose["key"], slots[0].start)
        assert held.staff_id in slots[0].staff_ids
