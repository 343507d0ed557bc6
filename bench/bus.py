"""What the Redis bus adds to a message between two nodes, next to Redis itself.

Four arms on the same Redis, in the same run, one message at a time (publish, then wait
until the other side has it), ``--messages`` each with a chat-sized payload:

- ``ping``: one Redis round trip (PING), the floor of anything that goes through Redis;
- ``lean``: PUBLISH and SUBSCRIBE spoken over two bare asyncio protocols with hiredis parsing
  the replies, no client library's layers (no pool, retries, timeouts or per-message
  coroutines): what pub/sub costs from Python at the least, the floor a client written for
  the bus alone could reach;
- ``raw``: redis-py PUBLISH on one connection, a plain subscriber on another (the peer:
  pub/sub with nothing of ours);
- ``bus``: :class:`server.call.redis_bus.RedisBus` on both sides (sealing, numbering,
  pipelining, the gap check, opening).

Reports p50 and p99 per arm, the bus's added p50 over ``raw`` and its ratio to one Redis
round trip (target from issue 11: added p50 at most 1.5× a round trip). Medians over
``--runs``; the machine is shared, so the load average is printed. Run::

    .venv/bin/python -m bench.bus [--redis redis://127.0.0.1:6379/0] [--quick]

The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Final

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import parse_url

from bench._stats import percentile
from server.call.redis_bus import RedisBus
from signaling.bus import Envelope, socket_channel

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


async def run(url: str, messages: int, runs: int) -> str:
    arms = {"ping": ping_arm, "lean": lean_arm, "raw": raw_arm, "bus": bus_arm}
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
    print(
        f"the bus adds {added:.0f} µs at p50 over raw pub/sub = {ratio:.2f}× one Redis round "
        f"trip (target ≤ {TARGET_RATIO}×: {verdict}); bus/raw p50 "
        f"{median50['bus'] / median50['raw']:.2f}×"
    )
    return (
        f"RESULT ping_p50_us={median50['ping']:.0f} lean_p50_us={median50['lean']:.0f} "
        f"raw_p50_us={median50['raw']:.0f} "
        f"bus_p50_us={median50['bus']:.0f} bus_p99_us={median99['bus']:.0f} "
        f"added_p50_us={added:.0f} added_over_round_trip={ratio:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="200 messages, 1 run (smoke)")
    args = parser.parse_args()
    messages, runs = (200, 1) if args.quick else (args.messages, args.runs)
    print(asyncio.run(run(args.redis, messages, runs)))


if __name__ == "__main__":
    main()
