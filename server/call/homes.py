"""Where each room lives when Balie runs on several nodes: its home, found through Redis.

A room's state machine (``signaling/room.py``) runs on one node at a time, the room's
*home*; sockets may be on any node. The home is whoever holds the room's lease in Redis
(``SET NX`` with an expiry it renews), listens on the room's bus channel for commands from
the other nodes (``signaling/home_wire.py``), and writes the room down after every change
(``signaling/room_state.py``, sealed like every envelope) so that another node can carry on
when it stops or dies:

- a node that stops gives its rooms up: written down, lease deleted; the next command
  for one of them finds no home, claims it and reads it back;
- a node that dies leaves leases behind, but its bus connection is gone with it; a node
  whose command reached no listener sees that the holder is no longer on the bus
  (``PUBSUB NUMSUB`` of the holder's own channel) and takes the lease over;
- after a Redis restart (everything in it lost), each home claims its rooms again and
  writes them down anew at the next renewal once it listens again; meanwhile no node claims
  a room without a home (``RECOVERING`` in ``server/call/redis_bus.py``), or a node back on
  Redis before the room's home would start the room afresh and the home would then let go.

Redis keys and channels carry a digest of the room id, never the id itself.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Final, Protocol

from redis.exceptions import RedisError

from server.call.redis_bus import _DOWN, RECOVERING, RedisBus
from signaling.bus import Deliver, Envelope, Subscription
from signaling.errors import BusUnavailable

log = logging.getLogger("balie.homes")

#: how long a lease lasts without renewal; a home renews every reap (about once a second)
LEASE_MS: Final = 5_000
#: how long a room's written state is kept: an open room for a working day without any
#: change, an ended one as long as a late join must still learn that it ended
OPEN_STATE_MS: Final = 12 * 3600 * 1000
ENDED_STATE_MS: Final = 24 * 3600 * 1000

# Compare-and-set on a lease: only its holder renews or deletes it, and only a node that
# saw the holder gone takes it over.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 2 or 0
"""
_CLAIM: Final = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_TAKE_OVER: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


class Homes(Protocol):
    """What the hub needs to know and do about homes (:class:`RedisHomes`)."""

    @property
    def node(self) -> str: ...

    def holds(self, room_id: str) -> bool: ...

    async def forward(self, room_id: str, command: bytes) -> bool: ...

    async def claim(self, room_id: str, on_command: Deliver) -> bool: ...

    async def take_over(self, room_id: str, on_command: Deliver) -> str | None: ...

    def save(self, room_id: str, state: bytes | None, *, ended: bool) -> None: ...

    async def load(self, room_id: str) -> bytes | None: ...

    async def quiet(self, room_id: str) -> None: ...

    async def release(self, room_id: str) -> None: ...

    async def renew(self) -> tuple[list[str], list[str]]: ...

    async def gone(self, nodes: set[str]) -> set[str]: ...


def _digest(room_id: str) -> str:
    return hashlib.blake2b(room_id.encode(), digest_size=16).hexdigest()


