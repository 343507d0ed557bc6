""" "Bel mij terug" in SQL (SQLite and PostgreSQL): the windows offered, the number sealed and
bound to its row, opened only for the specialist's purposes, deleted when the call-back is
done or its window a day past, and resealed when the vault key rotates."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import KeyRing, new_key_config_entry
from server.db.schema import walkin_callbacks
from server.messages.phones import PhoneProblem
from server.walkin.callbacks import (
    BadPhone,
    BadWindow,
    CallbackError,
    CallbackGone,
    Callbacks,
    CallbackState,
    offered_windows,
)
from server.walkin.hours import DateException, ExceptionKind, OpeningHours
from tests.server.db.support import seed_tenant

PHONE = "06 12345678"  # the Dutch numbering plan's example mobile number ...
STORED = "+31612345678"  # ... as a call-back keeps it (E.164)
OLD = new_key_config_entry("old")
NEW = new_key_config_entry("new")
MORNING = ((time(9), time(12)),)
#: Monday to Friday 09:00–12:00
WEEKDAYS = OpeningHours(weekly=(MORNING,) * 5 + ((), ()))
#: Tuesday 8 December 2026, 09:40 in Amsterdam (08:40 UTC)
TUESDAY = datetime(2026, 12, 8, 8, 40, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    """``hour`` o'clock in Amsterdam (CET, UTC+1) on ``day`` December 2026."""
    return datetime(2026, 12, day, hour - 1, tzinfo=UTC)


def test_windows_are_whole_hours_inside_opening_hours_from_half_an_hour_ahead() -> None:
    windows = offered_windows(WEEKDAYS, TUESDAY)
    # 10:00 is only 20 minutes away: the first is 11:00; then Wednesday's and Thursday's
    assert windows == [
        (at(8, 11), at(8, 12)),
        (at(9, 9), at(9, 10)),
        (at(9, 10), at(9, 11)),
        (at(9, 11), at(9, 12)),
        (at(10, 9), at(10, 10)),
        (at(10, 10), at(10, 11)),
    ]
    # Friday afternoon: the weekend is skipped
    assert offered_windows(WEEKDAYS, at(11, 14))[0] == (at(14, 9), at(14, 10))
    # a closed exception for Wednesday moves the offer to Thursday
    closed = OpeningHours(
        weekly=WEEKDAYS.weekly,
        exceptions=(DateException(at(9, 9).date(), ExceptionKind.CLOSED),),
    )
    assert offered_windows(closed, TUESDAY)[1] == (at(10, 9), at(10, 10))
    # no hours at all: nothing to offer
    assert offered_windows(OpeningHours(), TUESDAY) == []


async def phone_column(engine: AsyncEngine, tenant: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(walkin_callbacks.c.phone_sealed).where(walkin_callbacks.c.tenant_id == tenant)
        )
        return [row.phone_sealed for row in rows]


