"""Redis alone, beside bench/relay.py's cross-node arm and on the same Redis: the PUBLISH
ceiling (``redis-benchmark`` at the workload's mean message size and one client per socket),
one round trip (PING from redis-py and from ``redis-benchmark``) and the raw pub/sub floor
(one message at a time from redis-py to redis-py)."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Final

from redis.asyncio import Redis

from bench import _servers
from bench._servers import Cluster
from bench._stats import medians_of, percentile
from bench._workload import build_templates

_PING_COUNT: Final = 2000
_CEILING_CHANNEL: Final = "bench:ceiling"
_PUBSUB_CHANNEL: Final = "bench:pubsub"
#: a deadline for the pub/sub floor: a lost message would hang the run
_PUBSUB_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class RedisSample:
    """Redis alone, next to the cross-node arm at one N: the PUBLISH ceiling, one round trip."""

    pairs: int
    publish_per_s: float
    publish_p50_ms: float
    publish_p99_ms: float
    rtt_ms: float  # redis-py PING p50
    rtt_c_ms: float  # redis-benchmark PING p50
    #: redis-py PUBLISH until a redis-py subscriber has it, one at a time, p50: the floor
    pubsub_p50_ms: float
    #: what the cross-node arm sent Redis per message it relayed in its window: bytes,
    #: PUBLISHes (1 through Redis alone, about 0 over links), SETs. The counts span the whole
    #: sample, joins and warm-up included, so they overstate a message's share somewhat.
    in_bytes_per_msg: float = 0.0
    publishes_per_msg: float = 0.0
    sets_per_msg: float = 0.0


def mean_message_bytes() -> int:
    """The mean size of the workload's messages (offer, answer, 5 + 5 candidates)."""
    peer = "p_" + "x" * 22  # as long as Balie's participant ids
    offer, candidates_a = build_templates("balie", peer, 1, "offer")
    answer, candidates_b = build_templates("balie", peer, 2, "answer")
    now = time.perf_counter_ns()
    templates = (offer, answer, *candidates_a, *candidates_b)
    return round(statistics.mean(len(t.render(now)) for t in templates))


async def _redis_benchmark(
    pin: list[str], port: int, clients: int, requests: int, *args: str
) -> dict[str, str]:
    """One ``redis-benchmark`` run (pinned like the load generators): its CSV row."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise RuntimeError("the cross-node arm needs redis-benchmark (apt-get install redis-tools)")
    cmd = [binary, "-h", _servers.HOST, "-p", str(port), "-c", str(clients), "-n", str(requests)]
    proc = await asyncio.create_subprocess_exec(
        *pin,
        *cmd,
        "--csv",
        "--precision",
        "3",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    if proc.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed ({proc.returncode}): {err.decode()[-500:]}")
    return rows[0]


async def _p50_ms(one: Callable[[], Awaitable[object]]) -> float:
    """p50 in ms of ``_PING_COUNT`` calls of ``one``, one at a time, after 100 to warm up."""
    samples = []
    for i in range(_PING_COUNT + 100):
        started = time.perf_counter_ns()
        await one()
        if i >= 100:
            samples.append((time.perf_counter_ns() - started) / 1e6)
    return percentile(samples, 0.5)


async def _python_rtt_ms(url: str) -> float:
    """p50 of one PING from redis-py, after a warm-up."""
    client = Redis.from_url(url)
    try:
        return await _p50_ms(client.ping)
    finally:
        await client.aclose()


async def _pubsub_p50_ms(url: str) -> float:
    """p50 of one message of the workload's mean size through Redis with redis-py: PUBLISH on
    one connection until a PubSub on another has it (what a node's bus does at the least)."""
    publisher, listener = Redis.from_url(url), Redis.from_url(url)
    subscriber = listener.pubsub()
    payload = b"x" * mean_message_bytes()

    async def one() -> None:
        await publisher.publish(_PUBSUB_CHANNEL, payload)
        await subscriber.get_message(timeout=None)

    try:
        await subscriber.subscribe(_PUBSUB_CHANNEL)
        # Wait for the confirmation: a PUBLISH before it would reach no one and hang the loop.
        await subscriber.get_message(timeout=None)
        return await _p50_ms(one)
    finally:
        await subscriber.aclose()
        await publisher.aclose()
        await listener.aclose()


async def redis_sample(
    cluster: Cluster,
    pairs: int,
    counted: tuple[int, int, int, int],
    *,
    pin: list[str],
    requests_per_client: int,
) -> RedisSample:
    """PUBLISH at the workload's mean message size, one client per socket, to a channel with a
    subscriber (redis-cli, as each node subscribes once); then one round trip, both ways, and
    one message through pub/sub from redis-py to redis-py.
    ``counted``: Redis's input bytes, PUBLISH and SET calls during the cross-node sample, and
    the messages it relayed in its window;
    ``pin``: the command prefix that pins a process to the load generators' cores;
    ``requests_per_client``: PUBLISH and PING requests per redis-benchmark client."""
    port = cluster.redis.port
    listener = await asyncio.create_subprocess_exec(
        *pin,
        "redis-cli",
        "-h",
        _servers.HOST,
        "-p",
        str(port),
        "subscribe",
        _CEILING_CHANNEL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(0.2)  # subscribed before the first PUBLISH
        clients = 2 * pairs
        requests = min(100_000, requests_per_client * clients)
        payload = "x" * mean_message_bytes()
        row = await _redis_benchmark(
            pin, port, clients, requests, "PUBLISH", _CEILING_CHANNEL, payload
        )
    finally:
        listener.terminate()
        await listener.wait()
    ping = await _redis_benchmark(pin, port, 1, max(2000, requests_per_client * 2), "-t", "ping")
    return RedisSample(
        pairs=pairs,
        publish_per_s=float(row["rps"]),
        publish_p50_ms=float(row["p50_latency_ms"]),
        publish_p99_ms=float(row["p99_latency_ms"]),
        rtt_ms=await _python_rtt_ms(cluster.redis_url),
        rtt_c_ms=float(ping["p50_latency_ms"]),
        pubsub_p50_ms=await asyncio.wait_for(_pubsub_p50_ms(cluster.redis_url), _PUBSUB_TIMEOUT_S),
        in_bytes_per_msg=counted[0] / max(1, counted[3]),
        publishes_per_msg=counted[1] / max(1, counted[3]),
        sets_per_msg=counted[2] / max(1, counted[3]),
    )


def redis_medians(samples: list[RedisSample]) -> dict[int, RedisSample]:
    groups: dict[int, list[RedisSample]] = {}
    for s in samples:
        groups.setdefault(s.pairs, []).append(s)
    names = [f.name for f in fields(RedisSample) if f.name != "pairs"]
    return {
        pairs: RedisSample(pairs, **medians_of(group, names)) for pairs, group in groups.items()
    }