class RedisHomes:
    """Leases, commands and written rooms on Redis, through this node's :class:`RedisBus`."""

    def __init__(self, bus: RedisBus) -> None:
        self._bus = bus
        self._redis = bus.redis
        self._here: dict[str, Subscription] = {}
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._take_over = self._redis.register_script(_TAKE_OVER)

    @property
    def node(self) -> str:
        return self._bus.node

    def holds(self, room_id: str) -> bool:
        return room_id in self._here

    @property
    def rooms(self) -> list[str]:
        return list(self._here)

    def _lease(self, room_id: str) -> str:
        return f"{self._bus.prefix}home.{_digest(room_id)}"

    async def forward(self, room_id: str, command: bytes) -> bool:
        """Send a command to the room's home; False if no node listens for the room."""
        channel = "room." + _digest(room_id)
        node = None
        if self._bus.links is not None and not self._bus.routed(channel):
            node = await self._holder(room_id)  # once; the bus remembers where it heard
        return await self._bus.publish_counted(channel, Envelope(frame=command), node=node) > 0

    async def _holder(self, room_id: str) -> str | None:
        """The node holding the room's lease, if any; None also while Redis is away (the
        publish that follows says so)."""
        try:
            holder = await self._redis.get(self._lease(room_id))
        except (*_DOWN, RedisError):
            return None
        return holder.decode() if isinstance(holder, bytes) else None

    async def claim(self, room_id: str, on_command: Deliver) -> bool:
        """Become the room's home if it has none; listening first, so no command that
        follows the claim can miss us. Not while Redis recovers from losing its data: the
        room's home may be alive and about to claim it again."""
        subscription = await self._bus.subscribe("room." + _digest(room_id), on_command)
        try:
            claimed = await self._claim(
                keys=[self._lease(room_id), self._bus.prefix + RECOVERING],
                args=[self.node, LEASE_MS],
            )
        except (*_DOWN, RedisError) as error:
            await subscription.cancel()
            raise BusUnavailable(type(error).__name__) from None
        if not claimed:
            await subscription.cancel()
            return False
        self._here[room_id] = subscription
        return True

    async def take_over(self, room_id: str, on_command: Deliver) -> str | None:
        """Take the room from a home that is no longer on the bus; the node it was taken
        from, or None if its home is alive (stopping, say) or the lease moved meanwhile."""
        lease = self._lease(room_id)
        try:
            holder = await self._redis.get(lease)
            if not isinstance(holder, bytes):
                return None  # released meanwhile: the caller claims it afresh
            holder_node = holder.decode()
            if holder_node != self.node and await self.gone({holder_node}) != {holder_node}:
                return None
            subscription = await self._bus.subscribe("room." + _digest(room_id), on_command)
            taken = await self._take_over(keys=[lease], args=[holder, self.node, LEASE_MS])
        except (*_DOWN, RedisError) as error:
            raise BusUnavailable(type(error).__name__) from None
        if not taken:
            await subscription.cancel()
            return None
        self._here[room_id] = subscription
        log.warning("took over a room whose home left the bus")
        return holder_node

    def save(self, room_id: str, state: bytes | None, *, ended: bool) -> None:
        """Write the room down (None: it emptied, forget it), in order with what this node
        publishes after it."""
        expiry = ENDED_STATE_MS if ended else OPEN_STATE_MS
        self._bus.put("state." + _digest(room_id), state, expiry)  # type: ignore[unused-awaitable]

    async def load(self, room_id: str) -> bytes | None:
        return await self._bus.get("state." + _digest(room_id))

    async def quiet(self, room_id: str) -> None:
        """Stop hearing the room's commands, once every command sent before has been heard
        (and applied): what a home that gives the room up writes down then has them all, and
        a command sent after finds no listener and waits for the next home."""
        if room_id in self._here:
            await self._bus.quiesce("room." + _digest(room_id))

    async def release(self, room_id: str) -> None:
        """Stop being the room's home once what it wrote is in Redis."""
        subscription = self._here.pop(room_id, None)
        if subscription is None:
            return
        await subscription.cancel()
        await self._bus.barrier()
        try:
            await self._release(keys=[self._lease(room_id)], args=[self.node])
        except (*_DOWN, RedisError):
            pass  # the lease runs out by itself

    async def renew(self) -> tuple[list[str], list[str]]:
        """Renew every lease this node holds: (rooms claimed again because their lease was
        gone, e.g. after a Redis restart, so they must be written down again; rooms another
        node holds now, which this node must give up)."""
        rooms = list(self._here)
        if not rooms or not self._bus.connected:
            # a home that does not listen must not (re)claim: the other nodes would see it
            # off the bus, holding a lease, and take its rooms over while it carries on
            return [], []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for room_id in rooms:
                    await self._renew(
                        keys=[self._lease(room_id)], args=[self.node, LEASE_MS], client=pipe
                    )
                results = await pipe.execute()
        except (*_DOWN, RedisError) as error:
            log.warning("homes: leases not renewed: %s", type(error).__name__)
            return [], []
        again = [room for room, result in zip(rooms, results, strict=True) if result == 2]
        lost = [room for room, result in zip(rooms, results, strict=True) if result == 0]
        for room_id in lost:
            subscription = self._here.pop(room_id)
            await subscription.cancel()
        return again, lost

    async def gone(self, nodes: set[str]) -> set[str]:
        """The nodes among ``nodes`` that are no longer on the bus."""
        if not nodes:
            return set()
        ordered = sorted(nodes)
        channels = [f"{self._bus.prefix}node.{node}" for node in ordered]
        counts = await self._redis.pubsub_numsub(*channels)
        return {node for node, (_, count) in zip(ordered, counts, strict=True) if not count}
