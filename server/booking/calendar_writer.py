"""Bookings out to calendars: the staff member's CalDAV calendar, the resident's invite.

Calendar writes go through the outbox (server/messages/): written in the booking's own
transaction, delivered after it commits, retried with backoff while the calendar server is
down, and visible to the planner when they fail. They never undo or delay the booking: the
database is the truth, the calendar a copy. Each write makes the calendar match the
appointment *as it is when the write goes out* (both CalDAV calls are idempotent), so a
write and a removal of one appointment cannot leave a stale event whatever their order.

Invite SEQUENCE: an appointment's time never changes (a reschedule makes a new appointment
with a new UID and cancels the old one), so its REQUEST carries SEQUENCE 0 and its CANCEL
one more (:func:`~server.calendars.ics.invite_cancel` adds it), which outranks it.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.booking.appointment import Appointment, AppointmentState
from server.booking.catalog import Catalog
from server.booking.join_links import staff_join_url
from server.calendars.caldav import CalDAVSource
from server.calendars.model import CalendarAppointment, FailurePolicy
from server.calendars.staff_source import parse_calendar_source
from server.config import CalDAVCredentials, Config

#: states whose appointment is (or was) really taking place, shown in feeds and calendars
SHOWN_STATES = frozenset(
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


class CalendarWriter:
    """Makes a staff member's CalDAV calendar match one appointment: the event written
    while the appointment stands, removed once it does not.

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

    async def sync(self, appointment: Appointment) -> bool:
        """Write or remove the event; False when the staff member has no CalDAV calendar
        (Balie's feed shows it). Raises :class:`~server.calendars.errors.CalendarError`."""
        row = await self._catalog.staff_calendar(appointment.tenant_id, appointment.staff_id)
        if row is None or not row.calendar_source:
            return False
        calendar = parse_calendar_source(
            appointment.staff_id, row.calendar_source, self._credentials, FailurePolicy.IGNORE
        )
        if calendar.caldav is None:
            return False
        if appointment.state not in SHOWN_STATES:
            await self._source.remove_booking(calendar, appointment.id)
            return True
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
        return True
