"""The walk-in counter as the pages, the API and the desk use it: which counters are open and
how full, a resident arriving in the lobby, their place, leaving, and "Volgende inwoner".

State lives in the database (:class:`~server.walkin.store.WalkinQueue`), so every node answers
the same. After every change the residents of that purpose hear their new place through
``announce``, which the application wires to the call hub's notices: the hub routes a notice
to the room's home node over the bus, so a resident hears it whichever node holds their socket.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import VaultError
from identity.vault import KeyRing
from server.core.clock import Clock
from server.db.schema import purposes, staff
from server.db.tx import reading
from server.walkin import hours, queue
from server.walkin.callbacks import Callbacks
from server.walkin.counters import DEFAULT_HANDLING, Counter, WalkinCounters
from server.walkin.queue import GraceExpired, Ticket, TicketConflict, TicketState
from server.walkin.store import WalkinQueue
from signaling.channels import Channel
from signaling.messages import JsonObject

log = logging.getLogger("balie.walkin")

#: a resident whose expected wait passes this (or the counter's longest wait, if shorter) is
#: offered a call-back or a booking instead
OFFER_AFTER: Final = timedelta(minutes=20)

_NOTE_AAD: Final = "balie/walkin-note"

#: tells the resident of a room something: the hub's notice to the room's resident seats
Announce = Callable[[str, JsonObject], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CounterView:
    """One purpose's counter as a resident about to join sees it."""

    purpose: str
    counter: Counter
    status: hours.Status
    waiting: int
    #: the wait of someone joining now; None when nobody with the skill is on duty
    expected: timedelta | None

    @property
    def full(self) -> bool:
        return self.counter.full(self.waiting, self.expected)

    @property
    def accepts(self) -> bool:
        """Whether a new resident gets a place now."""
        return self.status.is_open and not self.full


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A resident's ticket as their page shows it (the ``queue`` notice)."""

    state: TicketState
    position: int | None = None
    waiting: int | None = None
    expected: timedelta | None = None
    #: the wait is long (or unknown with people ahead): offer "bel mij terug" and a booking,
    #: both for this purpose
    offer: tuple[str, str] | None = None

    def json(self) -> JsonObject:
        body: JsonObject = {"state": self.state.value}
        if self.state in queue.QUEUED:
            body["position"] = self.position
            body["waiting"] = self.waiting
            body["expected_minutes"] = (
                None if self.expected is None else round(self.expected.total_seconds() / 60)
            )
            if self.offer is not None:
                body["callback_url"], body["booking_url"] = self.offer
        return body


