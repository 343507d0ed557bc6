"""The earlier-time list: a resident with a booking asks to hear when an earlier time of the
same purpose frees up; the first in line gets it, and only they.

- **Asking** puts the appointment on its purpose's list (``earlier_requests``), first asked
  first served. Withdrawing, or the appointment ending (cancelled, moved, checked in), takes it
  off: the list only ever holds booked appointments that are still ahead.
- **A freed slot** (a cancellation, the old time of a move, a declined offer) is offered in the
  transaction that frees it (:func:`offer_freed`, called by the outbox hook): the first
  request whose appointment is later than the freed start gets a *hold* on it, an appointment
  in state ``held`` that blocks the slot for everyone else, for :data:`OFFER_TIME`. The
  database's no-overlap guarantee makes the hold the only claim on the slot. The resident gets
  the "earlier time" message; their manage page shows the offer.
- **Taking it** moves the booking into the held slot (a reschedule in one transaction,
  :meth:`~server.booking.service.BookingService.take_earlier`); the old time frees up and is
  offered on in turn. **Declining** (or leaving the list) releases the hold and takes the
  resident off the list (or they would be offered the same slot again); the slot goes to the
  next in line.
- **Letting it lapse**: the hold expires like any other and the slot is free for everyone; the
  resident stays on the list for the next one.

An offer is made only where the purpose's notice still allows the slot: a cancellation a few
minutes before its start is nobody's earlier time.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from server.booking import store
from server.booking.appointment import Appointment, AppointmentState
from server.db.schema import appointments, earlier_requests, purposes
from server.db.tx import locked

#: how long a freed slot is held for the first in line
OFFER_TIME: Final = timedelta(hours=2)

r = earlier_requests.c
a = appointments.c

_REFERENCE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


@dataclass(frozen=True, slots=True)
class Place:
    """An appointment's place on the list, and its offer while one is live."""

    asked_at: datetime
    offer: Appointment | None


async def ask(conn: AsyncConnection, appointment: Appointment, now: datetime) -> None:
    """Put a booked appointment on its purpose's list (again: no change, its place stays)."""
    exists = await conn.execute(select(r.appointment_id).where(r.appointment_id == appointment.id))
    if exists.first() is None:
        await conn.execute(
            insert(earlier_requests).values(
                appointment_id=appointment.id,
                tenant_id=appointment.tenant_id,
                purpose_key=appointment.purpose_key,
                asked_at=now,
            )
        )


async def leave(
    conn: AsyncConnection, tenant_id: str, appointment_id: str, now: datetime
) -> Appointment | None:
    """Take the appointment off the list. An offer it still held is let go (released); that
    hold is returned, for the caller to offer its slot to the next in line."""
    row = (
        await conn.execute(
            select(r.offer_id).where(r.tenant_id == tenant_id, r.appointment_id == appointment_id)
        )
    ).first()
    if row is None:
        return None
    await conn.execute(delete(earlier_requests).where(r.appointment_id == appointment_id))
    return None if row.offer_id is None else await _release(conn, tenant_id, row.offer_id, now)


async def place(
    conn: AsyncConnection, tenant_id: str, appointment_id: str, now: datetime
) -> Place | None:
    """The appointment's place on the list (None: not on it), with its live offer."""
    row = (
        await conn.execute(
            select(r.asked_at, r.offer_id).where(
                r.tenant_id == tenant_id, r.appointment_id == appointment_id
            )
        )
    ).first()
    if row is None:
        return None
    offer = None
    if row.offer_id is not None:
        found = await store.find_appointment(conn, tenant_id, row.offer_id)
        if found is not None and _live(found, now):
            offer = found
    return Place(row.asked_at, offer)


async def offer_freed(
    conn: AsyncConnection, freed: Appointment, now: datetime
) -> Appointment | None:
    """Offer ``freed``'s slot to the first in line, in the caller's transaction; the booked
    appointment of the resident it goes to, or None (nobody waits for it, or the slot is too
    close to its start). The offer's insert runs in a savepoint: whatever goes wrong with it,
    the change that freed the slot stands."""
    notice = (
        await conn.execute(
            select(purposes.c.min_notice_minutes).where(
                purposes.c.tenant_id == freed.tenant_id, purposes.c.key == freed.purpose_key
            )
        )
    ).scalar_one()
    if freed.start < now + timedelta(minutes=notice):
        return None
    offer = aliased(appointments)
    waiting = (
        select(r.appointment_id)
        .join(appointments, a.id == r.appointment_id)
        .outerjoin(offer, offer.c.id == r.offer_id)
        .where(
            r.tenant_id == freed.tenant_id,
            r.purpose_key == freed.purpose_key,
            r.appointment_id != freed.id,
            a.state == AppointmentState.BOOKED,
            a.starts_at > freed.start,
            # no live offer already: one offer at a time per resident
            or_(
                r.offer_id.is_(None),
                offer.c.state != AppointmentState.HELD,
                offer.c.hold_expires_at <= now,
            ),
        )
        .order_by(r.asked_at, r.appointment_id)
        .limit(1)
    )
    first = (await conn.execute(locked(conn, waiting, of=earlier_requests))).scalar_one_or_none()
    if first is None:
        return None
    expires = min(now + OFFER_TIME, freed.start - timedelta(minutes=notice))
    try:
        async with conn.begin_nested():
            hold = await store.insert_appointment(
                conn,
                {
                    "id": str(uuid.uuid4()),
                    "tenant_id": freed.tenant_id,
                    "reference": "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8)),
                    "purpose_key": freed.purpose_key,
                    "staff_id": freed.staff_id,
                    "state": AppointmentState.HELD,
                    "starts_at": freed.start,
                    "ends_at": freed.end,
                    "buffered_start": freed.buffered_start,
                    "buffered_end": freed.buffered_end,
                    "hold_expires_at": expires,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            )
    except IntegrityError:
        return None  # the slot overlaps a live claim after all: nothing to offer
    await conn.execute(
        update(earlier_requests).where(r.appointment_id == first).values(offer_id=hold.id)
    )
    return await store.get_appointment(conn, freed.tenant_id, first)


async def _release(
    conn: AsyncConnection, tenant_id: str, offer_id: str, now: datetime
) -> Appointment | None:
    """Let go of an offer's hold if it is still held (taken, it is a booking now; lapsed, it
    frees itself); the released hold, or None."""
    row = (
        await conn.execute(
            update(appointments)
            .where(
                a.tenant_id == tenant_id,
                a.id == offer_id,
                a.state == AppointmentState.HELD,
                a.hold_expires_at > now,
            )
            .values(
                state=AppointmentState.RELEASED,
                hold_expires_at=None,
                version=a.version + 1,
                updated_at=now,
            )
            .returning(appointments)
        )
    ).one_or_none()
    return None if row is None else store.to_appointment(row)


def _live(hold: Appointment, now: datetime) -> bool:
    return (
        hold.state is AppointmentState.HELD
        and hold.hold_expires_at is not None
        and hold.hold_expires_at > now
    )
