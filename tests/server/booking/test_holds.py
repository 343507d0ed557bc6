"""Holds are capped per client and per browser (issue 10, found by the attacker: one address
held 20 of a purpose's 40 slots, renewable at will), on SQLite and the real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import AppointmentState
from server.booking.errors import TooManyHolds
from server.booking.links import LinkKeys
from server.booking.service import BookingService, Holder
from server.db.schema import appointments
from tests.server.db.support import TUESDAY_10, FakeClock, seed_tenant

S = AppointmentState
CAP = 3
ADDRESS = "192.0.2.10"  # TEST-NET-1: an address no real client has
BROWSER = "b" * 22


def capped(engine: AsyncEngine, clock: FakeClock) -> BookingService:
    return BookingService(engine, clock=clock, link_keys=LinkKeys.generate(), holds_per_client=CAP)


def starts(count: int) -> list[datetime]:
    """Starts 45 minutes apart, so none overlaps another (intake takes 30 minutes plus 5
    minutes of buffer either side) and eight fit in the day's hours."""
    return [TUESDAY_10 + timedelta(minutes=45 * n) for n in range(count)]


async def test_a_client_holds_at_most_the_cap_at_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = capped(engine, clock)
    client = Holder(client=ADDRESS)
    held = [await booking.hold(tenant, "intake", s, holder=client) for s in starts(CAP)]
    with pytest.raises(TooManyHolds):
        await booking.hold(tenant, "intake", starts(CAP + 1)[-1], holder=client)
    # another client is not held back by this one
    await booking.hold(tenant, "intake", starts(CAP + 1)[-1], holder=Holder(client="192.0.2.11"))
    # booking one frees a place under the cap; so does a hold lapsing
    await booking.confirm(tenant, held[0].id, held[0].version)
    await booking.hold(tenant, "intake", starts(CAP + 2)[-1], holder=client)
    clock.advance(booking.hold_duration)
    for start in starts(CAP + 5)[-CAP:]:
        await booking.hold(tenant, "intake", start, holder=client)


async def test_a_new_hold_of_a_browser_releases_its_earlier_one(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = capped(engine, clock)
    browser = Holder(client=ADDRESS, browser=BROWSER)
    first = await booking.hold(tenant, "intake", TUESDAY_10, holder=browser)
    later = TUESDAY_10 + timedelta(hours=1)
    second = await booking.hold(tenant, "intake", later, holder=browser)
    assert (await booking.get(tenant, first.id)).state is S.RELEASED
    assert (await booking.get(tenant, second.id)).state is S.HELD
    # the first time is free again for anyone
    await booking.hold(tenant, "intake", TUESDAY_10, holder=Holder(browser="c" * 22))


async def test_only_pseudonyms_are_stored_and_only_while_a_hold_lives(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = capped(engine, clock)
    held = await booking.hold(
        tenant, "intake", TUESDAY_10, holder=Holder(client=ADDRESS, browser=BROWSER)
    )
    lapsing = await booking.hold(
        tenant, "intake", TUESDAY_10 + timedelta(hours=2), holder=Holder(client=ADDRESS)
    )

    async def holder_columns(appointment_id: str) -> tuple[str | None, str | None]:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(appointments.c.hold_client, appointments.c.hold_browser).where(
                        appointments.c.id == appointment_id
                    )
                )
            ).one()
        return row.hold_client, row.hold_browser

    client, browser = await holder_columns(held.id)
    assert client is not None and browser is not None
    assert ADDRESS not in client and BROWSER not in browser and len(client) == 32
    await booking.confirm(tenant, held.id, held.version)
    assert await holder_columns(held.id) == (None, None)
    clock.advance(booking.hold_duration)
    await booking.expire_holds()
    assert (await booking.get(tenant, lapsing.id)).state is S.EXPIRED
    assert await holder_columns(lapsing.id) == (None, None)
