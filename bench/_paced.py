"""Load generator at a fixed offered load for bench/relay.py: ``python -m bench._paced``.

The same worker as bench/_loadgen.py (connection setup, frames, reports, the line protocol
with the parent), with one difference: the pairs do not run a closed loop. One pacer per
process sends the job's ``rate`` messages per second, whatever comes back: at each tick
(every millisecond: the event loop's timers are no finer, and a shorter sleep spins) it
sends the messages due by then, one per pair in turn, each pair walking its own
negotiation script (offer, answer, candidates) without waiting for arrivals. An open loop
measures latency at a given load, not the load at a given latency: a slow reply does not
slow the next send.

Latency runs, as in the closed loop, from the send call to receipt at the peer. The report
adds ``sent`` and ``late_p99_ms``, how far behind its schedule the pacer sent (p99): on this
shared machine the generator's core is often taken by other tenants for tens of
milliseconds, and a send time taken from the schedule would measure that rather than the
server. A late pacer shows in that figure (and in an offered load not reached) instead.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from typing import Any, Final

import aiohttp
import orjson

from bench._loadgen import Pair, Stats, Step, Worker, _say, main

_TICK_S: Final = 0.001
#: at most this many seconds of backlog are sent in one tick (a stalled pacer catches up
#: over several ticks rather than in one burst that would measure the burst)
_MAX_BACKLOG_S: Final = 0.005


class PacedPair(Pair):
    """A pair that only counts arrivals; the pacer decides when it sends."""

    def __init__(self, pair: Pair, script: list[Step], stats: Stats) -> None:
        super().__init__(pair.conns[0], pair.conns[1], script, pair.window, stats)

    def relayed(self, ts: int) -> bool:
        super().relayed(ts)
        return False  # never pump: the pacer sends

    def begin(self) -> None:
        self.sending = True
        self.drained.clear()

    async def send_next(self) -> None:
        step = self.script[self.idx]
        self.idx = (self.idx + 1) % len(self.script)
        self.in_flight += 1
        await self.conns[step.side].send(step.template.render(time.perf_counter_ns()))


class PacedWorker(Worker):
    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        self.rate = float(job["rate"])
        self.sent = 0
        self.late_ns: array[int] = array("q")
        self.pacer: asyncio.Task[None] | None = None
        self.pacing = False

    async def pace(self) -> None:
        """Send ``rate`` messages a second over the pairs in turn until STOP."""
        pairs = [p for p in self.pairs if isinstance(p, PacedPair)]  # all of them
        interval_ns = 1e9 / self.rate
        t0 = time.perf_counter_ns()
        turn = 0
        while self.pacing:
            now = time.perf_counter_ns()
            due = int((now - t0) / interval_ns) + 1
            due = min(due, self.sent + max(1, int(self.rate * _MAX_BACKLOG_S)))
            while self.sent < due and self.pacing:
                due_ns = t0 + int(self.sent * interval_ns)
                pair = pairs[turn]
                turn = (turn + 1) % len(pairs)
                if self.stats.recording:
                    self.late_ns.append(time.perf_counter_ns() - due_ns)
                self.sent += 1
                await pair.send_next()
            await asyncio.sleep(_TICK_S)

    async def run(self, lines: asyncio.StreamReader) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            plain = await asyncio.gather(*(self.setup_pair(session, p) for p in self.job["pairs"]))
            paced = [PacedPair(p, p.script, self.stats) for p in plain]
            self.pairs = list(paced)
            pinger = asyncio.create_task(self.keepalive())
            _say("READY")
            marked = stopped = 0.0
            sent_at_mark = 0
            while command := (await lines.readline()).decode().strip():
                if command == "GO":
                    for pair in paced:
                        pair.begin()
                    self.pacing = True
                    self.pacer = asyncio.create_task(self.pace())
                elif command == "MARK":
                    self.stats.recording = True
                    marked = time.perf_counter()
                    sent_at_mark = self.sent
                elif command == "STOP":
                    self.stats.recording = False
                    stopped = time.perf_counter()
                    sent = self.sent - sent_at_mark
                    self.pacing = False  # the pacer ends after the send it is in
                    if self.pacer is not None:
                        await self.pacer
                    stalled = await self.drain()
                    self._report_paced(stopped - marked, stalled, sent)
                elif command == "QUIT":
                    break
            pinger.cancel()
            await self.leave()

    def _report_paced(self, window_s: float, stalled: int, sent: int) -> None:
        # the worker's own report, then one more line with what only the pacer knows
        self._report(window_s, stalled)
        late = sorted(self.late_ns)
        p99 = late[min(len(late) - 1, int(0.99 * len(late)))] / 1e6 if late else 0.0
        _say(orjson.dumps({"sent": sent, "late_p99_ms": p99}).decode())


if __name__ == "__main__":
    main(PacedWorker)