async def test_a_number_is_sealed_shown_to_the_right_desk_and_deleted_when_done(
    engine: AsyncEngine,
) -> None:
    tenant = await seed_tenant(engine)
    callbacks = Callbacks(engine, KeyRing.from_config(NEW))
    offered = offered_windows(WEEKDAYS, TUESDAY)
    made = await callbacks.request(tenant, "intake", PHONE, offered[0], offered, TUESDAY)
    assert made.state is CallbackState.OPEN and PHONE not in repr(made)
    (sealed,) = await phone_column(engine, tenant)
    assert sealed is not None and STORED not in sealed and "12345678" not in sealed

    # the desk of a specialist for intake sees it, with the number; for tax it does not
    today = TUESDAY.date()
    (listed,) = await callbacks.open_for(tenant, ["intake"], today)
    assert (listed.id, listed.phone, listed.window_start) == (made.id, STORED, offered[0][0])
    assert await callbacks.open_for(tenant, ["tax"], today) == []
    # a window of a later day is not listed yet
    later = await callbacks.request(tenant, "intake", PHONE, offered[1], offered, TUESDAY)
    assert [c.id for c in await callbacks.open_for(tenant, ["intake"], today)] == [made.id]

    # only a specialist of the purpose can close it; then the number is gone
    with pytest.raises(CallbackGone):
        await callbacks.done(tenant, made.id, CallbackState.CALLED, "s4", ["tax"], TUESDAY)
    done = await callbacks.done(tenant, made.id, CallbackState.CALLED, "s1", ["intake"], TUESDAY)
    assert done.state is CallbackState.CALLED
    assert sorted(map(bool, await phone_column(engine, tenant))) == [False, True]
    with pytest.raises(CallbackGone):  # a colleague pressing a moment later
        await callbacks.done(tenant, made.id, CallbackState.UNREACHABLE, "s2", ["intake"], TUESDAY)
    with pytest.raises(CallbackError):
        await callbacks.done(tenant, later.id, CallbackState.EXPIRED, "s1", ["intake"], TUESDAY)

    # unanswered, its number goes a day after its window
    assert await callbacks.expire(offered[1][1] + timedelta(hours=23)) == 0
    assert await callbacks.expire(offered[1][1] + timedelta(days=1)) == 1
    assert await phone_column(engine, tenant) == [None, None]
    assert (await callbacks.get(tenant, later.id)).state is CallbackState.EXPIRED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("phone", "problem"),
    [
        ("", PhoneProblem.EMPTY),
        ("12345", PhoneProblem.TOO_SHORT),
        ("06-123", PhoneProblem.TOO_SHORT),
        ("bel me", PhoneProblem.NOT_DIGITS),
        ("+31 6 1234 567x", PhoneProblem.NOT_DIGITS),
        ("0" * 40, PhoneProblem.TOO_LONG),
        ("06 00000000", PhoneProblem.NOT_IN_USE),  # no Dutch number starts 06 0
        ("0900 1234567", PhoneProblem.COSTLY),  # the municipality would pay to call it
    ],
)
async def test_a_number_that_is_not_one_is_refused_and_nothing_stored(
    engine: AsyncEngine, phone: str, problem: PhoneProblem
) -> None:
    tenant = await seed_tenant(engine)
    callbacks = Callbacks(engine, KeyRing.from_config(NEW))
    offered = offered_windows(WEEKDAYS, TUESDAY)
    with pytest.raises(BadPhone) as refused:
        await callbacks.request(tenant, "intake", phone, offered[0], offered, TUESDAY)
    assert refused.value.problem is problem
    assert phone not in str(refused.value) or not phone
    assert await phone_column(engine, tenant) == []


async def test_a_window_that_was_not_offered_is_refused(engine: AsyncEngine) -> None:
    tenant = await seed_tenant(engine)
    callbacks = Callbacks(engine, KeyRing.from_config(NEW))
    offered = offered_windows(WEEKDAYS, TUESDAY)
    with pytest.raises(BadWindow):
        await callbacks.request(tenant, "intake", PHONE, (at(8, 20), at(8, 21)), offered, TUESDAY)
    with pytest.raises(CallbackError):
        await callbacks.request(tenant, "nergens", PHONE, offered[0], offered, TUESDAY)
    assert await phone_column(engine, tenant) == []


async def test_reseal_moves_numbers_to_the_new_key_and_a_copied_number_does_not_open(
    engine: AsyncEngine,
) -> None:
    tenant = await seed_tenant(engine)
    offered = offered_windows(WEEKDAYS, TUESDAY)
    old = Callbacks(engine, KeyRing.from_config(OLD))
    first = await old.request(tenant, "intake", PHONE, offered[0], offered, TUESDAY)
    second = await old.request(tenant, "intake", "020 1234567", offered[0], offered, TUESDAY)

    assert await Callbacks(engine, KeyRing.from_config(f"{NEW},{OLD}")).reseal() == 2
    only_new = Callbacks(engine, KeyRing.from_config(NEW))
    phones = {c.id: c.phone for c in await only_new.open_for(tenant, ["intake"], TUESDAY.date())}
    assert phones == {first.id: STORED, second.id: "+31201234567"}  # a landline will do

    # the sealed number is bound to its row: copied onto another, it opens for nobody
    async with engine.begin() as conn:
        sealed = (
            await conn.execute(
                select(walkin_callbacks.c.phone_sealed).where(walkin_callbacks.c.id == first.id)
            )
        ).scalar_one()
        await conn.execute(
            update(walkin_callbacks)
            .where(walkin_callbacks.c.id == second.id)
            .values(phone_sealed=sealed)
        )
    phones = {c.id: c.phone for c in await only_new.open_for(tenant, ["intake"], TUESDAY.date())}
    assert phones == {first.id: STORED, second.id: None}
