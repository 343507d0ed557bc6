"""The walk-in queue, free of I/O: tickets, their state machine, the order rule, positions and
the expected wait.

A resident who comes to the counter without an appointment (after the identity step) draws a
ticket for a purpose and waits; a specialist with the skill for that purpose takes
"Volgende inwoner"::

    waiting ─take─▶ taken ─finish─▶ done
     │  ▲  ▲          │
     │  │  └─requeue──┘        (handed back: keeps its arrival time)
     │  │
     │  └─back (within the grace period: keeps its arrival time)
     │  │
     ├─away─▶ away ─expire (grace period over)─▶ left
     │          │
     └─leave────┴─leave─────────────────────────▶ left

``done`` and ``left`` are final. Every transition is a function that returns the changed
ticket or raises; an error names the state the ticket is in ("cannot take: the ticket is
left"). The store (:mod:`server.walkin.store`) applies these to the row it read and writes
the result only if the row is still as read.

**Order rule** (:func:`order_key`): a booked appointment that is due now comes first, then
the earliest arrival, then the ticket id, so two tickets arriving in the same microsecond
still have one order every node agrees on. Going away and coming back, and being handed
back by a specialist, keep the arrival time: a resident never loses their place to a lost
connection or to a specialist who could not help.

**No personal data** in a ticket: no name, no BSN. The identity result stays in the
verification and the vault; a ticket carries only the SHA-256 of the verification id (the
id itself is a bearer secret). Error messages name states, purposes and staff ids only:
never the ticket id either, which the resident's browser holds as its handle on the ticket.

The queue's errors are defined here, beside the machine, and drawn in the package's tree at
the top of :mod:`server.walkin.errors`: :class:`InvalidTicket`, :class:`TicketNotFound`,
:class:`UnknownPurpose`, :class:`MissingSkill`, and under :class:`TicketConflict`:
:class:`InvalidState` (with :class:`TakenByOther` and :class:`GraceExpired`) and
:class:`TicketContended`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from server.walkin.errors import WalkinError
from signaling.channels import Channel

#: how long a resident whose connection dropped keeps their place. A phone switching from
#: Wi-Fi to 4G, or a reload, comes back within seconds; a resident whose phone locked or who
#: walked out of reach needs longer. Two minutes keeps the place through those without
#: letting a resident who gave up block the count and the estimate for long.
DEFAULT_GRACE: Final = timedelta(minutes=2)


class TicketState(StrEnum):
    WAITING = "waiting"  #: in the queue, connected
    AWAY = "away"  #: connection lost; keeps the place for the grace period
    TAKEN = "taken"  #: a specialist is serving the resident
    DONE = "done"  #: served (final)
    LEFT = "left"  #: left the queue, or was away past the grace period (final)


S = TicketState

#: states a ticket ends in: nothing changes it any more
FINAL: Final = frozenset({S.DONE, S.LEFT})
#: states in which a ticket stands in the queue (has a place)
QUEUED: Final = frozenset({S.WAITING, S.AWAY})


# --- errors --------------------------------------------------------------------------------


class InvalidTicket(WalkinError, ValueError):
    """A value handed to the queue is out of range; the message names it."""


class TicketNotFound(WalkinError):
    """No such ticket in the caller's tenant (another tenant's tickets are not found)."""


class UnknownPurpose(WalkinError):
    """No such active purpose in the tenant: nobody can be queued for it."""


class MissingSkill(WalkinError):
    """The specialist lacks the skill for the ticket's purpose."""

    def __init__(self, message: str, purpose: str) -> None:
        super().__init__(message)
        self.purpose = purpose


class TicketConflict(WalkinError):
    """The request contradicts the ticket's current state, or lost a race to it."""


class InvalidState(TicketConflict):
    """The transition is not allowed from the ticket's current ``state``."""

    def __init__(self, message: str, state: TicketState) -> None:
        super().__init__(message)
        self.state = state


class TakenByOther(InvalidState):
    """The ticket is taken, but by another specialist than the one asking."""


