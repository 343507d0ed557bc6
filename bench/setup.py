"""Call setup through Balie next to the direct floor: how long until video flows both ways.

Two arms, alternated run by run so the machine's noise falls on both alike:

- ``direct`` (the floor): two aiortc peers in this process hand each other their offer and
  answer directly; from ``createOffer`` until each side has decoded a video frame.
- ``balie``: the same peers through a real ``balie serve`` (started here on a free port with
  a fresh data directory): the specialist is in the call, the resident joins, waits in the
  lobby and is admitted, the specialist offers, Balie relays; from the resident's WebSocket
  connect until each side has decoded a video frame.

- ``chromium``: the real call page in Debian's headless Chromium with fake media devices
  against the same server, loopback, the resident admitted at once: from the resident's
  "Deelnemen" until the resident's page shows the first remote frame (bench/_chromium.py).
  Its runs follow the aiortc runs (``--chromium-runs``, default ``--runs``; 0: skip it).

Reports medians and p90 of ``--runs`` (default 20), Balie's added time and the ratio
(target ≤ 1.2×), and the Chromium arm's median and p90 (target median ≤ 400 ms). aiortc
gathers candidates before ``setLocalDescription`` returns (no trickle), as in
tests/e2e/peers.py. Run::

    .venv/bin/python -m bench.setup [--runs 20] [--chromium-runs N] [--quick]

The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final

import aiohttp

from bench._chromium import BrowserRun, browser_run, chromium, chromium_missing
from bench._servers import HOST, Server, start_balie
from bench._stats import percentile
from server.probe.media import HEIGHT as HEIGHT
from server.probe.media import WIDTH as WIDTH
from server.probe.media import GreyVideo as GreyVideo
from server.probe.peer import VideoPeer, negotiate
from server.probe.signalling import Signal

DEADLINE: Final = 60.0
TARGET_RATIO: Final = 1.2
TARGET_CHROMIUM_MS: Final = 400.0


async def both_see_video(a: VideoPeer, b: VideoPeer) -> float:
    done = await asyncio.wait_for(asyncio.gather(a.first_frame, b.first_frame), DEADLINE)
    return max(done)


async def direct_run() -> float:
    a, b = VideoPeer(), VideoPeer()
    try:
        started = time.perf_counter()
        await b.remote(await a.local("offer"))
        await a.remote(await b.local("answer"))
        return await both_see_video(a, b) - started
    finally:
        await a.close()
        await b.close()


async def balie_run(server: Server, http: aiohttp.ClientSession) -> float:
    (spec,) = await server.pair_specs(1, "setup")
    specialist_end, resident_end = spec["a"], spec["b"]
    a, b = VideoPeer(), VideoPeer()
    try:
        async with Signal.open(
            http, specialist_end["url"], origin=specialist_end["origin"], deadline=DEADLINE
        ) as specialist:
            await specialist.join(specialist_end["token"])
            started = time.perf_counter()
            async with Signal.open(
                http, resident_end["url"], origin=resident_end["origin"], deadline=DEADLINE
            ) as resident:
                await resident.join(resident_end["token"])
                await specialist.expect("lobby-update")
                await specialist.send(type="admit", participant_id=resident.participant_id)
                await resident.expect("admitted")
                await specialist.expect("peer-joined")
                await negotiate(a, specialist, b, resident)
                return await both_see_video(a, b) - started
    finally:
        await a.close()
        await b.close()


def summary(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), percentile(samples, 0.9)


async def chromium_arm(server: Server, runs: int) -> list[BrowserRun]:
    found: list[BrowserRun] = []
    async with chromium() as browser:
        await browser_run(browser, server)  # warm up: the page's scripts, codecs
        for _ in range(runs):
            found.append(await browser_run(browser, server))
            server.check_alive()
    return found


async def run(runs: int, chromium_runs: int) -> str:
    direct: list[float] = []
    balie: list[float] = []
    browser: list[BrowserRun] = []
    with tempfile.TemporaryDirectory(prefix="balie-bench-setup-") as workdir:
        server = start_balie([], False, Path(workdir))
        try:
            async with aiohttp.ClientSession() as http:
                await direct_run()  # warm both paths: codecs, imports, the server's first room
                await balie_run(server, http)
                for _ in range(runs):
                    direct.append(await direct_run())
                    balie.append(await balie_run(server, http))
                    server.check_alive()
            if chromium_runs:
                browser = await chromium_arm(server, chromium_runs)
        finally:
            server.stop()
    direct_p50, direct_p90 = summary(direct)
    balie_p50, balie_p90 = summary(balie)
    print(f"{runs} runs each, alternated; load {os.getloadavg()[0]:.2f}; server on {HOST}")
    print(f"{'arm':9} {'p50 ms':>8} {'p90 ms':>8}")
    for name, (p50, p90) in (
        ("direct", (direct_p50, direct_p90)),
        ("balie", (balie_p50, balie_p90)),
    ):
        print(f"{name:9} {p50 * 1000:8.0f} {p90 * 1000:8.0f}")
    added = balie_p50 - direct_p50
    ratio = balie_p50 / direct_p50
    print(
        f"through Balie (join, lobby, admit, relay) video flows {added * 1000:.0f} ms later at "
        f"p50 than the direct floor: {ratio:.2f}× (target ≤ {TARGET_RATIO}×)"
    )
    result = (
        f"RESULT runs={runs} direct_p50_ms={direct_p50 * 1000:.0f} "
        f"balie_p50_ms={balie_p50 * 1000:.0f} direct_p90_ms={direct_p90 * 1000:.0f} "
        f"balie_p90_ms={balie_p90 * 1000:.0f} added_p50_ms={added * 1000:.0f} "
        f"ratio_p50={ratio:.2f} target_ratio_met={'yes' if ratio <= TARGET_RATIO else 'no'}"
    )
    if browser:
        resident = [b.resident_ms for b in browser]
        both = [b.both_ms for b in browser]
        p50, p90 = statistics.median(resident), percentile(resident, 0.9)
        both_p50 = statistics.median(both)
        sources = ", ".join(f"{s} {sum(b.source == s for b in browser)}" for s in ("rvfc", "stats"))
        print(
            f"chromium, {len(browser)} runs (join → first remote frame on the resident's page): "
            f"p50 {p50:.0f} ms, p90 {percentile(resident, 0.9):.0f} ms; both pages showing "
            f"video p50 {both_p50:.0f} ms; frame seen by {sources} (target p50 ≤ "
            f"{TARGET_CHROMIUM_MS:.0f} ms)"
        )
        result += (
            f" chromium_runs={len(browser)} chromium_p50_ms={p50:.0f} chromium_p90_ms={p90:.0f} "
            f"chromium_both_p50_ms={both_p50:.0f} "
            f"target_chromium_met={'yes' if p50 <= TARGET_CHROMIUM_MS else 'no'}"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--chromium-runs", type=int, default=None, help="default: --runs; 0 skips the arm"
    )
    parser.add_argument("--quick", action="store_true", help="3 runs (smoke)")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    chromium_runs = runs if args.chromium_runs is None else args.chromium_runs
    if chromium_runs and (missing := chromium_missing()) is not None:
        raise SystemExit(f"{missing}; or pass --chromium-runs 0")
    print(asyncio.run(run(runs, chromium_runs)))


if __name__ == "__main__":
    main()
