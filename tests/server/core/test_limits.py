"""Rate limits shared by the nodes through Redis (server/core/limits.py), on a real private
redis-server: one budget per client whatever node answers, no client address in Redis, and
each node's own limit while Redis is away."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.core.limits import LocalLimiter, SharedLimiter
from tests.redis_server import RedisServer

CLIENT = "203.0.113.7"  # documentation address (RFC 5737)
KEY = os.urandom(32)


@pytest.fixture
async def connections(redis: RedisServer) -> AsyncIterator[tuple[Redis, Redis]]:
    """One connection per node."""
    first, second = Redis.from_url(redis.url), Redis.from_url(redis.url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


def node(redis: Redis, burst: int = 3, per_minute: float = 1) -> SharedLimiter:
    return SharedLimiter(
        redis, name="sign-in", burst=burst, per_minute=per_minute, key=KEY, prefix="t:"
    )


async def test_two_nodes_share_one_budget_per_client(connections: tuple[Redis, Redis]) -> None:
    a, b = node(connections[0]), node(connections[1])
    answers = [await (a if i % 2 else b).allow(CLIENT) for i in range(6)]
    # per node this would be 3 + 3; shared it is the burst of 3
    assert answers == [True, True, True, False, False, False]
    # another client has a budget of its own
    assert await b.allow("203.0.113.8")


async def test_the_budget_refills_at_the_configured_rate(
    connections: tuple[Redis, Redis],
) -> None:
    fast = node(connections[0], burst=1, per_minute=600)  # one every 100 ms
    assert await fast.allow(CLIENT)
    assert not await fast.allow(CLIENT)
    # the key expires when the bucket is full again: nothing is kept longer than needed
    ttl = await connections[0].pttl(fast.redis_key(CLIENT))
    assert 0 < ttl <= 100


async def test_redis_holds_a_pseudonym_not_the_address(
    connections: tuple[Redis, Redis],
) -> None:
    limiter = node(connections[0])
    await limiter.allow(CLIENT)
    keys = [
        key.decode() if isinstance(key, bytes) else key for key in await connections[0].keys("*")
    ]
    assert keys == [limiter.redis_key(CLIENT)]
    assert CLIENT not in keys[0] and CLIENT.replace(".", "") not in keys[0]
    # keyed: another deployment (another key) cannot link the two
    other = SharedLimiter(
        connections[0], name="sign-in", burst=3, per_minute=1, key=os.urandom(32), prefix="t:"
    )
    assert other.redis_key(CLIENT) != limiter.redis_key(CLIENT)


async def test_without_redis_each_node_limits_on_its_own_and_says_so_once(
    connections: tuple[Redis, Redis], redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = node(connections[0], burst=2)
    redis.stop()
    with caplog.at_level(logging.WARNING, logger="balie.limits"):
        answers = [await limiter.allow(CLIENT) for _ in range(3)]
    assert answers == [True, True, False]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "per node" in warnings[0].getMessage()
    assert CLIENT not in caplog.text
    redis.start()
    # back on the shared budget (a fresh Redis: a full one)
    assert await limiter.allow(CLIENT)
    assert await connections[0].exists(limiter.redis_key(CLIENT))


async def test_the_local_limiter_keeps_a_bucket_per_client() -> None:
    now = [0.0]
    limiter = LocalLimiter(burst=1, per_minute=60, clock=lambda: now[0])
    assert await limiter.allow(CLIENT)
    assert not await limiter.allow(CLIENT)
    assert await limiter.allow("203.0.113.8")
    now[0] = 1.0
    assert await limiter.allow(CLIENT)
