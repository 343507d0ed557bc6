"""The node's short memory of offers (server/booking/offers.py): kept for a second, forgotten
on any change this node makes, never kept across a change, and what another node booked
shows here once the second is over."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.errors import SlotTaken
from server.booking.offers import MAX_ENTRIES, TTL, OfferCache
from server.booking.service import BookingService
from tests.server.db.support import T0, TUESDAY_10, FakeClock, seed_tenant


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_the_ttl_and_while_the_clock_stays() -> None:
    ticks = Ticks()
    cache = OfferCache(ticks)
    cache.put("k", T0, ("a",), cache.generation)
    assert cache.get("k", T0) == ("a",)
    ticks.now += TTL / 2
    assert cache.get("k", T0 + timedelta(seconds=TTL / 2)) == ("a",)
    # the service's clock moved (a test's clock, a notice boundary): computed again
    assert cache.get("k", T0 + timedelta(minutes=5)) is None
    cache.put("k", T0, ("b",), cache.generation)
    ticks.now += TTL
    assert cache.get("k", T0) is None


def test_forgetting_drops_every_answer_and_any_computed_across_it() -> None:
    cache = OfferCache(Ticks())
    cache.put("k", T0, ("a",), cache.generation)
    started = cache.generation
    cache.forget("some-tenant")
    assert cache.get("k", T0) is None
    # read from the database before the change, finished after it: not kept
    cache.put("k", T0, ("stale",), started)
    assert cache.get("k", T0) is None
    cache.put("k", T0, ("fresh",), cache.generation)
    assert cache.get("k", T0) == ("fresh",)


def test_a_flood_of_keys_does_not_grow_it_without_bound() -> None:
    cache = OfferCache(Ticks())
    for n in range(MAX_ENTRIES + 10):
        cache.put(("dates", n), T0, (), cache.generation)
    assert cache.get(("dates", MAX_ENTRIES + 9), T0) == ()
    assert cache.get(("dates", 0), T0) is None


async def test_a_node_offers_what_it_booked_itself_no_more_and_another_nodes_soon(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    tenant = await seed_tenant(engine)
    ticks = Ticks()
    here = BookingService(engine, clock=clock, offers=OfferCache(ticks))
    there = BookingService(engine, clock=clock)  # another node on the same database
    day = TUESDAY_10.date()

    async def offered() -> list[datetime]:
        return [slot.start for slot in await here.available_times(tenant, "intake", day)]

    assert TUESDAY_10 in await offered()
    held = await here.hold(tenant, "intake", TUESDAY_10, staff_id="s1")
    await here.book(tenant, "intake", TUESDAY_10, staff_id="s2")
    assert TUESDAY_10 not in await offered()
    await here.release(tenant, held.id, held.version)
    assert TUESDAY_10 in await offered()

    await there.book(tenant, "intake", TUESDAY_10, staff_id="s1")
    assert TUESDAY_10 in await offered()  # within the second: still offered here ...
    ticks.now += TTL
    assert TUESDAY_10 not in await offered()  # ... and no longer once it is over
    with pytest.raises(SlotTaken):  # a claim never trusts an offer
        await here.hold(tenant, "intake", TUESDAY_10)


async def test_a_page_loaded_by_many_at_once_is_computed_once(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await seed_tenant(engine)
    booking = BookingService(engine, clock=clock, offers=OfferCache(Ticks()))
    searches = 0
    original = booking._search

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal searches
        searches += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(booking, "_search", counted)
    day = TUESDAY_10.date()
    answers = await asyncio.gather(
        *(booking.available_times(tenant, "intake", day) for _ in range(20)),
        *(booking.available_dates(tenant, "intake", day, day) for _ in range(20)),
    )
    assert searches == 2
    assert all(answer == answers[0] for answer in answers[:20])
    assert all(answer == [day] for answer in answers[20:])
