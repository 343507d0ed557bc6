"""Booking benchmark: a rush of residents on distinct slots, and a crowd on one slot, next to
the database's own limits in the same run.

    .venv/bin/python bench/booking.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/booking.py --backends sqlite    # no PostgreSQL needed
    .venv/bin/python bench/booking.py --quick              # smoke run
    (or .venv/bin/python -m bench.booking ...)

Every booking goes through the real :class:`BookingService`, configured as ``balie serve``
configures it (link keys, 5 live holds per client, the outbox hook, the server's default
engine and pool), and is made the way the resident pages make it today (:func:`book`: hold
with a form key and the client's address and browser, then confirm with contact details, a
new room and another form key). The clock is fixed (bench/_booking_db.py), so holds never
lapse during a run.

- ``distinct`` (the headline): one tenant with ``--staff`` (200) staff, 20 weekdays × 16
  half-hour starts, no buffers, so different starts never overlap. The starts are dealt to
  ``--k`` (100) clients, each of which books only its own starts, in turn, without naming a
  staff member (as a resident does; the service picks one): no two clients ever want the
  same slot, so every attempt must succeed. Confirmed bookings per second of wall time,
  p50/p99 of one booking (hold + confirm).
- ``contention``: a tenant with one staff member; ``--contenders`` (100) clients book the
  same start at the same moment, for ``--rounds`` starts in turn. Exactly one may win each
  round (the run fails otherwise); the losers' answer time p50/p99 (the refusal is what a
  loser waits for).
- ceilings, at the same K and as many transactions as two per booking: on PostgreSQL
  ``raw`` (asyncpg alone, INSERT + COMMIT in a loop per client) and ``pgbench`` (the
  server's own client, a one-row INSERT script), both on at most ``--connections`` (30)
  connections; on SQLite the same loop through SQLAlchemy (``BEGIN IMMEDIATE``). The
  ratios are confirmed bookings per second over ceiling commits per second.
- invariant: after every arm a self-join counts overlapping active appointments; it must be
  0, and the run fails otherwise.

Medians over ``--runs``, each run on fresh tenants and a fresh ceiling table. The machine is
shared: the load average is printed. The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

if not __package__:
    # Run as a script (`python bench/booking.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import AsyncEngine

from bench._booking_db import (
    NOW,
    PURPOSE,
    check_no_overlap,
    clients,
    pgbench_tps,
    raw_ceiling_tps,
    seed,
    sqlalchemy_ceiling_tps,
    starts,
)
from bench._servers import postgres_database
from bench._stats import percentile as _percentile
from server.booking.appointment import Appointment, Contact
from server.booking.errors import BookingError, NoStaffFree, SlotTaken, SlotUnavailable
from server.booking.join_links import new_room_id
from server.booking.links import LinkKeys
from server.booking.service import BookingService, Holder
from server.core.forms import new_form_key
from server.db import create_engine, migrate
from server.messages.changes import OutboxHook

#: what a resident types on the details page
CONTACT: Final = Contact(email="inwoner@example.org")
#: the refusals a loser of a race may get: the slot was just taken, or is no longer offered
LOST: Final = (SlotTaken, SlotUnavailable, NoStaffFree)
#: targets of issue 15
TARGETS: Final = {"postgresql": (1000.0, 100.0), "sqlite": (300.0, 300.0)}
TARGET_LOSER_P99_MS: Final = 50.0
SHORT: Final = {"postgresql": "pg", "sqlite": "sqlite"}


def percentile(values: list[float], share: float) -> float:
    """:func:`bench._stats.percentile`, NaN for no values (a round nobody won)."""
    return _percentile(values, share) if values else float("nan")


def service_for(engine: AsyncEngine) -> BookingService:
    """The booking service as ``balie serve`` builds it (server/booking/setup.py), without
    the metrics wrapper and calendars."""
    return BookingService(
        engine,
        clock=lambda: NOW,
        link_keys=LinkKeys.generate(),
        holds_per_client=5,
        on_change=OutboxHook(),
    )


async def book(
    service: BookingService,
    tenant: str,
    start: datetime,
    client: int,
    staff_id: str | None = None,
    *,
    at_once: bool = False,
) -> Appointment:
    """One resident books ``start``, the way the resident pages do it (server/resident/
    booking.py): hold (POST .../vasthouden), then confirm (POST .../gegevens); ``at_once``:
    in one step, as the planner and ``POST /appointments {purpose, start}`` do. ``staff_id``
    names the staff member (``--pick named``; the resident pages never do)."""
    if at_once:
        return await service.book(
            tenant,
            PURPOSE,
            start,
            staff_id=staff_id,
            contact=CONTACT,
            room_id=new_room_id(),
            idempotency_key=new_form_key(),
        )
    holder = Holder(client=f"10.1.{client // 200}.{client % 200 + 1}", browser=f"b{client:05d}")
    held = await service.hold(
        tenant, PURPOSE, start, staff_id=staff_id, idempotency_key=new_form_key(), holder=holder
    )
    return await service.confirm(
        tenant,
        held.id,
        held.version,
        contact=CONTACT,
        room_id=new_room_id(),
        idempotency_key=new_form_key(),
    )


@dataclass
class Distinct:
    seconds: float = 0.0
    confirmed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.confirmed / self.seconds


async def distinct_arm(
    engine: AsyncEngine, k: int, members: int, bookings: int, named: bool, at_once: bool
) -> Distinct:
    """``named``: deal (staff member, start) pairs and name the staff member; else deal the
    starts and let the service pick a free staff member, as for a resident."""
    tenant = await seed(engine, members)
    service = service_for(engine)
    space: list[tuple[datetime, str | None]] = (
        [(start, f"s{m:04d}") for start in starts() for m in range(members)]
        if named
        else [(start, None) for start in starts()]
    )
    random.Random(15).shuffle(space)  # noqa: S311 - a reproducible deal, not a secret
    own = [space[c::k] for c in range(k)]
    room = min(len(o) for o in own) * (1 if named else members)
    if k > len(space) or bookings > k * room:
        raise SystemExit(f"{bookings} bookings by {k} clients do not fit the slot space")
    # client c books its own slots in turn (unnamed: a start again is another staff member)
    work: list[list[object]] = [
        [own[c][j % len(own[c])] for j in range(bookings // k + (c < bookings % k))]
        for c in range(k)
    ]
    arm = Distinct()

    async def one(client: int, slot: object) -> None:
        assert isinstance(slot, tuple)
        began = time.perf_counter()
        try:
            await book(service, tenant, slot[0], client, slot[1], at_once=at_once)
            arm.confirmed += 1
        except BookingError as error:
            arm.failed[type(error).__name__] += 1
        arm.latencies_ms.append((time.perf_counter() - began) * 1000)

    arm.seconds = await clients(k, work, one)
    await check_no_overlap(engine, f"distinct, k={k}")
    return arm


@dataclass
class Contention:
    losers_ms: list[float] = field(default_factory=list)
    winners_ms: list[float] = field(default_factory=list)
    #: answers other than a win or a refusal of the race (they count as losers' times too)
    errors: Counter[str] = field(default_factory=Counter)
    #: rounds nobody won: every contender got an error other than a refusal
    unwon: int = 0


async def contention_arm(
    engine: AsyncEngine, contenders: int, rounds: int, at_once: bool
) -> Contention:
    tenant = await seed(engine, 1)
    service = service_for(engine)
    arm = Contention()
    for start in starts()[:rounds]:

        async def one(client: int, start: datetime = start) -> bool:
            began = time.perf_counter()
            try:
                await book(service, tenant, start, client, at_once=at_once)
                won = True
            except LOST:
                won = False
            except BookingError as error:
                arm.errors[type(error).__name__] += 1
                won = False
            (arm.winners_ms if won else arm.losers_ms).append((time.perf_counter() - began) * 1000)
            return won

        won = sum(await asyncio.gather(*(one(c) for c in range(contenders))))
        if won > 1:
            raise SystemExit(f"INVARIANT BROKEN: {won} winners for one slot at {start}")
        arm.unwon += won == 0
    await check_no_overlap(engine, f"contention, {contenders} clients")
    return arm


@dataclass(frozen=True)
class Row:
    backend: str
    per_s: float
    p50: float
    p99: float
    failed: int
    loser_p50: float
    loser_p99: float
    winner_p50: float
    contention_errors: int
    unwon: int  #: contention rounds without a winner (errors only), over all runs
    ceiling: float  #: SQLAlchemy loop, commits/s
    raw: float | None = None
    pgbench: float | None = None

    @property
    def target_met(self) -> bool:
        rate, p99 = TARGETS[self.backend]
        return self.per_s >= rate and self.p99 <= p99 and self.failed == 0


async def measure(backend: str, url: str, args: argparse.Namespace) -> Row:
    engine = create_engine(url)  # as the server opens it (server/db/setup.py)
    distinct: list[Distinct] = []
    contention: list[Contention] = []
    ceiling: list[float] = []
    raw: list[float] = []
    bench: list[float] = []
    at_once = args.steps == "one"
    transactions = (1 if at_once else 2) * args.bookings
    try:
        await migrate(engine)
        for run in range(args.runs):
            distinct.append(
                await distinct_arm(
                    engine, args.k, args.staff, args.bookings, args.pick == "named", at_once
                )
            )
            contention.append(await contention_arm(engine, args.contenders, args.rounds, at_once))
            ceiling.append(await sqlalchemy_ceiling_tps(engine, args.k, transactions))
            if backend == "postgresql":
                raw.append(await raw_ceiling_tps(url, args.k, args.connections, transactions))
                bench.append(await pgbench_tps(url, args.k, args.connections, transactions))
            d, c = distinct[-1], contention[-1]
            print(
                f"  {backend} run {run + 1}: {d.per_s:.0f} bookings/s, p99 "
                f"{percentile(d.latencies_ms, 0.99):.0f} ms, failed {sum(d.failed.values())}; "
                f"losers p99 {percentile(c.losers_ms, 0.99):.0f} ms; ceiling {ceiling[-1]:.0f}"
                + (f", raw {raw[-1]:.0f}, pgbench {bench[-1]:.0f}" if raw else "")
                + f"; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            for arm in (d.failed, *(c.errors for c in contention[-1:])):
                if arm:
                    print(f"    refusals: {dict(arm)}")
    finally:
        await engine.dispose()
    med = statistics.median
    return Row(
        backend=backend,
        per_s=med(d.per_s for d in distinct),
        p50=med(percentile(d.latencies_ms, 0.5) for d in distinct),
        p99=med(percentile(d.latencies_ms, 0.99) for d in distinct),
        failed=sum(sum(d.failed.values()) for d in distinct),
        loser_p50=med(percentile(c.losers_ms, 0.5) for c in contention),
        loser_p99=med(percentile(c.losers_ms, 0.99) for c in contention),
        winner_p50=med(percentile(c.winners_ms, 0.5) for c in contention),
        contention_errors=sum(sum(c.errors.values()) for c in contention),
        unwon=sum(c.unwon for c in contention),
        ceiling=med(ceiling),
        raw=med(raw) if raw else None,
        pgbench=med(bench) if bench else None,
    )


def report(rows: list[Row], args: argparse.Namespace) -> str:
    print()
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {args.runs} runs; "
        f"distinct: K={args.k} clients, {args.bookings} bookings, {args.staff} staff × 20 days "
        f"× 16 starts, staff picked by {args.pick}, {args.steps} step(s); contention: "
        f"{args.contenders} clients × {args.rounds} slots; ceilings "
        f"on ≤ {args.connections} connections; overlapping appointments after every arm: 0"
    )
    print()
    print(
        "| backend | bookings/s | p50 ms | p99 ms | failed | losers p50 ms | losers p99 ms "
        "| winner p50 ms | rounds unwon | SQLAlchemy tx/s | asyncpg tx/s | pgbench tx/s "
        "| vs SQLAlchemy | vs asyncpg | vs pgbench |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    result = [f"k={args.k}", f"runs={args.runs}", f"pick={args.pick}", f"steps={args.steps}"]
    for r in rows:
        raw = f"{r.raw:.0f}" if r.raw else "–"
        pgb = f"{r.pgbench:.0f}" if r.pgbench else "–"
        vs_raw = f"{r.per_s / r.raw:.3f}" if r.raw else "–"
        vs_pgb = f"{r.per_s / r.pgbench:.3f}" if r.pgbench else "–"
        print(
            f"| {r.backend} | {r.per_s:.0f} | {r.p50:.1f} | {r.p99:.1f} | {r.failed} "
            f"| {r.loser_p50:.1f} | {r.loser_p99:.1f} | {r.winner_p50:.1f} | {r.unwon} "
            f"| {r.ceiling:.0f} "
            f"| {raw} | {pgb} | {r.per_s / r.ceiling:.3f} | {vs_raw} | {vs_pgb} |"
        )
        b = SHORT[r.backend]
        result += [
            f"{b}_distinct_per_s={r.per_s:.1f}",
            f"{b}_distinct_p50_ms={r.p50:.1f}",
            f"{b}_distinct_p99_ms={r.p99:.1f}",
            f"{b}_distinct_failed={r.failed}",
            f"{b}_contention_loser_p50_ms={r.loser_p50:.1f}",
            f"{b}_contention_loser_p99_ms={r.loser_p99:.1f}",
            f"{b}_contention_winner_p50_ms={r.winner_p50:.1f}",
            f"{b}_contention_errors={r.contention_errors}",
            f"{b}_contention_unwon={r.unwon}",
            f"{b}_ceiling_per_s={r.ceiling:.1f}",
            f"{b}_vs_ceiling={r.per_s / r.ceiling:.3f}",
        ]
        if r.raw and r.pgbench:
            result += [
                f"{b}_raw_per_s={r.raw:.1f}",
                f"{b}_pgbench_per_s={r.pgbench:.1f}",
                f"{b}_vs_raw={r.per_s / r.raw:.3f}",
                f"{b}_vs_pgbench={r.per_s / r.pgbench:.3f}",
            ]
        result.append(f"target_{b}_met={'yes' if r.target_met else 'no'}")
    worst = max(r.loser_p99 for r in rows)
    result += [
        f"contention_loser_p99_ms={worst:.1f}",
        "target_contention_met="
        + ("yes" if worst <= TARGET_LOSER_P99_MS and not any(r.unwon for r in rows) else "no"),
        "overlaps=0",
    ]
    print()
    print(
        "targets (issue 15): PostgreSQL ≥ 1,000 bookings/s with p99 ≤ 100 ms; SQLite ≥ 300/s "
        f"with p99 ≤ 300 ms; losers p99 ≤ {TARGET_LOSER_P99_MS:.0f} ms (worst backend: "
        f"{worst:.1f} ms)"
    )
    return "RESULT " + " ".join(result)


async def main_async(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    for backend in args.backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                rows.append(await measure(backend, url, args))
        else:
            url, drop = await postgres_database()
            try:
                rows.append(await measure(backend, url, args))
            finally:
                await drop()
    print(report(rows, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--k", type=int, default=100, help="clients of the distinct arm")
    parser.add_argument("--bookings", type=int, default=3000, help="distinct arm, per run")
    parser.add_argument("--staff", type=int, default=200, help="staff of the distinct arm")
    parser.add_argument(
        "--pick",
        choices=["service", "named"],
        default="service",
        help="distinct arm: the service picks the staff member (as for a resident, default) "
        "or each booking names one (as a planner may)",
    )
    parser.add_argument(
        "--steps",
        choices=["two", "one"],
        default="two",
        help="hold then confirm, as the resident pages (default), or book at once, as the "
        "planner and POST /appointments {purpose, start}",
    )
    parser.add_argument("--contenders", type=int, default=100, help="clients on one slot")
    parser.add_argument("--rounds", type=int, default=10, help="slots raced for, per run")
    parser.add_argument("--connections", type=int, default=30, help="ceilings' connections")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="defaults K=20, 100 bookings, 20 contenders × 2 slots, 1 run",
    )
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still win
        parser.set_defaults(k=20, bookings=100, contenders=20, rounds=2, runs=1)
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
