"""The demo tenant: a municipality with four purposes and five specialists.

``seed_demo(engine)`` is idempotent: it adds what is missing and changes nothing that
exists, so it can run at every start-up of the embedded shape (``BALIE_DEMO_DATA``). Names
are obviously fictitious; there is no personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as clock
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import writer
from server.db.schema import availability_rules, purposes, staff, tenants, walkin_counters

DEMO_TENANT: Final = "demo"

PURPOSES: Final[tuple[dict[str, Any], ...]] = (
    {
        "key": "bijstand",
        "name": "Bijstand (Participatiewet)",
        "skill": "participatiewet",
        "duration_minutes": 30,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 10,
        "min_notice_minutes": 240,
        "horizon_days": 28,
        "slot_interval_minutes": 15,
        "daily_cap": 6,
        "retention_days": None,
        "disclosure": ["bsn", "full_name"],
    },
    {
        "key": "wmo",
        "name": "Wmo: hulp en ondersteuning thuis",
        "skill": "wmo",
        "duration_minutes": 45,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "min_notice_minutes": 1440,
        "horizon_days": 42,
        "slot_interval_minutes": 15,
        "daily_cap": 4,
        "retention_days": 30,
        "disclosure": ["bsn", "full_name", "address"],
    },
    {
        "key": "belastingen",
        "name": "Gemeentelijke belastingen",
        "skill": "belastingen",
        "duration_minutes": 20,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 5,
        "min_notice_minutes": 60,
        "horizon_days": 28,
        "slot_interval_minutes": None,
        "daily_cap": None,
        "retention_days": None,
        "disclosure": ["bsn"],
    },
    {
        "key": "burgerzaken",
        "name": "Burgerzaken: paspoort, verhuizing, uittreksel",
        "skill": "burgerzaken",
        "duration_minutes": 15,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "min_notice_minutes": 60,
        "horizon_days": 28,
        "slot_interval_minutes": None,
        "daily_cap": None,
        "retention_days": None,
        "disclosure": ["full_name", "birthdate"],
    },
)

_MORNING: Final = (clock(9), clock(12, 30))
_AFTERNOON: Final = (clock(13, 30), clock(17))

#: (id, display name, skills, weekdays, hours per day)
STAFF: Final = (
    ("demo-anna", "Anna (demo)", ("participatiewet", "wmo"), (0, 1, 2, 3), (_MORNING, _AFTERNOON)),
    ("demo-bram", "Bram (demo)", ("wmo",), (0, 2, 4), (_MORNING, _AFTERNOON)),
    ("demo-chantal", "Chantal (demo)", ("belastingen",), (1, 2, 3, 4), (_MORNING,)),
    ("demo-daan", "Daan (demo)", ("burgerzaken",), (0, 1, 2, 3, 4), (_MORNING, _AFTERNOON)),
    ("demo-esra", "Esra (demo)", ("burgerzaken", "belastingen"), (0, 3, 4), (_AFTERNOON,)),
)


#: the demo's walk-in counters (server/walkin/hours.py's stored form): open around the clock,
#: holidays included, so that whoever tries the demo finds the counter open. Real counters
#: get their hours from the planner.
_ALWAYS_OPEN: Final = {
    "version": 1,
    "weekly": {
        day: [["00:00", "23:59"]]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
    "exceptions": [],
    "holidays": {"close": False, "liberation_day": "every-year", "good_friday": False},
}
#: (purpose, most waiting, average conversation in minutes)
WALKIN: Final = (
    ("bijstand", 20, 15),
    ("wmo", 20, 15),
    ("belastingen", 20, 10),
    ("burgerzaken", 20, 10),
)


#: the demo municipality's own details (server/municipality/profile.py's stored form, version 1):
#: obviously fictitious, with a number of the reserved 0900-0000000 kind and example.org
#: addresses that deliver nowhere
DEMO_PROFILE: Final[dict[str, object]] = {
    "version": 1,
    "phone": "0900-0000000",
    "phone_hours": "Maandag tot en met vrijdag van 9.00 tot 17.00 uur (demo)",
    "email": "balie@gemeente-voorbeeld.example.org",
    "form_url": "https://gemeente-voorbeeld.example.org/contact",
    "visiting_address": ["Voorbeeldplein 1", "9999 XX  Voorbeeld"],
    "controller": "Het college van burgemeester en wethouders van Gemeente Voorbeeld (demo)",
    "privacy_officer_email": "privacy@gemeente-voorbeeld.example.org",
    "privacy_url": None,
    "accessibility_status": "voldoet-gedeeltelijk",
    "accessibility_date": "2026-12-01",
    "known_issues": [
        "De grafieken van de planners hebben nog geen beschrijving in woorden (demo).",
    ],
}


async def seed_demo(engine: AsyncEngine, *, tenant_id: str = DEMO_TENANT) -> None:
    """Add the demo tenant, purposes and staff (with weekday hours) where missing."""
    async with writer(engine).begin() as conn:
        await _seed(conn, tenant_id, datetime.now(UTC))


async def _seed(conn: AsyncConnection, tenant_id: str, now: datetime) -> None:
    existing = (
        await conn.execute(select(tenants.c.profile).where(tenants.c.id == tenant_id))
    ).one_or_none()
    if existing is None:
        await conn.execute(
            insert(tenants).values(
                id=tenant_id, name="Gemeente Voorbeeld (demo)", created_at=now, profile=DEMO_PROFILE
            )
        )
    elif existing.profile is None:
        # a demo database from before profiles existed gets one; a filled-in one is kept
        await conn.execute(
            update(tenants).where(tenants.c.id == tenant_id).values(profile=DEMO_PROFILE)
        )
    for purpose in PURPOSES:
        found = select(purposes.c.key).where(
            purposes.c.tenant_id == tenant_id, purposes.c.key == purpose["key"]
        )
        if not await _exists(conn, found):
            await conn.execute(insert(purposes).values(tenant_id=tenant_id, active=True, **purpose))
    for staff_id, name, skills, weekdays, hours in STAFF:
        found = select(staff.c.id).where(staff.c.tenant_id == tenant_id, staff.c.id == staff_id)
        if await _exists(conn, found):
            continue  # their hours came with them; a re-run must not double them
        await conn.execute(
            insert(staff).values(
                tenant_id=tenant_id,
                id=staff_id,
                name=name,
                skills=list(skills),
                roles=["specialist"],
                daily_cap=None,
                calendar_source=None,
                calendar_failure="hide",
                active=True,
            )
        )
        await conn.execute(
            insert(availability_rules),
            [
                {
                    "tenant_id": tenant_id,
                    "staff_id": staff_id,
                    "weekday": weekday,
                    "start_time": start,
                    "end_time": end,
                }
                for weekday in weekdays
                for start, end in hours
            ],
        )

    for purpose_key, max_waiting, handling in WALKIN:
        found = select(walkin_counters.c.purpose).where(
            walkin_counters.c.tenant_id == tenant_id, walkin_counters.c.purpose == purpose_key
        )
        if not await _exists(conn, found):
            await conn.execute(
                insert(walkin_counters).values(
                    tenant_id=tenant_id,
                    purpose=purpose_key,
                    hours=_ALWAYS_OPEN,
                    max_waiting=max_waiting,
                    max_wait_minutes=None,
                    handling_minutes=handling,
                    updated_at=now,
                )
            )


async def _exists(conn: AsyncConnection, query: Any) -> bool:
    return (await conn.execute(query)).first() is not None
