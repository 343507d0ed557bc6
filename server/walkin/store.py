"""The walk-in queue in SQL: :class:`WalkinQueue`, the same on SQLite and PostgreSQL, on one
node or several.

The transitions are the pure functions of :mod:`server.walkin.queue`. Every change runs in
one write transaction: read the row, ask the transition (which raises, naming the state,
when the change is not allowed: nothing is written), then write the result *only if the row
is still as read* (``UPDATE … WHERE state = :read AND version = :read``). A caller acting on
a stale view therefore gets the error of the state the ticket is really in ("cannot leave:
the ticket is taken"), never a silent overwrite.

**Taking "Volgende inwoner"** is the race that matters: several specialists, on several
nodes, press the button at once, and no two may get the same resident.

- *PostgreSQL*: ``SELECT … ORDER BY booked DESC, arrived_at, id LIMIT 1 FOR UPDATE SKIP
  LOCKED``, then the compare-and-set update, in one transaction. The first specialist locks
  the head of the queue; the others, instead of queueing behind that lock, skip it and lock
  the next resident at once. Chosen over a bare compare-and-set with retries (every
  specialist aims at the same head row, all but one block on its lock, miss, and try again:
  a burst of N specialists costs about N² statements and grows each one's wait; in the
  fairness test, five specialists ran out of five attempts) and over a plain
  ``FOR UPDATE`` (correct, but every press queues behind the one before it). What SKIP
  LOCKED gives up: a take that locked the head and then fails lets the press beside it pass
  that resident by once; the resident is still first in line for the press after. No
  specialist ever takes a resident while an earlier one of their purposes waits unclaimed.
- *SQLite*: one writer at a time. The write transaction is ``BEGIN IMMEDIATE``
  (server/db/engine.py), so select-then-update cannot interleave with another writer, in
  this process or another.

On both, the compare-and-set in the update stays: the guarantee does not rest on the lock
alone, and a miss means "read again and decide again", never "write anyway". Changes to one
ticket (leave, away, back, finish, hand back) take no lock before their update (see
:meth:`WalkinQueue._change`), so on PostgreSQL they can miss, and do when they race a take.

Connections come from server/db/tx.py: a database that cannot be reached is
:class:`~server.core.problems.DatabaseUnavailable` (503). Times come from the caller
(``now``), so tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.audit import audit
from server.db.schema import purposes, walkin_tickets
from server.db.tx import locked, reading, writing
from server.walkin import queue
from server.walkin.queue import (
    DEFAULT_GRACE,
    FINAL,
    Channel,
    InvalidTicket,
    Ticket,
    TicketConflict,
    TicketContended,
    TicketNotFound,
    TicketState,
    UnknownPurpose,
)

t = walkin_tickets.c
#: a compare-and-set misses only if the row changed between our read and our write, which
#: the locks rule out; more misses than this in a row mean something else is wrong
ATTEMPTS: Final = 5

Change = Callable[[Ticket], Ticket]


@dataclass(frozen=True, slots=True)
class Place:
    """A waiting ticket and its place in its purpose's queue (1: taken next)."""

    ticket: Ticket
    position: int


@dataclass(frozen=True, slots=True)
class Counts:
    """How many tickets of one purpose are in each live state."""

    waiting: int = 0
    away: int = 0
    taken: int = 0


