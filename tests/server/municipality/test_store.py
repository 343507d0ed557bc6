"""The profile store on SQLite and PostgreSQL: a save is read back and audited in one
transaction, an unknown tenant saves nothing, the statement's facts come from the purposes,
staff and counters as stored, and the demo seeds a valid profile without overwriting one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, null, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import writer
from server.db.demo import DEMO_PROFILE, DEMO_TENANT, seed_demo
from server.db.schema import audit_events, purposes, staff, tenants
from server.municipality.errors import UnknownTenant
from server.municipality.profile import AccessibilityStatus, TenantProfile, from_data
from server.municipality.store import PROFILE_SAVED, ProfileStore, tenant_contact

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)

PROFILE = TenantProfile(
    phone="14 030",
    phone_hours="Werkdagen van 9 tot 17 uur",
    email=None,
    form_url="https://voorbeeld.example/contact",
    visiting_address=None,
    controller="De gemeente Voorbeeld",
    privacy_officer_email="fg@voorbeeld.example",
    privacy_url=None,
    accessibility_status=AccessibilityStatus.FULL,
    accessibility_date=date(2026, 6, 1),
    known_issues=(),
)


async def add_tenant(engine: AsyncEngine, tenant: str) -> None:
    async with writer(engine).begin() as conn:
        await conn.execute(
            insert(tenants).values(id=tenant, name=f"Gemeente {tenant}", created_at=NOW)
        )


async def audited(engine: AsyncEngine, tenant: str) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(audit_events.c.actor, audit_events.c.action, audit_events.c.subject).where(
                audit_events.c.tenant_id == tenant
            )
        )
        return [tuple(row) for row in rows]


async def test_a_saved_profile_reads_back_and_is_audited(engine: AsyncEngine) -> None:
    await add_tenant(engine, "opslaan")
    store = ProfileStore(engine)
    found = await store.municipality("opslaan")
    assert found is not None and found.profile is None and not found.unreadable
    await store.save("opslaan", PROFILE, actor="staff:a1", now=NOW)
    assert await store.load("opslaan") == PROFILE
    assert await tenant_contact(engine, "opslaan") == PROFILE
    assert await audited(engine, "opslaan") == [("staff:a1", PROFILE_SAVED, "tenant:opslaan")]


async def test_an_unknown_tenant_saves_and_audits_nothing(engine: AsyncEngine) -> None:
    store = ProfileStore(engine)
    with pytest.raises(UnknownTenant):
        await store.save("nergens", PROFILE, actor="staff:a1", now=NOW)
    assert await store.municipality("nergens") is None
    assert await audited(engine, "nergens") == []


async def test_the_statements_facts_come_from_purposes_staff_and_counters(
    engine: AsyncEngine,
) -> None:
    await seed_demo(engine, tenant_id="feiten")
    async with writer(engine).begin() as conn:
        # one Wmo specialist leaves: the count follows the active staff
        await conn.execute(
            update(staff)
            .where(staff.c.tenant_id == "feiten", staff.c.id == "demo-bram")
            .values(active=False)
        )
        await conn.execute(
            update(purposes)
            .where(purposes.c.tenant_id == "feiten", purposes.c.key == "belastingen")
            .values(active=False)
        )
    facts = {fact.key: fact for fact in await ProfileStore(engine).purposes("feiten")}
    assert set(facts) == {"bijstand", "wmo", "burgerzaken"}
    assert facts["wmo"].specialists == 1  # Anna; Bram is no longer active
    assert facts["burgerzaken"].specialists == 2
    assert facts["wmo"].retention_days == 30 and facts["bijstand"].retention_days is None
    assert facts["wmo"].disclosure == ["bsn", "full_name", "address"]
    assert all(fact.walkin for fact in facts.values())


async def test_the_demo_profile_is_valid_and_kept_once_edited(engine: AsyncEngine) -> None:
    assert from_data(DEMO_PROFILE).phone == "0900-0000000"
    async with writer(engine).begin() as conn:
        await conn.execute(delete(audit_events).where(audit_events.c.tenant_id == DEMO_TENANT))
    await seed_demo(engine)
    store = ProfileStore(engine)
    assert await store.load(DEMO_TENANT) == from_data(DEMO_PROFILE)
    await store.save(DEMO_TENANT, PROFILE, actor="staff:demo-admin", now=NOW)
    await seed_demo(engine)
    assert await store.load(DEMO_TENANT) == PROFILE
    # a demo database from before profiles existed gets one at the next start
    async with writer(engine).begin() as conn:
        await conn.execute(
            update(tenants).where(tenants.c.id == DEMO_TENANT).values(profile=null())
        )
    await seed_demo(engine)
    assert await store.load(DEMO_TENANT) == from_data(DEMO_PROFILE)


async def test_an_unreadable_profile_is_marked_not_shown(engine: AsyncEngine) -> None:
    await add_tenant(engine, "kapot")
    async with writer(engine).begin() as conn:
        await conn.execute(
            update(tenants).where(tenants.c.id == "kapot").values(profile={"version": 0})
        )
    found = await ProfileStore(engine).municipality("kapot")
    assert found is not None and found.profile is None and found.unreadable
