"""Two real ``balie serve`` processes on one private Redis and one fresh PostgreSQL database.

What must hold, with real processes and real aiortc media: a call whose sockets are on two
nodes works as on one; when a node is killed (SIGKILL) or stopped (SIGTERM), or restarted in
place, every client on it resumes its seat (on the other node, or on the restarted one) with
what it missed replayed, while the media between the peers never stops; what people did on
a killed or stopped node besides calling (an appointment booked, a confirmation under way,
an identity step finished, one started) is neither lost nor done twice, and the started one
is finished on the other node; while Redis is down a new join is refused with 1013
``unavailable`` and nothing crashes, and once it is back the ongoing call carries on and new
calls start. PostgreSQL briefly away: tests/e2e/test_cluster_database.py.

The fail-over tests measure how long the clients take from the kill to ``resumed`` and
print the distribution (run with ``-s``); the only assertion on it is a generous bound. With
``BALIE_TEST_NODE_LOGS=1`` (and ``-s``) each test prints what its nodes logged.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.setup import HEIGHT, WIDTH
from server.call.rooms import IssuedRoom
from server.db.schema import audit_events, vault_entries, verifications
from signaling.close_codes import CloseCode
from signaling.roles import Role
from tests.e2e import processes
from tests.e2e.peers import TestPeer
from tests.e2e.processes import (
    Call,
    Cluster,
    bounded,
    chat_both_ways,
    connect,
    database,
    healthy,
    resume_on,
    start_call,
)
from tests.redis_server import RedisServer
from tests.server.booking.support import (
    EMAIL,
    BookingClient,
    book,
    count_appointments,
    free_times,
    hold,
    key,
    seed,
)
from tests.server.verification.support import DEMO_VALUES, FAKE_BSN, FAKE_NAME, Browser, verify
from tests.support import DEADLINE, BalieProcess, SignalClient

pytestmark = pytest.mark.e2e

#: generous: a resume after a node's death or stop must not take anywhere near this long
RESUME_BOUND: Final = 15.0

session = processes.session
peers = processes.peers


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer, postgres_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path / "data", redis.url, postgres_url)
    try:
        yield cluster
    finally:
        await cluster.aclose()
        cluster.print_logs()


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


@dataclass
class Errands:
    """What people leave with a node besides their calls: an appointment booked through the
    booking API, another whose confirmation is under way when the node goes, an identity
    step finished and one started (the wallet has disclosed, the page has not yet asked for
    the result), each in a room whose purpose asks for it."""

    tenant: str
    booked: dict[str, Any]
    held: dict[str, Any]
    #: the Idempotency-Key of the confirmation under way, which its client retries
    confirmation: str
    confirming: asyncio.Future[tuple[int, Any]]
    verified: tuple[Browser, IssuedRoom]
    started: tuple[Browser, IssuedRoom]

    @property
    def browsers(self) -> tuple[Browser, Browser]:
        return self.verified[0], self.started[0]


async def leave_errands(
    cluster: Cluster, node: BalieProcess, session: aiohttp.ClientSession
) -> Errands:
    """Book, start a confirmation and verify on ``node``, just before it is stopped."""
    async with database(cluster.env["BALIE_DATABASE_URL"]) as engine:
        tenant = await seed(engine)
    platform = BookingClient(node.url, session)
    starts = await free_times(platform, tenant)
    booked = await book(platform, tenant, starts[0], contact={"email": EMAIL})
    held = await hold(platform, tenant, starts[1])
    rooms = [cluster.issue_room(purpose="intake", tenant=tenant) for _ in range(2)]
    browsers = [Browser(node.url) for _ in rooms]
    for browser, room in zip(browsers, rooms, strict=True):
        await browser.open(room.room)
    status, verdict = await verify(browsers[0], rooms[0], DEMO_VALUES)
    assert status == 200 and verdict["verified"] is True, verdict
    await browsers[1].start(rooms[1], DEMO_VALUES)
    confirmation = key()
    confirming = asyncio.ensure_future(
        platform.call(
            "POST",
            platform.api(tenant, "/appointments"),
            json={"hold_id": held["id"], "version": held["version"]},
            key=confirmation,
        )
    )
    await asyncio.sleep(0)  # the request is on its way
    return Errands(
        tenant,
        booked,
        held,
        confirmation,
        confirming,
        (browsers[0], rooms[0]),
        (browsers[1], rooms[1]),
    )


async def errands_kept_once(
    cluster: Cluster, node: BalieProcess, session: aiohttp.ClientSession, errands: Errands
) -> None:
    """Through ``node``, after the other one is gone: both appointments booked, each once;
    the finished identity step kept once and not to be finished again; the started one
    finished here, once; the specialists read the values, the residents enter the lobby."""
    tenant = errands.tenant
    platform = BookingClient(node.url, session)
    try:
        status, _ = await errands.confirming
        # answered before the node went (or refused while it went): either way the client
        # may ask again, since it cannot know whether its answer would have come
        assert status in (201, 503), status
    except aiohttp.ClientError:
        pass  # the node went before it answered
    status, confirmed = await platform.call(
        "POST",
        platform.api(tenant, "/appointments"),
        json={"hold_id": errands.held["id"], "version": errands.held["version"]},
        key=errands.confirmation,
    )
    assert status == 201 and confirmed["id"] == errands.held["id"], confirmed
    for appointment in (errands.booked, confirmed):
        status, details = await platform.call(
            "GET",
            platform.api(tenant, f"/appointments/{appointment['id']}"),
            token=appointment["manage_token"],
        )
        assert status == 200 and details["state"] == "booked", details
        assert details["id"] == appointment["id"]

    (verified, first), (started, second) = errands.verified, errands.started
    for browser in errands.browsers:
        browser.url = node.url  # the load balancer sends the residents here now
    status, state = await verified.call("GET", first.room, "", first.seat(Role.RESIDENT).token)
    assert status == 200 and state["verified"] is True, state
    status, again = await verified.finish(first)
    assert status == 409 and again["code"] == "no-verification", again  # consumed once
    status, verdict = await started.finish(second)
    assert status == 200 and verdict["verified"] is True, verdict
    status, again = await started.finish(second)
    assert status == 409 and again["code"] == "no-verification", again

    async with database(cluster.env["BALIE_DATABASE_URL"]) as engine:
        assert await count_appointments(engine, tenant) == {"booked": 2}
        for room in (first, second):
            assert await verification_rows(engine, room) == (["verified"], 1, 1), room.room

    for browser, room in (errands.verified, errands.started):
        specialist = room.seat(Role.SPECIALIST).token
        status, panel = await browser.call("GET", room.room, "", specialist)
        assert status == 200 and panel["verified"] is True, panel
        body = {"attribute": "bsn"}
        status, shown = await browser.call("POST", room.room, "/reveal", specialist, body)
        assert status == 200 and shown["value"] == FAKE_BSN, shown
        resident = await connect(browser.http, node)  # with the browser's cookie
        assert (await resident.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
        await resident.close()


async def verification_rows(engine: AsyncEngine, room: IssuedRoom) -> tuple[list[str], int, int]:
    """For ``room``: the states of its verifications, its values kept in the vault, and how
    often the audit trail says a resident was verified."""
    async with engine.connect() as conn:
        states = await conn.scalars(
            select(verifications.c.state).where(verifications.c.room_id == room.room)
        )
        kept = await conn.scalar(select(func.count()).where(vault_entries.c.room_id == room.room))
        audited = await conn.scalar(
            select(func.count()).where(
                audit_events.c.subject == f"room:{room.room}",
                audit_events.c.action == "identity.verified",
            )
        )
    return list(states), int(kept or 0), int(audited or 0)


async def nodes_fail_over(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    peers: list[TestPeer],
    how: signal.Signals,
    redis: RedisServer,
) -> None:
    """Three calls, each with one socket on either node; node B, the home of two of the
    rooms (their specialist joined there first), is stopped with ``how`` and every client it
    had resumes on node A. Node B had booked appointments and verified residents too
    (:class:`Errands`): none of it is lost or done twice. Node A's IRMA emulator is the one
    irma server of both nodes, so it outlives node B, as a real one would."""
    a = await cluster.start()
    b = await cluster.start(env=cluster.irma_of(a))
    calls = [
        await start_call(session, cluster, (b, a)[i % 2], (a, b)[i % 2], peers) for i in range(3)
    ]
    errands = await leave_errands(cluster, b, session)
    try:
        await calls_fail_over(cluster, session, calls, how, redis, a, b)
        await errands_kept_once(cluster, a, session, errands)
    finally:
        for browser in errands.browsers:
            await browser.close()
    for node in (a, b):
        for personal in (EMAIL, FAKE_BSN, FAKE_NAME):
            assert personal not in node.printed, node.printed


async def calls_fail_over(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    calls: list[Call],
    how: signal.Signals,
    redis: RedisServer,
    a: BalieProcess,
    b: BalieProcess,
) -> None:
    """Stop node B with ``how``; every client it had resumes on node A, signalling and
    media go on."""
    before = [call.frames() for call in calls]
    loop = asyncio.get_running_loop()
    stopped_at = loop.time()
    cluster.stop(b, how)
    # The bus delivers at most once: a command published in the instant after a SIGKILL,
    # before Redis has seen the dead node's connection close, is counted as heard by the
    # dead home and lost. The call page gets it back at its next resume (its unacknowledged
    # messages go again); this scripted client does not keep them, so after a kill the
    # staying clients speak once Redis no longer counts the node.
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
        said = await staying.send(type="chat", text=missed)
        if how is signal.SIGKILL and call.specialist_node is b:
            # The room's home died; this chat made node A take the room over. What the dead
            # home wrote last may be behind what the staying socket saw and sent, so it is
            # told to resume too, and sends again what the room did not apply, as the page
            # does (docs/signaling.md).
            assert await staying.expect_close() == CloseCode.GOING_AWAY
            again, settled = await resume_on(session, a, staying)
            assert settled["last_client_seq"] < said, settled
            await again.send(type="chat", text=missed, seq=said)
            call.replace(staying, again, a)
            staying = again
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
