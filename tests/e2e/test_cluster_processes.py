"""Two real ``balie serve`` processes on one private Redis and one fresh PostgreSQL database.

What must hold, with real processes and real aiortc media: a call whose sockets are on two
nodes works as on one; when a node is killed (SIGKILL) or stopped (SIGTERM), or restarted in
place, every client on it resumes its seat (on the other node, or on the restarted one) with
what it missed replayed, while the media between the peers never stops; while Redis is down
a new join is refused with 1013 ``unavailable`` and nothing crashes, and once it is back the
ongoing call carries on and new calls start.

The fail-over tests measure how long the clients take from the kill to ``resumed`` and
print the distribution (run with ``-s``); the only assertion on it is a generous bound. With
``BALIE_TEST_NODE_LOGS=1`` (and ``-s``) each test prints what its nodes logged.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import signal
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, ParamSpec

import aiohttp
import pytest
from redis.asyncio import Redis

from bench.setup import HEIGHT, WIDTH
from server.call.rooms import IssuedRoom, issue_room
from server.config import Config
from server.core.secrets import load_keys
from signaling.close_codes import CloseCode
from signaling.roles import Role
from tests.e2e.peers import TestPeer, negotiate
from tests.redis_server import RedisServer
from tests.support import DEADLINE, BalieProcess, Closed, SignalClient, balie_serve

pytestmark = pytest.mark.e2e

BUS_KEYS: Final = "k1:" + base64.b64encode(os.urandom(32)).decode()
#: frames each peer must decode before, and again after, whatever the test does to the nodes
FRAMES: Final = 30
#: generous: a resume after a node's death or stop must not take anywhere near this long
RESUME_BOUND: Final = 15.0
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
        }
        # the key files exist before any node starts, so every node reads the same ones
        self.config = Config.from_env({"BALIE_DATA_DIR": str(data_dir)})
        self.keys = load_keys(self.config)
        self._stacks: dict[int, AsyncExitStack] = {}
        #: every node started, in order (what they printed helps when a test fails)
        self.started: list[BalieProcess] = []

    async def start(self, port: int | None = None) -> BalieProcess:
        """One more node (one at a time: nodes take turns to migrate the database anyway)."""
        stack = AsyncExitStack()
        node = await stack.enter_async_context(balie_serve(self.data_dir, env=self.env, port=port))
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

    def issue_room(self) -> IssuedRoom:
        """A room as ``balie room create`` issues one, with the cluster's key file."""
        return issue_room(self.config, self.keys, now=int(time.time()))


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path / "data", redis.url, postgres_url)
    try:
        yield cluster
    finally:
        await cluster.aclose()
        if os.environ.get("BALIE_TEST_NODE_LOGS"):
            for index, node in enumerate(cluster.started):
                print(f"\n--- node {index} ({node.url}) ---\n{node.printed}")  # noqa: T201


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


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


@pytest.fixture
async def peers() -> AsyncIterator[list[TestPeer]]:
    made: list[TestPeer] = []
    yield made
    for peer in made:
        await peer.close()


async def chat_both_ways(call: Call, words: str) -> None:
    """Each side says something; both sides read both, in order, from the right sender."""
    for sender in (call.specialist, call.resident):
        text = f"{words} ({'specialist' if sender is call.specialist else 'resident'})"
        await sender.send(type="chat", text=text)
        for side in (call.specialist, call.resident):
            chat = await side.expect("chat")
            assert chat["text"] == text and chat["from"] == sender.participant_id


async def _now() -> None:
    return None


def report(what: str, seconds: Sequence[float]) -> None:
    """The distribution of resume times, for ``-s`` (this file asserts only a bound)."""
    print(  # noqa: T201
        f"\n{what}: resumed in min {min(seconds):.2f} s, median "
        f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
        f"({len(seconds)} clients: {', '.join(f'{s:.2f}' for s in sorted(seconds))})"
    )


@bounded
async def test_a_call_between_two_processes_carries_media_and_chat(
    cluster: Cluster, session: aiohttp.ClientSession, peers: list[TestPeer]
) -> None:
    a = await cluster.start()
    b = await cluster.start()
    call = await start_call(session, cluster, a, b, peers)
    await chat_both_ways(call, "Goedemiddag")
    await call.media_grows(call.frames())
    assert call.specialist_peer.sizes == call.resident_peer.sizes == {(WIDTH, HEIGHT)}
    for node in (a, b):
        assert node.process.returncode is None, node.printed


