"""Frames gathered per socket and written once per event-loop pass (server/call/connection.py).

The batch must not change what a client sees: frames arrive whole and in the
order the rooms produced them, behind anything already queued for the socket,
and a client that stops reading still only fills its own bounded queue. The
server runs in the test's event loop, so frames a client sends without
yielding reach the server together and are handled in one pass. Timeouts only
stop a broken test from hanging; nothing here measures speed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from server.call.connection import DIRECT_WRITE_LIMIT
from signaling.roles import Role
from tests.support import Closed, SignalClient, live_server, seat_pair


def raw(**message: Any) -> str:
    return orjson.dumps(message).decode()


async def settled(client: SignalClient) -> SignalClient:
    """Read and drop everything the server sent before it answers a ping."""
    client.backlog.clear()
    await client.send(type="ping", ts=-1.0)
    while not ((frame := await client.recv())["type"] == "pong" and frame["ts"] == -1.0):
        pass
    return client


async def test_a_frame_queued_mid_pass_keeps_its_place_between_batched_frames(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """pong (batched), error (queued), pong (must queue behind the error).

    The error for a malformed frame goes through the socket's queue. A pong
    produced after it in the same pass must not join the batch written at the
    end of the pass, and the batch must not be written after the queue.
    """
    async with live_server(tmp_path) as server:
        specialist, _resident, _ = await seat_pair(session, server)
        await settled(specialist)
        for frame in (raw(type="ping", ts=1), "{not json", raw(type="ping", ts=2)):
            await specialist.send_raw(frame)  # no yield: the server reads all three at once
        got = [await specialist.recv() for _ in range(3)]
        assert [(f["type"], f.get("ts")) for f in got] == [
            ("pong", 1),
            ("error", None),
            ("pong", 2),
        ]


async def test_a_burst_is_relayed_whole_and_in_order_across_header_sizes(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """Payloads of 1 to 2 length bytes (RFC 6455 5.2), and more than one batch's worth."""
    async with live_server(tmp_path, rate=1e6, burst=1e6) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await settled(specialist)
        await settled(resident)
        # relayed frames of about 70 to 190 bytes cross the 125/126 header boundary
        lengths = [*range(1, 120), *range(1_000, DIRECT_WRITE_LIMIT, 997)]
        for length in lengths:
            description = {"type": "offer", "sdp": "x" * length}
            await specialist.send_raw(
                raw(type="description", to=resident.participant_id, description=description)
            )
        first = resident.last_seq + 1
        got = [await resident.recv(timeout=5) for _ in lengths]
        assert [f["seq"] for f in got] == list(range(first, first + len(lengths)))
        assert [f["description"]["sdp"] for f in got] == ["x" * length for length in lengths]


async def test_a_consumer_that_stops_reading_small_frames_is_closed_4503_alone(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """W6 with frames small enough to be batched: backpressure still reaches the queue.

    Batches are only written into an empty transport buffer; once the kernel
    stops taking a non-reading client's bytes, its frames queue, the queue
    overflows and the socket is closed with 4503. The other participant gets
    every frame, in order.
    """
    async with live_server(tmp_path, send_queue=300, rate=1e6, burst=1e6) as server:
        room = server.issue_room((Role.SPECIALIST, Role.RESIDENT, Role.GUEST))
        flooder = await SignalClient.connect(session, server)
        await flooder.join(room.seat(Role.SPECIALIST).token)
        slow = await SignalClient.connect(session, server)
        await slow.join(room.seat(Role.RESIDENT).token)
        good = await SignalClient.connect(session, server)
        await good.join(room.seat(Role.GUEST).token)
        for client in (slow, good):
            await flooder.send(type="admit", participant_id=client.participant_id)
            await client.expect("admitted")
        await settled(flooder)
        first_good = (await settled(good)).last_seq + 1

        slow_gone = asyncio.Event()

        async def read_flooder() -> None:
            while True:
                frame = await flooder.recv()
                if frame["type"] == "peer-away" and frame["id"] == slow.participant_id:
                    slow_gone.set()

        good_frames: list[dict[str, Any]] = []
        good_has_the_end = asyncio.Event()

        async def read_good() -> None:
            while True:
                good_frames.append(await good.recv())
                if good_frames[-1]["type"] == "chat":
                    good_has_the_end.set()

        readers = [asyncio.create_task(read_flooder()), asyncio.create_task(read_good())]
        sdp = "a=x\r\n" * 500  # 2.5 KB: far below the batch limit
        sent_to_good = 0
        try:
            # enough to fill the loopback buffers (a few MB) and the queue many times over
            for n in range(40_000):
                await flooder.send(
                    type="description",
                    to=slow.participant_id,
                    description={"type": "offer", "sdp": f"v={n}\r\n{sdp}"},
                )
                await flooder.send(
                    type="candidate",
                    to=good.participant_id,
                    candidate={"candidate": f"candidate:{n}", "sdpMid": "0"},
                )
                sent_to_good += 1
                if n % 10 == 0:
                    await asyncio.sleep(0)
                if slow_gone.is_set():
                    break
            await asyncio.wait_for(slow_gone.wait(), timeout=30)
            await flooder.send(type="chat", text="einde")  # good has everything once it has this
            await asyncio.wait_for(good_has_the_end.wait(), timeout=30)
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            if not slow_gone.is_set():
                slow.ws._writer.transport.abort()  # let the server's handler end

        assert [f["seq"] for f in good_frames] == list(
            range(first_good, first_good + len(good_frames))
        )
        candidates = [f["candidate"]["candidate"] for f in good_frames if f["type"] == "candidate"]
        assert candidates == [f"candidate:{n}" for n in range(sent_to_good)]

        received: list[dict[str, Any]] = []
        code: int | None = None
        while code is None:
            try:
                received.append(await slow.recv(timeout=30))
            except Closed as closed:
                code = closed.code
        assert code == 4503
        offers = [
            int(f["description"]["sdp"][2:].split("\r\n", 1)[0])
            for f in received
            if f["type"] == "description"
        ]
        assert offers and offers == list(range(len(offers)))
