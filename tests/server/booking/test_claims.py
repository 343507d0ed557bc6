"""How a slot is claimed (BookingService._place): booked at once in one transaction, the
fairest staff member no other writer holds, a slot already gone refused before any write,
and a key that was used replaying instead of being refused.

On SQLite and on the real PostgreSQL; the tests that hold a staff row locked from another
transaction are PostgreSQL's, where writers lock rows (SQLite's writer excludes all others).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.booking import store
from server.booking.appointment import Appointment, AppointmentState, Contact
from server.booking.errors import IdempotencyConflict, SlotTaken, SlotUnavailable
from server.booking.hooks import ChangeReason
from server.booking.service import BookingService
from server.db import writer
from server.db.schema import appointments, audit_events, purposes, staff
from tests.server.db.support import (
    TUESDAY_10,
    Database,
    FakeClock,
    module_database,
    open_engine,
    overlapping_pairs,
    seed_tenant,
)

FAKE_MAIL = "nobody@example.invalid"


class Recorder:
    """A :class:`~server.booking.hooks.ChangeHook` that notes what it is told, and on which
    connection (the change's own transaction, or not)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, AppointmentState, bool]] = []

    async def changed(
        self,
        conn: AsyncConnection,
        appointment: Appointment,
        now: datetime,
        *,
        moved_to: Appointment | None = None,
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> None:
        self.seen.append((appointment.id, appointment.state, conn.in_transaction()))


async def rows(engine: AsyncEngine, tenant: str) -> list[Any]:
    async with engine.connect() as conn:
        found = await conn.execute(select(appointments).where(appointments.c.tenant_id == tenant))
        return list(found)


async def actions(engine: AsyncEngine, tenant: str) -> list[str]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(audit_events.c.action).where(audit_events.c.tenant_id == tenant)
        )
        return [row.action for row in found]


async def test_book_at_once_is_one_booked_row_told_and_audited(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    hook = Recorder()
    booking = BookingService(engine, clock=clock, on_change=hook)
    booked = await booking.book(
        tenant, "intake", TUESDAY_10, contact=Contact(email=FAKE_MAIL), room_id="r" * 22
    )
    assert booked.state is AppointmentState.BOOKED and booked.version == 1
    assert booked.hold_expires_at is None and booked.room_id == "r" * 22
    (row,) = await rows(engine, tenant)
    assert (row.id, row.state, row.contact_email) == (booked.id, "booked", FAKE_MAIL)
    assert (row.hold_client, row.hold_browser) == (None, None)
    assert hook.seen == [(booked.id, AppointmentState.BOOKED, True)]
    assert await actions(engine, tenant) == ["appointment.book"]


async def test_book_at_once_replays_its_key_and_refuses_it_for_another_request(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    first = await booking.book(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="k1")
    # The slot is gone now, to everyone but the request that took it.
    again = await booking.book(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="k1")
    assert again.id == first.id
    with pytest.raises(SlotTaken):
        await booking.book(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="k2")
    with pytest.raises(IdempotencyConflict):
        await booking.book(tenant, "intake", TUESDAY_10, staff_id="s2", idempotency_key="k1")
    assert len(await rows(engine, tenant)) == 1


async def test_a_slot_already_gone_is_refused_before_any_write(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    await booking.book(tenant, "intake", TUESDAY_10, staff_id="s1")
    locks: list[list[str]] = []
    original = store.lock_first_free

    async def counted(conn: AsyncConnection, tenant_id: str, staff_ids: list[str]) -> Any:
        locks.append(list(staff_ids))
        return await original(conn, tenant_id, staff_ids)

    monkeypatch.setattr(store, "lock_first_free", counted)
    with pytest.raises(SlotTaken):
        await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    assert locks == []
    # A free one takes the lock of the one staff member it needs, and only that.
    held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s2")
    assert locks == [["s2"]]
    assert held.staff_id == "s2"


async def test_racing_to_book_at_once_fills_each_staff_member_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    results = await asyncio.gather(
        *(booking.book(tenant, "intake", TUESDAY_10) for _ in range(40)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if not isinstance(r, Appointment)]
    assert sorted(w.staff_id for w in won) == ["s1", "s2"]
    assert all(isinstance(error, SlotTaken) for error in lost), {type(e) for e in lost}
    assert await overlapping_pairs(engine) == 0


async def test_a_daily_cap_holds_for_each_staff_member_in_a_race(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """A purpose's daily cap counts each staff member's bookings of it on a date: with a cap
    of one, ten racers for ten times of one day book two, one with each member."""
    tenant = await seed_tenant(engine)
    async with writer(engine).begin() as conn:
        await conn.execute(
            purposes.update()
            .where(purposes.c.tenant_id == tenant, purposes.c.key == "intake")
            .values(daily_cap=1)
        )
    booking = BookingService(engine, clock=clock)
    starts = [TUESDAY_10 + i * timedelta(minutes=45) for i in range(10)]
    results = await asyncio.gather(
        *(booking.book(tenant, "intake", start) for start in starts), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Appointment)]
    assert sorted(w.staff_id for w in won) == ["s1", "s2"]
    assert all(isinstance(r, SlotUnavailable) for r in results if r not in won)
    assert len(await rows(engine, tenant)) == 2


# --- PostgreSQL: another writer holding a staff row -----------------------------------------


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from module_database("postgresql", tmp_path_factory.mktemp("pg"))


@pytest.fixture
async def pg_engine(postgres: Database) -> AsyncIterator[AsyncEngine]:
    async for opened in open_engine(postgres):
        yield opened


async def locked_staff(engine: AsyncEngine, tenant: str, member: str) -> AsyncConnection:
    """Another writer's transaction holding ``member``'s staff row (PostgreSQL)."""
    conn = await engine.connect()
    _ = await conn.begin()
    await conn.execute(
        select(staff.c.id)
        .where(staff.c.tenant_id == tenant, staff.c.id == member)
        .with_for_update()
    )
    return conn


async def test_the_fairest_member_held_by_another_writer_is_passed_over(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    engine = pg_engine
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    other = await locked_staff(engine, tenant, "s1")  # s1 is the fairest: the smallest id
    try:
        booked = await booking.book(tenant, "intake", TUESDAY_10)
    finally:
        await other.rollback()
        await other.close()
    assert booked.staff_id == "s2"


async def test_a_named_member_held_by_another_writer_is_waited_for(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    """When every candidate stays held through the quick turns, the last turn waits for the
    lock, as every claim did before, and books once it is let go."""
    engine = pg_engine
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock)
    other = await locked_staff(engine, tenant, "s1")
    claim = asyncio.create_task(booking.book(tenant, "intake", TUESDAY_10, staff_id="s1"))
    try:
        done, _ = await asyncio.wait({claim}, timeout=0.5)
        assert not done, "booked past another writer's lock"
    finally:
        await other.rollback()
        await other.close()
    booked = await claim
    assert (booked.staff_id, booked.state) == ("s1", AppointmentState.BOOKED)
