"""Load generator worker for bench/relay.py: ``python -m bench._loadgen``.

One process drives a share of the pairs against one server. The same code drives all three
servers; only the connection setup and the frame shape differ (bench/_workload.py).

Protocol with the parent, one line each:
  stdin  line 1: the job as JSON: {"protocol", "window" (messages in flight per pair),
         "compress", "latency_file", "pairs": [{"a": end, "b": end}]}, where an end is
         {"url", "id", "seed"} plus "origin" and "token" for Balie (A is the specialist)
  stdout "READY" once every pair is connected and in the call
  stdin  "GO" (start sending), "MARK" (start counting), "STOP" (stop counting and sending)
  stdout one JSON line with the counts (see ``_report``), after STOP
  stdin  "QUIT": leave politely and exit
"""

from __future__ import annotations

import asyncio
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import aiohttp
import orjson

from bench._workload import ProtocolName, Template, build_templates, is_error, relayed_ts

_SETUP_TIMEOUT_S: Final = 30.0
_DRAIN_TIMEOUT_S: Final = 5.0
# Connect this many sockets at once: enough to set up 100 pairs quickly, few enough not to
# trip a server's accept backlog.
_CONNECT_CONCURRENCY: Final = 16
_MAX_ERROR_SAMPLES: Final = 5
_JOB_LINE_LIMIT: Final = 64 << 20
# What real clients send to stay alive: PeerJS's client a HEARTBEAT every 5 s, Balie's call page
# a ping every 10 s (docs/signaling.md). The echo server needs none.
_KEEPALIVE: Final[dict[str, tuple[float, bytes]]] = {
    "peerjs": (5.0, b'{"type":"HEARTBEAT"}'),
    "balie": (10.0, b'{"type":"ping","ts":0}'),
}


@dataclass(slots=True)
class Stats:
    """Deliveries and latencies between MARK and STOP; refused frames since the load began."""

    recording: bool = False
    delivered: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))

    def error(self, frame: Any) -> None:
        self.errors += 1
        if len(self.error_samples) < _MAX_ERROR_SAMPLES:
            self.error_samples.append(orjson.dumps(frame).decode()[:300])


@dataclass(frozen=True, slots=True)
class Step:
    side: int  # 0 = A (the offerer), 1 = B
    template: Template
    barrier: bool  # wait until nothing of this pair is in flight before sending