class GraceExpired(InvalidState):
    """The ticket was away for longer than the grace period: it cannot come back (the
    sweeper lets it go; the resident joins again)."""


class TicketContended(TicketConflict):
    """The ticket kept changing under every attempt of the store; try again."""


# --- tickets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    """One resident's place in one purpose's queue. Times are aware UTC datetimes."""

    id: str  #: random (UUID4); the resident's browser holds it
    tenant_id: str
    purpose: str  #: the purpose key; a specialist needs its skill to take the ticket
    channel: Channel
    arrived_at: datetime  #: the queue's order; kept through away/back and requeue
    state: TicketState = S.WAITING
    #: a booked appointment due now: goes before the walk-ins of its purpose
    booked: bool = False
    #: SHA-256 of the verification id (:func:`verification_digest`), never the id itself
    verification: str | None = None
    taken_by: str | None = None  #: staff id, while taken and once done
    taken_at: datetime | None = None
    away_since: datetime | None = None  #: while away: when the connection was lost
    #: every transition increments it: the store's compare-and-set, and the order of updates
    version: int = 1
    updated_at: datetime | None = None
    #: the walk-in room the resident waits in; the specialist who takes the ticket joins it
    room_id: str | None = None
    #: a specialist's note for the next one, sealed by the caller (opaque here); it goes with
    #: the ticket through a hand-back or hand-over and is dropped when the ticket ends
    note_sealed: str | None = field(default=None, repr=False)


def new_ticket(
    tenant_id: str,
    purpose: str,
    channel: Channel | str,
    now: datetime,
    *,
    booked: bool = False,
    verification_id: str | None = None,
    room_id: str | None = None,
) -> Ticket:
    """A waiting ticket that arrived ``now``, with a fresh random id."""
    _check_aware("now", now)
    if not tenant_id or not purpose:
        raise InvalidTicket("a ticket needs a tenant and a purpose")
    try:
        chosen = Channel(channel)
    except ValueError:
        raise InvalidTicket(
            f"channel {channel!r} is not one of {', '.join(c.value for c in Channel)}"
        ) from None
    return Ticket(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        purpose=purpose,
        channel=chosen,
        arrived_at=now,
        booked=booked,
        verification=None if verification_id is None else verification_digest(verification_id),
        updated_at=now,
        room_id=room_id,
    )


def verification_digest(verification_id: str) -> str:
    """What a ticket keeps of the verification: its SHA-256, which is also the row key of
    ``verifications`` (server/verification/verification_store.py), so the two still meet."""
    return hashlib.sha256(verification_id.encode()).hexdigest()


# --- transitions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of state: the states it may start from and where it ends."""

    name: str  #: the verb, as in "cannot take: the ticket is left"
    sources: frozenset[TicketState]
    target: TicketState


TAKE: Final = Transition("take", frozenset({S.WAITING}), S.TAKEN)
FINISH: Final = Transition("finish", frozenset({S.TAKEN}), S.DONE)
REQUEUE: Final = Transition("hand back", frozenset({S.TAKEN}), S.WAITING)
HAND_OVER: Final = Transition("hand over", frozenset({S.TAKEN}), S.WAITING)
# A resident who lost the connection may still say "I'm leaving" (from another tab, or the
# page that opens after the drop): they need not come back first just to go.
LEAVE: Final = Transition("leave", frozenset({S.WAITING, S.AWAY}), S.LEFT)
AWAY: Final = Transition("go away", frozenset({S.WAITING}), S.AWAY)
BACK: Final = Transition("come back", frozenset({S.AWAY}), S.WAITING)
EXPIRE: Final = Transition("let go", frozenset({S.AWAY}), S.LEFT)


def _moved(ticket: Ticket, transition: Transition, now: datetime) -> Ticket:
    """The ticket in ``transition``'s target state, if it may go there from where it is."""
    _check_aware("now", now)
    if ticket.state not in transition.sources:
        raise InvalidState(
            f"cannot {transition.name}: the ticket is {ticket.state.value}", ticket.state
        )
    return replace(ticket, state=transition.target, version=ticket.version + 1, updated_at=now)


