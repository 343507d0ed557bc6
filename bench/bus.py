"""What the Redis bus adds to a message between two nodes, next to Redis itself.

Four arms on the same Redis, and a fifth without it, in the same run, one message at a
time (publish, then wait until the other side has it), ``--messages`` each with a
chat-sized payload:

- ``ping``: one Redis round trip (PING), the floor of anything that goes through Redis;
- ``lean``: PUBLISH and SUBSCRIBE spoken over two bare asyncio protocols with hiredis parsing
  the replies, no client library's layers (no pool, retries, timeouts or per-message
  coroutines): what pub/sub costs from Python at the least, the floor a client written for
  the bus alone could reach;
- ``raw``: redis-py PUBLISH on one connection, a plain subscriber on another (the peer:
  pub/sub with nothing of ours);
- ``bus``: :class:`server.call.redis_bus.RedisBus` on both sides (sealing, numbering,
  pipelining, the gap check, opening);
- ``link``: no Redis: sealed envelopes over one TCP connection to a second Python process
  that opens each and answers with one of its own (a link between two nodes, the floor of a
  bus that carried a call's frames from node to node instead of through Redis). It is timed
  there and back; ``link_hop_us`` is half of that, one node to the other.

Reports p50 and p99 per arm, the bus's added p50 over ``raw`` and its ratio to one Redis
round trip (target from issue 11: added p50 at most 1.5× a round trip), and the link's hop
as a share of that round trip. Medians over ``--runs``; the machine is shared, so the load
average is printed. Run::

    .venv/bin/python -m bench.bus [--redis redis://127.0.0.1:6379/0] [--quick]

The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import parse_url

from bench._stats import percentile
from server.call.redis_bus import RedisBus
from signaling.bus import Envelope, socket_channel
from signaling.bus_wire import Delivery, GapCheck, Numbering, Sealer

PAYLOAD: Final = b'{"type":"chat","text":"' + b"x" * 180 + b'"}'
TARGET_RATIO: Final = 1.5


async def timed(count: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    for _ in range(min(50, count)):  # warm the connections
        await one()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await one()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


async def ping_arm(url: str, count: int) -> list[float]:
    client = Redis.from_url(url)
    try:
        return await timed(count, lambda: client.ping())  # type: ignore[arg-type,return-value]
    finally:
        await client.aclose()


async def raw_arm(url: str, count: int) -> list[float]:
    publisher, listener = Redis.from_url(url), Redis.from_url(url)
    subscriber = listener.pubsub(ignore_subscribe_messages=True)
    channel = "bench:raw:" + os.urandom(4).hex()
    await subscriber.subscribe(channel)

    async def one() -> None:
        await publisher.publish(channel, PAYLOAD)
        while (await subscriber.get_message(timeout=5.0)) is None:
            pass

    try:
        return await timed(count, one)
    finally:
        await subscriber.aclose()
        await publisher.aclose()
        await listener.aclose()


class _Resp(asyncio.Protocol):
    """One bare Redis connection: replies and pushed messages parsed by hiredis, each handed
    to ``heard`` as it is read."""

    def __init__(self, heard: Callable[[object], None]) -> None:
        self._reader = hiredis.Reader()
        self._heard = heard
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            self._heard(reply)

    def send(self, *words: bytes) -> None:
        assert self.transport is not None
        head = b"*%d\r\n" % len(words)
        self.transport.write(head + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words))


async def lean_arm(url: str, count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    where = parse_url(url)
    host, port = str(where.get("host", "127.0.0.1")), int(where.get("port", 6379))
    channel = b"bench:lean:" + os.urandom(4).hex().encode()
    waiting: list[asyncio.Future[None]] = []

    def heard(reply: object) -> None:  # a message, or the subscription's confirmation
        if isinstance(reply, list) and reply[0] in (b"message", b"subscribe") and waiting:
            waiting.pop(0).set_result(None)

    _, subscriber = await loop.create_connection(lambda: _Resp(heard), host, port)
    _, publisher = await loop.create_connection(lambda: _Resp(lambda reply: None), host, port)
    waiting.append(loop.create_future())
    subscriber.send(b"SUBSCRIBE", channel)
    await waiting[0]

    async def one() -> None:
        arrived = loop.create_future()
        waiting.append(arrived)
        publisher.send(b"PUBLISH", channel, PAYLOAD)
        await asyncio.wait_for(arrived, 5.0)

    try:
        return await timed(count, one)
    finally:
        for side in (subscriber, publisher):
            if side.transport is not None:
                side.transport.close()


async def bus_arm(url: str, count: int) -> list[float]:
    keys = {"bench": os.urandom(32)}
    a = RedisBus.from_url(url, keys, prefix="bench:")
    b = RedisBus.from_url(url, keys, prefix="bench:")
    await a.start()
    await b.start()
    arrived: asyncio.Queue[Envelope] = asyncio.Queue()

    async def deliver(envelope: Envelope) -> None:
        arrived.put_nowait(envelope)

    channel = socket_channel(os.urandom(16).hex())
    await b.subscribe(channel, deliver)
    envelope = Envelope(frame=PAYLOAD)

    async def one() -> None:
        await a.publish(channel, envelope)
        await asyncio.wait_for(arrived.get(), 5.0)

    try:
        return await timed(count, one)
    finally:
        await a.close()
        await b.close()


#: the link's one channel (the associated data its envelopes are sealed to)
LINK_CHANNEL: Final = "link"


class _Link(asyncio.Protocol):
    """One end of a link between two nodes: sealed envelopes, each behind its length (4
    bytes), opened, checked for gaps and handed to ``heard`` as they are read."""

    def __init__(self, sealer: Sealer, heard: Callable[[Delivery], None]) -> None:
        self._sealer, self._heard = sealer, heard
        self._numbering, self._gaps = Numbering(), GapCheck()
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 4:
            end = 4 + int.from_bytes(self._buffer[:4], "big")
            if len(self._buffer) < end:
                return
            delivery = self._sealer.open(LINK_CHANNEL, bytes(self._buffer[4:end]))
            del self._buffer[:end]
            if self._gaps.see(LINK_CHANNEL, delivery)[0]:
                self._heard(delivery)

    def send(self, sender: str, envelope: Envelope) -> None:
        assert self.transport is not None
        number = self._numbering.next(LINK_CHANNEL)
        sealed = self._sealer.seal(LINK_CHANNEL, sender, number, envelope)
        self.transport.write(len(sealed).to_bytes(4, "big") + sealed)


async def link_peer(port: int, key: bytes) -> None:
    """The other node of the ``link`` arm (its own process): answers every envelope."""
    loop = asyncio.get_running_loop()
    link: _Link | None = None

    def heard(delivery: Delivery) -> None:
        assert link is not None
        link.send("peer", delivery.envelope)

    _, link = await loop.create_connection(
        lambda: _Link(Sealer({"bench": key}), heard), "127.0.0.1", port
    )
    await link.closed


async def link_arm(url: str, count: int) -> list[float]:
    loop = asyncio.get_running_loop()
    key = os.urandom(32)
    waiting: list[asyncio.Future[None]] = []
    connected: asyncio.Future[_Link] = loop.create_future()

    def heard(delivery: Delivery) -> None:
        waiting.pop(0).set_result(None)

    def made() -> _Link:
        link = _Link(Sealer({"bench": key}), heard)
        connected.set_result(link)
        return link

    server = await loop.create_server(made, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bus", "--link-peer", str(port), stdin=asyncio.subprocess.PIPE
    )
    assert peer.stdin is not None
    peer.stdin.write(key.hex().encode() + b"\n")  # not in its arguments, which ps shows
    peer.stdin.close()
    link = await asyncio.wait_for(connected, 30.0)
    envelope = Envelope(frame=PAYLOAD)

    async def one() -> None:
        arrived = loop.create_future()
        waiting.append(arrived)
        link.send("bench", envelope)
        await asyncio.wait_for(arrived, 5.0)

    try:
        return await timed(count, one)
    finally:
        if link.transport is not None:
            link.transport.close()
        server.close()
        await peer.wait()


async def run(url: str, messages: int, runs: int) -> str:
    arms = {"ping": ping_arm, "lean": lean_arm, "raw": raw_arm, "bus": bus_arm, "link": link_arm}
    p50: dict[str, list[float]] = {name: [] for name in arms}
    p99: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(runs):
        for name, arm in arms.items():
            samples = await arm(url, messages)
            p50[name].append(percentile(samples, 0.50))
            p99[name].append(percentile(samples, 0.99))
    median50 = {name: statistics.median(values) for name, values in p50.items()}
    median99 = {name: statistics.median(values) for name, values in p99.items()}
    load = os.getloadavg()[0]
    print(f"medians of {runs} runs × {messages} messages of {len(PAYLOAD)} bytes; load {load:.2f}")
    print(f"{'arm':6} {'p50 µs':>9} {'p99 µs':>9}")
    for name in arms:
        print(f"{name:6} {median50[name]:9.0f} {median99[name]:9.0f}")
    added = median50["bus"] - median50["raw"]
    ratio = added / median50["ping"]
    verdict = "met" if ratio <= TARGET_RATIO else "missed"
    hop = median50["link"] / 2
    hop_ratio = hop / median50["ping"]
    print(
        f"the bus adds {added:.0f} µs at p50 over raw pub/sub = {ratio:.2f}× one Redis round "
        f"trip (target ≤ {TARGET_RATIO}×: {verdict}); bus/raw p50 "
        f"{median50['bus'] / median50['raw']:.2f}×"
    )
    print(
        f"a sealed envelope over a link from node to node: {hop:.0f} µs one way (half its "
        f"p50 there and back) = {hop_ratio:.2f}× one Redis round trip"
    )
    return (
        f"RESULT ping_p50_us={median50['ping']:.0f} lean_p50_us={median50['lean']:.0f} "
        f"raw_p50_us={median50['raw']:.0f} "
        f"bus_p50_us={median50['bus']:.0f} bus_p99_us={median99['bus']:.0f} "
        f"added_p50_us={added:.0f} added_over_round_trip={ratio:.2f} "
        f"link_p50_us={median50['link']:.0f} link_hop_us={hop:.0f} "
        f"link_hop_over_round_trip={hop_ratio:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 messages, 1 run (smoke)")
    parser.add_argument("--link-peer", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.link_peer:  # the other node of the link arm; its key comes on stdin
        asyncio.run(link_peer(args.link_peer, bytes.fromhex(sys.stdin.readline())))
        return
    messages, runs = (200, 1) if args.quick else (args.messages, args.runs)
    print(asyncio.run(run(args.redis, messages, runs)))


if __name__ == "__main__":
    main()
