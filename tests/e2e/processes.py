"""Balie as an operator runs several nodes: ``balie serve`` processes on one Redis and one
PostgreSQL database, and what the tests of such a cluster do with them (aiortc calls across
the nodes, resuming a seat as the call page does, the identity step, a booking).

Bind the fixtures in a test module (``session = processes.session``). Used by
tests/e2e/test_cluster_processes.py (node kills, restarts, Redis restarts) and
tests/e2e/test_cluster_database.py (PostgreSQL briefly away).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, ParamSpec

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy.ext.asyncio import AsyncEngine

from server.call.rooms import IssuedRoom, issue_room
from server.config import Config
from server.core.secrets import load_keys
from server.db import create_engine
from server.verification.setup import EMULATOR_PREFIX, emulator_key, emulator_token
from signaling.close_codes import CloseCode
from signaling.roles import Role
from tests.e2e.peers import TestPeer, negotiate
from tests.support import DEADLINE, BalieProcess, Closed, SignalClient, balie_serve

BUS_KEYS: Final = "k1:" + base64.b64encode(os.urandom(32)).decode()
#: frames each peer must decode before, and again after, whatever the test does to the nodes
FRAMES: Final = 30
#: the call page's reconnect back-off (docs/signaling.md), then every second
BACKOFF: Final = (0.0, 0.3, 1.2, 2.7, 4.8)
#: how long a client keeps reconnecting before the test gives up
RECONNECT_DEADLINE: Final = 40.0
#: a whole test, so a lost frame fails it with the place it waited at (the server's pings
#: restart a reading client's own deadline)
TEST_DEADLINE: Final = 150.0

P = ParamSpec("P")


def bounded(test: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Fail the test after :data:`TEST_DEADLINE`, with the place it was waiting at."""

    @functools.wraps(test)
    async def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async with asyncio.timeout(TEST_DEADLINE):
            await test(*args, **kwargs)

    return run


class Cluster:
    """``balie serve`` processes sharing one data directory (so one set of key files), one
    Redis and one database."""

    def __init__(self, data_dir: Path, redis_url: str, database_url: str) -> None:
        self.data_dir = data_dir
        self.env = {
            "BALIE_REDIS_URL": redis_url,
            "BALIE_BUS_KEYS": BUS_KEYS,
            "BALIE_DATABASE_URL": database_url,
            "BALIE_DEMO_DATA": "false",
            # frames between the nodes over links, as docker/compose.yaml deploys them
            "BALIE_LINK_LISTEN": "127.0.0.1:0",
        }
        # the key files exist before any node starts, so every node reads the same ones
        self.config = Config.from_env({"BALIE_DATA_DIR": str(data_dir)})
        self.keys = load_keys(self.config)
        self._stacks: dict[int, AsyncExitStack] = {}
        #: every node started, in order (what they printed helps when a test fails)
        self.started: list[BalieProcess] = []

    async def start(
        self, port: int | None = None, *, env: Mapping[str, str] | None = None
    ) -> BalieProcess:
        """One more node (one at a time: nodes take turns to migrate the database anyway);
        ``env`` adds settings of this node's own."""
        stack = AsyncExitStack()
        node = await stack.enter_async_context(
            balie_serve(self.data_dir, env=self.env | dict(env or {}), port=port)
        )
        self._stacks[id(node)] = stack
        self.started.append(node)
        return node

    def stop(self, node: BalieProcess, how: signal.Signals) -> None:
        """Send ``how`` now; :meth:`gone` waits for the process to end."""
        assert node.process.returncode is None, node.printed
        node.process.send_signal(how)

    async def gone(self, node: BalieProcess) -> int:
        """Wait until the node's process has ended; its exit status."""
        status = await asyncio.wait_for(node.process.wait(), 40)
        await self._stacks.pop(id(node)).aclose()
        return status

    async def aclose(self) -> None:
        for stack in list(self._stacks.values()):
            await stack.aclose()
        self._stacks.clear()

    def issue_room(self, *, purpose: str | None = None, tenant: str | None = None) -> IssuedRoom:
        """A room as ``balie room create`` issues one, with the cluster's key file; with
        ``purpose`` and ``tenant`` its resident first shows who they are."""
        return issue_room(
            self.config, self.keys, now=int(time.time()), purpose=purpose, tenant=tenant
        )

    def irma_of(self, node: BalieProcess) -> dict[str, str]:
        """The settings that make another node use ``node``'s IRMA emulator as its irma
        server, as every node of a deployment uses the one irma server: a verification
        started on any node can then be finished on any other, ``node`` included."""
        key = emulator_key(self.config)  # the file ``node`` made in the shared directory
        public = self.data_dir / "irma-emulator-public.pem"
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return {
            "BALIE_IRMA_URL": node.url + EMULATOR_PREFIX,
            "BALIE_IRMA_TOKEN": emulator_token(key),
            "BALIE_IRMA_RESULT_KEY_FILE": str(public),
        }

    def print_logs(self) -> None:
        """What every node printed, with ``BALIE_TEST_NODE_LOGS=1`` (and ``-s``)."""
        if os.environ.get("BALIE_TEST_NODE_LOGS"):
            for index, node in enumerate(self.started):
                print(f"\n--- node {index} ({node.url}) ---\n{node.printed}")  # noqa: T201


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the nodes' database (beside the nodes, never through
    them): to seed a tenant, and to count what the nodes wrote."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def peers() -> AsyncIterator[list[TestPeer]]:
    made: list[TestPeer] = []
    yield made
    for peer in made:
        await peer.close()


