"""Resident booking pages under load: the dates and times pages of a purpose, served by a real
``balie serve``, next to an aiohttp hello-world page in the same run.

    .venv/bin/python bench/pages.py                 # 5 runs × 10 s per page, 100 connections
    .venv/bin/python bench/pages.py --quick         # smoke run
    (or .venv/bin/python -m bench.pages ...)

Servers: ``balie serve`` with its embedded default (SQLite, demo data, a fresh data
directory; bench/_servers.py) and bench/hello_server.py, each a separate process. Load:
``wrk`` (Debian package) with ``--connections`` (100) keep-alive connections on one thread,
closed-loop, ``--duration`` seconds per page and run, without cookies (a resident's first
visit; Balie gives each answer a browser cookie). Pages, the resident's path
(server/resident/booking.py):

- ``dates``: ``GET /afspraak/demo/kies/PURPOSE``, the dates of the purpose;
- ``times``: ``GET /afspraak/demo/kies/PURPOSE/DAY``, the free times of its first open day
  (asked from ``/api/tenants/demo/purposes/PURPOSE/dates`` at the start);
- ``hello``: ``GET /`` of the hello-world server (the peer).

Within each run the three arms follow each other, so the machine's noise falls on all alike;
one warm-up second each first. Servers run on core 0 and wrk on the other core
(``--no-pin``: anywhere). Reported: medians over ``--runs`` of requests/s, p50/p99 latency,
requests per server CPU-second, and each page's requests/s over hello-world's. Targets
(issue 15): p99 ≤ 100 ms and ≥ 0.3× hello-world's requests/s. The last line is
``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path
from typing import Final

if not __package__:
    # Run as a script (`python bench/pages.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench import _servers
from bench._servers import HOST, Server, bench_workdir, start_balie
from bench._wrk import Load, run_wrk, start_hello, wrk_binary

TARGET_P99_MS: Final = 100.0
TARGET_RATIO: Final = 0.3
ARMS: Final = ("hello", "dates", "times")


async def first_open_day(balie: Server, purpose: str) -> str:
    url = f"http://{HOST}:{balie.port}/api/tenants/demo/purposes/{purpose}/dates"
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        answer.raise_for_status()
        days = (await answer.json())["dates"]
    if not days:
        raise SystemExit(f"the demo purpose {purpose!r} has no open day")
    return str(days[0])


async def check_page(url: str) -> None:
    """The page answers 200 with HTML before it is loaded: a 404 is fast, and measures nothing."""
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        if answer.status != 200:
            raise SystemExit(f"{url} answered {answer.status}")


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, list[Load]]:
    cores = sorted(os.sched_getaffinity(0))
    can_pin = args.pin and len(cores) >= 2
    server_pin = _servers.pin_prefix(str(cores[0]) if can_pin else None)
    wrk_pin = _servers.pin_prefix(",".join(map(str, cores[1:])) if can_pin else None)
    balie = start_balie(server_pin, False, workdir)
    hello = None
    try:
        hello = start_hello(server_pin, workdir)
        base = f"http://{HOST}:{balie.port}/afspraak/demo/kies/{args.purpose}"
        day = await first_open_day(balie, args.purpose)
        urls = {
            "hello": (f"http://{HOST}:{hello.port}/", hello),
            "dates": (base, balie),
            "times": (f"{base}/{day}", balie),
        }
        for url, _ in urls.values():
            await check_page(url)
        print(f"pages: {urls['dates'][0]}, {urls['times'][0]}; peer {urls['hello'][0]}")
        loads: dict[str, list[Load]] = {arm: [] for arm in ARMS}
        for arm in ARMS:  # warm up: templates, the catalog, the first connections
            url, server = urls[arm]
            await run_wrk(url, server, connections=args.connections, seconds=1, pin=wrk_pin)
        for run in range(args.runs):
            for arm in ARMS:
                url, server = urls[arm]
                load = await run_wrk(
                    url, server, connections=args.connections, seconds=args.duration, pin=wrk_pin
                )
                server.check_alive()
                loads[arm].append(load)
            print(
                f"  run {run + 1}: "
                + ", ".join(
                    f"{arm} {loads[arm][-1].per_s:.0f}/s p99 {loads[arm][-1].p99_ms:.0f} ms"
                    for arm in ARMS
                )
                + f"; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    finally:
        for process in (hello, balie):
            if process is not None:
                process.stop()
    return loads


def report(loads: dict[str, list[Load]], args: argparse.Namespace) -> str:
    med = statistics.median

    def m(arm: str, name: str) -> float:
        return float(med(getattr(load, name) for load in loads[arm]))

    hello_per_s = m("hello", "per_s")
    print()
    print(
        f"{args.connections} connections, wrk -t1, {args.duration:g} s per page and run, "
        f"medians of {args.runs} runs; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print()
    print(
        "| page | requests/s | p50 ms | p90 ms | p99 ms | p99.9 ms | requests per server "
        "CPU-s | errors | vs hello-world |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    result = [f"connections={args.connections}", f"runs={args.runs}"]
    for arm in ARMS:
        per_s, p99 = m(arm, "per_s"), m(arm, "p99_ms")
        ratio = per_s / hello_per_s
        errors = sum(load.errors for load in loads[arm])
        print(
            f"| {arm} | {per_s:.0f} | {m(arm, 'p50_ms'):.1f} | {m(arm, 'p90_ms'):.1f} "
            f"| {p99:.1f} | {m(arm, 'p999_ms'):.1f} | {m(arm, 'per_cpu_s'):.0f} | {errors} "
            f"| {ratio:.3f} |"
        )
        result += [
            f"{arm}_per_s={per_s:.1f}",
            f"{arm}_p50_ms={m(arm, 'p50_ms'):.2f}",
            f"{arm}_p99_ms={p99:.2f}",
            f"{arm}_per_cpu_s={m(arm, 'per_cpu_s'):.1f}",
            f"{arm}_errors={errors}",
        ]
        if arm != "hello":
            met = p99 <= TARGET_P99_MS and ratio >= TARGET_RATIO and errors == 0
            result += [f"{arm}_vs_hello={ratio:.3f}", f"target_{arm}_met={'yes' if met else 'no'}"]
    print()
    print(
        f"targets (issue 15): p99 ≤ {TARGET_P99_MS:.0f} ms and ≥ {TARGET_RATIO}× hello-world's "
        "requests/s, no errors"
    )
    return "RESULT " + " ".join(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--purpose", default="burgerzaken", help="a demo purpose")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per page and run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not use taskset")
    parser.add_argument("--keep", action="store_true", help="keep the servers' logs and data")
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still win
        parser.set_defaults(duration=2.0, runs=1)
    parser.add_argument("--quick", action="store_true", help="defaults 2 s per page, 1 run")
    args = parser.parse_args()
    wrk_binary()
    _servers.preamble("Resident booking pages under load, next to an aiohttp hello-world page")
    _servers.command("pages.py")
    with bench_workdir("pages", args.keep) as workdir:
        loads = asyncio.run(measure(args, workdir))
    print(report(loads, args))


if __name__ == "__main__":
    main()
