"""The messages an appointment's change owes, written in the change's own transaction.

:class:`OutboxHook` is the booking service's :class:`~server.booking.hooks.ChangeHook`:

- **booked** (confirmed, or made by a reschedule): the confirmation (or the "moved" notice)
  to each address the resident gave, the reminders the purpose sends (unless the resident
  opted out), and the staff calendar write;
- **cancelled**: the cancellation notice (not when a reschedule replaced it: the "moved"
  notice says it all), its reminders dropped, the calendar event removed; cancelled because
  the specialist is absent, the absence notice instead, with a link to pick a new time;
- **handed to a colleague** (a reschedule to the same time for an absence, in the same call):
  nothing to the resident, whose time and link stay as they were; the reminders move along;
- **checked in, in the call, done, no-show**: reminders still due are dropped.
- **a slot freed** (cancelled, moved away from, an earlier-time offer declined): offered to
  the first resident on the purpose's earlier-time list (server/booking/earlier.py), who gets
  the "earlier time" message;

The hook makes the outbox match the appointment, so calling it again is harmless (a message
is written once): turning reminders off drops those still due, turning them on again
revives them.

An e-mail goes where the resident gave an e-mail address, an SMS where they gave a mobile
number; both when they gave both. What a message says is made when it goes out
(server/messages/delivery.py), so nothing personal is copied into the outbox.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.booking import earlier
from server.booking.appointment import Appointment, AppointmentState
from server.booking.hooks import ChangeReason
from server.core.clock import AMSTERDAM
from server.db.schema import purposes, staff
from server.messages import outbox
from server.messages.model import REMINDERS, Channel, Template, reminder_times
from server.messages.phones import is_mobile

#: states after which a reminder is of no use any more
_PAST_REMINDING = frozenset(
    {
        AppointmentState.CANCELLED,
        AppointmentState.CHECKED_IN,
        AppointmentState.IN_CALL,
        AppointmentState.COMPLETED,
        AppointmentState.NO_SHOW,
    }
)


def resident_channels(appointment: Appointment) -> list[Channel]:
    """The channels that reach this appointment's resident: an SMS only to a mobile number
    (a planner may note a caller's landline)."""
    channels = []
    contact = appointment.contact
    if contact.email:
        channels.append(Channel.EMAIL)
    if contact.phone and is_mobile(contact.phone):
        channels.append(Channel.SMS)
    return channels


class OutboxHook:
    """Writes an appointment change's messages into the outbox, in its transaction."""

    def __init__(self, zone: ZoneInfo = AMSTERDAM) -> None:
        self._zone = zone

    async def changed(
        self,
        conn: AsyncConnection,
        appointment: Appointment,
        now: datetime,
        *,
        moved_to: Appointment | None = None,
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> None:
        state = appointment.state
        if state is AppointmentState.BOOKED:
            await self._booked(conn, appointment, now, tell=reason is ChangeReason.ASKED)
        if state in _PAST_REMINDING:
            await outbox.drop_pending(conn, appointment.tenant_id, appointment.id, REMINDERS, now)
            await self._leave_earlier_list(conn, appointment, now)
        if state is AppointmentState.CANCELLED:
            if moved_to is None:
                notice = Template.ABSENCE if reason is ChangeReason.ABSENCE else Template.CANCELLED
                await self.to_resident(conn, appointment, notice, now)
            await self._calendar(conn, appointment, Template.CALENDAR_CANCELLED, now)
        if state is AppointmentState.CANCELLED or reason is ChangeReason.OFFER_LET_GO:
            await self._offer_earlier(conn, appointment, now)

    async def to_resident(
        self,
        conn: AsyncConnection,
        appointment: Appointment,
        template: Template,
        now: datetime,
        due_at: datetime | None = None,
        *,
        again: bool = False,
    ) -> None:
        """``template`` to every address the resident gave (also for absences and offers)."""
        for channel in resident_channels(appointment):
            await outbox.enqueue(
                conn,
                tenant_id=appointment.tenant_id,
                channel=channel,
                template=template,
                subject_id=appointment.id,
                now=now,
                due_at=due_at,
                again=again,
            )

    async def _leave_earlier_list(
        self, conn: AsyncConnection, appointment: Appointment, now: datetime
    ) -> None:
        """Off the earlier-time list; an offer it still held goes to the next in line."""
        released = await earlier.leave(conn, appointment.tenant_id, appointment.id, now)
        if released is not None:
            await self._offer_earlier(conn, released, now)

    async def _offer_earlier(
        self, conn: AsyncConnection, freed: Appointment, now: datetime
    ) -> None:
        """A slot came free: the first resident on its purpose's earlier-time list gets it."""
        waiting = await earlier.offer_freed(conn, freed, now)
        if waiting is not None:
            await self.to_resident(conn, waiting, Template.EARLIER, now, again=True)

    async def _booked(
        self, conn: AsyncConnection, appointment: Appointment, now: datetime, *, tell: bool
    ) -> None:
        if tell:
            moved = appointment.rescheduled_from is not None
            first = Template.RESCHEDULED if moved else Template.CONFIRMATION
            await self.to_resident(conn, appointment, first, now)
        if not appointment.contact.reminders:
            await outbox.drop_pending(conn, appointment.tenant_id, appointment.id, REMINDERS, now)
        else:
            await outbox.revive_dropped(conn, appointment.tenant_id, appointment.id, REMINDERS, now)
            day, hour = await self._reminder_choice(conn, appointment)
            plan = reminder_times(appointment.start, now, self._zone, day=day, hour=hour)
            for template, due_at in (
                (Template.REMINDER_DAY, plan.day),
                (Template.REMINDER_HOUR, plan.hour),
            ):
                if due_at is not None:
                    await self.to_resident(conn, appointment, template, now, due_at)
        await self._calendar(conn, appointment, Template.CALENDAR_BOOKED, now)

    async def _reminder_choice(
        self, conn: AsyncConnection, appointment: Appointment
    ) -> tuple[bool, bool]:
        row = (
            await conn.execute(
                select(purposes.c.reminder_day, purposes.c.reminder_hour).where(
                    purposes.c.tenant_id == appointment.tenant_id,
                    purposes.c.key == appointment.purpose_key,
                )
            )
        ).one()
        return bool(row.reminder_day), bool(row.reminder_hour)

    async def _calendar(
        self, conn: AsyncConnection, appointment: Appointment, template: Template, now: datetime
    ) -> None:
        """A calendar write, only for a staff member whose calendar Balie writes into."""
        source = (
            await conn.execute(
                select(staff.c.calendar_source).where(
                    staff.c.tenant_id == appointment.tenant_id,
                    staff.c.id == appointment.staff_id,
                )
            )
        ).scalar_one_or_none()
        if source:
            await outbox.enqueue(
                conn,
                tenant_id=appointment.tenant_id,
                channel=Channel.CALENDAR,
                template=template,
                subject_id=appointment.id,
                now=now,
            )
