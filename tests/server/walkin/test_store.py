"""The walk-in queue in SQL, on SQLite and on the real PostgreSQL: fairness when specialists
on several nodes press "Volgende inwoner" at once, away and back, the sweeper, and the
compare-and-set that turns every stale request into an error naming the state (changing
nothing)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.schema import walkin_tickets
from server.walkin import store
from server.walkin.queue import (
    GraceExpired,
    InvalidState,
    InvalidTicket,
    TakenByOther,
    Ticket,
    TicketContended,
    TicketNotFound,
    TicketState,
    UnknownPurpose,
    in_order,
    order_key,
    verification_digest,
)
from server.walkin.store import Counts, WalkinQueue
from tests.server.db.support import T0, Database, seed_tenant

S = TicketState
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
GRACE = timedelta(minutes=2)
#: seed_tenant's purposes
PURPOSES = ("intake", "long", "tax")
#: five specialists, each on a node of their own, with overlapping skills
SPECIALISTS: dict[str, frozenset[str]] = {
    "s1": frozenset({"intake"}),
    "s2": frozenset({"intake", "long"}),
    "s3": frozenset({"long", "tax"}),
    "s4": frozenset({"tax"}),
    "s5": frozenset({"intake", "tax"}),
}
RESIDENTS = 50


@pytest.fixture
async def tenant(engine: AsyncEngine) -> str:
    return await seed_tenant(engine)


@pytest.fixture
def walkin(engine: AsyncEngine) -> WalkinQueue:
    return WalkinQueue(engine, grace=GRACE)


@pytest.fixture
async def nodes(database: Database) -> AsyncIterator[list[WalkinQueue]]:
    """One queue per specialist, each on an engine (a pool of connections) of its own, as
    specialists signed in on different nodes are."""
    engines = [database.engine() for _ in SPECIALISTS]
    try:
        yield [WalkinQueue(engine, grace=GRACE) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


async def row(engine: AsyncEngine, ticket_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = (
            await conn.execute(select(walkin_tickets).where(walkin_tickets.c.id == ticket_id))
        ).one()
    return dict(found._mapping)


async def rows(engine: AsyncEngine, tenant_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(walkin_tickets)
            .where(walkin_tickets.c.tenant_id == tenant_id)
            .order_by(walkin_tickets.c.id)
        )
    return [dict(r._mapping) for r in found]


# --- fairness under concurrency (must-show 2) ----------------------------------------------


@dataclass(frozen=True)
class Take:
    """One press of "Volgende inwoner": who, what came back, and when it started and ended
    on the test's one event loop (a sequence number, not a clock)."""

    staff: str
    ticket: Ticket | None
    started: int
    ended: int