def take(ticket: Ticket, staff_id: str, skills: Collection[str], now: datetime) -> Ticket:
    """A specialist takes the ticket; ``skills`` are the purposes they have the skill for."""
    if not staff_id:
        raise InvalidTicket("a ticket is taken by a staff member: the staff id is empty")
    if ticket.purpose not in skills:
        # checked before the state: a specialist without the skill learns nothing more
        raise MissingSkill(
            f"cannot take: staff {staff_id!r} lacks the skill for {ticket.purpose!r}",
            ticket.purpose,
        )
    return replace(_moved(ticket, TAKE, now), taken_by=staff_id, taken_at=now)


def finish(ticket: Ticket, staff_id: str, now: datetime) -> Ticket:
    """The specialist who took the ticket has served the resident."""
    _check_taker(ticket, FINISH, staff_id)
    return replace(_moved(ticket, FINISH, now), note_sealed=None)


def requeue(
    ticket: Ticket, staff_id: str, now: datetime, *, note_sealed: str | None = None
) -> Ticket:
    """The specialist who took the ticket hands it back: it waits again in its old place
    (its arrival time is kept), for the next specialist with the skill, with ``note_sealed``
    (replacing an earlier note) for them."""
    _check_taker(ticket, REQUEUE, staff_id)
    moved = _moved(ticket, REQUEUE, now)
    return replace(moved, taken_by=None, taken_at=None, note_sealed=note_sealed)


def hand_over(
    ticket: Ticket, staff_id: str, purpose: str, now: datetime, *, note_sealed: str | None = None
) -> Ticket:
    """The specialist who took the ticket hands the resident over to the colleagues of
    another purpose: they wait in that purpose's queue with their own arrival time (so ahead
    of those who came later), with ``note_sealed`` for whoever takes them."""
    if not purpose:
        raise InvalidTicket("a hand-over needs the purpose to hand over to")
    _check_taker(ticket, HAND_OVER, staff_id)
    moved = _moved(ticket, HAND_OVER, now)
    return replace(moved, purpose=purpose, taken_by=None, taken_at=None, note_sealed=note_sealed)


def leave(ticket: Ticket, now: datetime) -> Ticket:
    """The resident leaves the queue."""
    return replace(_moved(ticket, LEAVE, now), away_since=None, note_sealed=None)


def away(ticket: Ticket, now: datetime) -> Ticket:
    """The resident's connection was lost; the place is kept for the grace period."""
    return replace(_moved(ticket, AWAY, now), away_since=now)


def back(ticket: Ticket, now: datetime, grace: timedelta) -> Ticket:
    """The resident's connection is back within the grace period: waiting again, in the
    place the arrival time gives (people who arrived later did not pass them)."""
    if ticket.state is S.AWAY and grace_over(ticket, now, grace):
        raise GraceExpired(
            f"cannot {BACK.name}: the ticket was away for its whole grace period "
            f"({grace.total_seconds():g} s)",
            ticket.state,
        )
    return replace(_moved(ticket, BACK, now), away_since=None)


def expire(ticket: Ticket, now: datetime, grace: timedelta) -> Ticket:
    """An away ticket whose grace period is over leaves the queue."""
    if ticket.state is S.AWAY and not grace_over(ticket, now, grace):
        raise InvalidState(
            f"cannot {EXPIRE.name}: the ticket is {ticket.state.value} within its grace period",
            ticket.state,
        )
    return replace(_moved(ticket, EXPIRE, now), away_since=None, note_sealed=None)


def grace_over(ticket: Ticket, now: datetime, grace: timedelta) -> bool:
    """Whether an away ticket has been away for the whole grace period (or longer).

    The boundary belongs to "over": at exactly ``away_since + grace`` the resident is too
    late, and the sweeper's SQL (``away_since <= now - grace``) says the same.
    """
    _check_aware("now", now)
    if grace < timedelta(0):
        raise InvalidTicket(f"the grace period {grace} is negative")
    if ticket.state is not S.AWAY or ticket.away_since is None:
        return False
    return now >= ticket.away_since + grace


