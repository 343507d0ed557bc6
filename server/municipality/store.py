"""The municipality's profile in ``tenants.profile``, and the facts its privacy statement is
made of, read from the same tables Balie works from (never a copy that could drift).

Saving writes an audit event in the same transaction (``municipality.profile_save``, subject
``tenant:<id>``), so the trail shows who changed what the residents read, and when. The
tenant's public-holiday rules for booking (``tenants.holidays``) are saved the same way
(``municipality.holidays_save``), in :mod:`server.core.holidays`'s stored form, which the
booking service reads back (:func:`server.booking.store.load_holidays`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.core.holidays import (
    DEFAULT_RULES,
    BadHolidayData,
    HolidayRules,
    stored_rules,
)
from server.core.holidays import to_data as holidays_to_data
from server.db.audit import audit
from server.db.schema import purposes, staff, tenants, walkin_counters
from server.db.tx import reading, writing
from server.municipality.errors import BadProfileData, UnknownTenant
from server.municipality.profile import TenantProfile, from_data, to_data

log = logging.getLogger("balie.municipality")

#: the audit action of a saved profile
PROFILE_SAVED: Final = "municipality.profile_save"
#: the audit action of saved holiday rules for booking
HOLIDAYS_SAVED: Final = "municipality.holidays_save"


@dataclass(frozen=True, slots=True)
class Municipality:
    """A tenant as its own pages show it: its name and, once filled in, its profile."""

    tenant_id: str
    name: str
    profile: TenantProfile | None
    #: the stored profile could not be read (the pages then show none; the admin is told)
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class StoredHolidays:
    """A tenant's holiday rules for booking as booking applies them."""

    #: the tenant's own, or the defaults when it has none (NULL)
    rules: HolidayRules
    #: the stored form could not be read: the defaults apply (the administrator is told)
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class PurposeFacts:
    """What Balie processes for one active purpose, as the privacy statement tells it."""

    key: str
    name: str
    #: the stored disclosure policy (a tag list, or the full policy object)
    disclosure: object
    #: days the verified attributes are kept after the call; None: deleted at its end
    retention_days: int | None
    #: active staff members with the purpose's skill: who can take its calls
    specialists: int
    #: whether the purpose has a walk-in counter (and so "bel mij terug")
    walkin: bool


class ProfileStore:
    """Load and save profiles; read the facts of the privacy statement. ``changed(tenant_id)``
    is told after the holidays changed (the booking service forgets its offers)."""

    def __init__(
        self, engine: AsyncEngine, *, changed: Callable[[str], None] = lambda _tenant: None
    ) -> None:
        self._engine = engine
        self._changed = changed

    async def municipality(self, tenant_id: str) -> Municipality | None:
        """The tenant's name and profile; None if there is no such tenant."""
        async with reading(self._engine) as conn:
            return await _municipality(conn, tenant_id)

    async def load(self, tenant_id: str) -> TenantProfile | None:
        """The tenant's profile; None if not filled in, unreadable, or no such tenant."""
        found = await self.municipality(tenant_id)
        return None if found is None else found.profile

    async def save(
        self, tenant_id: str, profile: TenantProfile, *, actor: str, now: datetime
    ) -> None:
        """Replace the tenant's profile, audited; :class:`UnknownTenant` if there is none."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                update(tenants).where(tenants.c.id == tenant_id).values(profile=to_data(profile))
            )
            if result.rowcount != 1:
                raise UnknownTenant(tenant_id)
            await audit(conn, tenant_id, now, actor, PROFILE_SAVED, f"tenant:{tenant_id}")

    async def holidays(self, tenant_id: str) -> StoredHolidays:
        """The tenant's holiday rules for booking; no such tenant: the defaults."""
        async with reading(self._engine) as conn:
            query = select(tenants.c.holidays).where(tenants.c.id == tenant_id)
            data = (await conn.execute(query)).scalar_one_or_none()
        try:
            return StoredHolidays(stored_rules(data))
        except BadHolidayData as error:
            # booking falls back to the defaults too (load_holidays), so the page shows
            # what residents get
            log.error("the holiday rules of tenant %r cannot be read: %s", tenant_id, error)
            return StoredHolidays(DEFAULT_RULES, unreadable=True)

    async def save_holidays(
        self, tenant_id: str, rules: HolidayRules, *, actor: str, now: datetime
    ) -> None:
        """Replace the tenant's holiday rules, audited; :class:`UnknownTenant` if there is
        none. The rules are written in full even when they equal the defaults: the tenant
        chose them, and a later change of the defaults must not change its choice."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(holidays=holidays_to_data(rules))
            )
            if result.rowcount != 1:
                raise UnknownTenant(tenant_id)
            await audit(conn, tenant_id, now, actor, HOLIDAYS_SAVED, f"tenant:{tenant_id}")
        self._changed(tenant_id)

    async def purposes(self, tenant_id: str) -> list[PurposeFacts]:
        """The tenant's active purposes, by name, with what the statement says of each."""
        query = (
            select(
                purposes.c.key,
                purposes.c.name,
                purposes.c.skill,
                purposes.c.disclosure,
                purposes.c.retention_days,
            )
            .where(purposes.c.tenant_id == tenant_id, purposes.c.active)
            .order_by(purposes.c.name, purposes.c.key)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
            skills = await conn.execute(
                select(staff.c.skills).where(staff.c.tenant_id == tenant_id, staff.c.active)
            )
            # skills are a JSON list: counted here, the same on SQLite and PostgreSQL
            held = [set(row.skills) if isinstance(row.skills, list) else set() for row in skills]
            counters = await conn.execute(
                select(walkin_counters.c.purpose).where(walkin_counters.c.tenant_id == tenant_id)
            )
            walkin = {row.purpose for row in counters}
        return [
            PurposeFacts(
                key=row.key,
                name=row.name,
                disclosure=row.disclosure,
                retention_days=row.retention_days,
                specialists=sum(row.skill in each for each in held),
                walkin=row.key in walkin,
            )
            for row in rows
        ]


async def tenant_contact(
    conn_or_engine: AsyncConnection | AsyncEngine, tenant_id: str
) -> TenantProfile | None:
    """The tenant's profile for a message (its phone, hours, e-mail or form): None if it has
    none yet, or it cannot be read. Pass the sender's connection to read inside its
    transaction."""
    if isinstance(conn_or_engine, AsyncConnection):
        found = await _municipality(conn_or_engine, tenant_id)
    else:
        async with reading(conn_or_engine) as conn:
            found = await _municipality(conn, tenant_id)
    return None if found is None else found.profile


async def _municipality(conn: AsyncConnection, tenant_id: str) -> Municipality | None:
    query = select(tenants.c.name, tenants.c.profile).where(tenants.c.id == tenant_id)
    row = (await conn.execute(query)).one_or_none()
    if row is None:
        return None
    if row.profile is None:
        return Municipality(tenant_id, row.name, None)
    try:
        return Municipality(tenant_id, row.name, from_data(row.profile))
    except BadProfileData as error:
        # the residents' pages go on without it; the administrator's page says so
        log.error("the profile of tenant %r cannot be read: %s", tenant_id, error)
        return Municipality(tenant_id, row.name, None, unreadable=True)
