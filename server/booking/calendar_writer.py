"""Bookings out to calendars: the staff member's CalDAV calendar, the resident's invite.

Calendar writes happen *after* the booking committed, in one background worker, and never
undo or delay the booking: the database is the truth, the calendar a copy. A write that
fails is logged (appointment id, staff id, calendar host and the reason; no personal data)
and left; both CalDAV calls are idempotent, so a later retry or a reschedule repairs it.
One worker, jobs in order: a cancel queued after a booking can never overtake its write
and leave a stale event behind.

Invite SEQUENCE: an appointment's time never changes (a reschedule makes a new appointment
with a new UID and cancels the old one), so its REQUEST carries SEQUENCE 0 and its CANCEL
one more (:func:`~server.calendars.ics.invite_cancel` adds it), which outranks it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from server.booking.appointment import Appointment, AppointmentState
from server.booking.catalog import Catalog
from server.booking.join_links import staff_join_url
from server.calendars.caldav import CalDAVSource
from server.calendars.errors import CalendarError
from server.calendars.model import CalendarAppointment, FailurePolicy
from server.calendars.staff_source import parse_calendar_source
from server.config import CalDAVCredentials, Config

log = logging.getLogger("balie.booking.calendar")

#: jobs waiting for the worker; beyond this a write is dropped (and logged), never blocks
MAX_PENDING: Final = 10_000

#: states whose appointment is (or was) really taking place, shown in feeds and calendars
SHOWN_STATES: Final = frozenset(
    {
        AppointmentState.BOOKED,
        AppointmentState.CHECKED_IN,
        AppointmentState.IN_CALL,
        AppointmentState.COMPLETED,
        AppointmentState.NO_SHOW,
    }
)


def calendar_appointment(
    appointment: Appointment,
    *,
    tenant_name: str,
    purpose_name: str,
    resident_join_url: str,
    staff_join_url: str,
) -> CalendarAppointment:
    """The appointment as :mod:`server.calendars` sees it (which decides what leaves)."""
    return CalendarAppointment(
        id=appointment.id,
        tenant_name=tenant_name,
        purpose_name=purpose_name,
        start=appointment.start,
        end=appointment.end,
        staff_id=appointment.staff_id,
        resident_join_url=resident_join_url,
        staff_join_url=staff_join_url,
        sequence=0,
        cancelled=appointment.state not in SHOWN_STATES,
        contact_email=appointment.contact.email or "",
    )


@dataclass(frozen=True, slots=True)
class _Job:
    appointment: Appointment
    #: True: put the event in the calendar; False: take it out
    write: bool


class CalendarWriter:
    """Writes booked appointments into their staff member's CalDAV calendar, in order.

    :param source: the CalDAV connector (its session is the application's)
    :param catalog: staff calendar sources, tenant and purpose names
    :param credentials: named CalDAV credential pairs from the configuration
    """

    def __init__(
        self,
        source: CalDAVSource,
        catalog: Catalog,
        credentials: Mapping[str, CalDAVCredentials],
        config: Config,
    ) -> None:
        self._source = source
        self._catalog = catalog
        self._credentials = credentials
        self._config = config
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(MAX_PENDING)

    def booked(self, appointment: Appointment) -> None:
        self._put(_Job(appointment, write=True))

    def cancelled(self, appointment: Appointment) -> None:
        self._put(_Job(appointment, write=False))

    def moved(self, old: Appointment, new: Appointment) -> None:
        self.cancelled(old)
        self.booked(new)

    async def drain(self) -> None:
        """Wait until every queued job is done (shutdown; tests)."""
        await self._queue.join()

    async def run(self) -> None:
        """The worker: one job at a time, forever (cancel the task to stop)."""
        while True:
            job = await self._queue.get()
            try:
                await self._do(job)
            except Exception as error:
                # A CalendarError's message names the staff id and host, never a URL path or
                # credentials; any other error is named by its type only.
                log.warning(
                    "calendar %s failed for appointment %s (tenant %s): %s",
                    "write" if job.write else "removal",
                    job.appointment.id,
                    job.appointment.tenant_id,
                    error if isinstance(error, CalendarError) else type(error).__name__,
                )
            finally:
                self._queue.task_done()

    def _put(self, job: _Job) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.warning(
                "calendar queue full: appointment %s not written to its calendar",
                job.appointment.id,
            )

    async def _do(self, job: _Job) -> None:
        appointment = job.appointment
        row = await self._catalog.staff_calendar(appointment.tenant_id, appointment.staff_id)
        if row is None or not row.calendar_source:
            return  # Balie's internal calendar only: the feed shows it
        calendar = parse_calendar_source(
            appointment.staff_id, row.calendar_source, self._credentials, FailurePolicy.IGNORE
        )
        if calendar.caldav is None:
            return
        if not job.write:
            await self._source.remove_booking(calendar, appointment.id)
            return
        tenant = await self._catalog.tenant_name(appointment.tenant_id) or appointment.tenant_id
        purpose = (
            await self._catalog.purpose_name(appointment.tenant_id, appointment.purpose_key)
            or appointment.purpose_key
        )
        event = calendar_appointment(
            appointment,
            tenant_name=tenant,
            purpose_name=purpose,
            # never written to a staff calendar; left empty so it cannot leak by mistake
            resident_join_url="",
            staff_join_url=staff_join_url(self._config, appointment),
        )
        await self._source.write_booking(calendar, event)
