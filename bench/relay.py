"""Signalling relay benchmark: Balie next to its ceiling and its peer, on one node and on two.

    .venv/bin/python bench/relay.py              # N = 1, 10, 100 pairs, 3 runs each
    .venv/bin/python bench/relay.py --quick      # smoke run, a few seconds per server
    .venv/bin/python bench/relay.py --compress   # the permessage-deflate arm
    .venv/bin/python bench/relay.py --no-cross   # one node only: no Redis, no PostgreSQL
    .venv/bin/python bench/relay.py --balie-before ../old-checkout   # + arm "before": an A/B
    (or .venv/bin/python -m bench.relay ...)

N pairs exchange offer/answer/candidate messages of browser size (SDP ~2.9 KB, candidates
~0.3 KB) through three servers, one after the other, in one run:

- balie:  Balie's signalling server (``python -m server.cli serve``), JSON protocol of
          docs/signaling.md; the specialist offers, the admitted resident answers;
- peerjs: the PeerJS server (npm ``peer``, pinned in package-lock.json), the same messages as
          OFFER/ANSWER/CANDIDATE;
- echo:   a bare aiohttp WebSocket echo server (bench/echo_server.py), the ceiling: a message
          is "relayed" when it comes back to the sender.

The cross-node arm (``cross``; left out with ``--no-cross``) is Balie on two nodes sharing a
private ``redis-server`` and a fresh PostgreSQL database (``BALIE_BENCH_POSTGRES``, default
postgres@127.0.0.1:5432, trust auth), the Balie messages again: each pair's specialist joins
on the first node (the room's home), its resident on the second, so every message crosses
from one node to the other once (server/call/hub.py, server/call/redis_bus.py): over the
link between them (server/call/node_link.py, ``BALIE_LINK_LISTEN``), or through Redis with
``--no-links``. Its server CPU is both nodes' and
Redis's together, on the one server core. Beside it, in the same run and on the same Redis
(bench/_redis_alone.py):

- the Redis ceiling: ``redis-benchmark`` PUBLISH of a message of the workload's mean size, one
  client per socket (2 per pair), to a channel a ``redis-cli`` subscriber listens on;
- one Redis round trip: PING p50 from redis-py (what a node pays, as bench/bus.py measures
  it) and from ``redis-benchmark``;
- the raw pub/sub floor (``redis_pubsub_p50_ms``): p50 of one message at a time of the mean
  size, PUBLISHed by redis-py to a channel a second redis-py connection reads: the least a
  message crossing Redis can add with redis-py, whatever Balie does (bench/bus.py's ``raw``).

The added latency per message is the cross-node p50 minus the one-node p50; its ratio to one
redis-py round trip has a target of at most 1.5x (issue 11), read at the smallest N, where
a message waits least behind others (``added_p50_ms``, ``added_vs_rtt``,
``target_cross_met``). In the closed loop both p50s include queueing, though: the server core
is near saturation even at one pair. So the paced cross-node arm (``crossfixed``; left out
with the cross arm) runs one node and two once more at that N under the same fixed offered
load, ``--cross-rate`` msg/s in all (default 500, where nothing queues), sent by
bench/_paced.py: ``paced_single_p50_ms``, ``paced_cross_p50_ms``, their difference
``paced_added_p50_ms``, its ratio to one redis-py round trip ``paced_added_vs_rtt``, and
``target_paced_met``.

The fixed-load arm (``fixed``; left out with ``--no-fixed``) runs Balie and PeerJS once more
at the largest N, at a fixed offered load instead of a closed loop: half of Balie's
saturation rate as just measured (the median relayed msg/s of its closed-loop windows at
that N; ``--fixed-rate`` sets it instead), sent by bench/_paced.py on a schedule whatever
comes back. There latency is what a resident's browser waits at a load the server carries
with room to spare, not queueing behind its own window: issue 15 asks p99 <= 2 ms for
Balie. With ``--balie-before CHECKOUT`` Balie from another checkout runs as one more arm,
``before``, in the same run and rotation (``ratio_balie_before_N``): on a shared machine an
A/B within one run is the only comparison of two versions that the noise does not swamp.
Both headline targets of issue 15 are in the RESULT line: ``balie_vs_peerjs`` (msgs
per server CPU-second at 100 pairs, target >= 1.2, ``target_ratio_met``) and
``balie_fixed_p99_ms`` (``target_p99_met``).

Each server runs alone on core 0 (taskset), the load generators (bench/_loadgen.py, the same
code for all arms) on the other cores. The headline is messages relayed per server
CPU-second (psutil user+system over the measurement window), which does not depend on how
hard the load generator could push; latency is send to receipt at the peer, p50/p99.
Each configuration runs ``--runs`` times, servers in rotating order, and the tables show
medians. The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Protocol

if not __package__:
    # Run as a script (`python bench/relay.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import psutil  # type: ignore[import-untyped, unused-ignore]

from bench import _servers
from bench._redis_alone import RedisSample, mean_message_bytes, redis_medians, redis_sample
from bench._servers import Cluster, bench_workdir
from bench._stats import medians_of
from bench._workload import ProtocolName

SERVERS: Final[tuple[ProtocolName, ...]] = ("balie", "peerjs", "echo")
CROSS: Final = "cross"
TARGET_RATIO: Final = 0.8  # the issue: Balie >= 0.8x PeerJS msgs per CPU-second at 100 pairs
TARGET_RATIO_15: Final = 1.2  # issue 15: Balie >= 1.2x PeerJS msgs per CPU-second at 100 pairs
TARGET_FIXED_P99_MS: Final = 2.0  # issue 15: p99 at half the saturation rate
FIXED_SHARE: Final = 0.5  # the fixed offered load, as a share of Balie's saturation rate
BEFORE: Final = "before"
#: runs server/cli.py from another checkout (``--balie-before``): argv is [-m, server.cli, ...]
_BEFORE_RUNNER: Final = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['balie', *sys.argv[4:]]; "
    "runpy.run_module('server.cli', run_name='__main__', alter_sys=True)"
)
TARGET_ADDED_VS_RTT: Final = 1.5  # issue 11: a hop between nodes adds <= 1.5 Redis round trips
_READY_TIMEOUT_S: Final = 120.0
_REPORT_TIMEOUT_S: Final = 30.0
_SATURATED: Final = 0.9  # a process above 90 % of its cores is the bottleneck
_NOISY: Final = 0.2  # other tenants above 20 % of a core disturb a run (the machine is shared)
_QUIET_PROBE_S: Final = 1.0


@dataclass(frozen=True)
class Config:
    pairs: tuple[int, ...]
    runs: int
    warmup_s: float
    measure_s: float
    window: int
    loadgens: int
    retries: int
    quiet_wait_s: float
    servers: tuple[ProtocolName, ...]
    compress: bool
    pin: bool
    keep: bool
    #: the cross-node arm, with the Redis ceiling and round trip beside it
    cross: bool = True
    #: requests per redis-benchmark PUBLISH run, per client (capped at 100,000 in all)
    redis_requests: int = 5000
    #: the fixed-load arm at the largest N (Balie and PeerJS at a fixed offered load)
    fixed: bool = True
    #: its offered load in msg/s; None: FIXED_SHARE of Balie's measured saturation rate
    fixed_rate: float | None = None
    #: another checkout whose Balie runs beside this one as the arm ``before`` (an A/B of a
    #: change under the same noise, in the same run)
    before: str | None = None
    #: the paced cross-node arm's offered load in msg/s (one node and two at the smallest N);
    #: low enough that nothing queues, so the difference is the hop and not a longer queue
    cross_rate: float = 500.0
    #: the nodes of the cross-node arm send each other frames over links (False: through
    #: Redis only, as without BALIE_LINK_LISTEN)
    links: bool = True


@dataclass
class NamedArm:
    """A server under another name: Balie from another checkout (``--balie-before``)."""

    name: str
    server: _servers.Server

    @property
    def protocol(self) -> ProtocolName:
        return self.server.protocol

    def cpu_seconds(self) -> float:
        return self.server.cpu_seconds()

    def check_alive(self) -> None:
        self.server.check_alive()

    def stop(self) -> None:
        self.server.stop()

    async def pair_specs(self, count: int, tag: str) -> list[dict[str, Any]]:
        return await self.server.pair_specs(count, tag)


class Arm(Protocol):
    """What is measured: one server (bench/_servers.Server) or a cluster of them."""

    name: str

    @property
    def protocol(self) -> ProtocolName: ...

    def cpu_seconds(self) -> float: ...

    def check_alive(self) -> None: ...

    def stop(self) -> None: ...

    async def pair_specs(self, count: int, tag: str) -> list[dict[str, Any]]: ...


@dataclass
class Sample:
    """One measurement window of one arm at one N."""

    server: str
    pairs: int
    delivered: int
    window_s: float
    server_cpu_s: float
    loadgen_cpu_s: float
    loadgen_cores: int
    p50_ms: float
    p99_ms: float
    errors: int
    #: CPU seconds that neither the server nor the load generators used (other tenants)
    other_cpu_s: float = 0.0
    #: sockets on which permessage-deflate was negotiated, of all sockets
    deflate_sockets: int = 0
    sockets: int = 0
    error_samples: list[str] = field(default_factory=list)
    #: the fixed-load arm: the offered load (msg/s), what was sent in the window, and how
    #: late (p99, ms) the pacer sent against its schedule; 0 in the closed loop
    offered_per_s: float = 0.0
    sent: int = 0
    late_p99_ms: float = 0.0

    @property
    def msgs_per_s(self) -> float:
        return self.delivered / self.window_s

    @property
    def msgs_per_cpu_s(self) -> float:
        return self.delivered / self.server_cpu_s if self.server_cpu_s > 0 else 0.0

    @property
    def server_util(self) -> float:
        return self.server_cpu_s / self.window_s

    @property
    def loadgen_util(self) -> float:
        """Load-generator CPU as a share of the cores it may use."""
        return self.loadgen_cpu_s / self.window_s / self.loadgen_cores

    @property
    def other_util(self) -> float:
        """CPU used by everything else on the machine, in cores."""
        return self.other_cpu_s / self.window_s


class Loadgen(_servers.Child):
    """One load-generator process, driven line by line (see bench/_loadgen.py)."""

    @classmethod
    async def spawn(cls, pin: list[str]) -> Loadgen:
        return await cls.start("bench._loadgen", pin)


def _percentile(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile in ms."""
    if not sorted_ns:
        return float("nan")
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1e6