def residents() -> Iterator[tuple[str, timedelta, bool]]:
    """50 arrivals across the three purposes in turn: six in each second, so two of a
    purpose arrive at the same moment and the id breaks their tie; every seventh is a booked
    appointment due now."""
    for i in range(RESIDENTS):
        yield PURPOSES[i % 3], (i // 6) * SECOND, i % 7 == 3


async def test_fifty_residents_five_specialists_on_five_nodes_each_served_once_in_order(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue, nodes: list[WalkinQueue]
) -> None:
    for purpose, arrived, booked in residents():
        await walkin.join(tenant, purpose, "video", T0 + arrived, booked=booked)
    waiting = {p: [place.ticket for place in await walkin.waiting(tenant, p)] for p in PURPOSES}
    assert sum(map(len, waiting.values())) == RESIDENTS
    assert all(any(t.booked for t in tickets) for tickets in waiting.values())

    clock = itertools.count()
    takes: list[Take] = []
    in_flight = 0
    most_in_flight = 0

    async def desk(node: WalkinQueue, staff: str, skills: frozenset[str]) -> None:
        nonlocal in_flight, most_in_flight
        while True:
            started = next(clock)
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            taken = await node.take_next(tenant, staff, skills, T0 + 10 * MINUTE)
            in_flight -= 1
            takes.append(Take(staff, taken, started, next(clock)))
            if taken is None:
                return

    # a task group: if one desk fails, the others stop too, before the nodes close
    async with asyncio.TaskGroup() as desks:
        for node, (staff, skills) in zip(nodes, SPECIALISTS.items(), strict=True):
            desks.create_task(desk(node, staff, skills))
    served = [take for take in takes if take.ticket is not None]
    assert most_in_flight >= 3, "the specialists did not race"

    # every resident served exactly once, and the database says the same
    times_taken = Counter(t.ticket.id for t in served if t.ticket)
    assert [i for i, n in times_taken.items() if n > 1] == [], "taken more than once"
    assert len(times_taken) == RESIDENTS
    by_id = {t.ticket.id: t for t in served if t.ticket}
    assert by_id.keys() == {t.id for tickets in waiting.values() for t in tickets}
    stored = await rows(engine, tenant)
    assert {(r["id"], r["state"], r["taken_by"]) for r in stored} == {
        (i, "taken", take.staff) for i, take in by_id.items()
    }

    # never by a specialist without the skill
    for take in served:
        assert take.ticket is not None
        assert take.ticket.purpose in SPECIALISTS[take.staff], take
        assert take.ticket.taken_by == take.staff

    # in the order rule: nobody was passed by. When a specialist's press ended before
    # another press began, the ticket that later press got was still waiting, unclaimed,
    # during the first: if the first specialist had its skill, it must come later in the
    # order (booked first, then arrival, then id) than what the first one got.
    compared = 0
    for first, later in itertools.permutations(served, 2):
        assert first.ticket is not None and later.ticket is not None
        if first.ended < later.started and later.ticket.purpose in SPECIALISTS[first.staff]:
            compared += 1
            assert order_key(first.ticket) < order_key(later.ticket), (first, later)
    assert compared > RESIDENTS  # the check had something to check

    # ... and per purpose, the order each specialist saw is the queue's own order
    for staff in SPECIALISTS:
        for purpose in PURPOSES:
            mine = [t.ticket for t in served if t.staff == staff and t.ticket]
            mine = [t for t in mine if t.purpose == purpose]
            assert mine == in_order(mine)

    # "nobody" only when nobody of one's purposes was left unclaimed
    nones = [take for take in takes if take.ticket is None]
    assert sorted(take.staff for take in nones) == sorted(SPECIALISTS)
    for none in nones:
        for take in served:
            assert take.ticket is not None
            if take.ticket.purpose in SPECIALISTS[none.staff]:
                assert take.started < none.ended, (none, take)

    # empty now: everyone gets nobody
    for node, (staff, skills) in zip(nodes, SPECIALISTS.items(), strict=True):
        assert await node.take_next(tenant, staff, skills, T0 + 11 * MINUTE) is None


async def test_one_specialist_takes_everyone_in_the_order_rule(
    tenant: str, walkin: WalkinQueue
) -> None:
    joined = [
        await walkin.join(tenant, purpose, "chat", T0 + arrived, booked=booked)
        for purpose, arrived, booked in residents()
    ]
    skills = frozenset(PURPOSES)
    taken = []
    while (ticket := await walkin.take_next(tenant, "s9", skills, T0 + MINUTE)) is not None:
        taken.append(ticket)
    assert [t.id for t in taken] == [t.id for t in in_order(joined)]
    assert taken[0].booked and not taken[-1].booked


async def test_a_specialist_whose_purposes_nobody_waits_for_gets_nobody(
    tenant: str, walkin: WalkinQueue
) -> None:
    ticket = await walkin.join(tenant, "intake", "voice", T0)
    assert await walkin.take_next(tenant, "s1", {"tax", "long"}, T0) is None
    assert await walkin.take_next(tenant, "s1", set(), T0) is None
    assert await walkin.take_next("another-tenant", "s1", {"intake"}, T0) is None
    assert (await walkin.get(tenant, ticket.id)).state is S.WAITING


async def test_a_resident_racing_a_specialist_loses_or_wins_whole(
    database: Database, tenant: str, walkin: WalkinQueue, nodes: list[WalkinQueue]
) -> None:
    # On three nodes at once: two specialists take, the resident leaves. Exactly one of the
    # three changes the ticket; a take that lost finds nobody, a leave that lost is told
    # the ticket is taken.
    for round_ in range(10):
        ticket = await walkin.join(tenant, "tax", "video", T0 + round_ * SECOND)
        now = T0 + MINUTE
        outcomes = await asyncio.gather(
            nodes[0].take_next(tenant, "s4", {"tax"}, now),
            nodes[1].leave(tenant, ticket.id, now),
            nodes[2].take_next(tenant, "s3", {"tax", "long"}, now),
            return_exceptions=True,
        )
        won = [o for o in outcomes if isinstance(o, Ticket)]
        lost = [o for o in outcomes if not isinstance(o, Ticket)]
        assert len(won) == 1, outcomes
        final = await walkin.get(tenant, ticket.id)
        assert final == won[0] and final.version == 2
        for refused in lost:
            assert refused is None or (
                isinstance(refused, InvalidState) and refused.state is final.state
            ), outcomes


# --- away, back and the grace period -------------------------------------------------------


async def test_away_and_back_within_the_grace_period_keeps_the_place(
    tenant: str, walkin: WalkinQueue
) -> None:
    first = await walkin.join(tenant, "intake", "video", T0)
    second = await walkin.join(tenant, "intake", "video", T0 + SECOND)
    away = await walkin.away(tenant, first.id, T0 + MINUTE)
    assert (away.state, away.away_since) == (S.AWAY, T0 + MINUTE)
    # while away: not taken, not counted ahead of anyone, but its place is known
    assert [p.ticket.id for p in await walkin.waiting(tenant, "intake")] == [second.id]
    assert (await walkin.place(tenant, first.id)).position == 1
    assert (await walkin.place(tenant, second.id)).position == 1
    assert await walkin.counts(tenant) == {"intake": Counts(waiting=1, away=1)}

    back = await walkin.back(tenant, first.id, T0 + MINUTE + GRACE - SECOND)
    assert (back.state, back.away_since, back.arrived_at) == (S.WAITING, None, T0)
    places = await walkin.waiting(tenant, "intake")
    assert [(p.ticket.id, p.position) for p in places] == [(first.id, 1), (second.id, 2)]
    taken = await walkin.take_next(tenant, "s1", {"intake"}, T0 + 5 * MINUTE)
    assert taken is not None and taken.id == first.id


async def test_away_too_long_cannot_come_back_and_is_let_go(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    ticket = await walkin.join(tenant, "intake", "video", T0)
    await walkin.away(tenant, ticket.id, T0 + MINUTE)
    before = await row(engine, ticket.id)
    with pytest.raises(GraceExpired, match="cannot come back") as late:
        await walkin.back(tenant, ticket.id, T0 + MINUTE + GRACE)
    assert late.value.state is S.AWAY
    assert await row(engine, ticket.id) == before  # nothing changed: the sweeper decides

    assert ticket.id in {t.id for t in await walkin.expire_away(T0 + MINUTE + GRACE)}
    after = await walkin.get(tenant, ticket.id)
    assert (after.state, after.away_since) == (S.LEFT, None)
    with pytest.raises(InvalidState, match="cannot come back: the ticket is left"):
        await walkin.back(tenant, ticket.id, T0 + MINUTE + GRACE)


async def test_the_sweeper_lets_go_exactly_those_away_for_the_whole_grace_period(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    other_tenant = await seed_tenant(engine)
    on_time = await walkin.join(tenant, "intake", "video", T0)
    just_over = await walkin.join(tenant, "intake", "video", T0)
    elsewhere = await walkin.join(other_tenant, "tax", "video", T0)
    waiting = await walkin.join(tenant, "intake", "video", T0)
    now = T0 + 10 * MINUTE
    await walkin.away(tenant, on_time.id, now - GRACE + SECOND)
    await walkin.away(tenant, just_over.id, now - GRACE)
    await walkin.away(other_tenant, elsewhere.id, now - GRACE - MINUTE)

    gone = await walkin.expire_away(now)
    assert {t.id for t in gone} >= {just_over.id, elsewhere.id}
    assert on_time.id not in {t.id for t in gone} and waiting.id not in {t.id for t in gone}
    assert all(t.state is S.LEFT and t.updated_at == now for t in gone)
    assert (await walkin.get(tenant, on_time.id)).state is S.AWAY
    assert (await walkin.get(tenant, waiting.id)).state is S.WAITING
    assert await walkin.expire_away(now) == []  # nothing twice


async def test_a_resident_leaves_while_waiting_or_away(tenant: str, walkin: WalkinQueue) -> None:
    waiting = await walkin.join(tenant, "long", "chat", T0)
    away = await walkin.join(tenant, "long", "chat", T0)
    await walkin.away(tenant, away.id, T0 + SECOND)
    assert (await walkin.leave(tenant, waiting.id, T0 + MINUTE)).state is S.LEFT
    assert (await walkin.leave(tenant, away.id, T0 + MINUTE)).state is S.LEFT
    assert await walkin.take_next(tenant, "s2", {"long"}, T0 + MINUTE) is None
    assert await walkin.counts(tenant) == {}


# --- the specialist: finish and hand back --------------------------------------------------


async def test_finish_and_hand_back(tenant: str, walkin: WalkinQueue) -> None:
    first = await walkin.join(tenant, "tax", "video", T0)
    later = await walkin.join(tenant, "tax", "video", T0 + MINUTE)
    taken = await walkin.take_next(tenant, "s4", {"tax"}, T0 + 2 * MINUTE)
    assert taken is not None and taken.id == first.id
    assert await walkin.counts(tenant) == {"tax": Counts(waiting=1, taken=1)}

    handed_back = await walkin.requeue(tenant, first.id, "s4", T0 + 3 * MINUTE)
    assert (handed_back.state, handed_back.taken_by, handed_back.arrived_at) == (
        S.WAITING,
        None,
        T0,
    )
    # back in its old place, before the resident who arrived later
    again = await walkin.take_next(tenant, "s3", {"tax", "long"}, T0 + 4 * MINUTE)
    assert again is not None and (again.id, again.taken_by) == (first.id, "s3")
    done = await walkin.finish(tenant, first.id, "s3", T0 + 9 * MINUTE)
    assert (done.state, done.version) == (S.DONE, 5)
    assert (await walkin.place(tenant, later.id)).position == 1


# --- stale requests: a specific error, nothing changed -------------------------------------


async def test_stale_requests_are_refused_naming_the_state_and_change_nothing(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    ticket = await walkin.join(tenant, "intake", "video", T0)
    taken = await walkin.take_next(tenant, "s1", {"intake"}, T0 + MINUTE)
    assert taken is not None
    before = await row(engine, ticket.id)
    later = T0 + 2 * MINUTE
    refusals: list[tuple[Callable[[], Awaitable[object]], type[InvalidState], str]] = [
        (lambda: walkin.leave(tenant, ticket.id, later), InvalidState, "cannot leave"),
        (lambda: walkin.away(tenant, ticket.id, later), InvalidState, "cannot go away"),
        (lambda: walkin.back(tenant, ticket.id, later), InvalidState, "cannot come back"),
        (lambda: walkin.finish(tenant, ticket.id, "s2", later), TakenByOther, "cannot finish"),
        (lambda: walkin.requeue(tenant, ticket.id, "s2", later), TakenByOther, "cannot hand back"),
        (lambda: walkin.place(tenant, ticket.id), InvalidState, "cannot give a place in the queue"),
    ]
    for attempt, error, says in refusals:
        with pytest.raises(error, match=f"{says}: the ticket is taken") as refused:
            await attempt()
        assert refused.value.state is S.TAKEN
        assert await row(engine, ticket.id) == before

    await walkin.finish(tenant, ticket.id, "s1", T0 + 3 * MINUTE)
    done = await row(engine, ticket.id)
    with pytest.raises(InvalidState, match="cannot finish: the ticket is done"):
        await walkin.finish(tenant, ticket.id, "s1", T0 + 4 * MINUTE)
    with pytest.raises(InvalidState, match="cannot hand back: the ticket is done"):
        await walkin.requeue(tenant, ticket.id, "s1", T0 + 4 * MINUTE)
    assert await row(engine, ticket.id) == done


async def test_a_ticket_of_another_tenant_or_none_at_all_is_not_found(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    other = await seed_tenant(engine)
    ticket = await walkin.join(tenant, "intake", "video", T0)
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: walkin.get(other, ticket.id),
        lambda: walkin.leave(other, ticket.id, T0),
        lambda: walkin.finish(other, ticket.id, "s1", T0),
        lambda: walkin.place(tenant, "00000000-0000-4000-8000-000000000000"),
    ]
    for attempt in attempts:
        with pytest.raises(TicketNotFound, match="no such walk-in ticket"):
            await attempt()
    assert (await walkin.get(tenant, ticket.id)).version == 1


async def test_joining_an_unknown_purpose_or_with_bad_values_stores_nothing(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    with pytest.raises(UnknownPurpose, match="no active purpose 'paspoort'"):
        await walkin.join(tenant, "paspoort", "video", T0)
    with pytest.raises(InvalidTicket, match="channel 'fax'"):
        await walkin.join(tenant, "intake", "fax", T0)
    with pytest.raises(InvalidTicket, match="no time zone"):
        await walkin.join(tenant, "intake", "video", T0.replace(tzinfo=None))
    with pytest.raises(UnknownPurpose):
        await walkin.join("no-such-tenant", "intake", "video", T0)
    assert await rows(engine, tenant) == [] and await rows(engine, "no-such-tenant") == []


async def test_a_write_on_a_stale_read_misses_and_the_change_is_decided_again(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resident's node reads the ticket (waiting), then a specialist takes it, then the
    # resident's "leave" is written: the compare-and-set must miss, and the second reading
    # must refuse the leave because the ticket is taken now.
    ticket = await walkin.join(tenant, "intake", "video", T0)
    stale = await walkin.get(tenant, ticket.id)
    await walkin.take_next(tenant, "s1", {"intake"}, T0 + MINUTE)
    taken = await row(engine, ticket.id)
    reads: list[Ticket] = []
    real_read = store._read

    async def read_stale_once(*args: Any) -> Ticket:
        fresh = await real_read(*args)
        reads.append(fresh)
        return stale if len(reads) == 1 else fresh

    monkeypatch.setattr(store, "_read", read_stale_once)
    with pytest.raises(InvalidState, match="cannot leave: the ticket is taken"):
        await walkin.leave(tenant, ticket.id, T0 + 2 * MINUTE)
    assert len(reads) == 2
    assert await row(engine, ticket.id) == taken


async def test_a_ticket_that_keeps_changing_gives_up_and_changes_nothing(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await walkin.join(tenant, "intake", "video", T0)
    stale = await walkin.get(tenant, ticket.id)
    await walkin.away(tenant, ticket.id, T0 + SECOND)
    await walkin.back(tenant, ticket.id, T0 + 2 * SECOND)  # waiting again, at version 3
    before = await row(engine, ticket.id)

    async def always_stale(*_args: Any) -> Ticket:
        return stale  # waiting, as it is now, but at version 1

    monkeypatch.setattr(store, "_read", always_stale)
    with pytest.raises(TicketContended, match=f"{store.ATTEMPTS} attempts"):
        await walkin.leave(tenant, ticket.id, T0 + MINUTE)
    assert await row(engine, ticket.id) == before


# --- what is stored ------------------------------------------------------------------------


async def test_what_is_stored_is_what_comes_back_and_holds_no_secret(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    ticket = await walkin.join(
        tenant, "tax", "voice", T0, booked=True, verification_id="verification-secret-id"
    )
    assert await walkin.get(tenant, ticket.id) == ticket
    stored = await row(engine, ticket.id)
    assert stored["verification"] == verification_digest("verification-secret-id")
    assert "verification-secret-id" not in repr(stored)
    assert (stored["booked"], stored["channel"], stored["state"]) == (True, "voice", "waiting")


async def test_ended_tickets_are_purged(
    engine: AsyncEngine, tenant: str, walkin: WalkinQueue
) -> None:
    # a day before the other tests' times: purging sweeps every tenant of the module
    day_before = T0 - timedelta(days=1)
    done = await walkin.join(tenant, "intake", "video", day_before)
    left = await walkin.join(tenant, "intake", "video", day_before + SECOND)
    waiting = await walkin.join(tenant, "intake", "video", day_before + 2 * SECOND)
    await walkin.take_next(tenant, "s1", {"intake"}, day_before)
    await walkin.finish(tenant, done.id, "s1", day_before + MINUTE)
    await walkin.leave(tenant, left.id, day_before + 2 * MINUTE)
    assert await walkin.purge(day_before + MINUTE) == 0  # ended at, not before, the moment
    assert await walkin.purge(day_before + 3 * MINUTE) == 2
    assert [r["id"] for r in await rows(engine, tenant)] == [waiting.id]


async def test_a_negative_grace_period_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidTicket, match="negative"):
        WalkinQueue(engine, grace=-SECOND)
