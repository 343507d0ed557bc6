"""The database side of bench/booking.py: the tenants it books in, the invariant check, and
the ceilings it runs next to the booking arms (a SQLAlchemy insert loop, asyncpg alone, and
pgbench).

Slot space: a 30-minute purpose with a slot every 30 minutes and no buffers, so two different
starts never overlap; staff work Monday–Friday 09:00–17:00 (16 starts a day). The days are the
20 weekdays from Monday 2 March 2026 (before the DST change of the 29th), the clock is fixed
at 07:00 that Monday, so holds never lapse during a run.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Final

import asyncpg
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.clock import AMSTERDAM
from server.db import writer
from server.db.schema import availability_rules, purposes, staff, tenants

#: Monday 2 March 2026, 07:00 Amsterdam
NOW: Final = datetime(2026, 3, 2, 7, 0, tzinfo=AMSTERDAM).astimezone(UTC)
PURPOSE: Final = "talk"
#: weekdays of the slot space, and the starts of each (09:00, 09:30, ... 16:30)
DAYS: Final = 20
STARTS_PER_DAY: Final = 16


def weekdays(count: int = DAYS) -> list[datetime]:
    """09:00 Amsterdam of the first ``count`` weekdays from :data:`NOW`'s Monday."""
    first = NOW.astimezone(AMSTERDAM).date()
    found: list[datetime] = []
    day = first
    while len(found) < count:
        if day.weekday() < 5:
            found.append(datetime.combine(day, clock(9)).replace(tzinfo=AMSTERDAM))
        day += timedelta(days=1)
    return found


def starts(days: int = DAYS) -> list[datetime]:
    """Every start of the slot space, in UTC, in time order."""
    return [
        (nine + timedelta(minutes=30 * i)).astimezone(UTC)
        for nine in weekdays(days)
        for i in range(STARTS_PER_DAY)
    ]


OVERLAPS: Final = text(
    """
    SELECT count(*) FROM appointments AS a JOIN appointments AS b
      ON a.tenant_id = b.tenant_id AND a.staff_id = b.staff_id AND a.id < b.id
     WHERE a.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND b.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND a.buffered_start < b.buffered_end AND b.buffered_start < a.buffered_end
    """
)


async def check_no_overlap(engine: AsyncEngine, what: str) -> None:
    """The invariant: no two active appointments of one staff member overlap."""
    async with engine.connect() as conn:
        overlaps = (await conn.execute(OVERLAPS)).scalar_one()
    if overlaps:
        raise SystemExit(f"INVARIANT BROKEN: {overlaps} overlapping appointments ({what})")


async def seed(engine: AsyncEngine, members: int) -> str:
    """A fresh tenant with :data:`PURPOSE` and ``members`` staff who take it; its id."""
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    ids = [f"s{i:04d}" for i in range(members)]
    async with writer(engine).begin() as conn:
        await conn.execute(insert(tenants).values(id=tenant, name="Bench", created_at=NOW))
        await conn.execute(
            insert(purposes).values(
                tenant_id=tenant,
                key=PURPOSE,
                name="Talk",
                skill="wmo",
                duration_minutes=30,
                buffer_before_minutes=0,
                buffer_after_minutes=0,
                min_notice_minutes=0,
                horizon_days=28,
                slot_interval_minutes=30,
                daily_cap=None,
                disclosure=[],
                active=True,
            )
        )
        await conn.execute(
            insert(staff),
            [
                {
                    "tenant_id": tenant,
                    "id": member,
                    "name": member,
                    "skills": ["wmo"],
                    "roles": ["specialist"],
                    "calendar_failure": "hide",
                    "active": True,
                }
                for member in ids
            ],
        )
        await conn.execute(
            insert(availability_rules),
            [
                {
                    "tenant_id": tenant,
                    "staff_id": member,
                    "weekday": weekday,
                    "start_time": clock(9),
                    "end_time": clock(17),
                }
                for member in ids
                for weekday in range(5)
            ],
        )
    return tenant


async def clients(
    k: int, work: list[list[object]], one: Callable[[int, object], Awaitable[None]]
) -> float:
    """``k`` concurrent clients, client ``c`` calling ``one(c, item)`` for each item of
    ``work[c]`` in turn; the wall seconds until all are done."""

    async def client(c: int) -> None:
        for item in work[c]:
            await one(c, item)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(k)))
    return time.perf_counter() - started


def shares(k: int, total: int) -> list[list[object]]:
    """``total`` numbered items dealt to ``k`` clients."""
    return [list(range(c, total, k)) for c in range(k)]


# --- the ceilings ----------------------------------------------------------------------------

_ceiling_meta = MetaData()
CEILING_TABLE: Final = Table(
    "bench_ceiling",
    _ceiling_meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", Integer, nullable=False),
    Column("payload", String(64), nullable=False),
)
#: the one-row INSERT both PostgreSQL ceilings commit, one transaction each
_RAW_INSERT: Final = "INSERT INTO bench_ceiling (client, payload) VALUES ($1, $2)"
_PGBENCH_SCRIPT: Final = (
    "INSERT INTO bench_ceiling (client, payload) VALUES (:client_id, repeat('0', 64));\n"
)
_PGBENCH_TPS: Final = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


async def fresh_ceiling_table(engine: AsyncEngine) -> None:
    async with writer(engine).begin() as conn:
        await conn.run_sync(_ceiling_meta.drop_all)
        await conn.run_sync(_ceiling_meta.create_all)


async def sqlalchemy_ceiling_tps(engine: AsyncEngine, k: int, transactions: int) -> float:
    """K clients on ``engine``, each committing one-row INSERTs through SQLAlchemy (on SQLite a
    write transaction of the booking's shape: ``BEGIN IMMEDIATE``)."""
    await fresh_ceiling_table(engine)
    write = writer(engine)

    async def one(client: int, n: object) -> None:
        async with write.begin() as conn:
            await conn.execute(insert(CEILING_TABLE).values(client=client, payload=f"{n:064}"))

    return transactions / await clients(k, shares(k, transactions), one)


async def raw_ceiling_tps(url: str, k: int, connections: int, transactions: int) -> float:
    """asyncpg alone: K clients on a pool of ``min(k, connections)`` connections, each
    committing one-row INSERTs in a loop (INSERT + COMMIT, no SQLAlchemy in between)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    size = min(k, connections)
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
    try:

        async def one(client: int, n: object) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(_RAW_INSERT, client, f"{n:064}")

        return transactions / await clients(k, shares(k, transactions), one)
    finally:
        await pool.close()


async def pgbench_tps(url: str, k: int, connections: int, transactions: int) -> float:
    """pgbench with ``min(k, connections)`` clients committing one-row INSERTs."""
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench not found: it comes with PostgreSQL (apt-get install postgresql)")
    parsed = make_url(url)
    size = min(k, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(_PGBENCH_SCRIPT)
    try:
        process = await asyncio.create_subprocess_exec(
            "pgbench", "-n", "-c", str(size), "-j", str(min(size, os.cpu_count() or 1)),
            "-t", str(max(1, transactions // size)), "-f", script.name,
            "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres", parsed.database or "postgres",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
    finally:
        os.unlink(script.name)
    found = _PGBENCH_TPS.search(out.decode())
    if process.returncode != 0 or found is None:
        raise SystemExit(f"pgbench failed ({process.returncode}): {err.decode()[-500:]}")
    return float(found.group(1))
