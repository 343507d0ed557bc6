"""Two Balie nodes on one Redis and one PostgreSQL, in this process: rooms shared through
their homes (server/call/homes.py).

What must hold: a call whose sockets are on different nodes works as on one node,
negotiation, chat and refusals included, and an ended room stays ended on every node.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest

from server.call.rooms import IssuedRoom
from server.config import ClusterSettings, DatabaseSettings
from signaling.close_codes import CloseCode
from signaling.roles import Role
from tests.redis_server import RedisServer, redis_server
from tests.server.db.support import create_postgres_database, drop_postgres_database
from tests.support import LiveServer, SignalClient, config_for, live_server

BUS_KEYS = "k1:" + base64.b64encode(os.urandom(32)).decode()
CANARIES = ("Test Persoon", "999999990", "test@example.invalid")
CHAT = "Mijn naam is Test Persoon, BSN 999999990, mail test@example.invalid"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def postgres() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


class Cluster:
    """Nodes sharing one data directory (so one set of key files), Redis and database."""

    def __init__(self, data_dir: Path, redis_url: str, database_url: str) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.database_url = database_url
        self.nodes: list[LiveServer] = []
        self._stacks: dict[int, AsyncExitStack] = {}

    async def start(self) -> LiveServer:
        config = config_for(
            self.data_dir,
            database=DatabaseSettings(url=self.database_url, demo_data=False),
            cluster=ClusterSettings(redis_url=self.redis_url, bus_keys=BUS_KEYS),
        )
        stack = AsyncExitStack()
        node = await stack.enter_async_context(live_server(self.data_dir, config=config))
        self.nodes.append(node)
        self._stacks[id(node)] = stack
        return node

    async def stop(self, node: LiveServer) -> None:
        """Stop a node as SIGTERM does: sockets told to go, rooms given up."""
        await self._stacks.pop(id(node)).aclose()

    async def stop_all(self) -> None:
        for stack in list(self._stacks.values()):
            await stack.aclose()
        self._stacks.clear()


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer, postgres: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path / "data", redis.url, postgres)
    await cluster.start()
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop_all()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call_across(
    session: aiohttp.ClientSession, a: LiveServer, b: LiveServer
) -> tuple[SignalClient, SignalClient, IssuedRoom]:
    """A specialist on node ``a``, an admitted resident on node ``b``, one room."""
    room = a.issue_room()
    specialist = await SignalClient.connect(session, a)
    await specialist.join(room.seat(Role.SPECIALIST).token)
    resident = await SignalClient.connect(session, b)
    joined = await resident.join(room.seat(Role.RESIDENT).token)
    assert joined["state"] == "lobby"
    update = await specialist.expect("lobby-update")
    while [w["id"] for w in update["waiting"]] != [resident.participant_id]:
        update = await specialist.expect("lobby-update")
    await specialist.send(type="admit", participant_id=resident.participant_id)
    assert (await resident.expect("admitted"))["peers"][0]["id"] == specialist.participant_id
    await specialist.expect("peer-joined")
    return specialist, resident, room


async def test_a_call_with_its_sockets_on_two_nodes_works_as_on_one(
    cluster: Cluster, session: aiohttp.ClientSession
) -> None:
    a, b = cluster.nodes
    specialist, resident, room = await call_across(session, a, b)
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    await specialist.send(type="description", to=resident.participant_id, description=offer)
    relayed = await resident.expect("description")
    assert relayed["from"] == specialist.participant_id and relayed["description"] == offer
    await resident.send(
        type="candidate",
        to=specialist.participant_id,
        candidate={"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"},
    )
    assert (await specialist.expect("candidate"))["from"] == resident.participant_id
    await resident.send(type="chat", text="Goedemiddag")
    for side in (specialist, resident):
        assert (await side.expect("chat"))["text"] == "Goedemiddag"
    # a refusal travels back to the socket on the other node, with its ref
    ref = await resident.send(type="admit", participant_id=specialist.participant_id)
    error = await resident.expect("error")
    assert error["code"] == "forbidden" and error["ref"] == ref
    await specialist.send(type="end")
    assert (await resident.expect("ended"))["by"] == "specialist"
    assert await resident.expect_close() == CloseCode.ENDED
    assert await specialist.expect_close() == CloseCode.ENDED
    # the ended room is remembered across nodes: a late join on either hears it ended
    for node in (a, b):
        late = await SignalClient.connect(session, node)
        await late.send(type="join", token=room.seat(Role.RESIDENT).token)
        assert await late.expect_close() == CloseCode.ENDED
