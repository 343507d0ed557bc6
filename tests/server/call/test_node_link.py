"""Links between nodes (server/call/node_link.py), on a real Redis: two buses are two nodes.

What must hold: an envelope for a node goes over the link once it is open, in order with
what went through Redis before; a counted publish over a link says who heard it, and one
whose node stopped listening finds out through Redis; a link that drops mid-stream loses
nothing it could not notice, and everything goes through Redis until it opens again; a link
carries nothing in clear; a connection without the cluster key, or out of turn, is closed.
Every link here runs through a recording proxy in the test, which the tests also cut.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import cast

import pytest
from redis.asyncio import Redis

from server.call.node_link import address_key
from server.call.redis_bus import RedisBus
from signaling import link_wire
from signaling.bus import Envelope, socket_channel
from signaling.bus_wire import Sealer
from tests.redis_server import RedisServer
from tests.server.call.test_redis_bus import Inbox

KEYS = {"k1": os.urandom(32)}
CANARIES = (b"Test Persoon", b"999999990", b"test@example.invalid")
FRAME = b'{"type":"chat","text":"Test Persoon 999999990 test@example.invalid"}'
PATIENCE = 10.0
LOOPBACK = ("127.0.0.1", 0)


class Proxy:
    """A TCP relay in front of a node's link listener: records what passes, and can cut."""

    def __init__(self, target: str) -> None:
        self._target = link_wire.split_address(target)
        self.seen = bytearray()
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._pairs.append((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    self.seen += data
                    dst.write(data)
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def cut(self) -> None:
        for down, up in self._pairs:
            down.transport.abort()
            up.transport.abort()
        self._pairs.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def linked(
    redis: RedisServer,
) -> AsyncIterator[tuple[RedisBus, RedisBus, Inbox, Proxy]]:
    """Node a, node b (whose misses go to the inbox), and the proxy a reaches b's links by."""
    inbox = Inbox()
    a = RedisBus.from_url(redis.url, KEYS)
    b = RedisBus.from_url(redis.url, KEYS, on_missed=inbox.on_missed)
    for node in (a, b):
        node.use_links(LOOPBACK)
        await node.start()
    assert b.links is not None
    proxy = Proxy(b.links.address)
    # b keeps the proxy's address in Redis instead of its own (what its renewals write
    # from now on), so a reaches b through the proxy
    b.links.address = await proxy.start()
    spy = Redis.from_url(redis.url)
    await spy.set(address_key("balie:", b.node), b.links.address.encode(), px=60_000)
    await spy.aclose()
    try:
        yield a, b, inbox, proxy
    finally:
        await proxy.close()
        await a.close()
        await b.close()


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(PATIENCE / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"not {what} within {PATIENCE} s")


async def until_open(bus: RedisBus) -> None:
    links = bus.links
    assert links is not None
    await until(lambda: links.open_links == 1, "open")


async def a_link_in_use(a: RedisBus, b: RedisBus, inbox: Inbox) -> str:
    """A socket channel b listens on, once a's first envelope there (through Redis) has
    arrived and opened the link from a to b."""
    channel = socket_channel("socket-on-b")
    await b.subscribe(channel, inbox.deliver)
    await a.publish(channel, Envelope(frame=b"0"), node=b.node)
    await until_open(a)
    assert (await inbox.next()).frame == b"0"
    return channel


async def test_envelopes_go_over_the_link_once_open_in_order_with_those_before(
    linked: tuple[RedisBus, RedisBus, Inbox, Proxy],
) -> None:
    a, b, inbox, proxy = linked
    assert a.links is not None
    channel = socket_channel("socket-on-b")
    await b.subscribe(channel, inbox.deliver)
    # the first goes through Redis while the link opens beside it
    first = [Envelope(frame=b'{"n":%d}' % n) for n in range(20)]
    for envelope in first:
        await a.publish(channel, envelope, node=b.node)
    assert a.links.sent == 0
    await until_open(a)
    rest = [Envelope(frame=b'{"n":%d}' % n) for n in range(20, 60)]
    rest.append(Envelope(close_code=4409, close_reason="replaced"))
    for envelope in rest:
        await a.publish(channel, envelope, node=b.node)
    assert [await inbox.next() for _ in first + rest] == first + rest
    assert a.links.sent == len(rest)
    assert inbox.missed.empty()
    # and over the link, nothing in clear
    assert link_wire.send(a.prefix + channel, b"")[5:] in proxy.seen  # the channel, beside
    await a.publish(channel, Envelope(frame=FRAME), node=b.node)
    assert (await inbox.next()).frame == FRAME
    for canary in CANARIES:
        assert canary not in proxy.seen


async def test_a_counted_publish_over_a_link_says_who_heard_it(
    linked: tuple[RedisBus, RedisBus, Inbox, Proxy],
) -> None:
    """A room's commands go to its home over the link; once the home stops listening (it
    gives the room up), the link says nobody heard, and Redis finds whether another does."""
    a, b, inbox, _ = linked
    assert a.links is not None
    await b.subscribe("room.1", inbox.deliver)
    assert await a.publish_counted("room.1", Envelope(frame=b"1"), node=b.node) == 1
    await until_open(a)
    assert await a.publish_counted("room.1", Envelope(frame=b"2"), node=b.node) == 1
    assert a.routed("room.1") and a.links.sent == 1
    # remembered: the next needs no node named
    assert await a.publish_counted("room.1", Envelope(frame=b"3")) == 1
    assert a.links.sent == 2
    assert [(await inbox.next()).frame for _ in range(3)] == [b"1", b"2", b"3"]

    await b.quiesce("room.1")
    assert await a.publish_counted("room.1", Envelope(frame=b"4")) == 0
    assert not a.routed("room.1")
    assert inbox.envelopes.empty()


async def test_a_link_that_drops_falls_back_to_redis_and_opens_again(
    linked: tuple[RedisBus, RedisBus, Inbox, Proxy],
) -> None:
    a, b, inbox, proxy = linked
    assert a.links is not None
    channel = await a_link_in_use(a, b, inbox)
    await a.publish(channel, Envelope(frame=b"1"), node=b.node)
    assert (await inbox.next()).frame == b"1"

    proxy.cut()
    links = a.links
    await until(lambda: not links.open_links, "closed")
    sent = a.links.sent
    await a.publish(channel, Envelope(frame=b"2"), node=b.node)  # through Redis
    assert (await inbox.next()).frame == b"2"
    # an ask whose link is gone goes through Redis as well, and is heard there
    await b.subscribe("room.2", Inbox().deliver)
    assert await a.publish_counted("room.2", Envelope(frame=b"x"), node=b.node) == 1

    await until_open(a)  # opened again by the publishes above
    await a.publish(channel, Envelope(frame=b"3"), node=b.node)
    assert (await inbox.next()).frame == b"3"
    assert a.links.sent > sent
    assert inbox.missed.empty()  # nothing was lost, so nothing resyncs


async def test_an_envelope_lost_with_a_link_shows_as_a_gap(
    linked: tuple[RedisBus, RedisBus, Inbox, Proxy],
) -> None:
    a, b, inbox, _ = linked
    channel = await a_link_in_use(a, b, inbox)
    a._numbering.next("balie:" + channel)  # as if envelope 2 were lost with a link
    await a.publish(channel, Envelope(frame=b"2"), node=b.node)
    assert (await inbox.next()).frame == b"2"
    assert await asyncio.wait_for(inbox.missed.get(), PATIENCE) == channel


async def test_a_node_without_a_link_is_reached_through_redis(redis: RedisServer) -> None:
    inbox = Inbox()
    a = RedisBus.from_url(redis.url, KEYS)
    a.use_links(LOOPBACK)
    b = RedisBus.from_url(redis.url, KEYS)  # listens for no links: keeps no address
    await a.start()
    await b.start()
    try:
        assert a.links is not None
        channel = socket_channel("socket-on-b")
        await b.subscribe(channel, inbox.deliver)
        for n in range(3):
            await a.publish(channel, Envelope(frame=b"%d" % n), node=b.node)
            assert (await inbox.next()).frame == b"%d" % n
            await asyncio.sleep(0.1)
        assert a.links.sent == 0 and a.links.open_links == 0
    finally:
        await a.close()
        await b.close()


async def raw_link(bus: RedisBus) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert bus.links is not None
    return await asyncio.open_connection(*link_wire.split_address(bus.links.address))


async def refused(bus: RedisBus, *frames: bytes) -> None:
    """Send ``frames`` on a connection of its own: the node closes it, answering nothing."""
    reader, writer = await raw_link(bus)
    try:
        writer.write(b"".join(frames))
        assert await asyncio.wait_for(reader.read(), PATIENCE) == b""
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_link_needs_the_cluster_key_and_a_hello_first(
    linked: tuple[RedisBus, RedisBus, Inbox, Proxy],
) -> None:
    _, b, inbox, _ = linked
    channel = socket_channel("socket-on-b")
    await b.subscribe(channel, inbox.deliver)
    name = b.prefix + channel
    ours = Sealer(KEYS)
    envelope = ours.seal(name, "node-x", 1, Envelope(frame=b"{}"))

    stranger = Sealer({"k9": os.urandom(32)})
    await refused(b, link_wire.hello(stranger, "node-x", b.node), link_wire.send(name, envelope))
    await refused(b, link_wire.hello(ours, "node-x", "some-other-node"))
    await refused(b, link_wire.send(name, envelope))  # before any hello
    await refused(b, b"\xff" * 64)
    assert inbox.envelopes.empty()

    # with the key and a hello for this node, the same envelope is taken in
    reader, writer = await raw_link(b)
    writer.write(link_wire.hello(ours, "node-x", b.node))
    writer.write(link_wire.ask(7, name, envelope))
    assert (await inbox.next()).frame == b"{}"
    answers = link_wire.FrameReader()
    frames: list[link_wire.Frame] = []
    while len(frames) < 2:
        frames += answers.feed(await asyncio.wait_for(reader.read(4096), PATIENCE))
    assert link_wire.open_hello(ours, frames[0], "node-x") == b.node  # type: ignore[arg-type]
    assert frames[1] == link_wire.Heard(7, 1)
    # replayed: a duplicate, dropped
    writer.write(link_wire.send(name, envelope))
    await asyncio.sleep(0.2)
    assert inbox.envelopes.empty()
    writer.close()
    await writer.wait_closed()


async def test_a_node_that_reads_nothing_holds_senders_back_then_loses_its_link(
    redis: RedisServer,
) -> None:
    """A node that answers its hello and then reads nothing more (stuck, say): its senders
    wait once the link holds a megabyte, as for Redis falling behind, and after a while the
    link is closed instead of growing without end; what follows goes through Redis."""
    opened: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def stuck(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames: list[link_wire.Frame] = []
        frames_in = link_wire.FrameReader()
        while not frames:
            frames += frames_in.feed(await reader.read(4096))
        hello = frames[0]
        assert isinstance(hello, link_wire.Hello)
        sender = link_wire.open_hello(Sealer(KEYS), hello, "node-stuck")
        writer.write(link_wire.hello(Sealer(KEYS), "node-stuck", sender))
        cast(asyncio.Transport, writer.transport).pause_reading()  # and never again
        opened.set_result(writer)

    server = await asyncio.start_server(stuck, "127.0.0.1", 0)
    a = RedisBus.from_url(redis.url, KEYS)
    a.use_links(LOOPBACK)
    await a.start()
    spy = Redis.from_url(redis.url)
    try:
        assert a.links is not None
        address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        await spy.set(address_key("balie:", "node-stuck"), address.encode(), px=60_000)
        channel = socket_channel("socket-on-the-stuck-node")
        large = Envelope(frame=b"x" * 60_000)
        await a.publish(channel, large, node="node-stuck")  # through Redis; the link opens
        await until_open(a)
        for _ in range(2_000):  # 120 MB at most: far more than the sockets' buffers hold
            publishing = asyncio.ensure_future(a.publish(channel, large, node="node-stuck"))
            await asyncio.sleep(0)
            if not publishing.done():
                break
        else:
            pytest.fail("a sender was never held back")
        await asyncio.wait_for(publishing, PATIENCE)  # the link is given up, the sender goes on
        assert a.links.open_links == 0
        sent = a.links.sent
        await a.publish(channel, large, node="node-stuck")
        assert a.links.sent == sent  # through Redis now
    finally:
        await spy.aclose()
        await a.close()
        if opened.done():
            opened.result().transport.abort()
        server.close()
        await server.wait_closed()
