"""An aiortc peer that sends grey video and watches what arrives, and the offer/answer
between two of them through Balie's signalling.

aiortc gathers all candidates before ``setLocalDescription`` returns (it does not trickle)
and cannot roll back, so a peer offers only from the impolite seat (the specialist) and
sends ``candidate: null`` after its description to close the trickle. With
``relay_only`` the peer gathers TURN relay candidates only and pairs nothing else
(``iceTransportPolicy: relay``, RFC 9429 §3.5.3), as a browser does with that policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from server.probe.media import GreyVideo
from server.probe.signalling import SignalError


class Signalling(Protocol):
    """A participant's signalling socket (:class:`server.probe.signalling.Signal`, or a
    test's client)."""

    participant_id: str

    async def send(self, **frame: Any) -> object: ...

    async def expect(self, kind: str) -> dict[str, Any]: ...


class VideoPeer:
    """One peer connection with a grey video track; counts the frames it decodes."""

    def __init__(
        self, ice_servers: Sequence[Mapping[str, Any]] = (), *, relay_only: bool = False
    ) -> None:
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        servers = [
            RTCIceServer(
                urls=list(server["urls"]),
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in ice_servers
        ]
        # an empty list, never None: None would make aiortc ask Google's STUN server
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
        self.pc.addTrack(GreyVideo())
        self.frames = 0
        loop = asyncio.get_running_loop()
        #: when the first frame was decoded (``time.perf_counter()``)
        self.first_frame: asyncio.Future[float] = loop.create_future()
        #: ICE's first end state, ``completed`` or ``failed``, and when
        self.ice: asyncio.Future[tuple[str, float]] = loop.create_future()
        self._readers: list[asyncio.Task[None]] = []
        self._frame_seen = asyncio.Condition()
        self.pc.on("track", self._on_track)
        self.pc.on("iceconnectionstatechange", self._on_ice_state)

    def on_frame(self, frame: Frame | Packet[Any]) -> None:
        """Each frame decoded from the other side (a test checks them here)."""

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.get_running_loop().create_task(self._read(track)))

    def _on_ice_state(self) -> None:
        state = self.pc.iceConnectionState
        if state in ("completed", "failed") and not self.ice.done():
            self.ice.set_result((state, time.perf_counter()))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.on_frame(frame)
                if not self.first_frame.done():
                    self.first_frame.set_result(time.perf_counter())
                async with self._frame_seen:
                    self.frames += 1
                    self._frame_seen.notify_all()

    async def wait_frames(self, count: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._frame_seen:
            await self._frame_seen.wait_for(lambda: self.frames >= count)

    async def local(self, kind: str) -> dict[str, str]:
        """Make an ``offer`` or ``answer``, set it, and give it as a ``description``."""
        made = await (self.pc.createOffer() if kind == "offer" else self.pc.createAnswer())
        await self.pc.setLocalDescription(made)
        local = self.pc.localDescription
        return {"type": local.type, "sdp": local.sdp}

    async def remote(self, description: Mapping[str, Any]) -> None:
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=description["sdp"], type=description["type"])
        )

    def candidate_types(self) -> set[str]:
        """The types (``host``, ``srflx``, ``relay``) of the candidates this side offered or
        answered with."""
        sdp = self.pc.localDescription.sdp
        return {
            words[words.index("typ") + 1]
            for line in sdp.splitlines()
            if line.startswith("a=candidate:") and "typ" in (words := line.split())
        }

    def route(self) -> str:
        """``relay`` when the nominated candidate pair goes through TURN, else ``direct``;
        ``unknown`` before one is nominated. aiortc's statistics do not name the pair, so
        this reads aioice's connection."""
        try:
            ice = self.pc.getTransceivers()[0].sender.transport.transport
            pairs = ice._connection._nominated.values()
        except (AttributeError, IndexError):
            return "unknown"
        kinds = {c.type for pair in pairs for c in (pair.local_candidate, pair.remote_candidate)}
        if not kinds:
            return "unknown"
        return "relay" if "relay" in kinds else "direct"

    async def close(self) -> None:
        await self.pc.close()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def negotiate(
    offerer: VideoPeer,
    offer_signal: Signalling,
    answerer: VideoPeer,
    answer_signal: Signalling,
) -> None:
    """Offer and answer through the server, each followed by the end of its candidates."""
    await _describe(offer_signal, answer_signal.participant_id, await offerer.local("offer"))
    offer = await _described(answer_signal, offer_signal.participant_id)
    await answerer.remote(offer["description"])
    await _describe(answer_signal, offer_signal.participant_id, await answerer.local("answer"))
    answer = await _described(offer_signal, answer_signal.participant_id)
    if answer["description"]["type"] != "answer":
        raise SignalError(f"an {answer['description']['type']!r} came back, not the answer")
    await offerer.remote(answer["description"])


async def _describe(signal: Signalling, to: str, description: dict[str, str]) -> None:
    await signal.send(type="description", to=to, description=description)
    await signal.send(type="candidate", to=to, candidate=None)


async def _described(signal: Signalling, sender: str) -> dict[str, Any]:
    """The description ``sender`` sent, then its end of candidates, as the server relays
    them (with ``from``)."""
    description = await signal.expect("description")
    end = await signal.expect("candidate")
    if description.get("from") != sender or end.get("candidate") is not None:
        raise SignalError("the server did not relay the description and its end as sent")
    return description