async def off_the_bus(redis: RedisServer, nodes: int) -> None:
    """Wait until Redis counts ``nodes`` nodes on the bus (each listens on a channel of its
    own, ``balie:node.<name>``)."""
    client = Redis.from_url(redis.url)
    try:
        for _ in range(int(DEADLINE / 0.01)):
            if len(await client.pubsub_channels("balie:node.*")) == nodes:
                return
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()
    raise AssertionError(f"Redis still counts other than {nodes} nodes on the bus")


async def nodes_fail_over(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    peers: list[TestPeer],
    how: signal.Signals,
    redis: RedisServer,
) -> None:
    """Three calls, each with one socket on either node; node B, the home of two of the
    rooms (their specialist joined there first), is stopped with ``how`` and every client it
    had resumes on node A."""
    a = await cluster.start()
    b = await cluster.start()
    calls = [
        await start_call(session, cluster, (b, a)[i % 2], (a, b)[i % 2], peers) for i in range(3)
    ]
    before = [call.frames() for call in calls]
    loop = asyncio.get_running_loop()
    stopped_at = loop.time()
    cluster.stop(b, how)
    # Known limit, not tested here: the bus delivers at most once, and a command published in
    # the instant after a SIGKILL, before Redis has seen the dead node's connection close, is
    # counted as heard by the dead home and lost (its sender gets no echo and no error). So
    # after a kill the staying clients speak once Redis no longer counts the node.
    bus_saw_it = asyncio.ensure_future(off_the_bus(redis, 1) if how is signal.SIGKILL else _now())
    times: list[float] = []

    async def recover(index: int, call: Call) -> None:
        (moving, _), (staying, _) = sorted(call.sides, key=lambda side: side[1] is a)
        assert call.specialist_node is b or call.resident_node is b
        # read at once, as a browser does: it answers the close while the node is still there
        code = await moving.expect_close()
        if how is signal.SIGTERM:
            assert code == CloseCode.GOING_AWAY  # told to resume elsewhere
        await bus_saw_it
        # said while the moving client has no socket: it gets this on resume
        missed = f"Bent u er nog? ({index})"
        await staying.send(type="chat", text=missed)
        assert (await staying.expect("chat"))["text"] == missed
        back, resumed = await resume_on(session, a, moving)
        times.append(loop.time() - stopped_at)
        assert resumed["participant_id"] == moving.participant_id
        assert resumed["state"] == "call"
        assert resumed["replayed"] >= 1 and "resync" not in resumed, resumed
        replayed = await back.expect("chat")
        assert replayed["text"] == missed and replayed["from"] == staying.participant_id
        assert replayed["seq"] > moving.last_seq
        call.replace(moving, back, a)
        # signalling works again both ways, now with the room's home on node A
        await chat_both_ways(call, f"Ja, weer verbonden ({index})")

    await asyncio.gather(*(recover(i, call) for i, call in enumerate(calls)))
    report(f"{how.name} of a node", times)
    assert max(times) < RESUME_BOUND
    # the media never depended on the node: it keeps flowing across the kill
    for call, counts in zip(calls, before, strict=True):
        await call.media_grows(counts)
    status = await cluster.gone(b)
    assert status == (-signal.SIGKILL if how is signal.SIGKILL else 0), b.printed
    assert a.process.returncode is None, a.printed
    if how is signal.SIGKILL:
        # the two rooms homed on the dead node were taken over (a stopped node gives them up)
        assert sum("took over a room" in line for line in a.lines) == 2, a.printed


@bounded
async def test_sigkill_of_a_node_its_clients_resume_on_the_other_media_keeps_flowing(
    cluster: Cluster, session: aiohttp.ClientSession, peers: list[TestPeer], redis: RedisServer
) -> None:
    await nodes_fail_over(cluster, session, peers, signal.SIGKILL, redis)


@bounded
async def test_sigterm_of_a_node_its_clients_resume_on_the_other_media_keeps_flowing(
    cluster: Cluster, session: aiohttp.ClientSession, peers: list[TestPeer], redis: RedisServer
) -> None:
    await nodes_fail_over(cluster, session, peers, signal.SIGTERM, redis)