class WalkinQueue:
    """The walk-in queue of every tenant on one database.

    ``grace`` is how long an away ticket keeps its place: :meth:`back` and
    :meth:`expire_away` read the same value, so a resident told "you are back" is never let
    go by the sweeper for the same moment.
    """

    def __init__(self, engine: AsyncEngine, *, grace: timedelta = DEFAULT_GRACE) -> None:
        if grace < timedelta(0):
            raise InvalidTicket(f"the grace period {grace} is negative")
        self._engine = engine
        self.grace = grace

    # --- the resident --------------------------------------------------------------------

    async def join(
        self,
        tenant_id: str,
        purpose: str,
        channel: Channel | str,
        now: datetime,
        *,
        booked: bool = False,
        verification_id: str | None = None,
        room_id: str | None = None,
    ) -> Ticket:
        """A new waiting ticket for ``purpose``, arriving ``now``.

        ``booked``: the resident has an appointment for this purpose that is due now (the
        caller checks that); ``verification_id``: the identity step they passed, stored only
        as its digest; ``room_id``: the walk-in room the resident waits in (one ticket per
        room: a second join for it raises :class:`TicketConflict`).
        """
        ticket = queue.new_ticket(
            tenant_id,
            purpose,
            channel,
            now,
            booked=booked,
            verification_id=verification_id,
            room_id=room_id,
        )
        async with writing(self._engine) as conn:
            # The foreign key is the guarantee; this check turns its refusal into an error
            # that says what is wrong, instead of a driver error.
            known = await conn.execute(
                select(purposes.c.key).where(
                    purposes.c.tenant_id == tenant_id,
                    purposes.c.key == purpose,
                    purposes.c.active,
                )
            )
            if known.first() is None:
                raise UnknownPurpose(f"no active purpose {purpose!r} in tenant {tenant_id!r}")
            if room_id is not None and await _by_room(conn, tenant_id, room_id) is not None:
                raise TicketConflict("the room already has a ticket")
            await conn.execute(insert(walkin_tickets).values(**_row(ticket)))
        return ticket

    async def leave(self, tenant_id: str, ticket_id: str, now: datetime) -> Ticket:
        return await self._change(tenant_id, ticket_id, lambda t: queue.leave(t, now))

    async def away(self, tenant_id: str, ticket_id: str, now: datetime) -> Ticket:
        """The resident's connection dropped: the place is kept for :attr:`grace`."""
        return await self._change(tenant_id, ticket_id, lambda t: queue.away(t, now))

    async def back(self, tenant_id: str, ticket_id: str, now: datetime) -> Ticket:
        """The resident is connected again; :class:`~server.walkin.queue.GraceExpired` (and
        nothing changed) when the grace period is over."""
        return await self._change(tenant_id, ticket_id, lambda t: queue.back(t, now, self.grace))

    # --- the specialist ------------------------------------------------------------------

    async def take_next(
        self, tenant_id: str, staff_id: str, skills: Collection[str], now: datetime
    ) -> Ticket | None:
        """The button "Volgende inwoner": take the first waiting ticket, in the order rule,
        of the purposes in ``skills`` (the purpose keys the specialist has the skill for);
        None when nobody waits for those. Two callers never get the same ticket (see the module
        documentation for how, per dialect)."""
        wanted = sorted(set(skills))
        if not wanted:
            return None
        for _ in range(ATTEMPTS):
            async with writing(self._engine) as conn:
                head = (
                    select(walkin_tickets)
                    .where(
                        t.tenant_id == tenant_id,
                        t.purpose.in_(wanted),
                        t.state == TicketState.WAITING.value,
                    )
                    # queue.order_key in SQL; ix_walkin_tickets_next has this order
                    .order_by(t.booked.desc(), t.arrived_at, t.id)
                    .limit(1)
                )
                row = (await conn.execute(locked(conn, head, skip=True))).first()
                if row is None:
                    return None
                current = _ticket(row)
                taken = queue.take(current, staff_id, wanted, now)
                if await _compare_and_set(conn, current, taken):
                    await _audit(conn, taken, staff_id, "walkin.take", now)
                    return taken
        raise TicketContended(f"the queue kept changing under {ATTEMPTS} attempts to take")

    async def finish(self, tenant_id: str, ticket_id: str, staff_id: str, now: datetime) -> Ticket:
        return await self._change(
            tenant_id,
            ticket_id,
            lambda t: queue.finish(t, staff_id, now),
            audited=(staff_id, "walkin.finish", now),
        )

    async def requeue(
        self,
        tenant_id: str,
        ticket_id: str,
        staff_id: str,
        now: datetime,
        *,
        note_sealed: str | None = None,
    ) -> Ticket:
        """Hand a taken ticket back: it waits again with its original arrival time."""
        return await self._change(
            tenant_id,
            ticket_id,
            lambda t: queue.requeue(t, staff_id, now, note_sealed=note_sealed),
            audited=(staff_id, "walkin.hand_back", now),
        )

    async def hand_over(
        self,
        tenant_id: str,
        ticket_id: str,
        staff_id: str,
        purpose: str,
        now: datetime,
        *,
        note_sealed: str | None = None,
    ) -> Ticket:
        """Hand a taken ticket to another purpose's queue, keeping its arrival time."""
        async with reading(self._engine) as conn:
            known = await conn.execute(
                select(purposes.c.key).where(
                    purposes.c.tenant_id == tenant_id, purposes.c.key == purpose, purposes.c.active
                )
            )
            if known.first() is None:
                raise UnknownPurpose(f"no active purpose {purpose!r} in tenant {tenant_id!r}")
        return await self._change(
            tenant_id,
            ticket_id,
            lambda t: queue.hand_over(t, staff_id, purpose, now, note_sealed=note_sealed),
            audited=(staff_id, "walkin.hand_over", now),
        )

    # --- housekeeping --------------------------------------------------------------------

    async def expire_away(self, now: datetime) -> list[Ticket]:
        """Let go of every ticket (any tenant) away for the whole grace period; the tickets
        that left. Run it from a periodic task; a ticket coming back at this very moment
        on PostgreSQL is skipped (its lock is held) and decided by :meth:`back`."""
        async with writing(self._engine) as conn:
            overdue = (
                select(walkin_tickets)
                .where(
                    t.state == TicketState.AWAY.value,
                    # queue.grace_over in SQL: the boundary counts as over
                    t.away_since <= now - self.grace,
                )
                .order_by(t.away_since, t.id)
            )
            gone = []
            for row in (await conn.execute(locked(conn, overdue, skip=True))).all():
                current = _ticket(row)
                left = queue.expire(current, now, self.grace)
                if await _compare_and_set(conn, current, left):
                    gone.append(left)
        return gone

    async def purge(self, before: datetime) -> int:
        """Delete tickets that ended (done, left) before ``before``; how many."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                delete(walkin_tickets).where(
                    t.state.in_(sorted(state.value for state in FINAL)), t.updated_at < before
                )
            )
        return int(result.rowcount or 0)

    # --- reading -------------------------------------------------------------------------

    async def get(self, tenant_id: str, ticket_id: str) -> Ticket:
        async with reading(self._engine) as conn:
            return await _read(conn, tenant_id, ticket_id)

    async def in_room(self, tenant_id: str, room_id: str) -> Ticket | None:
        """The ticket of a walk-in room, if its resident has joined the queue."""
        async with reading(self._engine) as conn:
            return await _by_room(conn, tenant_id, room_id)

    async def of_room(self, room_id: str) -> Ticket | None:
        """The ticket of a walk-in room, whatever its tenant: for the call hub's hook, which
        knows only the room (room ids are unique)."""
        async with reading(self._engine) as conn:
            return await _by_room(conn, None, room_id)

    async def taken_by(self, tenant_id: str, staff_id: str) -> list[Ticket]:
        """The tickets a staff member has taken and not finished, the earliest taken first."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(walkin_tickets)
                .where(
                    t.tenant_id == tenant_id,
                    t.taken_by == staff_id,
                    t.state == TicketState.TAKEN.value,
                )
                .order_by(t.taken_at, t.id)
            )
            return [_ticket(row) for row in rows]

    async def waiting(self, tenant_id: str, purpose: str) -> list[Place]:
        """The waiting tickets of a purpose with their places, the next one taken first."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(walkin_tickets).where(
                    t.tenant_id == tenant_id,
                    t.purpose == purpose,
                    t.state == TicketState.WAITING.value,
                )
            )
            tickets = queue.in_order(_ticket(row) for row in rows)
        return [Place(ticket, index) for index, ticket in enumerate(tickets, start=1)]

    async def place(self, tenant_id: str, ticket_id: str) -> Place:
        """A queued (waiting or away) ticket and its place; for an away ticket, the place it
        has when it comes back now."""
        async with reading(self._engine) as conn:
            ticket = await _read(conn, tenant_id, ticket_id)
            rows = await conn.execute(
                select(walkin_tickets).where(
                    t.tenant_id == tenant_id,
                    t.purpose == ticket.purpose,
                    t.state == TicketState.WAITING.value,
                )
            )
            others = [_ticket(row) for row in rows]
        return Place(ticket, queue.position(ticket, others))

    async def counts(self, tenant_id: str) -> dict[str, Counts]:
        """Per purpose with anyone in it: how many wait, are away and are being served."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(t.purpose, t.state, func.count())
                .where(
                    t.tenant_id == tenant_id,
                    t.state.in_(
                        [TicketState.WAITING.value, TicketState.AWAY.value, TicketState.TAKEN.value]
                    ),
                )
                .group_by(t.purpose, t.state)
            )
            found: dict[str, dict[str, int]] = {}
            for purpose, state, count in rows:
                found.setdefault(purpose, {})[state] = int(count)
        return {purpose: Counts(**by_state) for purpose, by_state in sorted(found.items())}

    # --- changing one ticket -------------------------------------------------------------

    async def _change(
        self,
        tenant_id: str,
        ticket_id: str,
        change: Change,
        *,
        audited: tuple[str, str, datetime] | None = None,
    ) -> Ticket:
        """Apply ``change`` to the ticket as it is now, if nobody changes it meanwhile.

        The read takes no lock on PostgreSQL: a refused change (say, "come back" for a
        ticket that never went away) must not hold a waiting ticket's row, which "Volgende
        inwoner" would then skip. Only the update locks, when it changes the row. A resident
        leaving while a specialist takes them waits for the take at the update, misses
        (the row is no longer as read), reads again and hears "the ticket is taken".

        ``audited`` (staff id, action, when): a specialist's change, written to the audit
        trail in the same transaction as the change itself.
        """
        for _ in range(ATTEMPTS):
            async with writing(self._engine) as conn:
                current = await _read(conn, tenant_id, ticket_id)
                changed = change(current)  # refuses (raises) from the state it reads
                if await _compare_and_set(conn, current, changed):
                    if audited is not None:
                        await _audit(conn, changed, *audited)
                    return changed
        raise TicketContended(f"the ticket kept changing under {ATTEMPTS} attempts")


