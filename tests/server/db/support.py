"""Databases for storage and booking tests: SQLite files and throw-away PostgreSQL databases.

PostgreSQL is the real server at ``BALIE_TEST_POSTGRES`` (default: postgres@127.0.0.1:5432,
database ``test``, trust auth). Each test module gets its own freshly created database,
dropped afterwards, so modules and other suites never see each other's rows; inside a
module each test books in its own tenant. An unreachable server is a test *failure*, not a
skip: the PostgreSQL guarantee is what production relies on.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.core.clock import AMSTERDAM
from server.db import create_engine, migrate, writer
from server.db.schema import availability_rules, purposes, staff, tenants

POSTGRES: Final = os.environ.get(
    "BALIE_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS: Final = ("sqlite", "postgresql")

#: Monday 2 March 2026, 07:00 in Amsterdam (06:00 UTC): before the day's hours open
T0: Final = datetime(2026, 3, 2, 7, 0, tzinfo=AMSTERDAM).astimezone(UTC)
#: a weekday slot start: Tuesday 3 March 2026 10:00 in Amsterdam
TUESDAY_10: Final = datetime(2026, 3, 3, 10, 0, tzinfo=AMSTERDAM).astimezone(UTC)
EMAIL: Final = "test@example.invalid"
PHONE: Final = "+31 6 00000000"


@dataclass
class FakeClock:
    """The service's clock, moved by the test: holds expire without sleeping."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


# --- PostgreSQL databases ------------------------------------------------------------------


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def create_postgres_database() -> str:
    """A new, empty database on the test server; its URL."""
    name = f"balie_test_{uuid.uuid4().hex[:12]}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except Exception as error:
        pytest.fail(
            f"PostgreSQL at {make_url(POSTGRES).render_as_string(hide_password=True)} is not "
            f"reachable ({type(error).__name__}: {error}); storage tests need the real "
            f"server (set BALIE_TEST_POSTGRES)",
            pytrace=False,
        )
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Database:
    backend: str
    url: str
    engines: list[AsyncEngine] = field(default_factory=list)

    def engine(self, **options: Any) -> AsyncEngine:
        return create_engine(self.url, **options)


def module_database(backend: str, tmp: Path) -> Iterator[Database]:
    """A migrated database for one test module (sync: module-scoped fixtures own no loop)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'balie.db'}"
    else:
        url = asyncio.run(create_postgres_database())

    async def up() -> None:
        engine = create_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(up())
        yield Database(backend, url)
    finally:
        if backend == "postgresql":
            asyncio.run(drop_postgres_database(url))


async def open_engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = database.engine(pool_size=20, max_overflow=10)
    try:
        yield engine
    finally:
        await engine.dispose()


# --- a tenant to book in -------------------------------------------------------------------

WEEKDAY_HOURS: Final = (clock(9), clock(17))


async def seed_tenant(engine: AsyncEngine, tenant_id: str | None = None) -> str:
    """A tenant with two Wmo specialists (s1, s2; Monday–Friday 09:00–17:00), one tax
    specialist (s3) and three purposes:

    - ``intake``: 30 min, 5 min buffers either side, slots every 15 min;
    - ``long``: 120 min, no buffers, slots every minute (many partially overlapping starts);
    - ``tax``: 20 min, skill ``belastingen`` (only s3).
    """
    tenant_id = tenant_id or f"t-{uuid.uuid4().hex[:10]}"
    purpose = {
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "min_notice_minutes": 0,
        "horizon_days": 28,
        "daily_cap": None,
        "retention_days": None,
        "active": True,
        "tenant_id": tenant_id,
    }
    async with writer(engine).begin() as conn:
        await conn.execute(insert(tenants).values(id=tenant_id, name="Test", created_at=T0))
        await conn.execute(
            insert(purposes),
            [
                purpose
                | {
                    "key": "intake",
                    "name": "Wmo intake",
                    "skill": "wmo",
                    "duration_minutes": 30,
                    "buffer_before_minutes": 5,
                    "buffer_after_minutes": 5,
                    "slot_interval_minutes": 15,
                    "disclosure": ["bsn"],
                },
                purpose
                | {
                    "key": "long",
                    "name": "Long talk",
                    "skill": "wmo",
                    "duration_minutes": 120,
                    "slot_interval_minutes": 1,
                    "disclosure": [],
                },
                purpose
                | {
                    "key": "tax",
                    "name": "Belastingen",
                    "skill": "belastingen",
                    "duration_minutes": 20,
                    "slot_interval_minutes": None,
                    "disclosure": ["bsn"],
                },
            ],
        )
        for member, skills in (("s1", ["wmo"]), ("s2", ["wmo"]), ("s3", ["belastingen"])):
            await conn.execute(
                insert(staff).values(
                    tenant_id=tenant_id,
                    id=member,
                    name=f"Staff {member}",
                    skills=skills,
                    roles=["specialist"],
                    daily_cap=None,
                    calendar_source=f"test:{member}",
                    calendar_failure="ignore" if member == "s2" else "hide",
                    active=True,
                )
            )
            await conn.execute(
                insert(availability_rules),
                [
                    {
                        "tenant_id": tenant_id,
                        "staff_id": member,
                        "weekday": weekday,
                        "start_time": WEEKDAY_HOURS[0],
                        "end_time": WEEKDAY_HOURS[1],
                    }
                    for weekday in range(5)
                ],
            )
    return tenant_id


OVERLAPS: Final = text(
    """
    SELECT count(*) FROM appointments AS a JOIN appointments AS b
      ON a.tenant_id = b.tenant_id AND a.staff_id = b.staff_id AND a.id < b.id
     WHERE a.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND b.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND a.buffered_start < b.buffered_end AND b.buffered_start < a.buffered_end
    """
)


async def overlapping_pairs(engine: AsyncEngine) -> int:
    """Pairs of active appointments of one staff member whose buffered periods overlap."""
    async with engine.connect() as conn:
        return int((await conn.execute(OVERLAPS)).scalar_one())