class Conn:
    """One WebSocket of one side of a pair, with its reader task."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse[Literal[False]], protocol: ProtocolName
    ) -> None:
        self.ws = ws
        self.protocol: ProtocolName = protocol
        self.setup: asyncio.Queue[Any] = asyncio.Queue()
        self.pair: Pair | None = None
        self.stats: Stats | None = None

    async def expect(self, *types: str) -> dict[str, Any]:
        """The next setup frame whose type is one of ``types``; other setup frames are skipped."""
        while True:
            frame = await asyncio.wait_for(self.setup.get(), _SETUP_TIMEOUT_S)
            if frame is None:
                raise ConnectionError(f"socket closed while waiting for {types}")
            if isinstance(frame, dict) and frame.get("type") in types:
                return frame
            if is_error(self.protocol, frame):
                raise ConnectionError(f"setup refused: {frame!r:.300}")

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(msg.data)
            if self.pair is None:
                self.setup.put_nowait(frame)
                continue
            ts = relayed_ts(self.protocol, frame)
            if ts is not None:
                # Awaiting the sends here (not in a task per message) keeps the generator cheap.
                if self.pair.relayed(ts):
                    await self.pair.pump()
            elif self.stats is not None and is_error(self.protocol, frame):
                self.stats.error(frame)
        self.setup.put_nowait(None)

    async def send(self, data: bytes) -> None:
        await self.ws.send_frame(data, aiohttp.WSMsgType.TEXT)


class Pair:
    """A closed loop over one negotiation script, at most ``window`` messages in flight.

    The offer waits until the previous negotiation has fully arrived and the answer until the
    offer has arrived (barriers), as in a real call; the candidates then trickle both ways.
    """

    def __init__(self, a: Conn, b: Conn, script: list[Step], window: int, stats: Stats) -> None:
        self.conns = (a, b)
        self.script = script
        self.window = window
        self.stats = stats
        self.idx = 0
        self.in_flight = 0
        self.sending = False
        self.drained = asyncio.Event()
        for conn in self.conns:
            conn.pair = self
            conn.stats = stats

    def relayed(self, ts: int) -> bool:
        """Book one arrival; True if the pair may send more."""
        now = time.perf_counter_ns()
        self.in_flight -= 1
        if self.stats.recording:
            self.stats.delivered += 1
            self.stats.latencies_ns.append(now - ts)
        if not self.sending and self.in_flight == 0:
            self.drained.set()
        return self.sending

    async def pump(self) -> None:
        """Send as many next steps as the window and the barriers allow.

        The bookkeeping happens before each await, so the two sides' readers may pump at once.
        """
        while self.sending and self.in_flight < self.window:
            step = self.script[self.idx]
            if step.barrier and self.in_flight:
                return
            self.idx = (self.idx + 1) % len(self.script)
            self.in_flight += 1
            await self.conns[step.side].send(step.template.render(time.perf_counter_ns()))

    def start(self) -> asyncio.Task[None]:
        self.sending = True
        self.drained.clear()
        return asyncio.create_task(self.pump())

    async def stop(self) -> None:
        self.sending = False
        if self.in_flight:
            await self.drained.wait()


def _script(protocol: ProtocolName, a: dict[str, Any], b: dict[str, Any]) -> list[Step]:
    """One negotiation: A offers, B answers, then both trickle candidates, interleaved."""
    offer, cands_a = build_templates(protocol, b["id"], int(a["seed"]), "offer")
    answer, cands_b = build_templates(protocol, a["id"], int(b["seed"]), "answer")
    steps = [Step(0, offer, True), Step(1, answer, True)]
    for ca, cb in zip(cands_a, cands_b, strict=True):
        steps += [Step(0, ca, False), Step(1, cb, False)]
    return steps


class Worker:
    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.protocol: ProtocolName = job["protocol"]
        self.stats = Stats()
        self.pairs: list[Pair] = []
        self.conns: list[Conn] = []
        self.readers: list[asyncio.Task[None]] = []
        self.starters: list[asyncio.Task[None]] = []
        self.gate = asyncio.Semaphore(_CONNECT_CONCURRENCY)

    async def connect(self, session: aiohttp.ClientSession, end: dict[str, Any]) -> Conn:
        async with self.gate:
            ws = await session.ws_connect(
                end["url"],
                origin=end.get("origin"),
                compress=15 if self.job.get("compress") else 0,
                max_msg_size=1 << 20,
                # bytes straight into orjson: no str decode on the hot path
                decode_text=False,
            )
        conn = Conn(ws, self.protocol)
        self.conns.append(conn)
        self.readers.append(asyncio.create_task(conn.read()))
        return conn

    async def join_balie(self, conn: Conn, end: dict[str, Any]) -> dict[str, Any]:
        await conn.send(orjson.dumps({"type": "join", "token": end["token"]}))
        return await conn.expect("joined")

    async def setup_pair(self, session: aiohttp.ClientSession, spec: dict[str, Any]) -> Pair:
        a_end, b_end = spec["a"], spec["b"]
        a = await self.connect(session, a_end)
        if self.protocol == "peerjs":
            await a.expect("OPEN")
        elif self.protocol == "balie":
            # A is the specialist: it enters the call at once and admits B from the lobby.
            await self.join_balie(a, a_end)
        b = await self.connect(session, b_end)
        if self.protocol == "peerjs":
            await b.expect("OPEN")
        elif self.protocol == "balie":
            joined = await self.join_balie(b, b_end)
            if joined.get("state") != "call":
                await a.send(orjson.dumps({"type": "admit", "participant_id": b_end["id"]}))
                await b.expect("admitted")
        return Pair(a, b, _script(self.protocol, a_end, b_end), int(self.job["window"]), self.stats)

    async def leave(self) -> None:
        """End Balie rooms (so no seat waits out its resume grace) and close every socket."""
        if self.protocol == "balie":
            for pair in self.pairs:
                ws = pair.conns[0].ws
                if not ws.closed:
                    await ws.send_frame(b'{"type":"end"}', aiohttp.WSMsgType.TEXT)
        await asyncio.gather(*(c.ws.close() for c in self.conns), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)

    async def keepalive(self) -> None:
        if self.protocol not in _KEEPALIVE:
            return
        interval, frame = _KEEPALIVE[self.protocol]
        while True:
            await asyncio.sleep(interval)
            for conn in self.conns:
                if not conn.ws.closed:
                    await conn.send(frame)

    async def run(self, lines: asyncio.StreamReader) -> None:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            self.pairs = list(
                await asyncio.gather(*(self.setup_pair(session, p) for p in self.job["pairs"]))
            )
            pinger = asyncio.create_task(self.keepalive())
            _say("READY")
            marked = stopped = 0.0
            while command := (await lines.readline()).decode().strip():
                if command == "GO":
                    self.starters = [pair.start() for pair in self.pairs]
                elif command == "MARK":
                    self.stats.recording = True
                    marked = time.perf_counter()
                elif command == "STOP":
                    self.stats.recording = False
                    stopped = time.perf_counter()
                    stalled = await self.drain()
                    self._report(stopped - marked, stalled)
                elif command == "QUIT":
                    break
            pinger.cancel()
            await self.leave()

    async def drain(self) -> int:
        """Stop sending and wait for what is in flight; the number of pairs that never drained.

        A pair whose message the server lost would otherwise hang the run: it is reported
        (as errors) instead.
        """
        waits = [asyncio.ensure_future(p.stop()) for p in self.pairs]
        _done, pending = await asyncio.wait(waits, timeout=_DRAIN_TIMEOUT_S)
        for task in pending:
            task.cancel()
        return len(pending)

    def _report(self, window_s: float, stalled: int) -> None:
        if stalled:
            self.stats.error_samples.append(
                f"{stalled} pair(s) still waited for a message {_DRAIN_TIMEOUT_S:g} s after STOP"
            )
        with open(self.job["latency_file"], "wb") as out:
            self.stats.latencies_ns.tofile(out)
        _say(
            orjson.dumps(
                {
                    "delivered": self.stats.delivered,
                    "window_s": window_s,
                    "errors": self.stats.errors + stalled,
                    "stalled_pairs": stalled,
                    # the server may decline permessage-deflate (PeerJS does): report what was used
                    "deflate_sockets": sum(1 for c in self.conns if c.ws.compress),
                    "sockets": len(self.conns),
                    "error_samples": self.stats.error_samples,
                }
            ).decode()
        )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _main(kind: type[Worker]) -> None:
    loop = asyncio.get_running_loop()
    # The job line holds every pair's tokens: 100 Balie pairs are well over the 64 KiB default.
    lines = asyncio.StreamReader(limit=_JOB_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    job = orjson.loads(await lines.readline())
    await kind(job).run(lines)


def main(kind: type[Worker] = Worker) -> None:
    """Run a load-generator process: its job on the first line of stdin, ``kind`` working it
    (this module's closed loop, or bench/_paced.py's fixed rate)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_main(kind))
    else:
        uvloop.run(_main(kind))


if __name__ == "__main__":
    main()