def _split(items: list[dict[str, Any]], parts: int) -> list[list[dict[str, Any]]]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


@dataclass(frozen=True)
class Readings:
    """CPU seconds and wall time at both ends of a measurement window."""

    wall_s: float
    server_cpu_s: float
    loadgen_cpu_s: float
    other_cpu_s: float


async def _start_loadgens(
    protocol: ProtocolName,
    specs: list[dict[str, Any]],
    cfg: Config,
    files: list[Path],
    rate: float | None = None,
) -> list[Loadgen]:
    """Spawn one generator per group of pairs and wait until every pair is connected.

    With ``rate`` (msg/s in all) the generators are bench/_paced.py at a fixed offered load,
    shared in proportion to their pairs; else bench/_loadgen.py, a closed loop."""
    pin = _servers.pin_prefix(_loadgen_cores() if cfg.pin else None)
    gens: list[Loadgen] = []
    for group, path in zip(_split(specs, len(files)), files, strict=True):
        if rate is None:
            gen = await Loadgen.spawn(pin)
        else:
            gen = await Loadgen.start("bench._paced", pin)
        gens.append(gen)
        job: dict[str, Any] = {
            "protocol": protocol,
            "window": cfg.window,
            "compress": cfg.compress,
            "latency_file": str(path),
            "pairs": group,
        }
        if rate is not None:
            job["rate"] = rate * len(group) / len(specs)
        await gen.say(orjson.dumps(job).decode())
    for gen in gens:
        if (line := await gen.hear(_READY_TIMEOUT_S)) != "READY":
            raise RuntimeError(f"load generator: expected READY, got {line!r}")
    return gens