class WalkinService:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        keys: KeyRing,
        *,
        grace: timedelta = queue.DEFAULT_GRACE,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.queue = WalkinQueue(engine, grace=grace)
        self.counters = WalkinCounters(engine)
        self.callbacks = Callbacks(engine, keys)
        self._keys = keys
        self.announce: Announce | None = None

    # --- the counters --------------------------------------------------------------------

    async def views(self, tenant_id: str) -> list[CounterView]:
        """The tenant's counters, in purpose order."""
        counters = await self.counters.all(tenant_id)
        return [await self._view(tenant_id, counter) for counter in counters.values()]

    async def view(self, tenant_id: str, purpose: str) -> CounterView | None:
        counter = await self.counters.get(tenant_id, purpose)
        return None if counter is None else await self._view(tenant_id, counter)

    async def _view(self, tenant_id: str, counter: Counter) -> CounterView:
        now = self._clock()
        waiting = len(await self.queue.waiting(tenant_id, counter.purpose))
        on_duty = await self.on_duty(tenant_id, counter.purpose)
        expected = queue.expected_wait(waiting, on_duty, counter.handling)
        return CounterView(
            counter.purpose, counter, hours.status(counter.hours, now), waiting, expected
        )

    async def on_duty(self, tenant_id: str, purpose: str) -> int:
        """How many active specialists have the purpose's skill: the estimate shares the
        queue among them. Deliberately simple: it cannot know who is at their desk."""
        async with reading(self._engine) as conn:
            skill = (
                await conn.execute(
                    select(purposes.c.skill).where(
                        purposes.c.tenant_id == tenant_id, purposes.c.key == purpose
                    )
                )
            ).scalar()
            rows = await conn.execute(
                select(staff.c.skills, staff.c.roles).where(
                    staff.c.tenant_id == tenant_id, staff.c.active
                )
            )
            return sum(1 for skills, roles in rows if skill in skills and "specialist" in roles)

    # --- the resident --------------------------------------------------------------------

    async def arrive(self, tenant_id: str, purpose: str, room_id: str, channel: Channel) -> Ticket:
        """The resident of a walk-in room entered its lobby (after the identity gate): a
        place in the queue, or their place again when they come back to the same room within
        the grace period (after it, the ticket has left: the page offers to start again)."""
        now = self._clock()
        ticket = await self.queue.in_room(tenant_id, room_id)
        if ticket is None:
            try:
                ticket = await self.queue.join(tenant_id, purpose, channel, now, room_id=room_id)
            except TicketConflict:  # the same resident's second socket, a moment earlier
                found = await self.queue.in_room(tenant_id, room_id)
                if found is None:
                    raise
                ticket = found
        elif ticket.state is TicketState.AWAY:
            try:
                ticket = await self.queue.back(tenant_id, ticket.id, now)
            except GraceExpired:
                # gone too long: the place is lost (the page says so and offers to start again)
                ticket = await self.queue.leave(tenant_id, ticket.id, now)
        # the ticket's purpose, not the token's: a colleague may have handed it over
        await self.tell_everyone(tenant_id, ticket.purpose)
        return ticket

    async def info(self, tenant_id: str, room_id: str) -> QueueInfo | None:
        """The room's ticket as its resident's page shows it; None before it has one."""
        ticket = await self.queue.in_room(tenant_id, room_id)
        if ticket is None:
            return None
        if ticket.state not in queue.QUEUED:
            return QueueInfo(ticket.state)
        places = await self.queue.waiting(tenant_id, ticket.purpose)
        place = await self.queue.place(tenant_id, ticket.id)
        estimate = await self._estimate(tenant_id, ticket.purpose)
        return estimate(ticket, place.position, len(places))

    async def _estimate(
        self, tenant_id: str, purpose: str
    ) -> Callable[[Ticket, int, int], QueueInfo]:
        """What a place in the purpose's queue means in minutes, read once for a whole queue."""
        counter = await self.counters.get(tenant_id, purpose)
        handling = counter.handling if counter is not None else DEFAULT_HANDLING
        threshold = OFFER_AFTER
        if counter is not None and counter.max_wait is not None:
            threshold = min(threshold, counter.max_wait)
        on_duty = await self.on_duty(tenant_id, purpose)
        offer = (
            f"/balie/{tenant_id}/{purpose}/terugbellen",
            f"/afspraak/{tenant_id}/kies/{purpose}",
        )

        def info(ticket: Ticket, position: int, waiting: int) -> QueueInfo:
            expected = queue.expected_wait(position - 1, on_duty, handling)
            long = expected > threshold if expected is not None else position > 1
            return QueueInfo(ticket.state, position, waiting, expected, offer if long else None)

        return info

    async def leave(self, tenant_id: str, room_id: str) -> Ticket | None:
        """The resident leaves the queue; None when the room has no ticket."""
        ticket = await self.queue.in_room(tenant_id, room_id)
        if ticket is None:
            return None
        left = await self.queue.leave(tenant_id, ticket.id, self._clock())
        await self.tell_everyone(tenant_id, ticket.purpose)
        return left

    # --- the specialist ------------------------------------------------------------------

    async def take_next(self, tenant_id: str, staff_id: str) -> Ticket | None:
        """The button "Volgende inwoner": the longest-waiting resident of the purposes this
        specialist has the skill for; None when nobody waits for those."""
        wanted = await self.purposes_of(tenant_id, staff_id)
        ticket = await self.queue.take_next(tenant_id, staff_id, wanted, self._clock())
        if ticket is not None:
            if ticket.room_id is not None:
                await self._tell(ticket.room_id, QueueInfo(TicketState.TAKEN))
            await self.tell_everyone(tenant_id, ticket.purpose)
        return ticket

    async def purposes_of(self, tenant_id: str, staff_id: str) -> list[str]:
        """The purpose keys whose skill the staff member has."""
        async with reading(self._engine) as conn:
            skills = (
                await conn.execute(
                    select(staff.c.skills).where(
                        staff.c.tenant_id == tenant_id, staff.c.id == staff_id, staff.c.active
                    )
                )
            ).scalar()
            if not skills:
                return []
            rows = await conn.execute(
                select(purposes.c.key).where(
                    purposes.c.tenant_id == tenant_id, purposes.c.skill.in_(list(skills))
                )
            )
            return sorted(row.key for row in rows)

    async def serving(self, tenant_id: str, staff_id: str) -> list[Ticket]:
        """The tickets this specialist has taken and not finished."""
        return await self.queue.taken_by(tenant_id, staff_id)

    async def finish(self, tenant_id: str, ticket_id: str, staff_id: str) -> Ticket:
        return await self.queue.finish(tenant_id, ticket_id, staff_id, self._clock())

    async def requeue(
        self,
        tenant_id: str,
        ticket_id: str,
        staff_id: str,
        *,
        note: str = "",
        purpose: str | None = None,
    ) -> Ticket:
        """Back in the queue, in the place the resident had: of the same purpose, or handed
        over to another purpose's colleagues; with ``note`` for whoever takes them next."""
        now = self._clock()
        sealed = self._seal_note(ticket_id, note) if note.strip() else None
        before = await self.queue.get(tenant_id, ticket_id)
        if purpose is None or purpose == before.purpose:
            ticket = await self.queue.requeue(
                tenant_id, ticket_id, staff_id, now, note_sealed=sealed
            )
        else:
            ticket = await self.queue.hand_over(
                tenant_id, ticket_id, staff_id, purpose, now, note_sealed=sealed
            )
        await self.tell_everyone(tenant_id, ticket.purpose)
        return ticket

    def note_of(self, ticket: Ticket) -> str | None:
        """The note handed over with the ticket, for the specialist who took it."""
        if ticket.note_sealed is None:
            return None
        try:
            opened = self._keys.open(ticket.note_sealed, room=_NOTE_AAD, verification_id=ticket.id)
        except VaultError:
            return None
        return opened.decode()

    def _seal_note(self, ticket_id: str, note: str) -> str:
        # bound to the ticket: copied onto another, it opens for nobody
        return self._keys.seal(note.strip().encode(), room=_NOTE_AAD, verification_id=ticket_id)

    async def room_closed(self, room_id: str) -> None:
        """The call of a walk-in room ended or emptied. Taken: the resident was served.
        Waiting: the resident's connection is gone past the hub's resume window; their place
        is kept for the queue's grace period (they come back by opening the page again,
        which joins the lobby: :meth:`arrive`), then the sweeper lets it go."""
        ticket = await self.queue.of_room(room_id)
        if ticket is None:
            return
        now = self._clock()
        if ticket.state is TicketState.TAKEN and ticket.taken_by is not None:
            await self.queue.finish(ticket.tenant_id, ticket.id, ticket.taken_by, now)
        elif ticket.state is TicketState.WAITING:
            await self.queue.away(ticket.tenant_id, ticket.id, now)
            await self.tell_everyone(ticket.tenant_id, ticket.purpose)

    # --- telling residents ---------------------------------------------------------------

    async def tell_everyone(self, tenant_id: str, purpose: str) -> None:
        """Every waiting resident of the purpose hears their place (it may have moved)."""
        if self.announce is None:
            return
        places = await self.queue.waiting(tenant_id, purpose)
        estimate = await self._estimate(tenant_id, purpose)
        for place in places:
            if place.ticket.room_id is not None:
                info = estimate(place.ticket, place.position, len(places))
                await self._tell(place.ticket.room_id, info)

    async def _tell(self, room_id: str, info: QueueInfo) -> None:
        if self.announce is not None:
            await self.announce(room_id, {"type": "queue", **info.json()})
