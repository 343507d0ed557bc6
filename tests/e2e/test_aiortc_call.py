"""Two aiortc peers call each other through the real server over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bench.setup import HEIGHT, WIDTH
from signaling.roles import Role
from tests.e2e.peers import TestPeer, negotiate
from tests.proxy import CuttableProxy
from tests.support import LiveServer, SignalClient, live_server

pytestmark = pytest.mark.e2e

FRAMES = 30


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(tmp_path) as running:
        yield running


@pytest.fixture
async def peers() -> AsyncIterator[tuple[TestPeer, TestPeer]]:
    specialist, resident = TestPeer(), TestPeer()
    yield specialist, resident
    await specialist.close()
    await resident.close()


async def test_join_admit_negotiate_and_media_flows_both_ways(
    server: LiveServer, peers: tuple[TestPeer, TestPeer]
) -> None:
    specialist_peer, resident_peer = peers
    room = server.issue_room()
    async with aiohttp.ClientSession() as session:
        specialist = await SignalClient.connect(session, server)
        await specialist.join(room.seat(Role.SPECIALIST).token, room=room.room)
        resident = await SignalClient.connect(session, server)
        assert (await resident.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
        await specialist.send(type="admit", participant_id=resident.participant_id)
        admitted = await resident.expect("admitted")
        assert admitted["peers"][0]["polite"] is True  # aiortc is never the polite side
        await specialist.expect("peer-joined")

        await negotiate(specialist_peer, specialist, resident_peer, resident)
        await specialist_peer.wait_frames(FRAMES)
        await resident_peer.wait_frames(FRAMES)
        assert specialist_peer.sizes == {(WIDTH, HEIGHT)}
        assert resident_peer.sizes == {(WIDTH, HEIGHT)}

        await resident.send(type="chat", text="Kunt u mij zien?")
        chat = await specialist.expect("chat")
        assert chat["text"] == "Kunt u mij zien?" and chat["from"] == resident.participant_id


async def test_media_continues_while_a_socket_is_cut_and_signalling_resumes(
    server: LiveServer, peers: tuple[TestPeer, TestPeer]
) -> None:
    specialist_peer, resident_peer = peers
    room = server.issue_room()
    proxy = CuttableProxy(server.config.port)
    await proxy.start()
    try:
        async with aiohttp.ClientSession() as session:
            specialist = await SignalClient.connect(session, server)
            await specialist.join(room.seat(Role.SPECIALIST).token)
            # the resident's signalling runs through a proxy we can cut
            resident_ws = await session.ws_connect(
                f"ws://127.0.0.1:{proxy.port}/ws", origin=server.origin
            )
            resident = SignalClient(resident_ws)
            await resident.join(room.seat(Role.RESIDENT).token)
            await specialist.send(type="admit", participant_id=resident.participant_id)
            await resident.expect("admitted")
            await specialist.expect("peer-joined")
            await negotiate(specialist_peer, specialist, resident_peer, resident)
            await resident_peer.wait_frames(FRAMES)
            await specialist_peer.wait_frames(FRAMES)

            proxy.cut()
            away = await specialist.expect("peer-away")
            assert away["id"] == resident.participant_id
            # sent while the resident has no socket: kept for replay
            await specialist.send(type="chat", text="Bent u er nog?")
            await specialist.expect("chat")  # the sender's own copy

            # media does not depend on the WebSocket
            before = resident_peer.frames, specialist_peer.frames
            await resident_peer.wait_frames(before[0] + FRAMES)
            await specialist_peer.wait_frames(before[1] + FRAMES)

            back = await SignalClient.connect(session, server)
            back.continue_from(resident)
            resumed = await back.resume()
            assert resumed["participant_id"] == resident.participant_id
            assert resumed["state"] == "call"
            assert resumed["replayed"] >= 1 and "resync" not in resumed
            replayed = await back.expect("chat")
            assert replayed["text"] == "Bent u er nog?"
            assert replayed["seq"] > resident.last_seq
            assert (await specialist.expect("peer-back"))["id"] == resident.participant_id

            # signalling works again in both directions on the new socket
            await back.send(type="chat", text="Ja, ik ben er weer.")
            assert (await specialist.expect("chat"))["text"] == "Ja, ik ben er weer."
            await specialist.send(type="media", audio=False, video=True)
            media = await back.expect("media")
            assert media["from"] == specialist.participant_id and media["audio"] is False
            await resident_peer.wait_frames(resident_peer.frames + FRAMES)
            assert not [f for f in specialist.backlog if f["type"] in ("peer-away", "peer-left")]
    finally:
        await proxy.stop()