def _check_taker(ticket: Ticket, transition: Transition, staff_id: str) -> None:
    if ticket.state is S.TAKEN and ticket.taken_by != staff_id:
        raise TakenByOther(
            f"cannot {transition.name}: the ticket is taken by another specialist, "
            f"not {staff_id!r}",
            ticket.state,
        )


def _check_aware(name: str, moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise InvalidTicket(f"{name} {moment.isoformat()} has no time zone")


# --- order, positions, the wait ------------------------------------------------------------


def order_key(ticket: Ticket) -> tuple[bool, datetime, str]:
    """The order rule: booked (due now) first, then the earliest arrival, then the id.

    ``False`` sorts before ``True``, so the first element is "not booked". The store's
    ``ORDER BY booked DESC, arrived_at, id`` is the same rule in SQL.
    """
    return (not ticket.booked, ticket.arrived_at, ticket.id)


def in_order(tickets: Iterable[Ticket]) -> list[Ticket]:
    """The tickets sorted by the order rule (whatever their purpose and state)."""
    return sorted(tickets, key=order_key)


def next_ticket(tickets: Iterable[Ticket], skills: Collection[str]) -> Ticket | None:
    """Who a specialist with these skills takes next: the first waiting ticket, in the order
    rule, of the purposes they have the skill for; None when nobody waits for those."""
    candidates = [t for t in tickets if t.state is S.WAITING and t.purpose in skills]
    return min(candidates, key=order_key, default=None)


def position(ticket: Ticket, tickets: Iterable[Ticket]) -> int:
    """The ticket's place in its purpose's queue, 1 for the next one taken.

    Counts the waiting tickets of the same tenant and purpose that go before it. For an away
    ticket: the place it has when it comes back now. Tickets away are not counted ahead of
    anyone: a specialist cannot take them, so they do not hold the others up.
    """
    if ticket.state not in QUEUED:
        raise InvalidState(
            f"cannot give a place in the queue: the ticket is {ticket.state.value}",
            ticket.state,
        )
    mine = order_key(ticket)
    ahead = sum(
        1
        for other in tickets
        if other.state is S.WAITING
        and other.tenant_id == ticket.tenant_id
        and other.purpose == ticket.purpose
        and other.id != ticket.id
        and order_key(other) < mine
    )
    return ahead + 1


def expected_wait(ahead: int, serving: int, handling: timedelta) -> timedelta | None:
    """A rough wait: the people ahead, shared among the specialists serving the purpose,
    each taking ``handling``. None when nobody serves the purpose now (no estimate: the page
    says so rather than promise a time).

    Deliberately simple: it does not know how far the current conversations are, so the
    first in line hears "0 minutes" while everyone is busy.
    """
    if ahead < 0 or serving < 0:
        raise InvalidTicket(f"people ahead ({ahead}) and serving ({serving}) count from 0")
    if handling <= timedelta(0):
        raise InvalidTicket(f"the handling time {handling} must be positive")
    if serving == 0:
        return None
    return handling * ahead / serving


__all__ = [
    "AWAY",
    "BACK",
    "DEFAULT_GRACE",
    "EXPIRE",
    "FINAL",
    "FINISH",
    "HAND_OVER",
    "LEAVE",
    "QUEUED",
    "REQUEUE",
    "TAKE",
    "Channel",
    "GraceExpired",
    "InvalidState",
    "InvalidTicket",
    "MissingSkill",
    "TakenByOther",
    "Ticket",
    "TicketConflict",
    "TicketContended",
    "TicketNotFound",
    "TicketState",
    "Transition",
    "UnknownPurpose",
    "away",
    "back",
    "expected_wait",
    "expire",
    "finish",
    "grace_over",
    "hand_over",
    "in_order",
    "leave",
    "new_ticket",
    "next_ticket",
    "order_key",
    "position",
    "requeue",
    "take",
    "verification_digest",
]