@bounded
async def test_a_node_restarted_in_place_gives_its_clients_their_seats_back(
    cluster: Cluster, session: aiohttp.ClientSession, peers: list[TestPeer]
) -> None:
    node = await cluster.start()
    port = int(node.url.rsplit(":", 1)[1])
    calls = [await start_call(session, cluster, node, node, peers) for _ in range(2)]
    before = [call.frames() for call in calls]
    loop = asyncio.get_running_loop()
    clients = [client for call in calls for client in (call.specialist, call.resident)]
    # read all the time, as browsers do: each answers its close while the node is still there
    closing = asyncio.gather(*(client.expect_close() for client in clients))
    stopped_at = loop.time()
    cluster.stop(node, signal.SIGTERM)
    assert await closing == [CloseCode.GOING_AWAY] * len(clients)
    assert await cluster.gone(node) == 0, node.printed
    restarted = await cluster.start(port)
    times: list[float] = []

    async def recover(index: int, call: Call) -> None:
        specialist, resumed = await resume_on(session, restarted, call.specialist)
        times.append(loop.time() - stopped_at)
        assert resumed["participant_id"] == call.specialist.participant_id
        assert resumed["state"] == "call" and "resync" not in resumed, resumed
        call.replace(call.specialist, specialist, restarted)
        # said while the resident has no socket yet: replayed to it
        missed = f"Hoort u mij weer? ({index})"
        await specialist.send(type="chat", text=missed)
        assert (await specialist.expect("chat"))["text"] == missed
        resident, resumed = await resume_on(session, restarted, call.resident)
        times.append(loop.time() - stopped_at)
        assert resumed["participant_id"] == call.resident.participant_id
        assert resumed["state"] == "call"
        assert resumed["replayed"] >= 1 and "resync" not in resumed, resumed
        assert (await resident.expect("chat"))["text"] == missed
        call.replace(call.resident, resident, restarted)
        await chat_both_ways(call, f"Weer terug ({index})")

    await asyncio.gather(*(recover(i, call) for i, call in enumerate(calls)))
    report("restart in place (SIGTERM, start again on the same port)", times)
    assert max(times) < RESUME_BOUND + 30  # the restart itself: start-up and the database
    for call, counts in zip(calls, before, strict=True):
        await call.media_grows(counts)


async def healthy(session: aiohttp.ClientSession, node: BalieProcess) -> None:
    async with session.get(node.url + "/healthz") as response:
        assert response.status == 200
    assert node.process.returncode is None, node.printed


@bounded
async def test_redis_down_mid_call_refuses_joins_and_the_call_carries_on_after(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    peers: list[TestPeer],
    redis: RedisServer,
) -> None:
    a = await cluster.start()
    b = await cluster.start()
    call = await start_call(session, cluster, a, b, peers)
    await chat_both_ways(call, "Voor de storing")
    await asyncio.to_thread(redis.stop)

    # while Redis is down: a new join is refused, on either node, and nothing crashes
    for node in (a, b):
        room = cluster.issue_room()
        late = await connect(session, node)
        await late.send(type="join", token=room.seat(Role.SPECIALIST).token)
        error = await late.expect("error")
        assert error["code"] == "unavailable", error
        assert await late.expect_close() == CloseCode.UNAVAILABLE
        await healthy(session, node)
    # the media does not need Redis
    await call.media_grows(call.frames())
    during = call.frames()

    closing = asyncio.gather(*(client.expect_close() for client, _ in call.sides))
    await asyncio.to_thread(redis.start)
    # each node resyncs its sockets once it is back on Redis (what was published meanwhile
    # is lost): they reconnect and resume, on the same node, each while the other does
    assert await closing == [CloseCode.GOING_AWAY] * 2

    async def recover(client: SignalClient, node: BalieProcess) -> None:
        back, resumed = await resume_on(session, node, client)
        assert resumed["participant_id"] == client.participant_id
        assert resumed["state"] == "call" and "resync" not in resumed, resumed
        call.replace(client, back, node)

    await asyncio.gather(*(recover(client, node) for client, node in call.sides))
    await chat_both_ways(call, "Na de storing")
    await call.media_grows(during)

    # and a new call starts across the nodes again
    await start_call(session, cluster, b, a, peers)
    for node in (a, b):
        await healthy(session, node)
