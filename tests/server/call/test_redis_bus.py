"""The Redis bus between nodes, on a real Redis: two buses are two nodes.

What must hold: what one node publishes reaches the subscribers on the other, in order;
nothing crosses Redis in clear; other deployments (prefixes) and other keys see nothing;
a skipped number and a Redis restart are noticed (``on_missed``), never silent; a Redis that
is down drops envelopes with a warning and crashes nothing. Deadlines only stop a broken
test from hanging.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from server.call.redis_bus import HIGH_WATER, RedisBus
from signaling.bus import Envelope, socket_channel
from signaling.bus_wire import Sealer
from tests.redis_server import RedisServer

KEYS = {"k1": os.urandom(32)}
CANARIES = (b"Test Persoon", b"999999990", b"test@example.invalid")
FRAME = b'{"type":"chat","text":"Test Persoon 999999990 test@example.invalid"}'
PATIENCE = 10.0


class Inbox:
    def __init__(self) -> None:
        self.envelopes: asyncio.Queue[Envelope] = asyncio.Queue()
        self.missed: asyncio.Queue[str] = asyncio.Queue()

    async def deliver(self, envelope: Envelope) -> None:
        await self.envelopes.put(envelope)

    async def on_missed(self, channel: str) -> None:
        await self.missed.put(channel)

    async def next(self) -> Envelope:
        return await asyncio.wait_for(self.envelopes.get(), PATIENCE)


@pytest.fixture
async def nodes(redis: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus, Inbox]]:
    inbox = Inbox()
    a = RedisBus.from_url(redis.url, KEYS)
    b = RedisBus.from_url(redis.url, KEYS, on_missed=inbox.on_missed)
    await a.start()
    await b.start()
    try:
        yield a, b, inbox
    finally:
        await a.close()
        await b.close()


async def test_what_one_node_publishes_reaches_the_other_in_order(
    nodes: tuple[RedisBus, RedisBus, Inbox],
) -> None:
    a, b, inbox = nodes
    channel = socket_channel("socket-of-a-test")
    subscription = await b.subscribe(channel, inbox.deliver)
    sent = [Envelope(frame=b'{"n":%d}' % i) for i in range(50)]
    sent.append(Envelope(close_code=4409, close_reason="replaced"))
    await asyncio.gather(*(a.publish(channel, envelope) for envelope in sent))  # one batch
    assert [await inbox.next() for _ in sent] == sent
    assert inbox.missed.empty()
    await subscription.cancel()
    await a.publish(channel, Envelope(frame=b"{}"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(inbox.envelopes.get(), 0.5)
    assert b.channel_count == 0


async def test_nothing_crosses_redis_in_clear(
    redis: RedisServer, nodes: tuple[RedisBus, RedisBus, Inbox]
) -> None:
    """A capture of every publish (what an onlooker with Redis access sees)."""
    a, b, inbox = nodes
    spy = Redis.from_url(redis.url)
    capture = spy.pubsub()
    await capture.psubscribe("*")
    await capture.get_message(timeout=PATIENCE)  # the psubscribe confirmation
    channel = socket_channel("another-socket")
    await b.subscribe(channel, inbox.deliver)
    await a.publish(channel, Envelope(frame=FRAME))
    assert (await inbox.next()).frame == FRAME
    seen = []
    while (message := await capture.get_message(timeout=0.5)) is not None:
        seen.append(message)
    published = [m for m in seen if m["type"] == "pmessage"]
    assert published, seen
    for message in published:
        for canary in CANARIES:
            assert canary not in message["data"]
    await capture.aclose()
    await spy.aclose()


async def test_other_prefixes_and_other_keys_see_nothing(redis: RedisServer) -> None:
    inbox = Inbox()
    publisher = RedisBus.from_url(redis.url, KEYS)
    elsewhere = RedisBus.from_url(redis.url, KEYS, prefix="other-town:")
    stranger = RedisBus.from_url(redis.url, {"k9": os.urandom(32)})
    for bus in (publisher, elsewhere, stranger):
        await bus.start()
    try:
        await elsewhere.subscribe("room.1", inbox.deliver)
        await stranger.subscribe("room.1", inbox.deliver)
        await publisher.publish("room.1", Envelope(frame=FRAME))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(inbox.envelopes.get(), 1.0)
        for _ in range(50):  # the stranger read it and could not open it
            if stranger.dropped:
                break
            await asyncio.sleep(0.1)
        assert stranger.dropped == 1 and elsewhere.dropped == 0
    finally:
        for bus in (publisher, elsewhere, stranger):
            await bus.close()


async def test_a_skipped_number_is_noticed(nodes: tuple[RedisBus, RedisBus, Inbox]) -> None:
    a, b, inbox = nodes
    await b.subscribe("room.7", inbox.deliver)
    await a.publish("room.7", Envelope(frame=b'{"n":1}'))
    await inbox.next()
    a._numbering.next("balie:room.7")  # as if envelope 2 were lost on the way
    await a.publish("room.7", Envelope(frame=b'{"n":3}'))
    assert (await inbox.next()).frame == b'{"n":3}'
    assert await asyncio.wait_for(inbox.missed.get(), PATIENCE) == "room.7"


async def test_a_redis_restart_is_survived_and_noticed(
    redis: RedisServer, nodes: tuple[RedisBus, RedisBus, Inbox]
) -> None:
    a, b, inbox = nodes
    await b.subscribe("room.9", inbox.deliver)
    await a.publish("room.9", Envelope(frame=b'{"n":1}'))
    await inbox.next()

    redis.stop()
    await a.publish("room.9", Envelope(frame=b'{"n":2}'))  # dropped with a warning, no raise
    await a.barrier()
    assert a.dropped >= 1
    redis.start()

    # b reconnects, subscribes again and tells the channel to resync
    assert await asyncio.wait_for(inbox.missed.get(), PATIENCE * 2) == "room.9"
    for _ in range(100):  # a's own connection comes back at its next publish
        await a.publish("room.9", Envelope(frame=b'{"n":3}'))
        try:
            envelope = await asyncio.wait_for(inbox.envelopes.get(), 0.2)
        except TimeoutError:
            continue
        assert envelope.frame == b'{"n":3}'
        break
    else:
        pytest.fail("nothing arrived after Redis came back")


async def test_a_node_that_stopped_listening_is_still_heard_when_it_publishes_again(
    nodes: tuple[RedisBus, RedisBus, Inbox],
) -> None:
    """A node that listened on a room's channel and stopped (a claim that failed, a home
    given up) keeps numbering what it publishes there: the listeners remember its last
    number, and starting again from 1 would have everything dropped as a duplicate."""
    a, b, inbox = nodes
    await b.subscribe("room.7", inbox.deliver)
    own = await a.subscribe("room.7", Inbox().deliver)
    for n in range(3):
        await a.publish("room.7", Envelope(frame=b'{"n":%d}' % n))
    assert [(await inbox.next()).frame for _ in range(3)] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    await own.cancel()
    await a.publish("room.7", Envelope(frame=b'{"n":3}'))
    assert (await inbox.next()).frame == b'{"n":3}'
    assert inbox.missed.empty()


async def test_quiescing_delivers_everything_sent_before_and_nothing_after(
    redis: RedisServer, nodes: tuple[RedisBus, RedisBus, Inbox]
) -> None:
    """A home giving its room up stops listening at Redis first and applies what was already
    on its way: a command is either heard and applied, or finds no listener (and waits for
    the next home), never counted as heard and dropped."""
    a, b, inbox = nodes
    await b.subscribe("room.8", inbox.deliver)
    sent = [Envelope(frame=b'{"n":%d}' % n) for n in range(200)]
    # Another node publishes while this node's loop is busy (a blocking client here), so all
    # of it waits in b's socket, unread, when b stops listening
    sealer = Sealer(KEYS)
    with SyncRedis.from_url(redis.url) as other:
        for number, envelope in enumerate(sent, 1):
            other.publish("balie:room.8", sealer.seal("balie:room.8", "node-c", number, envelope))
    await b.quiesce("room.8")
    heard = []
    while not inbox.envelopes.empty():
        heard.append(inbox.envelopes.get_nowait())
    assert heard == sent  # all of it delivered by the time quiesce returns, in order
    counted = await a.publish_counted("room.8", Envelope(frame=b'{"n":200}'))
    assert counted == 0  # and after it nobody listens, which the sender can tell


async def test_counted_and_plain_publishes_keep_their_order(
    nodes: tuple[RedisBus, RedisBus, Inbox],
) -> None:
    """Both kinds go through one pipeline: a counted publish neither waits for nor
    overtakes the plain ones around it, and each says how many nodes heard it."""
    a, b, inbox = nodes
    await b.subscribe("room.5", inbox.deliver)
    # started in this order (tasks start first in, first out), as a hub's sockets would
    counted, plain = [], []
    for n in range(30):
        envelope = Envelope(frame=b'{"n":%d}' % n)
        if n % 3:
            plain.append(asyncio.ensure_future(a.publish("room.5", envelope)))
        else:
            counted.append(asyncio.ensure_future(a.publish_counted("room.5", envelope)))
    await asyncio.gather(*plain)
    assert await asyncio.gather(*counted) == [1] * 10
    assert await asyncio.gather(
        *(a.publish_counted("room.nobody", Envelope()) for _ in range(2))
    ) == [0, 0]
    frames = [(await inbox.next()).frame for _ in range(30)]
    assert frames == [b'{"n":%d}' % n for n in range(30)]
    assert inbox.missed.empty()


async def test_a_publisher_waits_only_when_redis_falls_behind(
    nodes: tuple[RedisBus, RedisBus, Inbox],
) -> None:
    a, b, inbox = nodes
    await b.subscribe("room.6", inbox.deliver)
    publishing = asyncio.ensure_future(a.publish("room.6", Envelope(frame=b"{}")))
    await asyncio.sleep(0)  # one step: sealed and queued, not sent
    assert publishing.done()
    flood = [a.publish("room.6", Envelope(frame=b"{}")) for _ in range(HIGH_WATER + 10)]
    waiting = [asyncio.ensure_future(step) for step in flood]
    await asyncio.sleep(0)
    assert not all(step.done() for step in waiting)  # above the mark they wait for Redis
    await asyncio.gather(*waiting)
    for _ in range(HIGH_WATER + 11):
        await inbox.next()


async def test_closing_sends_what_was_published_before_and_leaves_no_connection(
    redis: RedisServer,
) -> None:
    """A node stopping (SIGTERM) publishes its last envelopes, say the resync its sockets
    are told, and then closes every connection it has: a pipeline still on its way must not
    open a new one behind the closed bus's back."""
    inbox = Inbox()
    listener = RedisBus.from_url(redis.url, KEYS)
    await listener.start()
    await listener.subscribe("room.7", inbox.deliver)
    watcher = Redis.from_url(redis.url)
    try:

        async def clients() -> int:
            return len(await watcher.client_list())

        before = await clients()
        for _ in range(3):
            node = RedisBus.from_url(redis.url, KEYS)
            await node.start()
            await node.publish("room.7", Envelope(frame=b'{"last":1}'))  # queued, not sent
            await node.close()
            await node.publish("room.7", Envelope(frame=b'{"late":1}'))  # after: dropped
            assert (await inbox.next()).frame == b'{"last":1}'
            await asyncio.sleep(0.2)  # anything left running has done its worst by now
            assert await clients() == before
        assert inbox.envelopes.empty()
    finally:
        await watcher.aclose()
        await listener.close()
