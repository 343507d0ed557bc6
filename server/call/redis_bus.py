"""The message bus between nodes, on Redis pub/sub (signaling.bus.MessageBus).

One Redis channel per bus channel (a socket session's digest, a room's), under a key prefix
so several deployments can share a Redis; no pattern subscriptions, which Redis matches
against every publish. Envelopes are sealed before they leave the node
(signaling/bus_wire.py): Redis, and whoever can read it, sees channel digests and ciphertext.

Publishing is pipelined: the envelopes published in one turn of the event loop go to Redis
in one round trip. Delivery is at most once, as the bus contract says; what can be lost is
noticed instead: each node numbers its envelopes per channel, and a receiver that sees a
number skip, or that lost its Redis connection (and so everything published meanwhile),
calls ``on_missed`` for the channels concerned, so their sockets resync. While Redis is
down, publishing drops with one warning and subscribing waits for the reconnect; nothing
raises into the caller.

Not yet wired into the application: rooms still live in one node's memory (issue 11).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.bus import Deliver, Envelope
from signaling.bus_wire import GapCheck, Numbering, Sealer
from signaling.errors import BusWireError

log = logging.getLogger("balie.bus")

Missed = Callable[[str], Awaitable[None]]
#: what a lost Redis connection raises in redis-py
_DOWN: Final = (RedisConnectionError, RedisTimeoutError, OSError)
#: reconnect back-off: first wait, cap, and the share of each wait that is random (so the
#: nodes of a cluster do not all knock at the same moment after a Redis restart)
BACKOFF_FIRST: Final = 0.1
BACKOFF_CAP: Final = 5.0
BACKOFF_JITTER: Final = 0.5
#: how long one read waits for a message before it looks at the subscriptions again
READ_WAIT: Final = 1.0


async def _nothing_missed(channel: str) -> None:
    return None


class RedisBus:
    """A :class:`signaling.bus.MessageBus` over Redis; one per node."""

    def __init__(
        self,
        redis: Redis,
        keys: Mapping[str, bytes],
        *,
        prefix: str = "balie:",
        on_missed: Missed = _nothing_missed,
    ) -> None:
        self._redis = redis
        self._sealer = Sealer(keys)
        self._prefix = prefix
        self._on_missed = on_missed
        #: this node's name on the bus: random, names no host
        self.node = secrets.token_hex(8)
        self._numbering = Numbering()
        self._gaps = GapCheck()
        self._delivers: dict[str, list[Deliver]] = {}
        self._outbox: list[tuple[str, bytes]] = []
        self._batch: asyncio.Future[None] | None = None
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        #: envelopes dropped because Redis was unreachable or they did not open
        self.dropped = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        keys: Mapping[str, bytes],
        *,
        prefix: str = "balie:",
        on_missed: Missed = _nothing_missed,
    ) -> RedisBus:
        """``redis://`` or ``rediss://`` (TLS), with ``user:password@`` for an ACL user."""
        return cls(Redis.from_url(url), keys, prefix=prefix, on_missed=on_missed)

    async def start(self) -> None:
        """Connect and start reading; returns once subscribed (or keeps trying meanwhile)."""
        self._reader = asyncio.create_task(self._read_forever(), name="bus-reader")
        await self._connected.wait()

    # --- MessageBus ------------------------------------------------------------------------

    async def publish(self, channel: str, envelope: Envelope) -> None:
        name = self._prefix + channel
        sealed = self._sealer.seal(name, self.node, self._numbering.next(name), envelope)
        self._outbox.append((name, sealed))
        if self._batch is None:
            loop = asyncio.get_running_loop()
            self._batch = loop.create_future()
            loop.call_soon(self._flush_soon)
        await asyncio.shield(self._batch)

    async def subscribe(self, channel: str, deliver: Deliver) -> _RedisSubscription:
        name = self._prefix + channel
        delivers = self._delivers.setdefault(name, [])
        delivers.append(deliver)
        if len(delivers) == 1 and self._pubsub is not None and self._connected.is_set():
            try:
                await self._pubsub.subscribe(name)
            except _DOWN:
                pass  # the reader reconnects and subscribes every channel again
        return _RedisSubscription(self, name, deliver)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self._redis.aclose()

    @property
    def channel_count(self) -> int:
        return len(self._delivers)

    # --- publishing ------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        batch, self._batch = self._batch, None
        outbox, self._outbox = self._outbox, []
        assert batch is not None
        task = asyncio.ensure_future(self._flush(outbox))
        task.add_done_callback(lambda _: batch.set_result(None))

    async def _flush(self, outbox: list[tuple[str, bytes]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, sealed in outbox:
                    # queued, not sent: a pipeline's commands return the pipeline
                    pipe.publish(name, sealed)  # type: ignore[unused-awaitable]
                await pipe.execute()
        except (*_DOWN, RedisError) as error:
            self.dropped += len(outbox)
            log.warning("bus: %d envelopes not published: %s", len(outbox), type(error).__name__)

    # --- receiving -------------------------------------------------------------------------

    async def _unsubscribe(self, name: str, deliver: Deliver) -> None:
        delivers = self._delivers.get(name)
        if not delivers or deliver not in delivers:
            return
        delivers.remove(deliver)
        if delivers:
            return
        del self._delivers[name]
        self._gaps.forget(name)
        self._numbering.forget(name)
        if self._pubsub is not None and self._connected.is_set():
            try:
                await self._pubsub.unsubscribe(name)
            except _DOWN:
                pass  # gone with the connection anyway

    async def _read_forever(self) -> None:
        wait = BACKOFF_FIRST
        first = True
        while True:
            try:
                await self._connect()
                if not first:
                    log.warning(
                        "bus: connected to Redis again; %d channels resync", len(self._delivers)
                    )
                    for name in list(self._delivers):
                        await self._on_missed(name.removeprefix(self._prefix))
                first, wait = False, BACKOFF_FIRST
                await self._read()
            except _DOWN as error:
                if self._connected.is_set() or first:
                    log.warning("bus: Redis unreachable (%s); reconnecting", type(error).__name__)
                self._connected.clear()
                first = False
                jitter = random.random()  # noqa: S311 -- spreads reconnects, guards nothing
                await asyncio.sleep(wait * (1 - BACKOFF_JITTER * jitter))
                wait = min(wait * 2, BACKOFF_CAP)

    async def _connect(self) -> None:
        if self._pubsub is not None:
            await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # a channel to hold the connection open even with nothing else subscribed
        await self._pubsub.subscribe(self._prefix + "node." + self.node, *self._delivers)
        self._connected.set()

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            message = await self._pubsub.get_message(timeout=READ_WAIT)
            if message is None or message.get("type") != "message":
                continue
            name = message["channel"].decode()
            delivers = self._delivers.get(name)
            if not delivers:
                continue
            try:
                delivery = self._sealer.open(name, message["data"])
            except BusWireError as error:
                self.dropped += 1
                log.warning("bus: dropped an envelope on a channel: %s", error.message)
                continue
            fresh, missed = self._gaps.see(name, delivery)
            if missed:
                log.warning("bus: envelopes missing on a channel; it resyncs")
                await self._on_missed(name.removeprefix(self._prefix))
            if fresh:
                for deliver in delivers[:]:  # a copy: a delivery may (un)subscribe
                    try:
                        await deliver(delivery.envelope)
                    except Exception:  # one socket's trouble must not stop the reader
                        log.exception("bus: a delivery failed")


class _RedisSubscription:
    def __init__(self, bus: RedisBus, name: str, deliver: Deliver) -> None:
        self._bus, self._name, self._deliver = bus, name, deliver

    async def cancel(self) -> None:
        await self._bus._unsubscribe(self._name, self._deliver)
