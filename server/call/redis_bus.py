# Longer than 500 lines: one ordered pipeline, its reader and what links bring in share the
# numbering, the gap check and the subscriptions; split, each half would reach into the other.
"""The message bus between nodes, on Redis pub/sub (signaling.bus.MessageBus).

One Redis channel per bus channel (a socket session's digest, a room's), under a key prefix
so several deployments can share a Redis; no pattern subscriptions, which Redis matches
against every publish. Envelopes are sealed before they leave the node
(signaling/bus_wire.py): Redis, and whoever can read it, sees channel digests and ciphertext.

Publishing is pipelined: what is published in one turn of the event loop goes to Redis in one
round trip, and the pipelines go one after the other, so everything a node publishes reaches
Redis in the order it was asked. A publish does not wait for Redis (a relayed message is on
its way while the next one is read) unless the node has :data:`HIGH_WATER` envelopes not yet
sent: then the publisher waits for Redis to catch up.

Delivery is at most once, as the bus contract says; what can be lost is noticed instead:
each node numbers its envelopes per channel, and a receiver that sees a number skip, or that
lost its Redis connection (and so everything published meanwhile), calls ``on_missed`` for
the channels concerned, so their sockets resync. While Redis is
down, publishing drops with one warning and subscribing waits for the reconnect; nothing
raises into the caller.

With links (``server/call/node_link.py``), an envelope whose node is known (a socket's, a
room home's) goes straight there instead, numbered and sealed the same way; Redis carries
the rest, and everything while a link is not open.

Beside pub/sub the bus keeps the few values a cluster shares (a room's state, written by its
home: ``server/call/homes.py``), sealed the same way and written through the same pipeline, so
a value and the envelopes published after it reach Redis in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.call.node_link import NodeLinks
from signaling.bus import Deliver, Envelope
from signaling.bus_wire import GapCheck, Numbering, Sealer
from signaling.errors import BusUnavailable, BusWireError

log = logging.getLogger("balie.bus")

Missed = Callable[[str], Awaitable[None]]
#: what a lost Redis connection raises in redis-py
_DOWN: Final = (RedisConnectionError, RedisTimeoutError, OSError)
#: reconnect back-off: first wait, cap, and the share of each wait that is random (so the
#: nodes of a cluster do not all knock at the same moment after a Redis restart)
BACKOFF_FIRST: Final = 0.1
BACKOFF_CAP: Final = 5.0
BACKOFF_JITTER: Final = 0.5
#: a key that lives as long as Redis keeps its data: a node that connects again and finds it
#: gone knows Redis restarted empty, and with it every room's home and written state
KEPT: Final = "kept"
#: while this key lives, no node claims a room without a home (``server/call/homes.py``):
#: the homes still holding their rooms in memory may not be back on Redis yet
RECOVERING: Final = "recovering"
#: long enough for every node to reconnect (it waits at most BACKOFF_CAP between attempts)
#: and renew its leases (once a second) after the first one noticed the loss
RECOVERY_MS: Final = int(BACKOFF_CAP * 1000) + 5_000
#: how long closing the bus waits for its Redis connections to close
SHUTDOWN_WAIT: Final = 5.0
#: how long :meth:`RedisBus.quiesce` waits for Redis to confirm it stopped sending a channel
QUIESCE_WAIT: Final = 2.0
#: envelopes waiting for Redis above which a publisher waits for them to be sent
HIGH_WATER: Final = 1_000

#: how many channels' nodes the bus remembers for counted publishes (:meth:`publish_counted`)
ROUTES_KEPT: Final = 10_000

#: one command waiting for the pipeline: (command, key or channel, sealed value, expiry in ms)
_Item = tuple[str, str, bytes, int]


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
        #: commands for the next pipeline, in the order they were asked
        self._outbox: list[_Item] = []
        #: Redis's replies to the next pipeline, one per command in the outbox (None if the
        #: pipeline failed)
        self._batch: asyncio.Future[list[object] | None] | None = None
        self._flushing = asyncio.Lock()
        #: commands handed to a pipeline and not yet answered by Redis
        self._unsent = 0
        #: the connection the pipelines go over (made at the first)
        self._publisher: AbstractConnection | None = None
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        #: envelopes dropped because Redis was unreachable or they did not open
        self.dropped = 0
        #: this bus was connected once: a connection now is a reconnect
        self._was_connected = False
        #: closed: pipelines made from now on are dropped instead of connecting again
        self._closed = False
        #: links to the other nodes, if this node makes them (:meth:`use_links`)
        self.links: NodeLinks | None = None
        #: channels being quiesced: a link says nobody listens there any more
        self._quiet: set[str] = set()
        #: per channel, the node that listens there as last learned (a room's home), for
        #: counted publishes over links; forgotten when a link says nobody listens there
        self._routes: dict[str, str] = {}

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

    def use_links(self, listen: tuple[str, int], advertise: str = "") -> NodeLinks:
        """Send to the other nodes over links where it can (before :meth:`start`)."""
        self.links = NodeLinks(
            node=self.node,
            sealer=self._sealer,
            redis=self._redis,
            prefix=self._prefix,
            listen=listen,
            advertise=advertise,
            receiver=self,
            ready=self.barrier,
        )
        return self.links

    async def start(self) -> None:
        """Connect and start reading; returns once subscribed (or keeps trying meanwhile)."""
        self._reader = asyncio.create_task(self._read_forever(), name="bus-reader")
        await self._connected.wait()
        if self.links is not None:
            await self.links.start()

    # --- MessageBus ------------------------------------------------------------------------

    async def publish(self, channel: str, envelope: Envelope, *, node: str | None = None) -> None:
        """Publish; over the link to ``node`` (the one that listens there) if one is open."""
        name = self._prefix + channel
        sealed = self._sealer.seal(name, self.node, self._numbering.next(name), envelope)
        if node is not None and self.links is not None and self.links.send(node, name, sealed):
            await self.links.writable(node)  # as for Redis: a node falling behind holds back
            return
        batch, _ = self._queue("publish", name, sealed, 0)
        if self._unsent + len(self._outbox) > HIGH_WATER:
            await asyncio.shield(batch)

    def _queue(
        self, command: str, name: str, data: bytes, expiry_ms: int
    ) -> tuple[asyncio.Future[list[object] | None], int]:
        """Add a command to the next pipeline: the future of that pipeline's replies, and
        where this command's reply is among them."""
        self._outbox.append((command, name, data, expiry_ms))
        if self._batch is None:
            loop = asyncio.get_running_loop()
            self._batch = loop.create_future()
            loop.call_soon(self._flush_soon)
        return self._batch, len(self._outbox) - 1

    async def publish_counted(
        self, channel: str, envelope: Envelope, *, node: str | None = None
    ) -> int:
        """Publish, in order with everything else this node publishes, and say how many
        subscribers got it (0: no node listens there). Raises :class:`BusUnavailable` while
        Redis is down.

        With links, over the link to ``node`` (or to the node that heard the last one on
        this channel) if one is open and someone listens there; otherwise through Redis, the
        same sealed envelope, so a node that got it both ways drops the second."""
        name = self._prefix + channel
        sealed = self._sealer.seal(name, self.node, self._numbering.next(name), envelope)
        if self.links is not None:
            node = node or self._routes.get(name)
            if node is not None and node != self.node:
                heard = await self.links.ask(node, name, sealed)
                if heard == 0:
                    self._routes.pop(name, None)  # it moved: Redis finds where
                else:
                    self._remember(name, node)  # heard, or asked again once a link is open
                    if heard:
                        return heard
        batch, index = self._queue("publish", name, sealed, 0)
        replies = await asyncio.shield(batch)
        if replies is None:
            raise BusUnavailable("the message did not reach Redis")
        reply = replies[index]
        if not isinstance(reply, int):  # an error Redis answered for this command alone
            raise BusUnavailable(type(reply).__name__)
        return reply

    def routed(self, channel: str) -> bool:
        """Whether a counted publish on ``channel`` knows which node to ask first."""
        return self._prefix + channel in self._routes

    def _remember(self, name: str, node: str) -> None:
        if name not in self._routes and len(self._routes) >= ROUTES_KEPT:
            del self._routes[next(iter(self._routes))]  # the oldest
        self._routes[name] = node

    # --- shared values ---------------------------------------------------------------------

    def put(self, key: str, value: bytes | None, expiry_ms: int) -> Awaitable[object]:
        """Keep ``value`` (sealed) under ``key`` for ``expiry_ms``, or delete it (None), in the
        pipeline's order; the future is done once Redis has it (or the write was dropped)."""
        name = self._prefix + key
        if value is None:
            return self._queue("delete", name, b"", 0)[0]
        sealed = self._sealer.seal(name, self.node, 0, Envelope(frame=value))
        return self._queue("set", name, sealed, expiry_ms)[0]

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``; raises :class:`BusUnavailable` while Redis is down and
        :class:`BusWireError` for a value that does not open."""
        name = self._prefix + key
        try:
            data = await self._redis.get(name)
        except (*_DOWN, RedisError) as error:
            raise BusUnavailable(type(error).__name__) from None
        if not isinstance(data, bytes):
            return None
        return self._sealer.open(name, data).envelope.frame or b""

    async def barrier(self) -> None:
        """Return once everything queued before has gone to Redis (or was dropped)."""
        await asyncio.shield(self._queue("barrier", "", b"", 0)[0])

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def connected(self) -> bool:
        """Subscribed on Redis now: what is published to this node's channels reaches it."""
        return self._connected.is_set()

    async def subscribe(self, channel: str, deliver: Deliver) -> _RedisSubscription:
        name = self._prefix + channel
        delivers = self._delivers.setdefault(name, [])
        delivers.append(deliver)
        if len(delivers) == 1:
            self._quiet.discard(name)
        if len(delivers) == 1 and self._pubsub is not None and self._connected.is_set():
            try:
                await self._pubsub.subscribe(name)
            except _DOWN:
                pass  # the reader reconnects and subscribes every channel again
        return _RedisSubscription(self, name, deliver)

    async def quiesce(self, channel: str) -> None:
        """Stop listening on ``channel`` at Redis while still delivering what was published
        there before; return once Redis confirmed it (all that came before the confirmation
        has been delivered by then), or at once while Redis is unreachable. The
        subscription's ``cancel`` still ends it here.

        Without this, envelopes published between the local cancel and Redis taking the
        unsubscribe in would be counted as heard (:meth:`publish_counted`) and dropped."""
        name = self._prefix + channel
        if name not in self._delivers:
            return
        self._quiet.add(name)
        if self.links is not None:  # what links brought in before is taken in first
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUIESCE_WAIT):
                    await self.links.drained()
        pubsub = self._pubsub
        if pubsub is None or not self._connected.is_set():
            return
        try:
            await pubsub.unsubscribe(name)
        except _DOWN:
            return  # gone with the connection anyway
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QUIESCE_WAIT
        # the reader removes the name when it reads Redis's confirmation
        while name.encode() in pubsub.pending_unsubscribe_channels:
            if pubsub is not self._pubsub or not self._connected.is_set():
                return  # reconnected meanwhile: nothing more comes from the old connection
            if loop.time() > deadline:
                log.warning("bus: Redis did not confirm an unsubscribe in time")
                return
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Send what was published before (a stopping node's last word to its sockets,
        say), then close every connection; what is published afterwards is dropped."""
        # bounded: redis-py finishes a connection's teardown even when cancelled, and a
        # teardown stuck behind a connection that Redis dropped must not keep the node from
        # exiting
        try:
            async with asyncio.timeout(SHUTDOWN_WAIT):
                if self.links is not None:
                    await self.links.close()
                if self._reader is not None:
                    self._reader.cancel()
                    await asyncio.gather(self._reader, return_exceptions=True)
                if self._pubsub is not None:
                    await self._pubsub.aclose()
                # after every pipeline made before (they go in order); a pipeline still on
                # its way would otherwise connect the publisher again after it was closed,
                # and leave that connection open
                await self.barrier()
                async with self._flushing:
                    self._closed = True
                    if self._publisher is not None:
                        await self._publisher.disconnect()
                await self._redis.aclose()
        except TimeoutError:
            self._closed = True
            log.warning(
                "bus: Redis connections did not close within %g s; leaving them", SHUTDOWN_WAIT
            )

    @property
    def channel_count(self) -> int:
        return len(self._delivers)

    # --- publishing ------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        batch, self._batch = self._batch, None
        outbox, self._outbox = self._outbox, []
        assert batch is not None
        self._unsent += len(outbox)
        task = asyncio.ensure_future(self._flush(outbox))

        def done(task: asyncio.Task[list[object] | None]) -> None:
            self._unsent -= len(outbox)
            failed = task.cancelled() or task.exception() is not None
            if failed and not task.cancelled():
                log.error("bus: a pipeline failed", exc_info=task.exception())
            batch.set_result(None if failed else task.result())

        task.add_done_callback(done)

    async def _flush(self, outbox: list[_Item]) -> list[object] | None:
        # one pipeline at a time, in the order they were made: two pipelines on two pooled
        # connections could overtake each other, and a receiver would drop the earlier
        # numbers as duplicates
        async with self._flushing:
            return await self._flush_in_order(outbox)

    async def _flush_in_order(self, outbox: list[_Item]) -> list[object] | None:
        """Send the outbox in one pipeline; Redis's replies, one per item (None for a
        barrier), or None if Redis could not be reached."""
        commands: list[tuple[str | bytes | int, ...]] = []
        for command, name, data, expiry_ms in outbox:
            if command == "publish":
                commands.append(("PUBLISH", name, data))
            elif command == "set":
                commands.append(("SET", name, data, "PX", expiry_ms))
            elif command == "delete":
                commands.append(("DEL", name))
        if not commands:
            return [None] * len(outbox)
        if self._closed:
            self.dropped += len(commands)
            return None
        # A connection of its own rather than a pipeline from the pool: a relayed message
        # is often alone in its pipeline, and the pool's borrowing and returning cost more
        # CPU than sending it (bench/relay.py, cross-node arm).
        if self._publisher is None:
            self._publisher = self._redis.connection_pool.make_connection()  # type: ignore[no-untyped-call]
        connection = self._publisher
        try:
            # connects again first if the connection was lost
            await connection.send_packed_command(
                connection.pack_commands(commands), check_health=False
            )
            replies: list[object] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as refused:  # this command alone; the rest go on
                    replies.append(refused)
        except (*_DOWN, RedisError) as error:
            await connection.disconnect()
            self.dropped += len(commands)
            log.warning("bus: %d envelopes not published: %s", len(commands), type(error).__name__)
            return None
        answers = iter(replies)
        return [None if item[0] == "barrier" else next(answers) for item in outbox]

    # --- receiving -------------------------------------------------------------------------

    async def _unsubscribe(self, name: str, deliver: Deliver) -> None:
        delivers = self._delivers.get(name)
        if not delivers or deliver not in delivers:
            return
        delivers.remove(deliver)
        if delivers:
            return
        del self._delivers[name]
        self._quiet.discard(name)
        self._gaps.forget(name)
        # the numbering of what this node publishes there stays: a node
        # that stops listening on a room's channel (a claim that failed, a home given up) may
        # publish there again, and the listeners still remember the last number it used;
        # starting again from 1 would have every envelope dropped as a duplicate
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
                await self._notice_lost_data()
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

    async def _notice_lost_data(self) -> None:
        """On a reconnect, see whether Redis kept its data; if it restarted empty, hold off
        claims of homeless rooms (:data:`RECOVERING`) so each home that is still alive can
        claim its rooms again first, instead of another node starting them afresh."""
        reconnected, self._was_connected = self._was_connected, True
        try:
            fresh = await self._redis.set(self._prefix + KEPT, b"1", nx=True)
            if fresh and reconnected:
                log.warning("bus: Redis lost its data; homes claim their rooms again first")
                await self._redis.set(
                    self._prefix + RECOVERING, self.node.encode(), nx=True, px=RECOVERY_MS
                )
        except _DOWN:
            raise  # the reader connects again, and looks again
        except RedisError as error:  # a refusal (an ACL, say): claims go on as before
            log.warning("bus: could not see whether Redis kept its data: %s", type(error).__name__)

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            # blocking, without a timeout: a read with one costs a timer per message, and a
            # lost connection ends the read anyway
            message = await self._pubsub.get_message(timeout=None)
            if message is None or message.get("type") != "message":
                continue
            await self.take(message["channel"].decode(), message["data"])

    # --- what links bring in (server/call/node_link.py) ------------------------------------

    def listening(self, name: str) -> bool:
        """Someone listens on ``name`` here, and it is not being quiesced."""
        return name in self._delivers and name not in self._quiet

    async def take(self, name: str, data: bytes) -> None:
        """One sealed envelope on ``name``, from Redis or a link: open it, check its number,
        deliver it."""
        delivers = self._delivers.get(name)
        if not delivers:
            return
        try:
            delivery = self._sealer.open(name, data)
        except BusWireError as error:
            self.dropped += 1
            log.warning("bus: dropped an envelope on a channel: %s", error.message)
            return
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
