"""The SQL of booking: load the slot engine's inputs, read and write appointment rows.

Plain functions on an open connection, so the service decides what runs in which
transaction. Every statement filters on ``tenant_id``: a row of another tenant is simply not
found. Rows become :mod:`server.booking.model` and :mod:`server.booking.appointment` values
here and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, and_, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.booking.appointment import Appointment, AppointmentState, Contact
from server.booking.busy import CalendarFailure, CalendarRef
from server.booking.errors import NotFound
from server.booking.model import (
    Allocation,
    AllocationKind,
    AvailabilityException,
    ExceptionKind,
    PurposeRules,
    Staff,
    WeeklyRule,
)
from server.core.holidays import DEFAULT_RULES, BadHolidayData, HolidayRules, stored_rules
from server.db.schema import (
    ACTIVE_STATES,
    NO_OVERLAP,
    appointments,
    availability_exceptions,
    availability_rules,
    purposes,
    staff,
    tenants,
)


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff member as the engine sees them, plus where their busy time comes from."""

    staff: Staff
    calendar: CalendarRef | None
    calendar_failure: CalendarFailure


log = logging.getLogger(__name__)


async def load_holidays(conn: AsyncConnection, tenant_id: str) -> HolidayRules:
    """The tenant's public-holiday rules (``tenants.holidays``; NULL or no such tenant: the
    defaults). A stored form that does not read is logged and the defaults apply: they close
    on holidays, the safe side, rather than refuse every search of the tenant."""
    data = (
        await conn.execute(select(tenants.c.holidays).where(tenants.c.id == tenant_id))
    ).scalar_one_or_none()
    try:
        return stored_rules(data)
    except BadHolidayData as error:
        log.warning(
            "tenants.holidays of %s does not read (%s); using the defaults", tenant_id, error.where
        )
        return DEFAULT_RULES


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


