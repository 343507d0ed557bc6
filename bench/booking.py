"""Booking contention benchmark: K clients race for slots, next to a bare-INSERT ceiling.

    .venv/bin/python bench/booking.py                      # SQLite and PostgreSQL, K = 2, 10, 100
    .venv/bin/python bench/booking.py --backends sqlite    # no PostgreSQL needed
    .venv/bin/python bench/booking.py --quick              # smoke run
    (or .venv/bin/python -m bench.booking ...)

Workload: one tenant, 4 staff members with the skill, Monday–Friday 09:00–17:00; a 30-minute
purpose with slots every 15 minutes, so neighbouring slots partly overlap. The slot space is
one week: 4 staff × 5 days × 31 starts. K clients (asyncio tasks in this process, sharing
one engine: pool 20 + 10 overflow) make ``--attempts`` booking attempts between them; each
attempt picks a random (staff member, start), holds it (``BookingService.hold``) and confirms
it. A hold that loses the race ends the attempt with :class:`SlotTaken` (or
:class:`SlotUnavailable` once the start's neighbours are taken). The clock is fixed, so
holds never lapse during a run.

- booking: bookings (hold + confirm both succeeded) per second of wall time, attempts per
  second, p50/p99 latency of one attempt (hold + confirm, or the failed hold);
- ceiling: the same K clients, each committing a one-row INSERT transaction in a loop (a
  write transaction of the same shape on SQLite: ``BEGIN IMMEDIATE``), as many as the
  booking arm made write transactions: what any durable booking must at least pay per
  commit on this database and machine;
- PostgreSQL only, two more ceilings at the same K (on at most as many connections as the
  booking arm's pool) and transaction count: ``raw``, asyncpg itself (an INSERT + COMMIT
  loop per client: no SQLAlchemy between the driver and the server), and ``pgbench``, the
  database's own client running a one-row INSERT script with K clients (what the server
  can commit on this machine);
- invariant: after every run a self-join counts overlapping active appointments; it must be
  0, and the run fails otherwise.

Medians over ``--runs``, each run on a fresh tenant (booking) and table (ceiling). The ratio
is booking write transactions per second over ceiling transactions per second. The machine
is shared: the load average is printed. The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Final

if not __package__:
    # Run as a script (`python bench/booking.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._servers import postgres_database
from bench._stats import percentile
from server.booking.errors import SlotTaken, SlotUnavailable
from server.booking.service import BookingService
from server.core.clock import AMSTERDAM
from server.db import create_engine, migrate, writer
from server.db.schema import availability_rules, purposes, staff, tenants

#: Monday 2 March 2026, 07:00 Amsterdam; the slot space is that week
NOW: Final = datetime(2026, 3, 2, 7, 0, tzinfo=AMSTERDAM).astimezone(UTC)
STAFF: Final = ("b1", "b2", "b3", "b4")
STARTS: Final = tuple(
    datetime.combine(NOW.astimezone(AMSTERDAM).date() + timedelta(days=day), clock(9))
    .replace(tzinfo=AMSTERDAM)
    .astimezone(UTC)
    + timedelta(minutes=15 * i)
    for day in range(5)
    for i in range(31)
)
OVERLAPS: Final = text(
    """
    SELECT count(*) FROM appointments AS a JOIN appointments AS b
      ON a.tenant_id = b.tenant_id AND a.staff_id = b.staff_id AND a.id < b.id
     WHERE a.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND b.state IN ('held', 'booked', 'checked_in', 'in_call')
       AND a.buffered_start < b.buffered_end AND b.buffered_start < a.buffered_end
    """
)
_ceiling_meta = MetaData()
CEILING_TABLE: Final = Table(
    "bench_ceiling",
    _ceiling_meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", Integer, nullable=False),
    Column("payload", String(64), nullable=False),
)


@dataclass(frozen=True)
class Arm:
    seconds: float
    transactions: int  #: write transactions committed or rolled back
    bookings: int
    attempts: int
    latencies_ms: list[float]

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds

    @property
    def bps(self) -> float:
        return self.bookings / self.seconds

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


async def seed(engine: AsyncEngine) -> str:
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    async with writer(engine).begin() as conn:
        await conn.execute(insert(tenants).values(id=tenant, name="Bench", created_at=NOW))
        await conn.execute(
            insert(purposes).values(
                tenant_id=tenant,
                key="talk",
                name="Talk",
                skill="wmo",
                duration_minutes=30,
                buffer_before_minutes=0,
                buffer_after_minutes=0,
                min_notice_minutes=0,
                horizon_days=28,
                slot_interval_minutes=15,
                disclosure=[],
                active=True,
            )
        )
        for member in STAFF:
            await conn.execute(
                insert(staff).values(
                    tenant_id=tenant,
                    id=member,
                    name=member,
                    skills=["wmo"],
                    roles=["specialist"],
                    calendar_failure="hide",
                    active=True,
                )
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
                    for weekday in range(5)
                ],
            )
    return tenant


async def clients(k: int, attempts: int, one: Callable[[int, int], Awaitable[None]]) -> float:
    """Run ``attempts`` calls of ``one(client, n)`` spread over ``k`` tasks; wall seconds."""
    shares = [attempts // k + (1 if c < attempts % k else 0) for c in range(k)]

    async def client(c: int) -> None:
        for n in range(shares[c]):
            await one(c, n)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(k)))
    return time.perf_counter() - started


async def booking_arm(engine: AsyncEngine, k: int, attempts: int, seed_value: int) -> Arm:
    tenant = await seed(engine)
    booking = BookingService(engine, clock=lambda: NOW)
    rng = random.Random(seed_value)  # noqa: S311 - a reproducible workload, not a secret
    latencies: list[float] = []
    booked = 0
    transactions = 0

    async def one(_client: int, _n: int) -> None:
        nonlocal booked, transactions
        member, start = rng.choice(STAFF), rng.choice(STARTS)
        began = time.perf_counter()
        try:
            transactions += 1
            held = await booking.hold(tenant, "talk", start, staff_id=member)
            transactions += 1
            await booking.confirm(tenant, held.id, held.version)
            booked += 1
        except (SlotTaken, SlotUnavailable):
            pass
        latencies.append((time.perf_counter() - began) * 1000)

    seconds = await clients(k, attempts, one)
    async with engine.connect() as conn:
        overlaps = (await conn.execute(OVERLAPS)).scalar_one()
    if overlaps:
        raise SystemExit(f"INVARIANT BROKEN: {overlaps} overlapping appointments (k={k})")
    return Arm(seconds, transactions, booked, attempts, latencies)


async def ceiling_arm(engine: AsyncEngine, k: int, transactions: int) -> Arm:
    async with writer(engine).begin() as conn:
        await conn.run_sync(_ceiling_meta.drop_all)
        await conn.run_sync(_ceiling_meta.create_all)
    latencies: list[float] = []
    write = writer(engine)

    async def one(client: int, n: int) -> None:
        began = time.perf_counter()
        async with write.begin() as conn:
            await conn.execute(insert(CEILING_TABLE).values(client=client, payload=f"{n:064d}"))
        latencies.append((time.perf_counter() - began) * 1000)

    seconds = await clients(k, transactions, one)
    return Arm(seconds, transactions, 0, transactions, latencies)


#: the connections every arm may use: Balie's engine pool here (20 + 10 overflow); the
#: database allows 100 in all, and K = 100 would otherwise be refused
CONNECTIONS: Final = 30
#: the one-row INSERT both PostgreSQL ceilings commit, one transaction each
_RAW_INSERT: Final = "INSERT INTO bench_ceiling (client, payload) VALUES ($1, $2)"
_PGBENCH_SCRIPT: Final = (
    "INSERT INTO bench_ceiling (client, payload) VALUES (:client_id, repeat('0', 64));\n"
)
_PGBENCH_TPS: Final = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


async def raw_ceiling_tps(url: str, k: int, transactions: int) -> float:
    """asyncpg alone: K clients on a pool of K connections (at most :data:`CONNECTIONS`),
    each committing one-row INSERTs in a loop."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    size = min(k, CONNECTIONS)
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size)
    try:

        async def one(client: int, n: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(_RAW_INSERT, client, f"{n:064d}")

        return transactions / await clients(k, transactions, one)
    finally:
        await pool.close()


async def pgbench_tps(url: str, k: int, transactions: int) -> float:
    """pgbench with K clients (at most :data:`CONNECTIONS`), committing one-row INSERTs."""
    parsed = make_url(url)
    size = min(k, CONNECTIONS)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(_PGBENCH_SCRIPT)
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench not found: it comes with PostgreSQL (apt-get install postgresql)")
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


@dataclass(frozen=True)
class Row:
    backend: str
    k: int
    bps: float
    attempts_per_s: float
    success: float
    p50: float
    p99: float
    booking_tps: float
    ceiling_tps: float
    ceiling_p99: float
    #: PostgreSQL only: asyncpg alone, and pgbench
    raw_tps: float | None = None
    pgbench_tps: float | None = None

    @property
    def ratio(self) -> float:
        return self.booking_tps / self.ceiling_tps


async def measure(backend: str, url: str, ks: list[int], attempts: int, runs: int) -> list[Row]:
    engine = create_engine(url, pool_size=20, max_overflow=CONNECTIONS - 20)
    rows = []
    try:
        await migrate(engine)
        for k in ks:
            bookings: list[Arm] = []
            ceilings: list[Arm] = []
            raw: list[float] = []
            bench: list[float] = []
            for run in range(runs):
                arm = await booking_arm(engine, k, attempts, seed_value=run)
                bookings.append(arm)
                ceilings.append(await ceiling_arm(engine, k, arm.transactions))
                if backend == "postgresql":
                    raw.append(await raw_ceiling_tps(url, k, arm.transactions))
                    bench.append(await pgbench_tps(url, k, arm.transactions))
            rows.append(
                Row(
                    backend=backend,
                    k=k,
                    bps=statistics.median(a.bps for a in bookings),
                    attempts_per_s=statistics.median(a.attempts / a.seconds for a in bookings),
                    success=statistics.median(a.bookings / a.attempts for a in bookings),
                    p50=statistics.median(a.percentile(0.50) for a in bookings),
                    p99=statistics.median(a.percentile(0.99) for a in bookings),
                    booking_tps=statistics.median(a.tps for a in bookings),
                    ceiling_tps=statistics.median(a.tps for a in ceilings),
                    ceiling_p99=statistics.median(a.percentile(0.99) for a in ceilings),
                    raw_tps=statistics.median(raw) if raw else None,
                    pgbench_tps=statistics.median(bench) if bench else None,
                )
            )
            print(f"  {backend} k={k}: done", flush=True)
    finally:
        await engine.dispose()
    return rows


def report(rows: list[Row], attempts: int, runs: int) -> str:
    print()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {attempts} attempts per run, "
        f"medians of {runs} runs; overlapping appointments after every run: 0"
    )
    print()
    print(
        "| backend | K | bookings/s | attempts/s | booked | p50 ms | p99 ms "
        "| booking tx/s | ceiling tx/s | ceiling p99 ms | booking/ceiling "
        "| asyncpg tx/s | booking/asyncpg | pgbench tx/s | booking/pgbench |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    result = []
    for r in rows:
        extra = "| – | – | – | – |"
        if r.raw_tps is not None and r.pgbench_tps is not None:
            extra = (
                f"| {r.raw_tps:.0f} | {r.booking_tps / r.raw_tps:.2f} "
                f"| {r.pgbench_tps:.0f} | {r.booking_tps / r.pgbench_tps:.2f} |"
            )
        print(
            f"| {r.backend} | {r.k} | {r.bps:.0f} | {r.attempts_per_s:.0f} | {r.success:.0%} "
            f"| {r.p50:.1f} | {r.p99:.1f} | {r.booking_tps:.0f} | {r.ceiling_tps:.0f} "
            f"| {r.ceiling_p99:.1f} | {r.ratio:.2f} {extra}"
        )
        key = f"{r.backend}_k{r.k}"
        result += [
            f"{key}_bookings_per_s={r.bps:.1f}",
            f"{key}_p99_ms={r.p99:.1f}",
            f"{key}_ceiling_tps={r.ceiling_tps:.1f}",
            f"{key}_ratio={r.ratio:.3f}",
        ]
        if r.raw_tps is not None and r.pgbench_tps is not None:
            result += [
                f"{key}_asyncpg_tps={r.raw_tps:.1f}",
                f"{key}_pgbench_tps={r.pgbench_tps:.1f}",
                f"{key}_ratio_pgbench={r.booking_tps / r.pgbench_tps:.3f}",
            ]
    result.append("overlaps=0")
    return "RESULT " + " ".join(result)


async def main_async(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    for backend in args.backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                rows += await measure(backend, url, args.k, args.attempts, args.runs)
        else:
            url, drop = await postgres_database()
            try:
                rows += await measure(backend, url, args.k, args.attempts, args.runs)
            finally:
                await drop()
    print(report(rows, args.attempts, args.runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--k", type=int, nargs="+", default=[2, 10, 100])
    parser.add_argument("--attempts", type=int, default=400, help="booking attempts per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40 attempts, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.attempts, args.runs = 40, 1
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