async def _window(server: Arm, gens: list[Loadgen], cfg: Config) -> Readings:
    """Warm up, then count over one window bracketed by CPU readings.

    MARK and STOP reach the generators within a fraction of a millisecond of the readings.
    """
    for gen in gens:
        await gen.say("GO")
    await asyncio.sleep(cfg.warmup_s)
    server.check_alive()
    busy0, srv0 = _busy_seconds(), server.cpu_seconds()
    gen0, t0 = sum(g.cpu_seconds() for g in gens), time.perf_counter()
    for gen in gens:
        await gen.say("MARK")
    await asyncio.sleep(cfg.measure_s)
    for gen in gens:
        await gen.say("STOP")
    srv1, gen1, t1 = server.cpu_seconds(), sum(g.cpu_seconds() for g in gens), time.perf_counter()
    busy1 = _busy_seconds()
    server.check_alive()
    return Readings(
        wall_s=t1 - t0,
        server_cpu_s=srv1 - srv0,
        loadgen_cpu_s=gen1 - gen0,
        other_cpu_s=max(0.0, busy1 - busy0 - (srv1 - srv0) - (gen1 - gen0)),
    )


def _latencies(files: list[Path]) -> list[int]:
    latencies: array[int] = array("q")
    for path in files:
        if path.exists():
            latencies.frombytes(path.read_bytes())
            path.unlink()
    return sorted(latencies)


async def measure(
    server: Arm, pairs: int, cfg: Config, tag: str, workdir: Path, rate: float | None = None
) -> Sample:
    """Set up ``pairs`` fresh pairs, load the server, and measure one window (a closed loop,
    or with ``rate`` a fixed offered load in msg/s)."""
    specs = await server.pair_specs(pairs, tag)
    parts = min(cfg.loadgens, pairs)
    files = [workdir / f"lat-{tag}-{i}.bin" for i in range(parts)]
    gens: list[Loadgen] = []
    paced: list[dict[str, Any]] = []
    try:
        gens = await _start_loadgens(server.protocol, specs, cfg, files, rate)
        readings = await _window(server, gens, cfg)
        reports = [orjson.loads(await gen.hear(_REPORT_TIMEOUT_S)) for gen in gens]
        if rate is not None:
            paced = [orjson.loads(await gen.hear(_REPORT_TIMEOUT_S)) for gen in gens]
    finally:
        await asyncio.gather(*(gen.finish() for gen in gens))
    ordered = _latencies(files)
    return Sample(
        server=server.name,
        pairs=pairs,
        delivered=sum(int(r["delivered"]) for r in reports),
        window_s=readings.wall_s,
        server_cpu_s=readings.server_cpu_s,
        loadgen_cpu_s=readings.loadgen_cpu_s,
        loadgen_cores=min(_loadgen_core_count(cfg), parts),
        p50_ms=_percentile(ordered, 0.50),
        p99_ms=_percentile(ordered, 0.99),
        errors=sum(int(r["errors"]) for r in reports),
        other_cpu_s=readings.other_cpu_s,
        deflate_sockets=sum(int(r["deflate_sockets"]) for r in reports),
        sockets=sum(int(r["sockets"]) for r in reports),
        error_samples=[s for r in reports for s in r["error_samples"]],
        offered_per_s=rate or 0.0,
        sent=sum(int(p["sent"]) for p in paced),
        late_p99_ms=max((float(p["late_p99_ms"]) for p in paced), default=0.0),
    )


def _busy_seconds() -> float:
    """CPU seconds processes used on the whole machine (user + nice + system, all cores).

    Interrupt time is left out: per-process CPU times leave it out too, so the difference to
    the server's and generators' own time is what other processes used.
    """
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system)


def _loadgen_core_count(cfg: Config) -> int:
    """How many cores the generators may use (all but the server's when pinned)."""
    return len(_loadgen_core_set()) if cfg.pin else len(os.sched_getaffinity(0))


def _loadgen_core_set() -> list[int]:
    cores = sorted(os.sched_getaffinity(0))
    return cores[1:] if len(cores) > 1 else cores


