"""Contention: many residents race for one staff member's time; exactly one wins.

Run on SQLite (``BEGIN IMMEDIATE`` + trigger) and on the real PostgreSQL (exclusion
constraint), each with up to 30 transactions in flight at once. Afterwards a self-join
counts overlapping active rows: it must be zero. The last tests go around the service and
write rows directly, to show that the database itself refuses the overlap.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import Appointment, AppointmentState
from server.booking.errors import BookingError, SlotTaken
from server.booking.service import BookingService
from server.db import writer
from server.db.schema import appointments
from tests.server.db.support import T0, TUESDAY_10, FakeClock, overlapping_pairs, seed_tenant

ATTEMPTS = 100
MINUTE = timedelta(minutes=1)


async def race(attempts: list[Any]) -> tuple[list[Appointment], list[BaseException]]:
    results = await asyncio.gather(*attempts, return_exceptions=True)
    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if isinstance(r, BaseException)]
    return won, lost


async def test_100_attempts_at_the_same_slot_give_one_hold(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    won, lost = await race(
        [booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1") for _ in range(ATTEMPTS)]
    )
    assert len(won) == 1
    assert len(lost) == ATTEMPTS - 1
    assert all(isinstance(error, SlotTaken) for error in lost), {type(e) for e in lost}
    assert await overlapping_pairs(engine) == 0


async def test_100_partially_overlapping_attempts_give_one_hold(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    # Two-hour slots starting a minute apart, 09:00 to 10:39: every pair overlaps, none is
    # identical, so an exact-interval unique key would let all of them through.
    starts = [TUESDAY_10 - 60 * MINUTE + i * MINUTE for i in range(ATTEMPTS)]
    won, lost = await race([booking.hold(tenant, "long", start, staff_id="s1") for start in starts])
    assert len(won) == 1
    assert all(isinstance(error, SlotTaken) for error in lost), {type(e) for e in lost}
    assert await overlapping_pairs(engine) == 0


async def test_racing_for_any_staff_member_fills_each_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    won, lost = await race([booking.hold(tenant, "intake", TUESDAY_10) for _ in range(40)])
    assert sorted(w.staff_id for w in won) == ["s1", "s2"]
    assert all(isinstance(error, SlotTaken) for error in lost)
    assert await overlapping_pairs(engine) == 0


async def test_confirm_races_with_a_thief_after_expiry(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    mine = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    clock.advance(20 * MINUTE)
    results = await asyncio.gather(
        booking.confirm(tenant, mine.id, mine.version),
        *(booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1") for _ in range(20)),
        return_exceptions=True,
    )
    confirmed, thieves = results[0], results[1:]
    assert isinstance(confirmed, BookingError)  # the hold lapsed: it cannot win
    assert sum(isinstance(r, Appointment) for r in thieves) == 1
    assert await overlapping_pairs(engine) == 0


# --- the database alone -------------------------------------------------------------------


def row(tenant: str, start_minutes: int, length: int, state: str = "booked") -> dict[str, Any]:
    start = TUESDAY_10 + start_minutes * MINUTE
    return {
        "id": str(uuid.uuid4()),
        "tenant_id": tenant,
        "reference": uuid.uuid4().hex[:8].upper(),
        "purpose_key": "intake",
        "staff_id": "s1",
        "state": state,
        "starts_at": start,
        "ends_at": start + length * MINUTE,
        "buffered_start": start,
        "buffered_end": start + length * MINUTE,
        "hold_expires_at": T0 + timedelta(hours=1) if state == "held" else None,
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
    }


async def put(engine: AsyncEngine, values: dict[str, Any]) -> None:
    async with writer(engine).begin() as conn:
        await conn.execute(insert(appointments).values(values))


@pytest.mark.parametrize(
    ("start", "length"),
    [(0, 30), (15, 30), (-15, 30), (5, 10), (-30, 120)],
    ids=["identical", "tail", "head", "inside", "around"],
)
async def test_the_database_refuses_an_overlapping_row(
    engine: AsyncEngine, start: int, length: int
) -> None:
    tenant = await seed_tenant(engine)
    await put(engine, row(tenant, 0, 30, state="held"))
    with pytest.raises(IntegrityError, match="appointments_no_overlap"):
        await put(engine, row(tenant, start, length))
    assert await overlapping_pairs(engine) == 0


async def test_the_database_allows_touching_and_inactive_rows(engine: AsyncEngine) -> None:
    tenant = await seed_tenant(engine)
    first = row(tenant, 0, 30)
    await put(engine, first)
    await put(engine, row(tenant, 30, 30))  # touches: [10:00, 10:30) and [10:30, 11:00)
    await put(engine, row(tenant, -30, 30))
    for state in ("cancelled", "expired", "released", "completed", "no_show"):
        await put(engine, row(tenant, 0, 30, state=state))
    # Reviving a cancelled row into an active state is an overlap as well.
    cancelled = row(tenant, 10, 10, state="cancelled")
    await put(engine, cancelled)
    with pytest.raises(IntegrityError, match="appointments_no_overlap"):
        async with writer(engine).begin() as conn:
            await conn.execute(
                update(appointments)
                .where(appointments.c.id == cancelled["id"])
                .values(state=AppointmentState.BOOKED)
            )
    assert await overlapping_pairs(engine) == 0
