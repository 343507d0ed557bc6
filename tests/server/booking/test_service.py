"""The booking service end to end on SQLite and the real PostgreSQL: hold, confirm, release,
cancel, reschedule, idempotency, manage links, tenant scoping, busy sources."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import AppointmentState, Contact
from server.booking.busy import BusySource, CalendarRef
from server.booking.errors import (
    HoldExpired,
    IdempotencyConflict,
    InvalidState,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    NotFound,
    SlotTaken,
    SlotUnavailable,
    StaleVersion,
    StorageUnavailable,
)
from server.booking.links import LinkKeys
from server.booking.model import Busy
from server.booking.service import BookingService
from server.core.clock import AMSTERDAM
from server.db import create_engine, writer
from server.db.schema import appointments, audit_events, availability_exceptions, idempotency_keys
from tests.server.db.support import EMAIL, PHONE, TUESDAY_10, FakeClock, seed_tenant

S = AppointmentState
MINUTE = timedelta(minutes=1)


def service(
    engine: AsyncEngine, clock: FakeClock, busy_source: BusySource | None = None
) -> BookingService:
    return BookingService(
        engine, clock=clock, link_keys=LinkKeys.generate(), busy_source=busy_source
    )


async def count(engine: AsyncEngine, table: Table, **where: object) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_hold_then_confirm_books_the_slot(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    day = TUESDAY_10.date()
    before = {s.start: s.staff_ids for s in await booking.available_times(tenant, "intake", day)}
    assert before[TUESDAY_10] == ("s1", "s2")

    held = await booking.hold(
        tenant, "intake", TUESDAY_10, staff_id="s1", contact=Contact(email=EMAIL)
    )
    assert (held.state, held.version, held.staff_id) == (S.HELD, 1, "s1")
    assert held.hold_expires_at == clock.now + timedelta(minutes=15)
    assert (held.start, held.end) == (TUESDAY_10, TUESDAY_10 + 30 * MINUTE)
    assert (held.buffered_start, held.buffered_end) == (
        TUESDAY_10 - 5 * MINUTE,
        TUESDAY_10 + 35 * MINUTE,
    )
    after = {s.start: s.staff_ids for s in await booking.available_times(tenant, "intake", day)}
    assert after[TUESDAY_10] == ("s2",)  # the hold blocks s1 at once

    clock.advance(10 * MINUTE)
    booked = await booking.confirm(tenant, held.id, held.version)
    assert (booked.state, booked.version, booked.hold_expires_at) == (S.BOOKED, 2, None)
    assert booked.contact.email == EMAIL
    assert await booking.get(tenant, held.id) == booked

    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(audit_events.c.action, audit_events.c.attributes)
                .where(audit_events.c.tenant_id == tenant)
                .order_by(audit_events.c.id)
            )
        ).all()
    # The audit trail names the personal attribute stored, never its value.
    assert [tuple(r) for r in rows] == [
        ("appointment.hold", ["contact_email"]),
        ("appointment.confirm", []),
    ]


async def test_any_free_staff_member_is_picked_until_none_is_left(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    first = await booking.hold(tenant, "intake", TUESDAY_10)
    second = await booking.hold(tenant, "intake", TUESDAY_10)
    assert {first.staff_id, second.staff_id} == {"s1", "s2"}
    with pytest.raises(SlotTaken, match="is taken"):
        await booking.hold(tenant, "intake", TUESDAY_10)
    # A start whose *buffers* overlap s1's appointment is taken too: 10:30 + 5 min before.
    with pytest.raises(SlotTaken):
        await booking.hold(tenant, "intake", TUESDAY_10 + 30 * MINUTE, staff_id="s1")
    # 10:45 clears both buffers.
    later = await booking.hold(tenant, "intake", TUESDAY_10 + 45 * MINUTE, staff_id="s1")
    assert later.state is S.HELD


async def test_starts_the_rules_do_not_offer_are_refused_with_reasons(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    with pytest.raises(SlotUnavailable) as outside:
        await booking.hold(tenant, "intake", TUESDAY_10.replace(hour=20))
    assert "outside-hours" in outside.value.reasons
    with pytest.raises(SlotUnavailable) as misaligned:
        await booking.hold(tenant, "intake", TUESDAY_10 + 7 * MINUTE)
    assert "not-aligned" in misaligned.value.reasons
    with pytest.raises(SlotUnavailable) as skill:
        await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s3")
    assert skill.value.reasons == ("skill",)
    with pytest.raises(NotFound, match="no purpose 'nope'"):
        await booking.hold(tenant, "nope", TUESDAY_10)
    assert await count(engine, appointments, tenant_id=tenant) == 0


async def test_a_lapsed_hold_cannot_be_confirmed(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    clock.advance(15 * MINUTE)  # expiry is exclusive: at the instant it lapses
    with pytest.raises(HoldExpired, match="cannot confirm"):
        await booking.confirm(tenant, held.id, held.version)


async def test_a_stolen_hold_cannot_be_confirmed(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    mine = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    clock.advance(16 * MINUTE)
    theirs = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    assert (await booking.get(tenant, mine.id)).state is S.EXPIRED
    with pytest.raises(HoldExpired):
        await booking.confirm(tenant, mine.id, mine.version)
    assert (await booking.confirm(tenant, theirs.id, theirs.version)).state is S.BOOKED


async def test_confirm_is_a_compare_and_swap(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10)
    with pytest.raises(StaleVersion) as stale:
        await booking.confirm(tenant, held.id, held.version + 1)
    assert stale.value.current == 1
    booked = await booking.confirm(tenant, held.id, held.version)
    with pytest.raises(InvalidState, match=f"cannot confirm: appointment {held.id} is booked"):
        await booking.confirm(tenant, held.id, booked.version)


async def test_release_and_cancel_free_the_slot(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    with pytest.raises(InvalidState, match=r"cannot cancel: .* is held"):
        await booking.cancel(tenant, held.id, held.version)
    released = await booking.release(tenant, held.id, held.version)
    assert released.state is S.RELEASED

    again = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    booked = await booking.confirm(tenant, again.id, again.version)
    cancelled = await booking.cancel(tenant, booked.id, booked.version, actor="staff:s1")
    assert cancelled.state is S.CANCELLED
    with pytest.raises(InvalidState, match=r"cannot cancel: .* is cancelled"):
        await booking.cancel(tenant, booked.id, cancelled.version)
    assert (await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")).state is S.HELD


async def test_the_call_states_follow_the_machine(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10)
    booked = await booking.confirm(tenant, held.id, held.version)
    with pytest.raises(InvalidState, match=r"cannot start the call: .* is booked"):
        await booking.start_call(tenant, booked.id, booked.version, actor="staff:s1")
    checked = await booking.check_in(tenant, booked.id, booked.version, room_id="room-1")
    assert (checked.state, checked.room_id) == (S.CHECKED_IN, "room-1")
    calling = await booking.start_call(tenant, checked.id, checked.version, actor="staff:s1")
    done = await booking.complete(tenant, calling.id, calling.version, actor="staff:s1")
    assert (done.state, done.version) == (S.COMPLETED, 5)
    with pytest.raises(InvalidState, match=r"cannot mark no-show: .* is completed"):
        await booking.mark_no_show(tenant, done.id, done.version, actor="staff:s1")


async def test_reschedule_moves_atomically(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", contact=Contact(EMAIL))
    old = await booking.confirm(tenant, held.id, held.version)

    # Fifteen minutes later with the same person: the new slot overlaps the old one.
    moved = await booking.reschedule(
        tenant, old.id, old.version, TUESDAY_10 + 15 * MINUTE, staff_id="s1"
    )
    assert (moved.state, moved.start, moved.rescheduled_from) == (
        S.BOOKED,
        TUESDAY_10 + 15 * MINUTE,
        old.id,
    )
    assert moved.contact.email == EMAIL
    assert (await booking.get(tenant, old.id)).state is S.CANCELLED

    # A taken target: nothing changes, the booking stands where it was.
    blocker = await booking.hold(tenant, "intake", TUESDAY_10 + 60 * MINUTE, staff_id="s1")
    with pytest.raises(SlotTaken):
        await booking.reschedule(
            tenant, moved.id, moved.version, TUESDAY_10 + 60 * MINUTE, staff_id="s1"
        )
    assert await booking.get(tenant, moved.id) == moved
    assert (await booking.get(tenant, blocker.id)).state is S.HELD
    # A stale version: refused before the new slot is claimed.
    with pytest.raises(StaleVersion):
        await booking.reschedule(tenant, moved.id, moved.version - 1, TUESDAY_10 + 120 * MINUTE)
    assert await count(engine, appointments, tenant_id=tenant) == 3


async def test_the_same_key_and_request_gives_the_same_result(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    first = await booking.hold(tenant, "intake", TUESDAY_10, idempotency_key="k-1")
    again = await booking.hold(tenant, "intake", TUESDAY_10, idempotency_key="k-1")
    assert again.id == first.id
    confirmed = await booking.confirm(tenant, first.id, 1, idempotency_key="k-2")
    # The response was lost; the client retries with the same key and the old version.
    assert await booking.confirm(tenant, first.id, 1, idempotency_key="k-2") == confirmed
    assert await count(engine, appointments, tenant_id=tenant) == 1


async def test_the_same_key_with_another_request_is_refused(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    await booking.hold(tenant, "intake", TUESDAY_10, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        await booking.hold(tenant, "intake", TUESDAY_10 + 60 * MINUTE, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        await booking.release(tenant, "whatever", 1, idempotency_key="k")
    assert await count(engine, appointments, tenant_id=tenant) == 1


async def test_concurrent_duplicates_of_one_key_act_once(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    results = await asyncio.gather(
        *(booking.hold(tenant, "intake", TUESDAY_10, idempotency_key="dup") for _ in range(10))
    )
    assert len({r.id for r in results}) == 1
    assert await count(engine, appointments, tenant_id=tenant) == 1
    assert await count(engine, idempotency_keys, tenant_id=tenant) == 1


async def test_a_failed_request_does_not_use_up_its_key(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    with pytest.raises(SlotTaken):
        await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", idempotency_key="k")
    assert await count(engine, idempotency_keys, tenant_id=tenant) == 0


async def test_manage_links_expire_at_the_start_and_die_on_change(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(tenant, "intake", TUESDAY_10)
    booked = await booking.confirm(tenant, held.id, held.version)
    link = booking.manage_link(booked)
    assert EMAIL not in link and booked.reference not in link
    assert await booking.open_manage_link(tenant, link) == booked

    # Forged, truncated or for another tenant: refused.
    head, tag = link.rsplit(".", 1)
    with pytest.raises(LinkInvalid):
        await booking.open_manage_link(tenant, f"{head}.{tag[::-1]}")
    with pytest.raises(LinkInvalid):
        await booking.open_manage_link(tenant, head)
    with pytest.raises(LinkInvalid):
        await booking.open_manage_link("other-tenant", link)
    with pytest.raises(LinkInvalid):  # another deployment's keys
        await service(engine, clock).open_manage_link(tenant, link)

    # It expires when the appointment starts.
    clock.now = TUESDAY_10 - MINUTE
    assert (await booking.open_manage_link(tenant, link)).id == booked.id
    clock.now = TUESDAY_10
    with pytest.raises(LinkExpired):
        await booking.open_manage_link(tenant, link)

    # It dies when the appointment changes: here it is rescheduled (by a planner).
    clock.now = TUESDAY_10 - timedelta(days=1)
    moved = await booking.reschedule(tenant, booked.id, booked.version, TUESDAY_10 + 60 * MINUTE)
    with pytest.raises(LinkRevoked, match="now cancelled"):
        await booking.open_manage_link(tenant, link)
    # The new appointment's link works, and dies on cancel.
    fresh = booking.manage_link(moved)
    opened = await booking.open_manage_link(tenant, fresh)
    await booking.cancel(tenant, opened.id, opened.version)
    with pytest.raises(LinkRevoked):
        await booking.open_manage_link(tenant, fresh)


async def test_one_tenant_cannot_see_or_change_another_tenants_appointments(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    alpha, beta = await seed_tenant(engine), await seed_tenant(engine)
    booking = service(engine, clock)
    held = await booking.hold(alpha, "intake", TUESDAY_10, staff_id="s1")
    with pytest.raises(NotFound):
        await booking.get(beta, held.id)
    with pytest.raises(NotFound):
        await booking.confirm(beta, held.id, held.version)
    with pytest.raises(NotFound):
        await booking.release(beta, held.id, held.version)
    assert await booking.appointments_between(beta, TUESDAY_10, TUESDAY_10 + MINUTE) == []
    # Staff ids are per tenant: beta's s1 is someone else, free at the same time.
    other = await booking.hold(beta, "intake", TUESDAY_10, staff_id="s1")
    assert other.tenant_id == beta
    assert (await booking.get(alpha, held.id)).state is S.HELD


class FakeCalendars:
    """A BusySource: s1 is in a meeting 10:00–11:00 on Tuesday; s2's calendar is down."""

    def __init__(self, fail_all: bool = False) -> None:
        self.fail_all = fail_all
        self.asked: list[tuple[str, ...]] = []

    async def busy(
        self, tenant_id: str, calendars: Sequence[CalendarRef], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Busy]]:
        self.asked.append(tuple(c.source for c in calendars))
        if self.fail_all:
            raise ConnectionError("calendar server down")
        meeting = Busy("s1", TUESDAY_10, TUESDAY_10 + 60 * MINUTE, ref="meeting")
        return {
            c.staff_id: [meeting] if c.staff_id == "s1" else []
            for c in calendars
            if c.staff_id != "s2"
        }