async def connect(session: aiohttp.ClientSession, node: BalieProcess) -> SignalClient:
    """A socket to ``node`` from its own page (its origin)."""
    ws = await session.ws_connect(
        node.url.replace("http", "ws", 1) + "/ws", origin=node.url, autoping=True, heartbeat=None
    )
    return SignalClient(ws)


async def resume_on(
    session: aiohttp.ClientSession, node: BalieProcess, earlier: SignalClient
) -> tuple[SignalClient, dict[str, Any]]:
    """Reconnect as the call page does (its back-off) and resume ``earlier``'s seat on
    ``node``; a refused connection, 1001 or 1013 is tried again, anything else fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECONNECT_DEADLINE
    refusals: list[str] = []
    for attempt in range(1000):
        await asyncio.sleep(BACKOFF[attempt] if attempt < len(BACKOFF) else 1.0)
        if loop.time() > deadline:
            break
        try:
            client = await connect(session, node)
        except aiohttp.ClientError as error:
            refusals.append(type(error).__name__)
            continue
        client.continue_from(earlier)
        try:
            # bounded here: the server's pings would keep a reading client waiting for ever
            async with asyncio.timeout(DEADLINE):
                return client, await client.resume()
        except TimeoutError:
            raise AssertionError(f"no answer to resume within {DEADLINE} s: {refusals}") from None
        except Closed as closed:
            refusals.append(f"close {closed.code} {[f['type'] for f in client.backlog]}")
            if closed.code not in (CloseCode.GOING_AWAY, CloseCode.UNAVAILABLE):
                raise
    raise AssertionError(f"no resume within {RECONNECT_DEADLINE} s: {refusals}")


@dataclass
class Call:
    room: IssuedRoom
    specialist: SignalClient
    resident: SignalClient
    specialist_node: BalieProcess
    resident_node: BalieProcess
    specialist_peer: TestPeer
    resident_peer: TestPeer

    @property
    def sides(self) -> tuple[tuple[SignalClient, BalieProcess], tuple[SignalClient, BalieProcess]]:
        return (self.specialist, self.specialist_node), (self.resident, self.resident_node)

    def replace(self, old: SignalClient, new: SignalClient, node: BalieProcess) -> None:
        if old is self.specialist:
            self.specialist, self.specialist_node = new, node
        else:
            assert old is self.resident
            self.resident, self.resident_node = new, node

    def frames(self) -> tuple[int, int]:
        return self.specialist_peer.frames, self.resident_peer.frames

    async def media_grows(self, since: tuple[int, int]) -> None:
        """Both peers decode ``FRAMES`` more frames than they had at ``since``."""
        await self.specialist_peer.wait_frames(since[0] + FRAMES)
        await self.resident_peer.wait_frames(since[1] + FRAMES)


async def start_call(
    session: aiohttp.ClientSession,
    cluster: Cluster,
    specialist_node: BalieProcess,
    resident_node: BalieProcess,
    peers: list[TestPeer],
) -> Call:
    """A specialist on one node, a resident admitted from the lobby on the other (or the
    same), negotiated through the nodes, media decoded both ways."""
    room = cluster.issue_room()
    specialist = await connect(session, specialist_node)
    await specialist.join(room.seat(Role.SPECIALIST).token, room=room.room)
    resident = await connect(session, resident_node)
    joined = await resident.join(room.seat(Role.RESIDENT).token)
    assert joined["state"] == "lobby"
    update = await specialist.expect("lobby-update")
    while [w["id"] for w in update["waiting"]] != [resident.participant_id]:
        update = await specialist.expect("lobby-update")
    await specialist.send(type="admit", participant_id=resident.participant_id)
    admitted = await resident.expect("admitted")
    assert [p["id"] for p in admitted["peers"]] == [specialist.participant_id]
    assert admitted["peers"][0]["polite"] is True  # the aiortc specialist offers
    assert (await specialist.expect("peer-joined"))["peer"]["id"] == resident.participant_id
    specialist_peer, resident_peer = TestPeer(), TestPeer()
    peers += [specialist_peer, resident_peer]
    call = Call(
        room, specialist, resident, specialist_node, resident_node, specialist_peer, resident_peer
    )
    await negotiate(specialist_peer, specialist, resident_peer, resident)
    await call.media_grows((0, 0))
    return call


async def chat_both_ways(call: Call, words: str) -> None:
    """Each side says something; both sides read both, in order, from the right sender."""
    for sender in (call.specialist, call.resident):
        text = f"{words} ({'specialist' if sender is call.specialist else 'resident'})"
        await sender.send(type="chat", text=text)
        for side in (call.specialist, call.resident):
            chat = await side.expect("chat")
            assert chat["text"] == text and chat["from"] == sender.participant_id


async def healthy(session: aiohttp.ClientSession, node: BalieProcess) -> None:
    """The node's process runs and answers ``/healthz``."""
    async with session.get(node.url + "/healthz") as response:
        assert response.status == 200
    assert node.process.returncode is None, node.printed
