"""Two Balie nodes on one Redis and one PostgreSQL, in this process: rooms shared through
their homes (server/call/homes.py).

What must hold: a call whose sockets are on different nodes works as on one node,
negotiation, chat and refusals included, and an ended room stays ended on every node;
forged joins spread over the nodes reach no room; nothing personal crosses Redis in clear;
limits hold for the cluster; and Redis over TLS with the deployment guide's ACL user is
enough. Real processes, SIGKILL and Redis restarts: tests/e2e/test_cluster_processes.py;
Chromium through a load balancer: tests/e2e/test_cluster_browser.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from server.call.appkeys import BUS, HUB
from server.call.redis_bus import RedisBus
from server.call.rooms import IssuedRoom
from server.core.limits import SharedLimiter
from server.core.metrics import METRICS
from server.staff.auth import SIGN_IN_BURST, STAFF
from signaling.close_codes import CloseCode
from signaling.roles import Role
from signaling.room_state import load_state
from tests.redis_server import RedisServer, SelfSigned, redis_server
from tests.server.call.cluster import Cluster
from tests.support import LiveServer, SignalClient, seat_lobby

CANARIES = ("Test Persoon", "999999990", "test@example.invalid")
CHAT = "Mijn naam is Test Persoon, BSN 999999990, mail test@example.invalid"


@pytest.fixture(params=[True, False], ids=["links", "redis-only"])
async def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, redis: RedisServer, postgres_url: str
) -> AsyncIterator[Cluster]:
    """Two nodes, frames between them over links or (without BALIE_LINK_LISTEN) through
    Redis only."""
    cluster = Cluster(tmp_path / "data", redis.url, postgres_url, links=request.param)
    await cluster.start()
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop_all()


async def call_across(
    session: aiohttp.ClientSession, a: LiveServer, b: LiveServer
) -> tuple[SignalClient, SignalClient, IssuedRoom]:
    """A specialist on node ``a``, an admitted resident on node ``b``, one room."""
    specialist, resident, room = await seat_lobby(session, a, resident_on=b)
    update = await specialist.expect("lobby-update")
    while [w["id"] for w in update["waiting"]] != [resident.participant_id]:
        update = await specialist.expect("lobby-update")
    await specialist.send(type="admit", participant_id=resident.participant_id)
    assert (await resident.expect("admitted"))["peers"][0]["id"] == specialist.participant_id
    await specialist.expect("peer-joined")
    return specialist, resident, room


async def resume_after_stop(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    client: SignalClient,
    stopping: LiveServer,
    other: LiveServer,
) -> SignalClient:
    """Stop ``client``'s node as SIGTERM does; the client hears 1001 and resumes its seat on
    ``other``. (It reads while the node stops, so it answers the close before the node is
    gone.)"""
    closed = asyncio.create_task(client.expect_close())
    await cluster.stop(stopping)
    assert await closed == CloseCode.GOING_AWAY
    moved = await SignalClient.connect(session, other)
    moved.continue_from(client)
    await moved.resume()
    return moved


async def test_a_call_with_its_sockets_on_two_nodes_works_as_on_one(
    cluster: Cluster, session: aiohttp.ClientSession
) -> None:
    a, b = cluster.nodes
    specialist, resident, room = await call_across(session, a, b)
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    await specialist.send(type="description", to=resident.participant_id, description=offer)
    relayed = await resident.expect("description")
    assert relayed["from"] == specialist.participant_id and relayed["description"] == offer
    candidate = {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"}
    sent = await resident.send(type="candidate", to=specialist.participant_id, candidate=candidate)
    first = await specialist.expect("candidate")
    assert first["from"] == resident.participant_id and first["candidate"]["sdpMid"] == "0"
    # the home relays what another node forwarded as it relays its own sockets' frames: a
    # frame sent again after a resume is dropped, a bad target is refused back across nodes
    await resident.send(
        type="candidate", to=specialist.participant_id, candidate=candidate, seq=sent
    )
    ref = await resident.send(type="candidate", to="nobody", candidate=candidate)
    error = await resident.expect("error")
    assert error["code"] == "unknown-peer" and error["ref"] == ref, error
    later = {**candidate, "sdpMid": "1"}
    await resident.send(type="candidate", to=specialist.participant_id, candidate=later)
    second = await specialist.expect("candidate")
    assert second["candidate"]["sdpMid"] == "1" and second["seq"] == first["seq"] + 1, second
    await resident.send(type="chat", text="Goedemiddag")
    for side in (specialist, resident):
        assert (await side.expect("chat"))["text"] == "Goedemiddag"
    # a refusal travels back to the socket on the other node, with its ref
    ref = await resident.send(type="admit", participant_id=specialist.participant_id)
    error = await resident.expect("error")
    assert error["code"] == "forbidden" and error["ref"] == ref
    # with links, what crossed went over them once open, both ways; without, through Redis
    buses = [node.app[BUS] for node in (a, b)]
    assert all(isinstance(bus, RedisBus) for bus in buses)
    for n in range(20):
        await resident.send(type="chat", text=f"{n}")
        for side in (specialist, resident):
            assert (await side.expect("chat"))["text"] == f"{n}"
    over_links = [
        bus.links.sent if isinstance(bus, RedisBus) and bus.links is not None else 0
        for bus in buses
    ]
    assert (min(over_links) > 0) == cluster.links, over_links
    exposition = b.app[METRICS].render()[0].decode()
    if cluster.links:  # and an operator sees them
        assert "balie_node_links 1.0" in exposition
        assert f"balie_link_frames_total {float(over_links[1])}" in exposition
    else:
        assert "balie_node_links" not in exposition
    await specialist.send(type="end")
    assert (await resident.expect("ended"))["by"] == "specialist"
    assert await resident.expect_close() == CloseCode.ENDED
    assert await specialist.expect_close() == CloseCode.ENDED
    # the ended room is remembered across nodes: a late join on either hears it ended
    for node in (a, b):
        late = await SignalClient.connect(session, node)
        await late.send(type="join", token=room.seat(Role.RESIDENT).token)
        assert await late.expect_close() == CloseCode.ENDED


def forged_joins(rooms: list[IssuedRoom], count: int) -> list[dict[str, str]]:
    """Join frames no one may be let in with: a real token of one live room sent for
    another live room, a real token for a made-up room, and tokens no one issued."""
    frames: list[dict[str, str]] = []
    for i in range(count):
        token_room, target = rooms[i % len(rooms)], rooms[(i + 1) % len(rooms)]
        token = token_room.seat(Role.RESIDENT if i % 2 else Role.SPECIALIST).token
        match i % 3:
            case 0:
                frames.append({"type": "join", "token": token, "room": target.room})
            case 1:
                frames.append({"type": "join", "token": token, "room": secrets.token_urlsafe(16)})
            case _:
                frames.append({"type": "join", "token": secrets.token_urlsafe(48)})
    return frames


async def test_forged_joins_spread_over_both_nodes_reach_no_room(
    cluster: Cluster, session: aiohttp.ClientSession
) -> None:
    """1,000 joins with tokens of other rooms or made-up rooms, half on each node, while
    three calls chat across the nodes: every forged join is refused and hears nothing but
    its refusal, and every chat line reaches its own room only, none lost."""
    a, b = cluster.nodes
    calls = [await call_across(session, *((a, b) if i % 2 else (b, a))) for i in range(3)]
    rooms = [room for _, _, room in calls]
    for specialist, resident, _ in calls:
        # the lobby emptied by the admission is the last thing before the attempts
        assert (await specialist.expect("lobby-update"))["waiting"] == []
        specialist.backlog.clear()
        resident.backlog.clear()
    heard: list[list[dict[str, Any]]] = []

    async def attempt(node: LiveServer, frame: dict[str, str]) -> None:
        client = await SignalClient.connect(session, node)
        await client.send(**frame)
        code = await client.expect_close()
        assert code == CloseCode.TOKEN_REFUSED, (code, client.backlog)
        heard.append(client.backlog)

    async def chatter() -> None:
        for line in range(20):
            for room, (specialist, _, _) in zip(rooms, calls, strict=True):
                await specialist.send(type="chat", text=f"{room.room} {line}")
            await asyncio.sleep(0.05)

    frames = forged_joins(rooms, 1000)
    gate = asyncio.Semaphore(25)

    async def gated(i: int, frame: dict[str, str]) -> None:
        async with gate:
            await attempt(cluster.nodes[i % 2], frame)

    await asyncio.gather(chatter(), *(gated(i, f) for i, f in enumerate(frames)))
    assert len(heard) == 1000
    assert {f["type"] for frames in heard for f in frames} == {"error"}
    for room, (specialist, resident, _) in zip(rooms, calls, strict=True):
        for side in (specialist, resident):
            lines = [(await side.expect("chat"))["text"] for _ in range(20)]
            assert lines == [f"{room.room} {n}" for n in range(20)]
            # nothing else happened in the room: no one joined, waited or left
            assert [f["type"] for f in side.backlog] == []


async def test_nothing_personal_crosses_redis_in_clear(
    cluster: Cluster, session: aiohttp.ClientSession, redis: RedisServer
) -> None:
    """A capture of every command Redis receives (MONITOR) while a call across the nodes
    chats with personal details and one node stops (its rooms written down): none of the
    canary values is in it, while the capture did see the call's traffic."""
    monitor = await asyncio.create_subprocess_exec(
        "redis-cli", "-u", redis.url, "monitor", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert monitor.stdout is not None
        assert (await monitor.stdout.readline()).strip() == b"OK"
        a, b = cluster.nodes
        specialist, resident, _ = await call_across(session, a, b)
        await resident.send(type="chat", text=CHAT)
        for side in (specialist, resident):
            assert (await side.expect("chat"))["text"] == CHAT
        # the specialist's node stops (its rooms written down); the seat resumes on the other
        moved = await resume_after_stop(cluster, session, specialist, a, b)
        await moved.send(type="chat", text=CHAT)
        for side in (moved, resident):
            assert (await side.expect("chat"))["text"] == CHAT
    finally:
        monitor.terminate()
        captured, _ = await monitor.communicate()
    assert b'"PUBLISH"' in captured and b'"SET"' in captured, captured[:2000]
    for canary in CANARIES:
        assert canary.encode() not in captured


async def test_sign_in_attempts_count_for_the_cluster_not_per_node(cluster: Cluster) -> None:
    """The staff sign-in budget of one client holds across nodes (server/core/limits.py):
    a load balancer spreading the attempts does not multiply it."""
    limiters = [node.app[STAFF].limiter for node in cluster.nodes]
    client = "203.0.113.7"
    answers = [await limiters[i % 2].allow(client) for i in range(SIGN_IN_BURST + 2)]
    assert answers == [True] * SIGN_IN_BURST + [False, False]


async def test_redis_over_tls_with_the_acl_user_of_the_deployment_guide(
    tmp_path: Path,
    postgres_url: str,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``rediss://`` with docs/deployment.md's ACL line, as written there, on a Redis that
    speaks TLS only and whose default user is off: a call across the nodes, a node stopping
    and its seat resuming on the other, and the shared sign-in limit all work with no more
    than those commands and that prefix."""
    guide = (Path(__file__).parents[3] / "docs" / "deployment.md").read_text()
    rule = next(line for line in guide.splitlines() if line.startswith("user balie "))
    password = secrets.token_urlsafe(16)
    rule = rule.removeprefix("user ").replace(">password", ">" + password)
    with redis_server(tmp_path, users=[rule], tls=SelfSigned.make(tmp_path)) as server:
        url = server.url.replace("rediss://", f"rediss://balie:{password}@")
        cluster = Cluster(tmp_path / "data", url, postgres_url)
        try:
            a, b = await cluster.start(), await cluster.start()
            specialist, resident, _ = await call_across(session, a, b)
            await resident.send(type="chat", text="Goedemiddag")
            for side in (specialist, resident):
                assert (await side.expect("chat"))["text"] == "Goedemiddag"
            await a.app[HUB].reap()  # the home renews its lease with the scripts it needs
            assert "not renewed" not in caplog.text, caplog.text
            moved = await resume_after_stop(cluster, session, specialist, a, b)
            await moved.send(type="chat", text="Nog daar?")
            assert (await resident.expect("chat"))["text"] == "Nog daar?"
            limiter = b.app[STAFF].limiter
            assert await limiter.allow("203.0.113.7")
            assert isinstance(limiter, SharedLimiter) and limiter.shared
        finally:
            await cluster.stop_all()


async def test_readiness_follows_redis(
    cluster: Cluster, redis: RedisServer, session: aiohttp.ClientSession
) -> None:
    """/readyz names Redis: unready on every node while it is stopped, ready again once it is
    back (calls themselves carry on meanwhile: tests/e2e/test_cluster_processes.py)."""

    async def readiness() -> list[tuple[int, object]]:
        answers = []
        for node in cluster.nodes:
            async with session.get(node.url + "/readyz") as response:
                answers.append((response.status, (await response.json())["checks"]["redis"]))
        return answers

    assert await readiness() == [(200, "ok"), (200, "ok")]
    redis.stop()
    down = await readiness()
    assert all(status == 503 and reason != "ok" for status, reason in down), down
    redis.start()
    for _ in range(20):  # redis-py reconnects on the next command
        if await readiness() == [(200, "ok"), (200, "ok")]:
            break
        await asyncio.sleep(0.25)
    assert await readiness() == [(200, "ok"), (200, "ok")]


async def test_negotiation_is_written_down_at_the_next_reap_and_chat_at_once(
    cluster: Cluster, redis: RedisServer, session: aiohttp.ClientSession
) -> None:
    """Writing the whole room for every relayed frame cost more than relaying it: a burst of
    candidates writes nothing at once, and the next reap writes the room with all of it. A
    chat is written at once: no resync brings it back if the home dies."""
    a, b = cluster.nodes
    specialist, resident, room = await call_across(session, a, b)
    homes = a.app[HUB].homes
    assert homes is not None
    stats = Redis.from_url(redis.url)
    candidate = {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"}
    try:

        async def sets() -> int:
            return int((await stats.info("commandstats"))["cmdstat_set"]["calls"])

        async def written_seq() -> int:
            written = await homes.load(room.room)
            assert written is not None
            seat = load_state(written).room.seat_of(resident.session_id)
            assert seat is not None
            return seat.seq

        before = await sets()
        for _ in range(50):
            await specialist.send(type="candidate", to=resident.participant_id, candidate=candidate)
        for _ in range(50):
            await resident.expect("candidate")
        assert await sets() - before <= 1  # at most a reap that happened to fall in between
        for _ in range(40):  # the next reap (each second) writes the room down
            if await written_seq() == resident.last_seq:
                break
            await asyncio.sleep(0.1)
        assert await written_seq() == resident.last_seq

        await specialist.send(type="chat", text="Uw aanvraag is binnen")
        assert (await resident.expect("chat"))["text"] == "Uw aanvraag is binnen"
        bus = a.app[HUB].bus
        assert isinstance(bus, RedisBus)
        await bus.barrier()  # what the home has asked Redis to keep is there
        assert await written_seq() == resident.last_seq  # no reap needed
    finally:
        await stats.aclose()
