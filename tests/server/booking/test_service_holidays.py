"""Public holidays in the booking service, on SQLite and the real PostgreSQL: the tenant's
rules come from ``tenants.holidays`` (NULL: the defaults), and both the search and the
re-check inside the hold transaction refuse a holiday (server/booking/service.py)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import AppointmentState
from server.booking.errors import SlotUnavailable
from server.booking.links import LinkKeys
from server.booking.service import BookingService
from server.core.clock import AMSTERDAM
from server.core.holidays import HolidayRules, to_data
from server.db.engine import writer
from server.db.schema import availability_exceptions, tenants
from tests.server.db.support import FakeClock, seed_tenant

KINGSDAY = date(2026, 4, 27)  # a Monday; s1 and s2 work Monday to Friday 09:00–17:00
ASCENSION = date(2026, 5, 14)  # a Thursday
OPEN_ON_HOLIDAYS = HolidayRules(close=False)


def at(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), AMSTERDAM).astimezone(UTC)


def service(engine: AsyncEngine, clock: FakeClock) -> BookingService:
    return BookingService(engine, clock=clock, link_keys=LinkKeys.generate())


@pytest.fixture
def april(clock: FakeClock) -> FakeClock:
    """A week before Koningsdag and within the horizon of Hemelvaartsdag."""
    clock.now = at(date(2026, 4, 20), "08:00")
    return clock


async def set_holidays(engine: AsyncEngine, tenant: str, data: object) -> None:
    async with writer(engine).begin() as conn:
        await conn.execute(update(tenants).where(tenants.c.id == tenant).values(holidays=data))


async def add_extra(engine: AsyncEngine, tenant: str, staff_id: str, day: date) -> None:
    async with writer(engine).begin() as conn:
        await conn.execute(
            insert(availability_exceptions).values(
                tenant_id=tenant,
                staff_id=staff_id,
                day=day,
                kind="extra",
                start_time=time(10),
                end_time=time(12),
                reason="Extra spreekuur",
            )
        )


async def test_by_default_no_holiday_is_offered_or_held(
    engine: AsyncEngine, april: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, april)
    dates = await booking.available_dates(tenant, "intake")
    assert KINGSDAY not in dates and ASCENSION not in dates
    assert KINGSDAY + timedelta(days=1) in dates and ASCENSION - timedelta(days=1) in dates
    assert await booking.available_times(tenant, "intake", KINGSDAY) == []
    for day in (KINGSDAY, ASCENSION):
        with pytest.raises(SlotUnavailable) as refused:
            await booking.hold(tenant, "intake", at(day, "10:00"))
        assert refused.value.reasons == ("public-holiday",)
    why = await booking.explain(tenant, "intake", at(KINGSDAY, "10:00"))
    assert not why.available and why.holiday == "Koningsdag"


async def test_the_hold_re_check_reads_the_rules_as_they_are_now(
    engine: AsyncEngine, april: FakeClock
) -> None:
    """A time listed while the tenant was open on holidays is refused at hold time once the
    tenant closes them: the re-check inside the write does not trust the earlier list."""
    tenant = await seed_tenant(engine)
    booking = service(engine, april)
    await set_holidays(engine, tenant, to_data(OPEN_ON_HOLIDAYS))
    listed = await booking.available_times(tenant, "intake", KINGSDAY)
    assert at(KINGSDAY, "10:00") in [slot.start for slot in listed]
    await set_holidays(engine, tenant, None)  # back to the defaults
    with pytest.raises(SlotUnavailable) as refused:
        await booking.hold(tenant, "intake", at(KINGSDAY, "10:00"))
    assert "public-holiday" in refused.value.reasons


async def test_a_reschedule_onto_a_holiday_is_refused_and_changes_nothing(
    engine: AsyncEngine, april: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, april)
    friday = at(date(2026, 4, 24), "10:00")
    held = await booking.hold(tenant, "intake", friday)
    booked = await booking.confirm(tenant, held.id, held.version)
    with pytest.raises(SlotUnavailable) as refused:
        await booking.reschedule(tenant, booked.id, booked.version, at(KINGSDAY, "10:00"))
    assert refused.value.reasons == ("public-holiday",)
    still = await booking.get(tenant, booked.id)
    assert (still.state, still.start) == (AppointmentState.BOOKED, friday)


async def test_a_tenant_open_on_holidays_books_them(engine: AsyncEngine, april: FakeClock) -> None:
    tenant = await seed_tenant(engine)
    other = await seed_tenant(engine)  # keeps the defaults: the rules are per tenant
    booking = service(engine, april)
    await set_holidays(engine, tenant, to_data(OPEN_ON_HOLIDAYS))
    assert KINGSDAY in await booking.available_dates(tenant, "intake")
    held = await booking.hold(tenant, "intake", at(KINGSDAY, "10:00"))
    booked = await booking.confirm(tenant, held.id, held.version)
    assert booked.state is AppointmentState.BOOKED
    assert KINGSDAY not in await booking.available_dates(other, "intake")


async def test_extra_hours_open_a_holiday_for_that_staff_member_only(
    engine: AsyncEngine, april: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, april)
    await add_extra(engine, tenant, "s2", KINGSDAY)
    slots = await booking.available_times(tenant, "intake", KINGSDAY)
    assert slots[0].start == at(KINGSDAY, "10:00") and slots[-1].end <= at(KINGSDAY, "12:00")
    assert {slot.staff_ids for slot in slots} == {("s2",)}
    with pytest.raises(SlotUnavailable):
        await booking.hold(tenant, "intake", at(KINGSDAY, "14:00"))  # s2's weekly hours
    with pytest.raises(SlotUnavailable):
        await booking.hold(tenant, "intake", at(KINGSDAY, "10:00"), staff_id="s1")
    held = await booking.hold(tenant, "intake", at(KINGSDAY, "10:00"))
    assert held.staff_id == "s2"


async def test_stored_rules_that_do_not_read_close_holidays_and_are_logged(
    engine: AsyncEngine, april: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await seed_tenant(engine)
    booking = service(engine, april)
    await set_holidays(engine, tenant, to_data(OPEN_ON_HOLIDAYS) | {"close": "no"})
    with caplog.at_level(logging.WARNING):
        assert await booking.available_times(tenant, "intake", KINGSDAY) == []
    assert any("holidays.close" in record.getMessage() for record in caplog.records)
