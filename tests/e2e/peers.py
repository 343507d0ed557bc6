"""aiortc test peers that negotiate through Balie's signalling.

aiortc gathers all candidates before ``setLocalDescription`` returns (it does
not trickle) and cannot roll back, so a test peer offers only from the
impolite seat (the specialist) and sends ``candidate: null`` after its
description to close the trickle.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from bench.setup import GreyVideo
from tests.support import SignalClient


class TestPeer:
    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTrack(GreyVideo())
        self.frames = 0
        self.last_pts: int | None = None
        self.sizes: set[tuple[int, int]] = set()
        self._readers: list[asyncio.Task[None]] = []
        self._frame_seen = asyncio.Condition()
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                if frame.pts is not None:
                    # timestamps must move forward: these are live frames, not repeats
                    assert self.last_pts is None or frame.pts > self.last_pts
                    self.last_pts = frame.pts
                self.sizes.add((frame.width, frame.height))
                async with self._frame_seen:
                    self.frames += 1
                    self._frame_seen.notify_all()

    async def wait_frames(self, count: int, timeout: float = 60.0) -> None:
        async with asyncio.timeout(timeout), self._frame_seen:
            await self._frame_seen.wait_for(lambda: self.frames >= count)

    async def offer(self, client: SignalClient, to: str) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send_local(client, to)

    async def answer(self, client: SignalClient, message: dict[str, Any]) -> None:
        await self.apply(message)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._send_local(client, message["from"])

    async def apply(self, message: dict[str, Any]) -> None:
        description = message["description"]
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=description["sdp"], type=description["type"])
        )

    async def _send_local(self, client: SignalClient, to: str) -> None:
        local = self.pc.localDescription
        await client.send(
            type="description", to=to, description={"type": local.type, "sdp": local.sdp}
        )
        await client.send(type="candidate", to=to, candidate=None)

    async def close(self) -> None:
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def negotiate(
    offerer: TestPeer,
    offer_client: SignalClient,
    answerer: TestPeer,
    answer_client: SignalClient,
) -> None:
    """Offer/answer through the server, with the end-of-candidates relayed too."""
    await offerer.offer(offer_client, answer_client.participant_id)
    offer = await answer_client.expect("description")
    assert offer["from"] == offer_client.participant_id
    assert (await answer_client.expect("candidate"))["candidate"] is None
    await answerer.answer(answer_client, offer)
    answer = await offer_client.expect("description")
    assert answer["description"]["type"] == "answer"
    assert (await offer_client.expect("candidate"))["candidate"] is None
    await offerer.apply(answer)