def _loadgen_cores() -> str | None:
    """Every core but the server's (core 0); None (no pinning) on a single core."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return ",".join(str(c) for c in _loadgen_core_set())


def _server_core() -> str | None:
    cores = sorted(os.sched_getaffinity(0))
    return str(cores[0]) if len(cores) >= 2 else None


def start_servers(cfg: Config, workdir: Path) -> dict[str, Arm]:
    pin = _servers.pin_prefix(_server_core() if cfg.pin else None)
    started: dict[str, Arm] = {}
    try:
        for name in cfg.servers:
            if name == "balie":
                started[name] = _servers.start_balie(pin, cfg.compress, workdir)
            elif name == "peerjs":
                started[name] = _servers.start_peerjs(pin, workdir)
            else:
                started[name] = _servers.start_echo(pin, cfg.compress, workdir)
        if cfg.before is not None:
            other = _servers.start_balie(
                pin,
                cfg.compress,
                workdir,
                python=(sys.executable, "-c", _BEFORE_RUNNER, cfg.before),
                log_name="balie-before",
            )
            started[BEFORE] = NamedArm(BEFORE, other)
        if cfg.cross:
            started[CROSS] = _servers.start_cluster(pin, cfg.compress, workdir, links=cfg.links)
    except BaseException:
        for server in started.values():
            server.stop()
        raise
    return started


def _show(sample: Sample, run: int, cfg: Config) -> None:
    warn = ""
    if sample.loadgen_util >= _SATURATED and sample.server_util < _SATURATED:
        warn = "  [load generator saturated]"
    if sample.other_util >= _NOISY:
        warn += f"  [other processes used {sample.other_util:.0%} of a core]"
    if sample.errors:
        warn += f"  [{sample.errors} errors]"
    if cfg.compress:
        warn += f"  [deflate on {sample.deflate_sockets}/{sample.sockets} sockets]"
    if sample.offered_per_s:
        warn += (
            f"  [fixed load {sample.offered_per_s:,.0f} msg/s offered, sent "
            f"{sample.sent / sample.window_s:,.0f}/s, pacer late p99 {sample.late_p99_ms:.2f} ms]"
        )
    print(
        f"  N={sample.pairs:<3} run {run + 1}/{cfg.runs} {sample.server:<6}"
        f" {sample.msgs_per_s:9,.0f} msg/s  server {sample.server_util:4.0%} CPU"
        f"  {sample.msgs_per_cpu_s:9,.0f} msg/CPU-s  p50 {sample.p50_ms:6.2f} ms"
        f"  p99 {sample.p99_ms:6.2f} ms  loadgen {sample.loadgen_util:4.0%}{warn}",
        flush=True,
    )


async def wait_for_quiet(budget_s: float) -> None:
    """Wait (at most ``budget_s``) until other processes leave the machine nearly idle.

    Nothing of ours runs between windows, so whatever is busy now belongs to other tenants.
    """
    if budget_s <= 0:
        return
    deadline = time.monotonic() + budget_s
    told = False
    while True:
        before = _busy_seconds()
        await asyncio.sleep(_QUIET_PROBE_S)
        busy = (_busy_seconds() - before) / _QUIET_PROBE_S
        if busy < _NOISY or time.monotonic() >= deadline:
            return
        if not told:
            print(f"      (other processes use {busy:.0%} of a core: waiting for a quiet machine)")
            told = True


async def quiet_sample(
    server: Arm,
    pairs: int,
    cfg: Config,
    tag: str,
    workdir: Path,
    run: int,
    rate: float | None = None,
) -> Sample:
    """One sample; repeated (up to ``--retries``) while other tenants load the machine.

    The server's CPU seconds stay honest under contention, but a server that shares its core
    handles fewer messages per wake-up, so a noisy window understates it. The quietest
    attempt is kept.
    """
    best: Sample | None = None
    for attempt in range(cfg.retries + 1):
        await wait_for_quiet(cfg.quiet_wait_s)
        sample = await measure(server, pairs, cfg, f"{tag}a{attempt}", workdir, rate)
        _show(sample, run, cfg)
        for text in sample.error_samples[:3]:
            print(f"      error frame: {text}")
        if best is None or sample.other_util < best.other_util:
            best = sample
        if sample.other_util < _NOISY:
            break
        if attempt < cfg.retries:
            print("      (noisy machine: measuring again)")
    assert best is not None
    return best


def fixed_rate(cfg: Config, samples: list[Sample]) -> float | None:
    """The fixed arm's offered load: ``--fixed-rate``, else FIXED_SHARE of the median
    msg/s Balie relayed in its closed-loop windows at the largest N (its saturation rate)."""
    if cfg.fixed_rate is not None:
        return cfg.fixed_rate
    top = max(cfg.pairs)
    rates = [s.msgs_per_s for s in samples if s.server == "balie" and s.pairs == top]
    return FIXED_SHARE * statistics.median(rates) if rates else None


async def run_paced(
    cfg: Config,
    servers: dict[str, Arm],
    workdir: Path,
    load: tuple[float, int],
    names: Sequence[str],
    prefix: str,
) -> list[Sample]:
    """The arms ``names`` (those started) under the same fixed offered load, ``load`` =
    (msg/s in all, pairs), ``--runs`` times in rotating order; ``prefix`` keeps tags apart."""
    rate, pairs = load
    order = [name for name in names if name in servers]
    samples: list[Sample] = []
    for run in range(cfg.runs):
        rotated = order[run % len(order) :] + order[: run % len(order)]
        for name in rotated:
            tag = f"{prefix}{run}n{pairs}{name[:2]}"
            samples.append(
                await quiet_sample(servers[name], pairs, cfg, tag, workdir, run, rate=rate)
            )
    return samples


async def run_all(
    cfg: Config, servers: dict[str, Arm], workdir: Path
) -> tuple[list[Sample], list[RedisSample], list[Sample], list[Sample]]:
    """The closed loop at every N (with Redis alone beside the cross-node arm), then the
    fixed-load arm at the largest N and the paced cross-node arm at the smallest."""
    samples: list[Sample] = []
    redis: list[RedisSample] = []
    order = [name for name in (*cfg.servers, BEFORE, CROSS) if name in servers]
    cluster = servers.get(CROSS)
    assert cluster is None or isinstance(cluster, Cluster)
    for pairs in cfg.pairs:
        for run in range(cfg.runs):
            # Rotate the order so slow drift of a shared machine does not favour one server.
            rotated = order[run % len(order) :] + order[: run % len(order)]
            counted = (0, 0, 0, 0)
            for name in rotated:
                tag = f"r{run}n{pairs}{name[:2]}"
                before = cluster.redis_counters() if cluster and name == CROSS else None
                samples.append(await quiet_sample(servers[name], pairs, cfg, tag, workdir, run))
                if cluster is not None and before is not None:
                    after = cluster.redis_counters()
                    read, published, sets = (a - b for a, b in zip(after, before, strict=True))
                    counted = (read, published, sets, samples[-1].delivered)
            if cluster is not None:
                await wait_for_quiet(cfg.quiet_wait_s)
                r = await redis_sample(
                    cluster,
                    pairs,
                    counted,
                    pin=_servers.pin_prefix(_loadgen_cores() if cfg.pin else None),
                    requests_per_client=cfg.redis_requests,
                )
                redis.append(r)
                print(
                    f"  N={pairs:<3} run {run + 1}/{cfg.runs} redis  PUBLISH "
                    f"{r.publish_per_s:9,.0f} msg/s ({2 * pairs} clients)  p50 "
                    f"{r.publish_p50_ms:6.3f} ms  p99 {r.publish_p99_ms:6.3f} ms  PING p50 "
                    f"redis-py {r.rtt_ms:.3f} ms, redis-benchmark {r.rtt_c_ms:.3f} ms; "
                    f"redis-py pub/sub p50 {r.pubsub_p50_ms:.3f} ms; the "
                    f"cross-node arm sent Redis {r.in_bytes_per_msg:,.0f} B, "
                    f"{r.publishes_per_msg:.2f} PUBLISH and {r.sets_per_msg:.2f} SET per relayed "
                    "message",
                    flush=True,
                )
    fixed: list[Sample] = []
    rate = fixed_rate(cfg, samples) if cfg.fixed else None
    if rate is not None and rate > 0 and ("balie" in servers or "peerjs" in servers):
        top = max(cfg.pairs)
        print(f"\nfixed offered load: {rate:,.0f} msg/s over {top} pairs", flush=True)
        names = ("balie", BEFORE, "peerjs")
        fixed = await run_paced(cfg, servers, workdir, (rate, top), names, "f")
    paced: list[Sample] = []
    if cluster is not None:
        # The closed loop's p50 includes queueing on a near-saturated core; at a low fixed
        # load the difference between one node and two is the hop between them.
        load = (cfg.cross_rate, min(cfg.pairs))
        print(
            f"\ncross-node at a fixed offered load: {load[0]:,.0f} msg/s over {load[1]} "
            "pair(s), one node and two",
            flush=True,
        )
        paced = await run_paced(cfg, servers, workdir, load, ("balie", CROSS), "c")
    return samples, redis, fixed, paced


@dataclass(frozen=True)
class Median:
    msgs_per_s: float
    server_cpu_s: float
    server_util: float
    msgs_per_cpu_s: float
    p50_ms: float
    p99_ms: float
    loadgen_util: float
    other_util: float
    errors: int


def medians(samples: list[Sample]) -> dict[tuple[int, str], Median]:
    groups: dict[tuple[int, str], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.pairs, s.server), []).append(s)
    names = [f.name for f in fields(Median) if f.name != "errors"]
    return {
        key: Median(**medians_of(group, names), errors=sum(s.errors for s in group))
        for key, group in groups.items()
    }


def _ratio(num: Median | None, den: Median | None) -> float | None:
    if num is None or den is None or den.msgs_per_cpu_s <= 0:
        return None
    return num.msgs_per_cpu_s / den.msgs_per_cpu_s


def report(
    cfg: Config,
    table: dict[tuple[int, str], Median],
    redis: dict[int, RedisSample],
    fixed: list[Sample] | None = None,
    paced: list[Sample] | None = None,
) -> str:
    """Print the tables (markdown, ready for docs/performance.md); return the RESULT line."""
    result: list[str] = []
    for pairs in cfg.pairs:
        print(f"\n### {pairs} pair{'s' if pairs != 1 else ''} (median of {cfg.runs} runs)\n")
        print(
            "| server | relayed msg/s | server CPU s | server CPU | msg per server CPU-s "
            "| p50 ms | p99 ms | loadgen CPU | other CPU |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in (*cfg.servers, BEFORE, CROSS):
            m = table.get((pairs, name))
            if m is None:
                continue
            print(
                f"| {name} | {m.msgs_per_s:,.0f} | {m.server_cpu_s:.2f} | {m.server_util:.0%} "
                f"| {m.msgs_per_cpu_s:,.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} "
                f"| {m.loadgen_util:.0%} | {m.other_util:.0%} |"
            )
            result += [
                f"{name}_msgs_per_cpu_s_{pairs}={m.msgs_per_cpu_s:.0f}",
                f"{name}_p50_ms_{pairs}={m.p50_ms:.3f}",
                f"{name}_p99_ms_{pairs}={m.p99_ms:.3f}",
            ]
            if m.errors:
                result.append(f"{name}_errors_{pairs}={m.errors}")
        balie = table.get((pairs, "balie"))
        ratios = []
        pairing: tuple[tuple[str, ProtocolName], ...] = (("peer", "peerjs"), ("ceiling", "echo"))
        for label, other in pairing:
            r = _ratio(balie, table.get((pairs, other)))
            if r is not None:
                ratios.append(f"Balie/{label} {r:.2f}")
                result.append(f"ratio_balie_{label}_{pairs}={r:.3f}")
        before = table.get((pairs, BEFORE))
        for label, num, den in (
            ("before_peer", before, table.get((pairs, "peerjs"))),
            ("balie_before", balie, before),
        ):
            r = _ratio(num, den)
            if r is not None:
                ratios.append(f"{label.replace('_', '/')} {r:.2f}")
                result.append(f"ratio_{label}_{pairs}={r:.3f}")
        if ratios:
            print(f"\nmsg per server CPU-second: {', '.join(ratios)}")
        result += _cross_report(pairs, balie, table.get((pairs, CROSS)), redis.get(pairs))
    top = max(cfg.pairs)
    target = _ratio(table.get((top, "balie")), table.get((top, "peerjs")))
    if target is not None and top == 100:
        met = target >= TARGET_RATIO
        print(
            f"\ntarget Balie >= {TARGET_RATIO}x PeerJS at 100 pairs: {'met' if met else 'MISSED'}"
        )
        result.append(f"target_met={'yes' if met else 'no'}")
        met15 = target >= TARGET_RATIO_15
        print(
            f"target (issue 15) Balie >= {TARGET_RATIO_15}x PeerJS at 100 pairs: "
            f"{target:.2f}x, {'met' if met15 else 'MISSED'}"
        )
        result += [f"balie_vs_peerjs={target:.3f}", f"target_ratio_met={'yes' if met15 else 'no'}"]
    result += _fixed_report(cfg, fixed or [])
    result += _cross_headline(cfg, table, redis)
    result += _paced_cross_report(cfg, paced or [], redis)
    result.append(f"compress={int(cfg.compress)}")
    if cfg.cross:
        result.append(f"links={int(cfg.links)}")
    return "RESULT " + " ".join(result)


def _fixed_report(cfg: Config, samples: list[Sample]) -> list[str]:
    """The fixed-load arm: medians per server, the p99 target; its RESULT items."""
    if not samples:
        return []
    table = medians(samples)
    top = max(cfg.pairs)
    rate = samples[0].offered_per_s
    result = [f"fixed_pairs={top}", f"fixed_rate={rate:.0f}"]
    title = f"Fixed offered load: {rate:,.0f} msg/s over {top} pairs"
    arms = [(name, f"{name}_fixed_") for name in ("balie", BEFORE, "peerjs")]
    result += _paced_table(cfg, samples, title, arms)
    balie = table.get((top, "balie"))
    if balie is not None:
        met = balie.p99_ms <= TARGET_FIXED_P99_MS
        print(
            f"\ntarget (issue 15) Balie p99 <= {TARGET_FIXED_P99_MS:g} ms at the fixed load: "
            f"{balie.p99_ms:.2f} ms, {'met' if met else 'MISSED'}"
        )
        result.append(f"target_p99_met={'yes' if met else 'no'}")
    return result


def _paced_table(
    cfg: Config, samples: list[Sample], title: str, arms: Sequence[tuple[str, str]]
) -> list[str]:
    """Print the medians of samples at one fixed load, a row per (server, RESULT key prefix)
    in ``arms``; return their RESULT items."""
    table = medians(samples)
    pairs, rate = samples[0].pairs, samples[0].offered_per_s
    print(f"\n### {title} (median of {cfg.runs} runs)\n")
    print(
        "| server | offered msg/s | sent msg/s | relayed msg/s | server CPU | p50 ms | p99 ms "
        "| pacer late p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    result: list[str] = []
    for name, key in arms:
        m = table.get((pairs, name))
        if m is None:
            continue
        mine = [s for s in samples if s.server == name]
        sent = statistics.median(s.sent / s.window_s for s in mine)
        late = statistics.median(s.late_p99_ms for s in mine)
        print(
            f"| {name} | {rate:,.0f} | {sent:,.0f} | {m.msgs_per_s:,.0f} | {m.server_util:.0%} "
            f"| {m.p50_ms:.2f} | {m.p99_ms:.2f} | {late:.2f} |"
        )
        result += [
            f"{key}sent_per_s={sent:.0f}",
            f"{key}msgs_per_s={m.msgs_per_s:.0f}",
            f"{key}cpu={m.server_util:.3f}",
            f"{key}p50_ms={m.p50_ms:.3f}",
            f"{key}p99_ms={m.p99_ms:.3f}",
            f"{key}late_p99_ms={late:.3f}",
        ]
        if m.errors:
            result.append(f"{key}errors={m.errors}")
    return result


def _added(
    where: str, single: Median, cross: Median, trip: RedisSample
) -> tuple[float, float, bool]:
    """Print and return the cross-node p50 minus the one-node p50, its ratio to one redis-py
    round trip, and whether that meets the target."""
    added = cross.p50_ms - single.p50_ms
    vs_rtt = added / trip.rtt_ms
    met = vs_rtt <= TARGET_ADDED_VS_RTT
    print(
        f"\nadded latency per message between nodes {where}: {added:+.3f} ms p50 "
        f"= {vs_rtt:.2f}x one Redis round trip (redis-py PING p50 {trip.rtt_ms:.3f} ms; "
        f"{added / trip.rtt_c_ms:.1f}x redis-benchmark's {trip.rtt_c_ms:.3f} ms; raw redis-py "
        f"pub/sub {trip.pubsub_p50_ms:.3f} ms); target <= {TARGET_ADDED_VS_RTT}x: "
        f"{'met' if met else 'MISSED'}"
    )
    return added, vs_rtt, met


def _paced_cross_report(
    cfg: Config, samples: list[Sample], redis: dict[int, RedisSample]
) -> list[str]:
    """The paced cross-node arm: one node and two at the same fixed load at the smallest N,
    and the added p50 against one Redis round trip; its RESULT items."""
    if not samples:
        return []
    pairs, rate = min(cfg.pairs), cfg.cross_rate
    result = [f"paced_pairs={pairs}", f"paced_rate={rate:.0f}"]
    title = f"Cross-node at a fixed offered load: {rate:,.0f} msg/s over {pairs} pair(s)"
    arms = (("balie", "paced_single_"), (CROSS, "paced_cross_"))
    result += _paced_table(cfg, samples, title, arms)
    table = medians(samples)
    single, cross, trip = table.get((pairs, "balie")), table.get((pairs, CROSS)), redis.get(pairs)
    if single is None or cross is None or trip is None:
        return result
    added, vs_rtt, met = _added(
        f"at {pairs} pair(s), {rate:,.0f} msg/s offered", single, cross, trip
    )
    return [
        *result,
        f"paced_added_p50_ms={added:.3f}",
        f"paced_added_vs_rtt={vs_rtt:.3f}",
        f"target_paced_met={'yes' if met else 'no'}",
    ]


def _cross_report(
    pairs: int, single: Median | None, cross: Median | None, redis: RedisSample | None
) -> list[str]:
    """The cross-node arm at one N next to one node and to Redis alone; its RESULT items."""
    if cross is None:
        return []
    result = [f"cross_msgs_per_s_{pairs}={cross.msgs_per_s:.0f}"]
    print("\ncross-node (2 nodes + Redis on the server core):", end="")
    if single is not None and single.msgs_per_s > 0:
        added = cross.p50_ms - single.p50_ms
        ratio = cross.msgs_per_s / single.msgs_per_s
        print(
            f" msg/s {ratio:.2f}x one node, p50 {cross.p50_ms:.2f} ms = one node's "
            f"{single.p50_ms:.2f} ms {added:+.2f} ms",
            end="",
        )
        result += [f"added_p50_ms_{pairs}={added:.3f}", f"cross_vs_single_{pairs}={ratio:.3f}"]
    print()
    if redis is not None:
        print(
            f"Redis alone (redis-benchmark PUBLISH, {mean_message_bytes()} B, {2 * pairs} "
            f"clients, one subscriber): {redis.publish_per_s:,.0f} msg/s, p50 "
            f"{redis.publish_p50_ms:.3f} ms, p99 {redis.publish_p99_ms:.3f} ms; cross-node "
            f"Balie relays {cross.msgs_per_s / redis.publish_per_s:.1%} of it"
        )
        print(
            f"per relayed message the nodes sent Redis {redis.in_bytes_per_msg:,.0f} B "
            f"({redis.in_bytes_per_msg / mean_message_bytes():,.1f}x the mean message) in "
            f"{redis.publishes_per_msg:.2f} PUBLISH and {redis.sets_per_msg:.2f} SET (the home "
            "writing the room down; counted over the whole sample, joins and warm-up included)"
        )
        result += [
            f"redis_publish_per_s_{pairs}={redis.publish_per_s:.0f}",
            f"redis_publish_p50_ms_{pairs}={redis.publish_p50_ms:.3f}",
            f"redis_in_bytes_per_msg_{pairs}={redis.in_bytes_per_msg:.0f}",
            f"redis_publishes_per_msg_{pairs}={redis.publishes_per_msg:.2f}",
            f"redis_sets_per_msg_{pairs}={redis.sets_per_msg:.2f}",
        ]
    return result


def _cross_headline(
    cfg: Config, table: dict[tuple[int, str], Median], redis: dict[int, RedisSample]
) -> list[str]:
    """Added latency per message at the smallest N against one Redis round trip."""
    pairs = min(cfg.pairs)
    cross, single, trip = table.get((pairs, CROSS)), table.get((pairs, "balie")), redis.get(pairs)
    if cross is None:
        return []
    result = [
        f"cross_pairs={pairs}",
        f"cross_p50_ms={cross.p50_ms:.3f}",
        f"cross_p99_ms={cross.p99_ms:.3f}",
    ]
    if trip is not None:
        result += [
            f"redis_rtt_ms={trip.rtt_ms:.3f}",
            f"redis_rtt_c_ms={trip.rtt_c_ms:.3f}",
            f"redis_pubsub_p50_ms={trip.pubsub_p50_ms:.3f}",
        ]
    if single is None or trip is None or single.msgs_per_s <= 0:
        return result
    added, vs_rtt, met = _added(f"at {pairs} pair(s), closed loop", single, cross, trip)
    return [
        *result,
        f"single_p50_ms={single.p50_ms:.3f}",
        f"added_p50_ms={added:.3f}",
        f"added_vs_rtt={vs_rtt:.3f}",
        f"cross_vs_single={cross.msgs_per_s / single.msgs_per_s:.3f}",
        f"target_cross_met={'yes' if met else 'no'}",
    ]


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="bench.relay",
        description="Balie vs PeerJS vs an aiohttp echo ceiling: relayed signalling messages "
        "per server CPU-second and relay latency.",
    )
    parser.add_argument("--pairs", default="1,10,100", help="comma-separated N (default 1,10,100)")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before the window"
    )
    parser.add_argument("--measure", type=float, default=5.0, help="seconds in the window")
    parser.add_argument("--window", type=int, default=4, help="messages in flight per pair")
    parser.add_argument("--loadgens", type=int, default=1, help="load-generator processes")
    parser.add_argument(
        "--retries", type=int, default=2, help="repeats of a window that other processes disturbed"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="seconds to wait before a window for other processes to calm down (0: do not)",
    )
    parser.add_argument("--servers", default=",".join(SERVERS), help="subset of balie,peerjs,echo")
    parser.add_argument("--compress", action="store_true", help="offer permessage-deflate")
    parser.add_argument(
        "--no-cross",
        action="store_true",
        help="leave out the cross-node arms, closed-loop and paced (two Balie nodes on Redis "
        "and PostgreSQL)",
    )
    parser.add_argument(
        "--no-fixed",
        action="store_true",
        help="leave out the fixed-load arm (Balie and PeerJS at half Balie's saturation rate)",
    )
    parser.add_argument(
        "--fixed-rate",
        type=float,
        default=None,
        help="the fixed arm's offered load in msg/s (default: half Balie's measured rate)",
    )
    parser.add_argument(
        "--cross-rate",
        type=float,
        default=500.0,
        help="offered load in msg/s of the paced cross-node arm: one node and two at the "
        "smallest N (default 500, where nothing queues)",
    )
    parser.add_argument(
        "--no-links",
        action="store_true",
        help="the cross-node arms' nodes send each other frames through Redis only, not over "
        "links (BALIE_LINK_LISTEN unset)",
    )
    parser.add_argument(
        "--balie-before",
        metavar="CHECKOUT",
        default=None,
        help="also run Balie from another checkout (arm 'before'), for an A/B of a change",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--keep", action="store_true", help="keep server logs and Balie's data")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: N=1,10, one short run per server"
    )
    args = parser.parse_args(argv)
    names = tuple(s.strip() for s in args.servers.split(",") if s.strip())
    unknown = sorted(set(names) - set(SERVERS))
    if unknown:
        parser.error(f"unknown server(s): {', '.join(unknown)}")
    servers = tuple(s for s in SERVERS if s in names)
    pairs = tuple(int(p) for p in args.pairs.split(","))
    runs, warmup, measure_s = args.runs, args.warmup, args.measure
    if args.quick:
        pairs = (1, 10) if args.pairs == "1,10,100" else pairs
        runs, warmup, measure_s = 1, 0.3, 1.0
        args.retries, args.quiet_wait = 0, 0.0
    if runs < 1 or min(pairs) < 1 or args.window < 1 or args.loadgens < 1 or measure_s <= 0:
        parser.error("runs, pairs, window, loadgens and measure must be positive")
    if args.retries < 0:
        parser.error("retries must not be negative")
    if args.fixed_rate is not None and args.fixed_rate <= 0:
        parser.error("--fixed-rate must be positive")
    if args.cross_rate <= 0:
        parser.error("--cross-rate must be positive")
    return Config(
        pairs=pairs,
        runs=runs,
        warmup_s=warmup,
        measure_s=measure_s,
        window=args.window,
        loadgens=args.loadgens,
        retries=args.retries,
        quiet_wait_s=args.quiet_wait,
        servers=servers,
        compress=args.compress,
        pin=not args.no_pin,
        keep=args.keep,
        cross=not args.no_cross,
        redis_requests=200 if args.quick else 5000,
        fixed=not args.no_fixed,
        fixed_rate=args.fixed_rate,
        before=str(Path(args.balie_before).resolve()) if args.balie_before else None,
        cross_rate=args.cross_rate,
        links=not args.no_links,
    )


def _header(cfg: Config) -> None:
    nodes = "one node"
    if cfg.cross:
        path = "over links" if cfg.links else "through Redis only"
        nodes += f" and two (cross-node arm, {path}; paced at {cfg.cross_rate:,.0f} msg/s)"
    _servers.preamble(f"Balie signalling relay benchmark, {nodes}")
    pins = _servers.pinning(cfg.pin, _server_core(), _loadgen_cores(), "load generators")
    print(
        f"workload: N={','.join(map(str, cfg.pairs))} pairs, {cfg.window} in flight per pair, "
        f"offer+answer+5+5 candidates per negotiation, warm-up {cfg.warmup_s:g} s, "
        f"window {cfg.measure_s:g} s, {cfg.runs} run(s), noisy windows repeated up to "
        f"{cfg.retries}x, {cfg.loadgens} load generator(s), "
        f"permessage-deflate {'offered' if cfg.compress else 'off'}; {pins}"
    )
    _servers.command("relay.py")


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    _header(cfg)
    with bench_workdir("relay", cfg.keep) as workdir:
        servers = start_servers(cfg, workdir)
        try:
            samples, redis, fixed, paced = asyncio.run(run_all(cfg, servers, workdir))
        finally:
            for server in servers.values():
                server.stop()
        line = report(cfg, medians(samples), redis_medians(redis), fixed, paced)
    print()
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