async def load_purpose(conn: AsyncConnection, tenant_id: str, key: str) -> PurposeRules:
    row = (
        await conn.execute(
            select(purposes).where(
                purposes.c.tenant_id == tenant_id, purposes.c.key == key, purposes.c.active
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no purpose {key!r} in tenant {tenant_id!r}")
    return PurposeRules(
        key=row.key,
        skill=row.skill,
        duration=timedelta(minutes=row.duration_minutes),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        min_notice=timedelta(minutes=row.min_notice_minutes),
        horizon_days=row.horizon_days,
        slot_interval=_minutes(row.slot_interval_minutes),
        daily_cap=row.daily_cap,
    )


async def load_staff(
    conn: AsyncConnection,
    tenant_id: str,
    skill: str,
    first_day: date,
    last_day: date,
    *,
    only: Sequence[str] | None = None,
) -> list[StaffMember]:
    """Active staff with ``skill`` (``only`` these, if given), with their weekly hours and the
    exceptions in the dates."""
    query = select(staff).where(staff.c.tenant_id == tenant_id, staff.c.active)
    if only is not None:
        query = query.where(staff.c.id.in_(only))
    rows = (await conn.execute(query.order_by(staff.c.id))).all()
    return await staff_members(conn, tenant_id, rows, skill, first_day, last_day)


async def staff_members(
    conn: AsyncConnection,
    tenant_id: str,
    rows: Sequence[Row[Any]],
    skill: str,
    first_day: date,
    last_day: date,
) -> list[StaffMember]:
    """:func:`load_staff` for staff rows already read: the active ones with ``skill``."""
    # Skills are a JSON list; filtering here keeps the query the same on both dialects, and a
    # tenant has tens of staff, not thousands.
    rows = [row for row in rows if row.active and skill in row.skills]
    if not rows:
        return []
    ids = [row.id for row in rows]
    rules: dict[str, list[WeeklyRule]] = {i: [] for i in ids}
    for rule in await conn.execute(
        select(availability_rules).where(
            availability_rules.c.tenant_id == tenant_id, availability_rules.c.staff_id.in_(ids)
        )
    ):
        rules[rule.staff_id].append(WeeklyRule(rule.weekday, rule.start_time, rule.end_time))
    exceptions: dict[str, list[AvailabilityException]] = {i: [] for i in ids}
    for found in await conn.execute(
        select(availability_exceptions).where(
            availability_exceptions.c.tenant_id == tenant_id,
            availability_exceptions.c.staff_id.in_(ids),
            availability_exceptions.c.day.between(first_day, last_day),
        )
    ):
        exceptions[found.staff_id].append(
            AvailabilityException(
                found.day, ExceptionKind(found.kind), found.start_time, found.end_time, found.reason
            )
        )
    return [
        StaffMember(
            Staff(
                row.id,
                frozenset(row.skills),
                tuple(rules[row.id]),
                tuple(exceptions[row.id]),
                row.daily_cap,
            ),
            CalendarRef(row.id, row.calendar_source) if row.calendar_source else None,
            CalendarFailure(row.calendar_failure),
        )
        for row in rows
    ]


async def load_allocations(
    conn: AsyncConnection,
    tenant_id: str,
    staff_ids: Sequence[str],
    low: datetime,
    high: datetime,
    *,
    but_holds_of: str | None = None,
) -> list[Allocation]:
    """Active appointments of these staff whose buffered period overlaps [low, high), but
    the holds of browser ``but_holds_of`` (its next hold releases them).

    Lapsed holds are included: the engine ignores them itself, given ``now``.
    """
    if not staff_ids:
        return []
    query = select(
        appointments.c.id,
        appointments.c.staff_id,
        appointments.c.state,
        appointments.c.purpose_key,
        appointments.c.buffered_start,
        appointments.c.buffered_end,
        appointments.c.hold_expires_at,
    ).where(
        appointments.c.tenant_id == tenant_id,
        appointments.c.staff_id.in_(staff_ids),
        appointments.c.state.in_(ACTIVE_STATES),
        appointments.c.buffered_start < high,
        appointments.c.buffered_end > low,
    )
    if but_holds_of is not None:
        query = query.where(
            (appointments.c.hold_browser.is_(None)) | (appointments.c.hold_browser != but_holds_of)
        )
    rows = await conn.execute(query)
    return [
        Allocation(
            row.staff_id,
            row.buffered_start,
            row.buffered_end,
            AllocationKind.HOLD if row.state == AppointmentState.HELD else AllocationKind.BOOKING,
            row.hold_expires_at if row.state == AppointmentState.HELD else None,
            purpose=row.purpose_key,
            ref=row.id,
        )
        for row in rows
    ]


async def lock_staff(conn: AsyncConnection, tenant_id: str, staff_ids: Sequence[str]) -> None:
    """Serialise the writers of these staff members' calendars for this transaction.

    On PostgreSQL two transactions inserting overlapping periods both enter the exclusion
    index and then wait on each other, which the server resolves as a deadlock after a
    second: under a burst of racers that turns into retries and timeouts. Row locks on the
    staff rows, taken in id order so no two writers wait on each other, queue them instead;
    the exclusion constraint stays the guarantee. SQLite needs none: ``BEGIN IMMEDIATE``
    already serialises every writer.
    """
    if conn.dialect.name != "postgresql" or not staff_ids:
        return
    await conn.execute(
        select(staff.c.id)
        .where(staff.c.tenant_id == tenant_id, staff.c.id.in_(sorted(staff_ids)))
        .order_by(staff.c.id)
        .with_for_update()
    )


async def lock_first_free(
    conn: AsyncConnection, tenant_id: str, staff_ids: Sequence[str]
) -> Row[Any] | None:
    """The staff row of the first of ``staff_ids`` (in their order) that no other writer
    holds, locked, passing over those that one does (:func:`lock_staff`'s lock without its
    wait); None if every one is held or gone. SQLite's writer already excludes every other.
    """
    postgres = conn.dialect.name == "postgresql"
    # One row at a time: the first is nearly always free, and one statement shape is cached.
    for member in staff_ids:
        query = select(staff).where(staff.c.tenant_id == tenant_id, staff.c.id == member)
        row = (
            await conn.execute(query.with_for_update(skip_locked=True) if postgres else query)
        ).one_or_none()
        if row is not None:
            return row
    return None


async def expire_lapsed_holds(
    conn: AsyncConnection,
    now: datetime,
    *,
    tenant_id: str | None = None,
    staff_ids: Sequence[str] = (),
    low: datetime | None = None,
    high: datetime | None = None,
) -> int:
    """Move lapsed holds to ``expired`` (all of them, or those of some staff in a window).

    The no-overlap guarantee counts a row by its state, so a lapsed hold blocks until this
    runs; the service runs it in the booking transaction, before the insert it would block.
    """
    where = [appointments.c.state == AppointmentState.HELD, appointments.c.hold_expires_at <= now]
    if tenant_id is not None:
        where.append(appointments.c.tenant_id == tenant_id)
    if staff_ids:
        where.append(appointments.c.staff_id.in_(staff_ids))
    if low is not None and high is not None:
        where += [appointments.c.buffered_start < high, appointments.c.buffered_end > low]
    result = await conn.execute(
        update(appointments)
        .where(and_(*where))
        .values(
            state=AppointmentState.EXPIRED,
            version=appointments.c.version + 1,
            updated_at=now,
            **NO_HOLDER,
        )
    )
    return result.rowcount


#: what a row keeps of who held it once it is no longer a hold: nothing
NO_HOLDER: Final = {"hold_client": None, "hold_browser": None}


async def live_holds_of_client(conn: AsyncConnection, client: str, now: datetime) -> int:
    """How many live holds the client (pseudonym) has, in any tenant."""
    found = await conn.execute(
        select(func.count())
        .select_from(appointments)
        .where(
            appointments.c.hold_client == client,
            appointments.c.state == AppointmentState.HELD,
            appointments.c.hold_expires_at > now,
        )
    )
    return int(found.scalar_one())


async def release_holds_of_browser(conn: AsyncConnection, browser: str, now: datetime) -> list[Any]:
    """Release the live holds the browser (pseudonym) placed before: a browser holds one
    time at a time, so choosing another time frees the one chosen before."""
    rows = await conn.execute(
        update(appointments)
        .where(
            appointments.c.hold_browser == browser,
            appointments.c.state == AppointmentState.HELD,
            appointments.c.hold_expires_at > now,
        )
        .values(
            state=AppointmentState.RELEASED,
            version=appointments.c.version + 1,
            hold_expires_at=None,
            updated_at=now,
            **NO_HOLDER,
        )
        .returning(appointments.c.tenant_id, appointments.c.id)
    )
    return list(rows)


def to_appointment(row: Row[Any]) -> Appointment:
    return Appointment(
        id=row.id,
        tenant_id=row.tenant_id,
        reference=row.reference,
        purpose_key=row.purpose_key,
        staff_id=row.staff_id,
        state=AppointmentState(row.state),
        start=row.starts_at,
        end=row.ends_at,
        buffered_start=row.buffered_start,
        buffered_end=row.buffered_end,
        hold_expires_at=row.hold_expires_at,
        room_id=row.room_id,
        version=row.version,
        rescheduled_from=row.rescheduled_from,
        created_at=row.created_at,
        updated_at=row.updated_at,
        contact=Contact(row.contact_email, row.contact_phone, row.language, row.reminders),
    )


async def find_appointment(
    conn: AsyncConnection, tenant_id: str, appointment_id: str
) -> Appointment | None:
    row = (
        await conn.execute(
            select(appointments).where(
                appointments.c.tenant_id == tenant_id, appointments.c.id == appointment_id
            )
        )
    ).one_or_none()
    return None if row is None else to_appointment(row)


async def appointment_in_room(
    conn: AsyncConnection, tenant_id: str, room_id: str
) -> Appointment | None:
    """The appointment whose call takes place in ``room_id``, if the room has one."""
    row = (
        await conn.execute(
            select(appointments).where(
                appointments.c.tenant_id == tenant_id, appointments.c.room_id == room_id
            )
        )
    ).first()
    return None if row is None else to_appointment(row)


async def get_appointment(
    conn: AsyncConnection, tenant_id: str, appointment_id: str
) -> Appointment:
    found = await find_appointment(conn, tenant_id, appointment_id)
    if found is None:
        raise NotFound(f"no appointment {appointment_id!r} in tenant {tenant_id!r}")
    return found


async def insert_appointment(conn: AsyncConnection, values: dict[str, Any]) -> Appointment:
    row = (await conn.execute(insert(appointments).values(values).returning(appointments))).one()
    return to_appointment(row)


async def compare_and_swap(
    conn: AsyncConnection,
    tenant_id: str,
    appointment_id: str,
    version: int,
    sources: Iterable[AppointmentState],
    values: dict[str, Any],
    *,
    hold_alive_at: datetime | None = None,
) -> Appointment | None:
    """Apply ``values`` (and version + 1) if the row is still at ``version`` in one of
    ``sources`` (and, for holds, unexpired at ``hold_alive_at``); None if it was not."""
    where = [
        appointments.c.tenant_id == tenant_id,
        appointments.c.id == appointment_id,
        appointments.c.version == version,
        appointments.c.state.in_(list(sources)),
    ]
    if hold_alive_at is not None:
        where.append(appointments.c.hold_expires_at > hold_alive_at)
    row = (
        await conn.execute(
            update(appointments)
            .where(and_(*where))
            .values(version=version + 1, **values)
            .returning(appointments)
        )
    ).one_or_none()
    return None if row is None else to_appointment(row)


def contact_values(contact: Contact) -> dict[str, Any]:
    """The columns of ``contact``."""
    return {
        "contact_email": contact.email,
        "contact_phone": contact.phone,
        "language": contact.language,
        "reminders": contact.reminders,
    }


async def set_reminders(
    conn: AsyncConnection, tenant_id: str, appointment_id: str, wanted: bool
) -> Appointment | None:
    """Reminders on or off, for a booked appointment only (its version stays); None if it is
    not booked."""
    row = (
        await conn.execute(
            update(appointments)
            .where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.id == appointment_id,
                appointments.c.state == AppointmentState.BOOKED,
            )
            .values(reminders=wanted)
            .returning(appointments)
        )
    ).one_or_none()
    return None if row is None else to_appointment(row)


async def appointments_between(
    conn: AsyncConnection,
    tenant_id: str,
    start: datetime,
    end: datetime,
    staff_id: str | None = None,
) -> list[Appointment]:
    where = [
        appointments.c.tenant_id == tenant_id,
        appointments.c.starts_at < end,
        appointments.c.ends_at > start,
    ]
    if staff_id is not None:
        where.append(appointments.c.staff_id == staff_id)
    rows = await conn.execute(
        select(appointments).where(and_(*where)).order_by(appointments.c.starts_at)
    )
    return [to_appointment(row) for row in rows]


def is_overlap(error: DBAPIError) -> bool:
    """Did the no-overlap constraint (PostgreSQL) or trigger (SQLite) refuse the write?"""
    original = error.orig
    cause = getattr(original, "__cause__", None)
    if getattr(cause, "constraint_name", None) == NO_OVERLAP:
        return True  # asyncpg ExclusionViolationError
    return getattr(original, "sqlstate", None) == "23P01" or NO_OVERLAP in str(original)