async def test_external_busy_time_and_the_failure_choice(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    calendars = FakeCalendars()
    booking = service(engine, clock, busy_source=calendars)
    slots = {
        s.start: s.staff_ids
        for s in await booking.available_times(tenant, "intake", TUESDAY_10.date())
    }
    # s1 is busy; s2's calendar failed and s2 chose "ignore": still offered.
    assert slots[TUESDAY_10] == ("s2",)
    assert slots[TUESDAY_10 + 90 * MINUTE] == ("s1", "s2")
    assert calendars.asked[0] == ("test:s1", "test:s2")
    with pytest.raises(SlotUnavailable, match="busy"):
        await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")

    # Everything down: s1 chose "hide" (no slots), s2 "ignore" (slots as if free).
    down = service(engine, clock, busy_source=FakeCalendars(fail_all=True))
    slots = {
        s.start: s.staff_ids
        for s in await down.available_times(tenant, "intake", TUESDAY_10.date())
    }
    assert set(slots.values()) == {("s2",)}
    with pytest.raises(SlotUnavailable, match="calendar of staff member 's1' cannot be read"):
        await down.hold(tenant, "intake", TUESDAY_10, staff_id="s1")


async def test_availability_lists_dates_and_explains(engine: AsyncEngine, clock: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    dates = await booking.available_dates(tenant, "tax")
    assert dates[0] == clock.now.date() and all(d.weekday() < 5 for d in dates)
    held = await booking.hold(tenant, "tax", TUESDAY_10)
    explanation = await booking.explain(tenant, "tax", TUESDAY_10)
    assert not explanation.available
    assert any(held.id in line for line in explanation.lines())


async def test_contact_details_stay_out_of_logs_reprs_and_errors(
    engine: AsyncEngine, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock)
    contact = Contact(email=EMAIL, phone=PHONE)
    with caplog.at_level(logging.DEBUG):
        held = await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", contact=contact)
        with pytest.raises(SlotTaken) as taken:
            await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1", contact=contact)
        booked = await booking.confirm(tenant, held.id, held.version, contact=contact)
    # The database error under SlotTaken (if any) renders without its parameters.
    texts = [caplog.text, repr(held), repr(booked), repr(contact), str(taken.value)]
    cause = taken.value.__cause__
    texts.append(str(cause))
    for text in texts:
        assert EMAIL not in text and PHONE not in text


async def test_an_unreachable_database_is_storage_unavailable(clock: FakeClock) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        booking = BookingService(dead, clock=clock)
        with pytest.raises(StorageUnavailable):
            await booking.get("t", "a")
        with pytest.raises(StorageUnavailable):
            await booking.expire_holds()
    finally:
        await dead.dispose()


class AbsenceMeanwhile:
    """A calendar read (between a booking's planning and its write transaction) during
    which a planner saves s1 as absent all Tuesday: the race of an absence and a booking."""

    def __init__(self, engine: AsyncEngine, tenant: str) -> None:
        self.engine, self.tenant = engine, tenant

    async def busy(
        self, tenant_id: str, calendars: Sequence[CalendarRef], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Busy]]:
        async with writer(self.engine).begin() as conn:
            await conn.execute(
                insert(availability_exceptions).values(
                    tenant_id=self.tenant,
                    staff_id="s1",
                    day=TUESDAY_10.astimezone(AMSTERDAM).date(),
                    kind="closed",
                    reason="afwezig",
                )
            )
        return {calendar.staff_id: () for calendar in calendars}


async def test_an_absence_saved_while_a_booking_is_planned_is_not_booked_over(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, clock, busy_source=AbsenceMeanwhile(engine, tenant))
    with pytest.raises(SlotUnavailable, match="not offered: exception"):
        await booking.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