# --- rows ----------------------------------------------------------------------------------


async def _read(conn: AsyncConnection, tenant_id: str, ticket_id: str) -> Ticket:
    query = select(walkin_tickets).where(t.tenant_id == tenant_id, t.id == ticket_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise TicketNotFound(f"no such walk-in ticket in tenant {tenant_id!r}")
    return _ticket(row)


async def _audit(
    conn: AsyncConnection, ticket: Ticket, staff_id: str, action: str, at: datetime
) -> None:
    """A specialist's change of a ticket in the audit trail: who (the staff member), what,
    which ticket; no attributes, the ticket holds none."""
    await audit(
        conn, ticket.tenant_id, at, f"staff-member:{staff_id}", action, f"walkin:{ticket.id}"
    )


async def _by_room(conn: AsyncConnection, tenant_id: str | None, room_id: str) -> Ticket | None:
    """The room's ticket; in ``tenant_id`` only, unless None (room ids are unique)."""
    query = select(walkin_tickets).where(t.room_id == room_id)
    if tenant_id is not None:
        query = query.where(t.tenant_id == tenant_id)
    row = (await conn.execute(query)).first()
    return None if row is None else _ticket(row)


async def _compare_and_set(conn: AsyncConnection, current: Ticket, changed: Ticket) -> bool:
    """Write ``changed`` over the row if it is still ``current``; whether it was.

    ``arrived_at``, ``purpose`` and ``booked`` are never written after the insert: the
    ticket's place in the order cannot change, whatever a transition returns.
    """
    result = await conn.execute(
        update(walkin_tickets)
        .where(
            t.id == current.id,
            t.tenant_id == current.tenant_id,
            t.state == current.state.value,
            t.version == current.version,
        )
        .values(
            state=changed.state.value,
            # only a hand-over changes the purpose; the order's fields never change
            purpose=changed.purpose,
            note_sealed=changed.note_sealed,
            taken_by=changed.taken_by,
            taken_at=changed.taken_at,
            away_since=changed.away_since,
            version=changed.version,
            updated_at=changed.updated_at,
        )
    )
    return result.rowcount == 1


def _row(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "tenant_id": ticket.tenant_id,
        "purpose": ticket.purpose,
        "channel": ticket.channel.value,
        "state": ticket.state.value,
        "booked": ticket.booked,
        "arrived_at": ticket.arrived_at,
        "verification": ticket.verification,
        "taken_by": ticket.taken_by,
        "taken_at": ticket.taken_at,
        "away_since": ticket.away_since,
        "version": ticket.version,
        "updated_at": ticket.updated_at or ticket.arrived_at,
        "room_id": ticket.room_id,
        "note_sealed": ticket.note_sealed,
    }


def _ticket(row: Row[Any]) -> Ticket:
    return Ticket(
        id=row.id,
        tenant_id=row.tenant_id,
        purpose=row.purpose,
        channel=Channel(row.channel),
        arrived_at=row.arrived_at,
        state=TicketState(row.state),
        booked=bool(row.booked),
        verification=row.verification,
        taken_by=row.taken_by,
        taken_at=row.taken_at,
        away_since=row.away_since,
        version=row.version,
        updated_at=row.updated_at,
        room_id=row.room_id,
        note_sealed=row.note_sealed,
    )


__all__ = ["ATTEMPTS", "Counts", "Place", "WalkinQueue"]
