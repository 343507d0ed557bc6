"""Rate limits per client that hold for the whole deployment, not per node.

Behind a load balancer without sticky sessions a limit kept in one process's memory is
multiplied by the number of nodes: an attacker guessing staff passwords gets N times the
tries. With Redis (``BALIE_REDIS_URL``) the limit is one budget kept in Redis by a Lua
script, atomically and on Redis's clock (GCRA: the bucket is one timestamp per client, so
nodes with skewed clocks still agree). Without Redis it is the process's own token bucket,
as on the single node.

A client's address is personal data, so Redis keys name a keyed pseudonym of it (HMAC with
the cluster's bus key), never the address. If Redis does not answer, the node's own bucket
decides meanwhile: a limit that is only per node beats refusing every sign-in, and beats no
limit at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Final, Protocol

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.core.appkeys import CONFIG
from server.core.secrets import bus_keys
from signaling.ratelimit import TokenBucket

log = logging.getLogger("balie.limits")

#: bounded memory beats perfect accounting in a flood of addresses
MAX_LOCAL_CLIENTS: Final = 10_000

# GCRA: KEYS[1] holds the theoretical arrival time (ms) of the next request at the steady
# rate. A request is allowed while that time is at most `tolerance` ms ahead of now; each
# allowed one moves it on by `interval` ms. The key expires when the bucket is full again.
_GCRA: Final = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return 0 end
tat = tat + interval
redis.call('SET', KEYS[1], tat, 'PX', tat - now)
return 1
"""


class Limiter(Protocol):
    async def allow(self, client: str) -> bool:
        """Take one request from ``client``'s budget; False if it has none left."""
        ...


class LocalLimiter:
    """A token bucket per client in this process."""

    def __init__(
        self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    async def allow(self, client: str) -> bool:
        return self.allow_now(client)

    def allow_now(self, client: str) -> bool:
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_LOCAL_CLIENTS:
                self._buckets.clear()
            bucket = self._buckets[client] = TokenBucket(self.rate, self.burst, now)
        return bucket.allow(now)


class SharedLimiter:
    """One budget per client across every node, in Redis (see the module's docstring)."""

    def __init__(
        self,
        redis: Redis,
        *,
        name: str,
        burst: int,
        per_minute: float,
        key: bytes,
        prefix: str,
    ) -> None:
        self._redis = redis
        self._name = name
        self._key = key
        self._prefix = prefix
        self._interval_ms = round(60_000 / per_minute)
        self._tolerance_ms = self._interval_ms * (burst - 1)
        self._script = redis.register_script(_GCRA)
        self._local = LocalLimiter(burst, per_minute)
        self._redis_down = False

    @property
    def shared(self) -> bool:
        """False while Redis does not answer and this node's own budget decides."""
        return not self._redis_down

    def redis_key(self, client: str) -> str:
        digest = hmac.new(
            self._key, f"balie/limit/{self._name}/{client}".encode(), hashlib.sha256
        ).hexdigest()[:32]
        return f"{self._prefix}limit.{self._name}.{digest}"

    async def allow(self, client: str) -> bool:
        try:
            allowed = await self._script(
                keys=[self.redis_key(client)], args=[self._interval_ms, self._tolerance_ms]
            )
        except (RedisError, OSError) as error:
            if not self._redis_down:
                log.warning("%s limit kept per node: Redis does not answer (%s)", self._name, error)
            self._redis_down = True
            return self._local.allow_now(client)
        if self._redis_down:
            log.info("%s limit shared again through Redis", self._name)
            self._redis_down = False
        return bool(allowed)


#: the connection shared limits use; present only when Balie runs with Redis
LIMITS_REDIS = web.AppKey("limits_redis", Redis)


def limiter(app: web.Application, name: str, *, burst: int, per_minute: float) -> Limiter:
    """The limit called ``name``: shared through Redis when the deployment has it."""
    if LIMITS_REDIS not in app:
        return LocalLimiter(burst, per_minute)
    config = app[CONFIG]
    return SharedLimiter(
        app[LIMITS_REDIS],
        name=name,
        burst=burst,
        per_minute=per_minute,
        key=next(iter(bus_keys(config).values())),
        prefix=config.cluster.prefix,
    )


async def shared_limits(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the Redis connection of the shared limits, when Balie has Redis."""
    config = app[CONFIG]
    if not config.clustered:
        yield
        return
    redis = Redis.from_url(config.cluster.redis_url)
    app[LIMITS_REDIS] = redis
    try:
        yield
    finally:
        await redis.aclose()
