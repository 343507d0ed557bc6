"""What the booking pages and API show besides appointments: tenants, purposes, staff calendars.

Read-only SQL on the tables the admin fills, kept out of :mod:`server.booking.store` (the
service's own SQL) because only the HTTP layer needs it. Every query filters on the tenant,
so another tenant's rows are simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import PolicyError
from identity.policy import policy_from_stored
from server.booking.store import load_holidays
from server.core.holidays import HolidayRules
from server.db.schema import purposes, staff, tenants
from server.db.tx import reading


@dataclass(frozen=True, slots=True)
class PurposeInfo:
    key: str
    name: str
    duration_minutes: int
    #: the stored disclosure policy (a tag list, or the full policy object)
    disclosure: object


@dataclass(frozen=True, slots=True)
class Names:
    """A tenant's name and the names of its purposes, for invites, feeds and pages."""

    tenant: str
    purposes: Mapping[str, str]

    def purpose(self, key: str) -> str:
        return self.purposes.get(key, key)


@dataclass(frozen=True, slots=True)
class StaffCalendarRow:
    staff_id: str
    calendar_source: str | None
    calendar_failure: str


class Catalog:
    """Read-only lookups for the booking API."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def tenants(self) -> list[tuple[str, str]]:
        """Every municipality on this Balie as (id, name), by name: the home page's list."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(tenants.c.id, tenants.c.name).order_by(tenants.c.name, tenants.c.id)
            )
            return [(row.id, row.name) for row in rows]

    async def tenant_name(self, tenant_id: str) -> str | None:
        async with reading(self._engine) as conn:
            found = await conn.execute(select(tenants.c.name).where(tenants.c.id == tenant_id))
            name: str | None = found.scalar_one_or_none()
            return name

    async def holidays(self, tenant_id: str) -> HolidayRules:
        """Which public holidays close the tenant's booking (the defaults if it chose none)."""
        async with reading(self._engine) as conn:
            return await load_holidays(conn, tenant_id)

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

    async def names(self, tenant_id: str) -> Names:
        """The tenant's name (its id if it has none) and its active purposes' names."""
        name = await self.tenant_name(tenant_id) or tenant_id
        return Names(name, {p.key: p.name for p in await self.purposes(tenant_id)})

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


def identity_labels(key: str, disclosure: object, language: str) -> list[dict[str, object]] | None:
    """What the identity step will ask, as labels; None if the policy cannot be read."""
    if disclosure in ([], None):
        return []
    try:
        policy = policy_from_stored(key, disclosure)
    except PolicyError:
        return None
    return [{"label": item.label(language), "optional": item.optional} for item in policy.items]
