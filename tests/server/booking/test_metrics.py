"""Booking in the metrics (server/booking/metrics.py): each step counted by outcome, a
conflict under its own name, lapsed holds, and nothing of the contact details."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.appointment import Contact
from server.booking.errors import SlotTaken, StaleVersion, TooManyHolds
from server.booking.links import LinkKeys
from server.booking.metrics import CountedBookings, outcome_of
from server.booking.service import Holder
from server.core.metrics import Metrics
from tests.server.db.support import EMAIL, PHONE, TUESDAY_10, FakeClock, seed_tenant


def _count(metrics: Metrics, operation: str, outcome: str) -> float:
    found = metrics.registry.get_sample_value(
        "balie_booking_operations_total", {"operation": operation, "outcome": outcome}
    )
    return found or 0.0


def test_outcomes_are_the_error_kinds() -> None:
    assert outcome_of(SlotTaken("x")) == "slot-taken"
    assert outcome_of(StaleVersion("x", 2)) == "stale-version"
    assert outcome_of(TooManyHolds("x")) == "too-many-holds"
    assert outcome_of(RuntimeError("a bug")) == "error"


async def test_holds_bookings_conflicts_and_lapsed_holds_are_counted(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    metrics = Metrics()
    bookings = CountedBookings(
        engine,
        metrics=metrics,
        clock=clock,
        link_keys=LinkKeys.generate(),
        hold_duration=timedelta(minutes=15),
        holds_per_client=1,
    )
    tenant = await seed_tenant(engine)
    contact = Contact(email=EMAIL, phone=PHONE)
    assert _count(metrics, "hold", "ok") == 0  # shown before the first one
    held = await bookings.hold(tenant, "intake", TUESDAY_10, staff_id="s1", contact=contact)
    with pytest.raises(SlotTaken):
        await bookings.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    with pytest.raises(StaleVersion):
        await bookings.confirm(tenant, held.id, held.version + 1)
    booked = await bookings.confirm(tenant, held.id, held.version, contact=contact)
    assert booked.id == held.id
    holder = Holder(client="198.51.100.7")
    later = TUESDAY_10 + timedelta(hours=2)
    await bookings.hold(tenant, "intake", later, staff_id="s2", holder=holder)
    with pytest.raises(TooManyHolds):
        await bookings.hold(tenant, "intake", later + timedelta(hours=1), holder=holder)
    clock.advance(timedelta(minutes=16))
    assert await bookings.expire_holds() == 1

    assert _count(metrics, "hold", "ok") == 2
    assert _count(metrics, "hold", "slot-taken") == 1
    assert _count(metrics, "hold", "too-many-holds") == 1
    assert _count(metrics, "confirm", "stale-version") == 1
    assert _count(metrics, "confirm", "ok") == 1
    assert metrics.registry.get_sample_value("balie_booking_holds_expired_total") == 1
    text = metrics.render()[0].decode()
    assert EMAIL not in text and PHONE not in text and held.id not in text and tenant not in text
