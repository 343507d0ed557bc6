"""The walk-in counter's figures on the planner's dashboard: per purpose and channel, how many
came, were served, left, are still in the queue, and how long they waited and talked.

Read straight from ``walkin_tickets`` (no personal data: a ticket holds a purpose, a
channel, its state and its times). **Which tickets count**: those that *arrived* in the
dashboard's window, [00:00 of its first day, 00:00 after its last day) in Amsterdam; a
resident who arrived at 16:55 and was served at 17:10 counts on the day they arrived, and a
ticket is counted once, in one window, whatever happened to it later.

Per purpose and channel (and over all of them):

- **arrivals**: every ticket that arrived;
- **served**: those ``done``; **left**: those ``left`` (left the queue themselves, or away
  past the grace period); **in the queue**: those still ``waiting``, ``away`` or ``taken``
  when the page is drawn (so the first three plus this add up to the arrivals);
- **waiting time**: ``taken_at − arrived_at`` of every ticket that has a ``taken_at`` (taken
  now, or done). A ticket handed back (requeue) loses its ``taken_at`` and waits again with
  its old arrival time, so when it is taken again its waiting time runs from arrival to the
  *last* take, the whole time the resident waited before the conversation that counted;
- **handling time**: ``updated_at − taken_at`` of ``done`` tickets (``done`` is final, so
  ``updated_at`` is when the specialist finished).

**Percentiles** are nearest-rank (:func:`percentile`): the p-th percentile of n values is
the value at rank ⌈p·n/100⌉ in ascending order (1-based). It is always a time someone really
waited, needs no interpolation, and can be checked by hand: of 4 waits of 2, 5, 7 and 20
minutes, p50 is rank 2 (5 minutes) and p90 is rank 4 (20 minutes). The dashboard had no
percentiles before these; its means are unchanged. The percentile is taken of the times in
seconds, then shown in minutes rounded to one decimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.schema import walkin_tickets
from server.db.tx import reading
from server.walkin.queue import QUEUED, TicketState
from signaling.channels import Channel

t = walkin_tickets.c

#: the channels in the order the table shows them
CHANNELS: Final = tuple(Channel)
#: the key of the row over every purpose and channel
ALL: Final = ""


@dataclass(frozen=True, slots=True)
class TicketTimes:
    """What the figures read of one ticket: nothing that names a person."""

    purpose: str
    channel: Channel
    state: TicketState
    arrived_at: datetime
    taken_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Figures:
    """One row of the table: a purpose and channel, or every ticket (``purpose`` ALL)."""

    purpose: str
    channel: Channel | None
    arrivals: int
    served: int
    left: int
    in_queue: int
    #: minutes, one decimal; None when no ticket was taken
    wait_p50: float | None
    wait_p90: float | None
    waits: int  #: how many waiting times the percentiles are over
    #: minutes, one decimal; None when nobody was served
    handling_p50: float | None
    handlings: int


async def ticket_times(
    engine: AsyncEngine, tenant_id: str, low: datetime, high: datetime
) -> list[TicketTimes]:
    """The tenant's tickets that arrived in [low, high)."""
    query = (
        select(t.purpose, t.channel, t.state, t.arrived_at, t.taken_at, t.updated_at)
        .where(t.tenant_id == tenant_id, t.arrived_at >= low, t.arrived_at < high)
        .order_by(t.arrived_at, t.id)
    )
    async with reading(engine) as conn:
        rows = (await conn.execute(query)).all()
    return [
        TicketTimes(
            purpose=row.purpose,
            channel=Channel(row.channel),
            state=TicketState(row.state),
            arrived_at=row.arrived_at,
            taken_at=row.taken_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def percentile(values: Sequence[float], share: int) -> float | None:
    """Nearest rank: the value at rank ⌈share·n/100⌉ of the sorted values; None for none."""
    if not 0 < share <= 100:
        raise ValueError(f"a percentile is from 1 to 100, not {share}")
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-share * len(ordered) // 100)  # ceiling, in whole numbers (no float error)
    return ordered[rank - 1]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _figures(purpose: str, channel: Channel | None, tickets: Sequence[TicketTimes]) -> Figures:
    waits = [
        (ticket.taken_at - ticket.arrived_at).total_seconds()
        for ticket in tickets
        if ticket.taken_at is not None
    ]
    handlings = [
        (ticket.updated_at - ticket.taken_at).total_seconds()
        for ticket in tickets
        if ticket.state is TicketState.DONE and ticket.taken_at is not None
    ]
    return Figures(
        purpose=purpose,
        channel=channel,
        arrivals=len(tickets),
        served=sum(1 for ticket in tickets if ticket.state is TicketState.DONE),
        left=sum(1 for ticket in tickets if ticket.state is TicketState.LEFT),
        in_queue=sum(
            1 for ticket in tickets if ticket.state in QUEUED or ticket.state is TicketState.TAKEN
        ),
        wait_p50=_minutes(percentile(waits, 50)),
        wait_p90=_minutes(percentile(waits, 90)),
        waits=len(waits),
        handling_p50=_minutes(percentile(handlings, 50)),
        handlings=len(handlings),
    )


def compute_figures(tickets: Iterable[TicketTimes], purposes: Sequence[str]) -> list[Figures]:
    """A row per purpose and channel that had arrivals, purposes in the order of
    ``purposes`` (others after them, by key), channels in :data:`CHANNELS` order; then the
    row over all (only when there was any arrival)."""
    found = list(tickets)
    if not found:
        return []
    order = {key: n for n, key in enumerate(purposes)}
    groups: dict[tuple[str, Channel], list[TicketTimes]] = {}
    for ticket in found:
        groups.setdefault((ticket.purpose, ticket.channel), []).append(ticket)
    keys = sorted(
        groups,
        key=lambda key: (order.get(key[0], len(order)), key[0], CHANNELS.index(key[1])),
    )
    return [
        *(_figures(purpose, channel, groups[(purpose, channel)]) for purpose, channel in keys),
        _figures(ALL, None, found),
    ]
