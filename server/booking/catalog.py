"""What the booking API shows besides appointments: tenants, purposes, staff calendars.

Read-only SQL on the tables the admin fills, kept out of :mod:`server.booking.store` (the
service's own SQL) because only the HTTP layer needs it. Every query filters on the tenant,
so another tenant's rows are simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.store import reading
from server.db.schema import purposes, staff, tenants


@dataclass(frozen=True, slots=True)
class PurposeInfo:
    key: str
    name: str
    duration_minutes: int
    #: the stored disclosure policy (a tag list, or the full policy object)
    disclosure: object


@dataclass(frozen=True, slots=True)
class StaffCalendarRow:
    staff_id: str
    calendar_source: str | None
    calendar_failure: str


class Catalog:
    """Read-only lookups for the booking API."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def tenant_name(self, tenant_id: str) -> str | None:
        async with reading(self._engine) as conn:
            found = await conn.execute(select(tenants.c.name).where(tenants.c.id == tenant_id))
            name: str | None = found.scalar_one_or_none()
            return name

    async def purposes(self, tenant_id: str) -> list[PurposeInfo]:
        """The tenant's active purposes, by name."""
        query = (
            select(purposes)
            .where(purposes.c.tenant_id == tenant_id, purposes.c.active)
            .order_by(purposes.c.name, purposes.c.key)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [PurposeInfo(r.key, r.name, r.duration_minutes, r.disclosure) for r in rows]

    async def purpose_name(self, tenant_id: str, key: str) -> str | None:
        query = select(purposes.c.name).where(
            purposes.c.tenant_id == tenant_id, purposes.c.key == key
        )
        async with reading(self._engine) as conn:
            name: str | None = (await conn.execute(query)).scalar_one_or_none()
            return name

    async def staff_calendar(self, tenant_id: str, staff_id: str) -> StaffCalendarRow | None:
        """The staff member's calendar configuration, or None if there is no such staff
        member (active or not: a booking made before deactivation still needs removing)."""
        query = select(staff.c.id, staff.c.calendar_source, staff.c.calendar_failure).where(
            staff.c.tenant_id == tenant_id, staff.c.id == staff_id
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return StaffCalendarRow(row.id, row.calendar_source, row.calendar_failure)

    async def staff_exists(self, tenant_id: str, staff_id: str) -> bool:
        query = select(staff.c.id).where(
            staff.c.tenant_id == tenant_id, staff.c.id == staff_id, staff.c.active
        )
        async with reading(self._engine) as conn:
            return (await conn.execute(query)).one_or_none() is not None
