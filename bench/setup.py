"""Call setup through Balie next to the direct floor: how long until video flows both ways.

Two arms, alternated run by run so the machine's noise falls on both alike:

- ``direct`` (the floor): two aiortc peers in this process hand each other their offer and
  answer directly; from ``createOffer`` until each side has decoded a video frame.
- ``balie``: the same peers through a real ``balie serve`` (started here on a free port with
  a fresh data directory): the specialist is in the call, the resident joins, waits in the
  lobby and is admitted, the specialist offers, Balie relays; from the resident's WebSocket
  connect until each side has decoded a video frame.

Reports medians and p90 of ``--runs`` (default 20), Balie's added time and the ratio. aiortc
gathers candidates before ``setLocalDescription`` returns (no trickle), as in
tests/e2e/peers.py. Run::

    .venv/bin/python -m bench.setup [--runs 20] [--quick]

The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError

from bench._servers import HOST, Server, start_balie
from bench._stats import percentile

#: the synthetic picture's size (tests/e2e/peers.py sends the same track)
WIDTH, HEIGHT = 160, 120
DEADLINE: Final = 60.0


class GreyVideo(VideoStreamTrack):
    """Small grey frames at the track's own pace: cheap to encode on 2 cores."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class Peer:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(GreyVideo())
        self.first_frame: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            await track.recv()
            if not self.first_frame.done():
                self.first_frame.set_result(time.perf_counter())

    async def local(self, kind: str) -> dict[str, str]:
        made = await (self.pc.createOffer() if kind == "offer" else self.pc.createAnswer())
        await self.pc.setLocalDescription(made)
        return {"type": self.pc.localDescription.type, "sdp": self.pc.localDescription.sdp}

    async def remote(self, description: dict[str, str]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(**description))

    async def close(self) -> None:
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def both_see_video(a: Peer, b: Peer) -> float:
    done = await asyncio.wait_for(asyncio.gather(a.first_frame, b.first_frame), DEADLINE)
    return max(done)


async def direct_run() -> float:
    a, b = Peer(), Peer()
    try:
        started = time.perf_counter()
        await b.remote(await a.local("offer"))
        await a.remote(await b.local("answer"))
        return await both_see_video(a, b) - started
    finally:
        await a.close()
        await b.close()


class Signal:
    """Just enough of Balie's signalling protocol (docs/signaling.md) for one call."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws, self.seq = ws, 0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, http: aiohttp.ClientSession, end: dict[str, Any]) -> AsyncIterator[Signal]:
        async with http.ws_connect(end["url"], origin=end["origin"]) as ws:
            yield cls(ws)

    async def send(self, **frame: Any) -> None:
        self.seq += 1
        await self.ws.send_json({**frame, "seq": self.seq})

    async def expect(self, kind: str) -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = await self.ws.receive_json(timeout=DEADLINE)
            if frame.get("type") == kind:
                return frame
            if frame.get("type") == "error":
                raise RuntimeError(f"Balie refused a frame: {frame}")


async def balie_run(server: Server, http: aiohttp.ClientSession) -> float:
    (spec,) = await server.pair_specs(1, "setup")
    specialist_end, resident_end = spec["a"], spec["b"]
    a, b = Peer(), Peer()
    try:
        async with Signal.open(http, specialist_end) as specialist:
            await specialist.send(type="join", token=specialist_end["token"])
            await specialist.expect("joined")
            started = time.perf_counter()
            async with Signal.open(http, resident_end) as resident:
                await resident.send(type="join", token=resident_end["token"])
                me = (await resident.expect("joined"))["participant_id"]
                await specialist.expect("lobby-update")
                await specialist.send(type="admit", participant_id=me)
                await resident.expect("admitted")
                await specialist.expect("peer-joined")
                await specialist.send(type="description", to=me, description=await a.local("offer"))
                offer = await resident.expect("description")
                await b.remote(offer["description"])
                answer = await b.local("answer")
                await resident.send(type="description", to=offer["from"], description=answer)
                await a.remote((await specialist.expect("description"))["description"])
                return await both_see_video(a, b) - started
    finally:
        await a.close()
        await b.close()


def summary(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), percentile(samples, 0.9)


async def run(runs: int) -> str:
    direct: list[float] = []
    balie: list[float] = []
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
        finally:
            server.stop()
    direct_p50, direct_p90 = summary(direct)
    balie_p50, balie_p90 = summary(balie)
    print(f"{runs} runs each, alternated; load {os.getloadavg()[0]:.2f}; server on {HOST}")
    print(f"{'arm':7} {'p50 ms':>8} {'p90 ms':>8}")
    for name, (p50, p90) in (
        ("direct", (direct_p50, direct_p90)),
        ("balie", (balie_p50, balie_p90)),
    ):
        print(f"{name:7} {p50 * 1000:8.0f} {p90 * 1000:8.0f}")
    added = balie_p50 - direct_p50
    print(
        f"through Balie (join, lobby, admit, relay) video flows {added * 1000:.0f} ms later at "
        f"p50 than the direct floor: {balie_p50 / direct_p50:.2f}×"
    )
    return (
        f"RESULT direct_p50_ms={direct_p50 * 1000:.0f} balie_p50_ms={balie_p50 * 1000:.0f} "
        f"direct_p90_ms={direct_p90 * 1000:.0f} balie_p90_ms={balie_p90 * 1000:.0f} "
        f"added_p50_ms={added * 1000:.0f} ratio_p50={balie_p50 / direct_p50:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 runs (smoke)")
    args = parser.parse_args()
    print(asyncio.run(run(3 if args.quick else args.runs)))


if __name__ == "__main__":
    main()
