"""Slot search benchmark: the engine next to a bare sort-merge ceiling and a naive peer.

    .venv/bin/python bench/slots.py              # 100 and 500 staff × 28 days, 9 runs each
    .venv/bin/python bench/slots.py --quick      # smoke run
    (or .venv/bin/python -m bench.slots ...)

Workload (the issue's): N staff × 28 days × 8 busy intervals per staff member per day, of
which 6 are calendar blocks, 1 a booking and 1 a live hold, 15–60 min each between 07:00 and
19:00 local. Hours Monday–Friday 09:00–12:00 and 13:00–17:00 (every 10th member also Saturday
10:00–14:00, every 7th a closed day), 9 in 10 members have the skill. Purpose: 30 min, slots
every 15 min, 5 min buffers either side, 4 h notice, 28-day horizon, a daily cap of 6.
``now`` is Monday 23 March 2026 08:00, so the horizon crosses the DST change of the 29th.

Each run builds a fresh :class:`SlotSearch` (nothing cached between runs) on the same inputs:

- engine/dates: :meth:`SlotSearch.dates` – the first question a booking page asks;
- engine/all:   every free slot of every date with the staff free for it (``slots()``), the
                worst case: the whole horizon at once;
- ceiling:      the same all-slots answer from a bare sort-merge in pure Python that is handed
                the working hours already as UTC windows (no wall-clock expansion, exceptions,
                DST or explanations): what any correct engine must at least pay in-process;
- naive:        the same answer checking every candidate against every busy interval of the
                member (the check-per-slot loop of Easy!Appointments-style schedulers).

All three answers are asserted equal before timing. Times are medians over ``--runs``; the
ratios are engine/ceiling (the price of the engine's features) and naive/engine. The machine
is shared: the load average is printed. The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Final

if not __package__:
    # Run as a script (`python bench/slots.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.booking import (
    AMSTERDAM,
    Allocation,
    AllocationKind,
    AvailabilityException,
    Busy,
    ExceptionKind,
    PurposeRules,
    SlotRequest,
    SlotSearch,
    Staff,
    WeeklyRule,
)
from server.booking.intervals import wall_to_instant
from server.core.holidays import HolidayRules

TARGET_MS: Final = 50.0  # the issue: 100 staff × 28 days in under 50 ms (median), in process
DAYS: Final = 28
BUSY_PER_DAY: Final = 8
NOW: Final = datetime(2026, 3, 23, 8, 0, tzinfo=AMSTERDAM).astimezone(UTC)
SKILL: Final = "wmo"
PURPOSE: Final = PurposeRules(
    key="wmo-intake",
    skill=SKILL,
    duration=timedelta(minutes=30),
    slot_interval=timedelta(minutes=15),
    buffer_before=timedelta(minutes=5),
    buffer_after=timedelta(minutes=5),
    min_notice=timedelta(hours=4),
    horizon_days=DAYS,
)
WEEKDAY_HOURS: Final = ((clock(9), clock(12)), (clock(13), clock(17)))
SATURDAY_HOURS: Final = ((clock(10), clock(14)),)

#: the answer in a comparable shape: start (POSIX seconds) → staff ids free for it
Answer = dict[float, tuple[str, ...]]


def build(staff_count: int, seed: int = 1) -> SlotRequest:
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    days = [NOW.astimezone(AMSTERDAM).date() + timedelta(days=i) for i in range(DAYS)]
    members, busy, allocations = [], [], []
    for n in range(staff_count):
        member_id = f"staff-{n:04d}"
        rules = [WeeklyRule(wd, a, b) for wd in range(5) for a, b in WEEKDAY_HOURS]
        if n % 10 == 0:
            rules += [WeeklyRule(5, a, b) for a, b in SATURDAY_HOURS]
        exceptions: tuple[AvailabilityException, ...] = ()
        if n % 7 == 0:
            off = days[rng.randrange(DAYS)]
            exceptions = (AvailabilityException(off, ExceptionKind.CLOSED, reason="verlof"),)
        skills = frozenset({SKILL} if n % 10 != 9 else {"paspoort"})
        members.append(Staff(member_id, skills, tuple(rules), exceptions, daily_cap=6))
        for day in days:
            for i in range(BUSY_PER_DAY):
                local = datetime.combine(day, clock(7)) + timedelta(minutes=rng.randrange(0, 720))
                start = local.replace(tzinfo=AMSTERDAM).astimezone(UTC)
                end = start + timedelta(minutes=rng.randrange(15, 61))
                if i == 0:
                    allocations.append(
                        Allocation(member_id, start, end, AllocationKind.BOOKING, purpose="x")
                    )
                elif i == 1:
                    expires = NOW + timedelta(minutes=10)
                    allocations.append(
                        Allocation(member_id, start, end, AllocationKind.HOLD, expires)
                    )
                else:
                    busy.append(Busy(member_id, start, end))
    return SlotRequest(
        purpose=PURPOSE,
        staff=tuple(members),
        now=NOW,
        busy=tuple(busy),
        allocations=tuple(allocations),
        # the hand-written ceiling knows no public holidays: both compute every day alike
        holidays=HolidayRules(close=False),
    )


# --- the engine ---------------------------------------------------------------------------


def engine_dates(request: SlotRequest) -> list[date]:
    return SlotSearch(request).dates()


def engine_all(request: SlotRequest) -> Answer:
    found = SlotSearch(request).slots()
    return {slot.start.timestamp(): slot.staff_ids for day in found.values() for slot in day}


# --- the ceiling and the peer -------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """What the ceiling and the peer are handed for free: hours as UTC windows per member."""

    windows: dict[str, list[tuple[float, float]]]  # sorted, per qualified member
    midnights: list[float]  # local midnights bounding the days


def prepare(request: SlotRequest) -> Prepared:
    days = request.days()
    midnights = [
        wall_to_instant(day, clock(0), AMSTERDAM).timestamp()
        for day in [*days, days[-1] + timedelta(days=1)]
    ]
    windows: dict[str, list[tuple[float, float]]] = {}
    for member in request.staff:
        if request.purpose.skill not in member.skills:
            continue
        closed = {x.day for x in member.exceptions}
        spans = []
        for day in days:
            if day in closed:
                continue
            for rule in member.rules:
                if rule.weekday == day.weekday():
                    spans.append(
                        (
                            wall_to_instant(day, rule.start, AMSTERDAM).timestamp(),
                            wall_to_instant(day, rule.end, AMSTERDAM).timestamp(),
                        )
                    )
        windows[member.id] = sorted(spans)
    return Prepared(windows, midnights)


def _grouped(
    request: SlotRequest, prepared: Prepared
) -> tuple[dict[str, list[Busy]], dict[str, list[Allocation]]]:
    busy: dict[str, list[Busy]] = {m: [] for m in prepared.windows}
    for block in request.busy:
        if block.staff_id in busy:
            busy[block.staff_id].append(block)
    live: dict[str, list[Allocation]] = {m: [] for m in prepared.windows}
    for allocation in request.allocations:
        if allocation.staff_id in live and allocation.live(request.now):
            live[allocation.staff_id].append(allocation)
    return busy, live


def ceiling(request: SlotRequest, prepared: Prepared) -> Answer:
    """Widen, sort and merge once per member, sweep the grid once: the algorithmic floor."""
    purpose = request.purpose
    duration, step = purpose.duration.total_seconds(), purpose.step.total_seconds()
    before, after = purpose.buffer_before.total_seconds(), purpose.buffer_after.total_seconds()
    earliest = (request.now + purpose.min_notice).timestamp()
    caps = {m.id: m.daily_cap for m in request.staff}
    midnights = prepared.midnights
    busy, live = _grouped(request, prepared)
    by_start: dict[float, list[str]] = {}
    for member, windows in prepared.windows.items():
        spans = [(b.start.timestamp() - after, b.end.timestamp() + before) for b in busy[member]]
        booked = [0] * len(midnights)
        for a in live[member]:
            start = a.start.timestamp()
            spans.append((start - after, a.end.timestamp() + before))
            day = bisect_right(midnights, start) - 1
            if 0 <= day < len(booked):
                booked[day] += 1
        spans.sort()
        merged: list[list[float]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        cap = caps[member]
        j, n = 0, len(merged)
        for window_start, window_end in windows:
            day = bisect_right(midnights, window_start) - 1
            if cap is not None and booked[day] >= cap:
                continue
            t = window_start
            while t + duration <= window_end:
                if t >= earliest:
                    while j < n and merged[j][1] <= t:
                        j += 1
                    if not (j < n and merged[j][0] < t + duration):
                        by_start.setdefault(t, []).append(member)
                t += step
    return {start: tuple(names) for start, names in sorted(by_start.items())}


def naive(request: SlotRequest, prepared: Prepared) -> Answer:
    """Every candidate checked against every busy interval and allocation of the member."""
    purpose = request.purpose
    duration, step = purpose.duration, purpose.step
    before, after = purpose.buffer_before, purpose.buffer_after
    earliest = request.now + purpose.min_notice
    caps = {m.id: m.daily_cap for m in request.staff}
    busy, live = _grouped(request, prepared)
    by_start: dict[float, list[str]] = {}
    for member, windows in prepared.windows.items():
        cap = caps[member]
        for window_start, window_end in windows:
            t = datetime.fromtimestamp(window_start, UTC)
            end_of_window = datetime.fromtimestamp(window_end, UTC)
            day = t.astimezone(AMSTERDAM).date()
            same_day = sum(1 for a in live[member] if a.start.astimezone(AMSTERDAM).date() == day)
            if cap is not None and same_day >= cap:
                continue
            while t + duration <= end_of_window:
                low, high = t - before, t + duration + after
                if (
                    t >= earliest
                    and not any(b.start < high and low < b.end for b in busy[member])
                    and not any(a.start < high and low < a.end for a in live[member])
                ):
                    by_start.setdefault(t.timestamp(), []).append(member)
                t += step
    return {start: tuple(names) for start, names in sorted(by_start.items())}


# --- measurement --------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    cpu_ms: float  #: median thread CPU time: what the search costs, whatever the neighbours do
    wall_ms: float  #: median elapsed time: the same on a quiet machine


def timed(arms: dict[str, Callable[[], object]], runs: int) -> dict[str, Timing]:
    """Median times of each arm; arms alternate within every run (rotating which goes
    first), so load from other tenants of the machine falls on all of them alike."""
    cpu: dict[str, list[float]] = {name: [] for name in arms}
    wall: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    for run in range(runs):
        for name in names[run % len(names) :] + names[: run % len(names)]:
            gc.collect()
            cpu_start, wall_start = time.thread_time(), time.perf_counter()
            arms[name]()
            wall[name].append((time.perf_counter() - wall_start) * 1000)
            cpu[name].append((time.thread_time() - cpu_start) * 1000)
    return {
        name: Timing(statistics.median(cpu[name]), statistics.median(wall[name])) for name in arms
    }


@dataclass(frozen=True)
class Row:
    staff: int
    inputs: int
    slots: int
    staff_slots: int
    dates: Timing
    all: Timing
    ceiling: Timing
    naive: Timing | None


def measure(staff_count: int, runs: int, naive_runs: int) -> Row:
    request = build(staff_count)
    prepared = prepare(request)
    answer = engine_all(request)
    assert answer == ceiling(request, prepared), "engine and ceiling disagree"
    expected_dates = sorted(
        {datetime.fromtimestamp(t, UTC).astimezone(AMSTERDAM).date() for t in answer}
    )
    assert engine_dates(request) == expected_dates, "dates disagree with times"
    naive_timing = None
    if naive_runs:
        assert answer == naive(request, prepared), "engine and naive peer disagree"
        naive_timing = timed({"naive": lambda: naive(request, prepared)}, naive_runs)["naive"]
    timings = timed(
        {
            "dates": lambda: engine_dates(request),
            "all": lambda: engine_all(request),
            "ceiling": lambda: ceiling(request, prepared),
        },
        runs,
    )
    return Row(
        staff=staff_count,
        inputs=len(request.busy) + len(request.allocations),
        slots=len(answer),
        staff_slots=sum(len(names) for names in answer.values()),
        dates=timings["dates"],
        all=timings["all"],
        ceiling=timings["ceiling"],
        naive=naive_timing,
    )


def report(rows: list[Row], runs: int) -> str:
    """Print the table; return the RESULT line. Headline times are CPU medians."""
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"medians of {runs} runs, {DAYS} days, {BUSY_PER_DAY} busy intervals per member per day"
    )
    print("times: thread CPU ms (wall ms) — the machine is shared, so CPU time is the headline")
    print()
    print(
        "| staff | busy+alloc | slots | staff-slots | engine dates | engine all slots "
        "| ceiling | engine/ceiling | naive peer | naive/engine |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    result = []
    for row in rows:
        ratio = row.all.cpu_ms / row.ceiling.cpu_ms
        naive_text, speedup_text = "–", "–"
        key = f"{row.staff}x{DAYS}"
        result += [
            f"slots_{key}_ms={row.all.cpu_ms:.1f}",
            f"slots_{key}_wall_ms={row.all.wall_ms:.1f}",
            f"dates_{key}_ms={row.dates.cpu_ms:.2f}",
            f"ceiling_{key}_ms={row.ceiling.cpu_ms:.1f}",
            f"engine_over_ceiling_{key}={ratio:.2f}",
        ]
        if row.naive is not None:
            speedup = row.naive.cpu_ms / row.all.cpu_ms
            naive_text = f"{row.naive.cpu_ms:.0f} ({row.naive.wall_ms:.0f})"
            speedup_text = f"{speedup:.1f}x"
            result += [
                f"naive_{key}_ms={row.naive.cpu_ms:.0f}",
                f"naive_over_engine_{key}={speedup:.1f}",
            ]
        print(
            f"| {row.staff} | {row.inputs} | {row.slots} | {row.staff_slots} "
            f"| {row.dates.cpu_ms:.2f} ({row.dates.wall_ms:.2f}) "
            f"| {row.all.cpu_ms:.1f} ({row.all.wall_ms:.1f}) "
            f"| {row.ceiling.cpu_ms:.1f} ({row.ceiling.wall_ms:.1f}) | {ratio:.2f} "
            f"| {naive_text} | {speedup_text} |"
        )
    headline = next((r for r in rows if r.staff == 100), None)
    if headline is not None:
        met = headline.all.cpu_ms < TARGET_MS
        print()
        print(
            f"target: 100 staff × {DAYS} days, all slots, under {TARGET_MS:.0f} ms median: "
            f"{headline.all.cpu_ms:.1f} ms CPU ({headline.all.wall_ms:.1f} ms wall), "
            f"{'met' if met else 'NOT met'}"
        )
        result += [f"target_ms={TARGET_MS:.0f}", f"target_met={'yes' if met else 'no'}"]
    return "RESULT " + " ".join(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--staff", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--naive-runs", type=int, default=3, help="0 skips the naive peer")
    parser.add_argument("--naive-max-staff", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="3 runs, naive peer once")
    args = parser.parse_args()
    runs, naive_runs = (3, 1) if args.quick else (args.runs, args.naive_runs)
    rows = [measure(n, runs, naive_runs if n <= args.naive_max_staff else 0) for n in args.staff]
    print(report(rows, runs))


if __name__ == "__main__":
    main()
