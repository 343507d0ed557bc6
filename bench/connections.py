"""Held WebSockets, one node: Balie's memory per socket and accept rate next to bare aiohttp.

    .venv/bin/python bench/connections.py                     # N = 10,000 sockets, 3 runs
    .venv/bin/python bench/connections.py --quick             # N = 500, 1 run, short hold
    .venv/bin/python bench/connections.py --trace --runs 1    # also: where the memory goes
    (or .venv/bin/python -m bench.connections ...)

Two kinds of sockets, N of each, every kind on a fresh server:

- idle: ``/ws`` upgraded (Origin checked) and nothing sent after. Balie has no
  authentication before the first frame (the room token rides in ``join``), so these are
  sockets "connected, not yet joined", waiting for their first frame;
  ``BALIE_WS_JOIN_TIMEOUT`` is raised (``--join-timeout``, 3600 s) so Balie keeps them.
- joined: N/2 calls of two, the rooms issued with ``balie room create --json`` as
  bench/relay.py does: the specialist joins, the resident joins, waits in the lobby and is
  admitted; each then sends the ping the call page sends every 10 s, with the last seq it
  has received (so Balie may let go of those frames); then both are quiet.

Heartbeats are on: ``BALIE_WS_HEARTBEAT`` (``--heartbeat``, 15 s, Balie's default) and the
same for the ceiling; the clients answer every ping, and the sockets are held ``--hold``
seconds (longer than one heartbeat) before the memory is read.

The ceiling, in the same run: bench/echo_server.py (bare aiohttp on uvloop, Balie's stack,
``--heartbeat`` as Balie) holding the same sockets: idle ones only upgrade; "joined" ones
send the same join and admit frames and read them back.

Measured for each server and kind:

- memory per socket: VmRSS of the server process (/proc/PID/status) with the N sockets open
  minus before them, over the sockets still open. Each reading follows a ``gc.collect()``
  in the server (SIGUSR1 through bench/_probe.py, which runs the server module unchanged)
  and ``--settle`` seconds; "before" already holds ``--warmup`` sockets of the same kind, so
  first-use code paths and caches are paid. kB = 1,024 bytes, as /proc counts them. Kernel
  socket buffers are not in RSS and not counted.
- accept rate: sockets opened per second of wall time while the N are opened (joined: the
  join and admit included), and per server CPU-second (psutil user + system), which other
  tenants of a shared machine disturb less.

The clients are ``--clients`` processes of bench/_holder.py, a bare asyncio client far
cheaper per socket than the server, ``--in-flight`` sockets being opened at once in all; the
server runs on core 0 and the clients on the other cores (taskset). The file-descriptor
limit is raised to the hard limit; the output says when it caps N. Each configuration runs
``--runs`` times on fresh servers, in rotating order; the tables show medians. Target (the
issue): at most 20 kB per socket for each kind. The last line is ``RESULT key=value ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import signal
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

if not __package__:
    # Run as a script (`python bench/connections.py`): make the repository root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench import _servers
from bench._servers import ROOT, Server
from bench.relay import _busy_seconds, _loadgen_cores, _server_core, wait_for_quiet

Kind = Literal["idle", "joined"]
ServerName = Literal["balie", "echo"]
KINDS: Final[tuple[Kind, ...]] = ("idle", "joined")
SERVERS: Final[tuple[ServerName, ...]] = ("balie", "echo")
TARGET_KB: Final = 20.0  # the issue: at most 20 kB per socket, for each kind
_KB: Final = 1024
_FD_SPARE: Final = 128  # descriptors a process needs besides its sockets
_ANSWER_TIMEOUT_S: Final = 600.0
_PROBE_TIMEOUT_S: Final = 120.0
_SATURATED: Final = 0.9
_NOISY: Final = 0.2
#: stand-ins for the echo server's join frames: as long as Balie's tokens and ids
_ECHO_TOKEN: Final = "e" * 560
_ECHO_ID: Final = "p_" + "e" * 22
_TOP_FILES: Final = 12
#: the interpreter command that runs a server module under bench/_probe.py
_PROBED: Final = (sys.executable, "-m", "bench._probe")


@dataclass(frozen=True)
class Config:
    connections: int
    runs: int
    warmup: int
    in_flight: int
    clients: int
    hold_s: float
    settle_s: float
    quiet_wait_s: float
    heartbeat: float
    join_timeout: float
    servers: tuple[ServerName, ...]
    kinds: tuple[Kind, ...]
    pin: bool
    keep: bool
    trace: bool
    fd_limit: int
    capped_by: str = ""


@dataclass
class Sample:
    """One server holding N sockets of one kind."""

    server: ServerName
    kind: Kind
    opened: int
    held: int
    rss_before: int
    rss_after: int
    open_s: float
    server_cpu_s: float
    clients_cpu_s: float
    client_cores: int
    other_cpu_s: float
    pings: int
    failed: int
    close_codes: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    @property
    def kb_per_socket(self) -> float:
        return (self.rss_after - self.rss_before) / max(1, self.held) / _KB

    @property
    def per_s(self) -> float:
        return self.opened / self.open_s if self.open_s > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.opened / self.server_cpu_s if self.server_cpu_s > 0 else 0.0

    @property
    def server_util(self) -> float:
        return self.server_cpu_s / self.open_s if self.open_s > 0 else 0.0

    @property
    def clients_util(self) -> float:
        """Client CPU as a share of the cores the clients may use."""
        return self.clients_cpu_s / self.open_s / self.client_cores if self.open_s > 0 else 0.0

    @property
    def other_util(self) -> float:
        return self.other_cpu_s / self.open_s if self.open_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.failed + self.opened - self.held


class Holder(_servers.Child):
    """One client process (bench/_holder.py), driven line by line."""

    @classmethod
    async def spawn(cls, pin: list[str]) -> Holder:
        return await cls.start("bench._holder", pin, limit=1 << 20)

    async def ask(self, line: str) -> dict[str, Any]:
        await self.say(line)
        result: dict[str, Any] = orjson.loads(await self.hear(_ANSWER_TIMEOUT_S))
        return result


class Probe:
    """Garbage collection (and tracemalloc snapshots) inside a server run by bench/_probe.py."""

    def __init__(self, folder: Path, trace: bool) -> None:
        self.folder = folder
        self.trace = trace
        self.count = 0
        folder.mkdir(parents=True)

    @property
    def env(self) -> dict[str, str]:
        return {"BENCH_PROBE_DIR": str(self.folder), "BENCH_PROBE_TRACE": "1" if self.trace else ""}

    async def settle(self, server: Server, settle_s: float) -> tuple[int, Path | None]:
        """Collect garbage in the server, wait, and read its RSS; the snapshot if tracing."""
        self.count += 1
        os.kill(server.proc.pid, signal.SIGUSR1)
        ack = self.folder / f"ack-{self.count}"
        deadline = time.monotonic() + _PROBE_TIMEOUT_S
        while not ack.exists():
            server.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not answer the probe signal")
            await asyncio.sleep(0.05)
        await asyncio.sleep(settle_s)
        snapshot = self.folder / f"snapshot-{self.count}"
        return rss_bytes(server.proc.pid), snapshot if self.trace else None


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * _KB
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_server(name: ServerName, cfg: Config, probe: Probe, workdir: Path) -> Server:
    pin = _servers.pin_prefix(_server_core() if cfg.pin else None)
    if name == "balie":
        env = {
            **probe.env,
            "BALIE_WS_HEARTBEAT": str(cfg.heartbeat),
            "BALIE_WS_JOIN_TIMEOUT": str(cfg.join_timeout),
        }
        return _servers.start_balie(pin, False, workdir, extra_env=env, python=_PROBED)
    return _servers.start_echo(
        pin, False, workdir, heartbeat=cfg.heartbeat, extra_env=probe.env, python=_PROBED
    )


async def jobs(
    server: Server, kind: Kind, count: int, cfg: Config, tag: str
) -> list[dict[str, Any]]:
    """One OPEN job per holder for ``count`` sockets of ``kind``."""
    base: dict[str, Any] = {
        "host": _servers.HOST,
        "port": server.port,
        "origin": f"http://{_servers.HOST}:{server.port}",
        "kind": kind,
        "protocol": server.name,
        "in_flight": max(2, cfg.in_flight // cfg.clients),
    }
    if kind == "idle":
        shares = [count // cfg.clients + (i < count % cfg.clients) for i in range(cfg.clients)]
        return [{**base, "count": share} for share in shares if share]
    if server.name == "balie":
        pairs = [
            {"a": s["a"]["token"], "b": s["b"]["token"], "b_id": s["b"]["id"]}
            for s in await server.pair_specs(count // 2, tag)
        ]
    else:
        pairs = [{"a": _ECHO_TOKEN, "b": _ECHO_TOKEN, "b_id": _ECHO_ID}] * (count // 2)
    groups = [pairs[i :: cfg.clients] for i in range(cfg.clients)]
    return [{**base, "pairs": group} for group in groups if group]


async def open_all(holders: list[Holder], work: list[dict[str, Any]]) -> list[dict[str, Any]]:
    line = "OPEN "
    return list(
        await asyncio.gather(
            *(
                h.ask(line + orjson.dumps(job).decode())
                for h, job in zip(holders, work, strict=False)
            )
        )
    )


async def measure(
    name: ServerName, kind: Kind, cfg: Config, tag: str, workdir: Path
) -> tuple[Sample, list[str]]:
    """A fresh server, warm-up sockets, the N sockets; the sample and the trace report."""
    probe = Probe(workdir / f"probe-{tag}", cfg.trace)
    server = start_server(name, cfg, probe, workdir)
    holders: list[Holder] = []
    try:
        warm = await jobs(server, kind, cfg.warmup, cfg, f"{tag}w")
        main = await jobs(server, kind, cfg.connections, cfg, tag)
        pin = _servers.pin_prefix(_loadgen_cores() if cfg.pin else None)
        holders = [await Holder.spawn(pin) for _ in range(cfg.clients)]
        warm_opened = 0
        for report in await open_all(holders, warm):
            if report["failed"]:
                raise RuntimeError(f"{name}: warm-up sockets failed: {report['errors']}")
            warm_opened += int(report["opened"])
        await wait_for_quiet(cfg.quiet_wait_s)
        rss_before, snap_before = await probe.settle(server, cfg.settle_s)
        busy0, srv0 = _busy_seconds(), server.cpu_seconds()
        cli0, t0 = sum(h.cpu_seconds() for h in holders), time.perf_counter()
        reports = await open_all(holders, main)
        t1, srv1 = time.perf_counter(), server.cpu_seconds()
        cli1, busy1 = sum(h.cpu_seconds() for h in holders), _busy_seconds()
        await asyncio.sleep(cfg.hold_s)
        server.check_alive()
        rss_after, snap_after = await probe.settle(server, cfg.settle_s)
        status = [await h.ask("STATUS") for h in holders]
    finally:
        await asyncio.gather(*(h.finish() for h in holders))
        server.stop()
    opened = sum(int(r["opened"]) for r in reports)
    codes: dict[str, int] = {}
    for s in status:
        for code, n in s["close_codes"].items():
            codes[code] = codes.get(code, 0) + int(n)
    sample = Sample(
        server=name,
        kind=kind,
        opened=opened,
        held=sum(int(s["open"]) for s in status) - warm_opened,
        rss_before=rss_before,
        rss_after=rss_after,
        open_s=t1 - t0,
        server_cpu_s=srv1 - srv0,
        clients_cpu_s=cli1 - cli0,
        client_cores=min(cfg.clients, _client_core_count(cfg)),
        other_cpu_s=max(0.0, busy1 - busy0 - (srv1 - srv0) - (cli1 - cli0)),
        pings=sum(int(s["pings"]) for s in status),
        failed=sum(int(r["failed"]) for r in reports),
        close_codes=codes,
        error_samples=[e for r in reports for e in r["errors"]],
    )
    trace = []
    if snap_before is not None and snap_after is not None:
        trace = trace_report(snap_before, snap_after, sample)
    return sample, trace


def _client_core_count(cfg: Config) -> int:
    cores = _loadgen_cores() if cfg.pin else None
    return len(cores.split(",")) if cores else len(os.sched_getaffinity(0))


def trace_report(before: Path, after: Path, sample: Sample) -> list[str]:
    """Where the held sockets' memory went, by file and by line (tracemalloc, one frame)."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<*>")]
    old = tracemalloc.Snapshot.load(str(before)).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(str(after)).filter_traces(ignore)
    held = max(1, sample.held)
    by_file = new.compare_to(old, "filename")
    traced = sum(d.size_diff for d in by_file)
    rss = sample.rss_after - sample.rss_before
    lines = [
        f"\n#### where {sample.server}'s {sample.kind} sockets' memory goes "
        f"(tracemalloc, {sample.held:,} sockets)\n",
        f"Python allocations still alive: +{traced / held / _KB:.2f} kB per socket. RSS under "
        f"tracing: +{rss / held / _KB:.2f} kB per socket, tracemalloc's own tables included "
        "(compare a run without --trace).\n",
        "| kB per socket | blocks per socket | file |",
        "|---:|---:|---|",
    ]
    for diff in by_file[:_TOP_FILES]:
        frame = diff.traceback[0]
        lines.append(
            f"| {diff.size_diff / held / _KB:.2f} | {diff.count_diff / held:.1f} "
            f"| {_short(frame.filename)} |"
        )
    lines += ["", "| kB per socket | line |", "|---:|---|"]
    for diff in new.compare_to(old, "lineno")[:_TOP_FILES]:
        frame = diff.traceback[0]
        where = f"{_short(frame.filename)}:{frame.lineno}"
        lines.append(f"| {diff.size_diff / held / _KB:.2f} | {where} |")
    return lines


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail if marker == "site-packages/" else "stdlib " + tail.split("/", 1)[1]
    root = str(ROOT) + "/"
    return path.removeprefix(root)


def _show(sample: Sample, run: int, cfg: Config) -> None:
    warn = ""
    if sample.clients_util >= _SATURATED and sample.server_util < _SATURATED:
        warn += "  [clients saturated]"
    if sample.other_util >= _NOISY:
        warn += f"  [other processes used {sample.other_util:.0%} of a core]"
    if sample.errors:
        warn += (
            f"  [{sample.failed} failed, {sample.opened - sample.held} closed {sample.close_codes}]"
        )
    grown = (sample.rss_after - sample.rss_before) / 1e6
    print(
        f"  run {run + 1}/{cfg.runs} {sample.kind:<6} {sample.server:<5} {sample.held:>6,} held"
        f"  RSS {sample.rss_before / 1e6:5.1f} -> {sample.rss_after / 1e6:6.1f} MB (+{grown:.1f})"
        f"  {sample.kb_per_socket:5.1f} kB/socket  {sample.per_s:6,.0f} opened/s"
        f"  {sample.per_cpu_s:6,.0f}/server CPU-s  server {sample.server_util:4.0%}"
        f"  clients {sample.clients_util:4.0%}  {sample.pings:,} pings{warn}",
        flush=True,
    )
    for text in sample.error_samples[:3]:
        print(f"      error: {text}")


async def run_all(cfg: Config, workdir: Path) -> list[Sample]:
    samples: list[Sample] = []
    order = list(cfg.servers)
    for run in range(cfg.runs):
        rotated = order[run % len(order) :] + order[: run % len(order)]
        for kind in cfg.kinds:
            for name in rotated:
                sample, trace = await measure(name, kind, cfg, f"r{run}{kind[0]}{name[0]}", workdir)
                _show(sample, run, cfg)
                for line in trace:
                    print(line)
                samples.append(sample)
    return samples


@dataclass(frozen=True)
class Median:
    kb: float
    per_s: float
    per_cpu_s: float
    server_util: float
    clients_util: float
    other_util: float
    rss_before_mb: float
    errors: int


def medians(samples: list[Sample]) -> dict[tuple[Kind, ServerName], Median]:
    groups: dict[tuple[Kind, ServerName], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.kind, s.server), []).append(s)
    return {
        key: Median(
            kb=statistics.median(s.kb_per_socket for s in group),
            per_s=statistics.median(s.per_s for s in group),
            per_cpu_s=statistics.median(s.per_cpu_s for s in group),
            server_util=statistics.median(s.server_util for s in group),
            clients_util=statistics.median(s.clients_util for s in group),
            other_util=statistics.median(s.other_util for s in group),
            rss_before_mb=statistics.median(s.rss_before / 1e6 for s in group),
            errors=sum(s.errors for s in group),
        )
        for key, group in groups.items()
    }


def report(cfg: Config, table: dict[tuple[Kind, ServerName], Median]) -> str:
    """Print the table (markdown, ready for docs/performance.md); return the RESULT line."""
    n = cfg.connections
    print(f"\n### {n:,} sockets of each kind (median of {cfg.runs} run{'s' * (cfg.runs > 1)})\n")
    print(
        "| kind | server | kB per socket | opened/s | opened per server CPU-s | server CPU "
        "| clients CPU | other CPU | RSS before, MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    result = [f"connections={n}", f"runs={cfg.runs}"]
    verdicts = []
    for kind in cfg.kinds:
        for name in cfg.servers:
            m = table.get((kind, name))
            if m is None:
                continue
            print(
                f"| {kind} | {name} | {m.kb:.1f} | {m.per_s:,.0f} | {m.per_cpu_s:,.0f} "
                f"| {m.server_util:.0%} | {m.clients_util:.0%} | {m.other_util:.0%} "
                f"| {m.rss_before_mb:.1f} |"
            )
            result += [
                f"{name}_{kind}_kb={m.kb:.2f}",
                f"{name}_{kind}_per_s={m.per_s:.0f}",
                f"{name}_{kind}_per_cpu_s={m.per_cpu_s:.0f}",
            ]
            if m.errors:
                result.append(f"{name}_{kind}_errors={m.errors}")
        balie, echo = table.get((kind, "balie")), table.get((kind, "echo"))
        if balie is not None and echo is not None:
            kb, per_s = _ratio(balie.kb, echo.kb), _ratio(balie.per_s, echo.per_s)
            per_cpu_s = _ratio(balie.per_cpu_s, echo.per_cpu_s)
            verdicts.append(
                f"{kind}: Balie/echo memory per socket {kb:.2f}x, opened/s {per_s:.2f}x,"
                f" opened per server CPU-s {per_cpu_s:.2f}x"
            )
            result += [
                f"ratio_{kind}_kb={kb:.2f}",
                f"ratio_{kind}_per_s={per_s:.2f}",
                f"ratio_{kind}_per_cpu_s={per_cpu_s:.2f}",
            ]
        if balie is not None:
            met = balie.kb <= TARGET_KB
            verdicts.append(
                f"{kind}: target <= {TARGET_KB:g} kB per socket {'met' if met else 'MISSED'}"
                f" ({balie.kb:.1f} kB)"
            )
            result.append(f"target_{kind}_met={'yes' if met else 'no'}")
    print()
    for line in verdicts:
        print(line)
    if cfg.trace:
        result.append("traced=1")  # tracemalloc's own tables inflate every RSS figure
    return "RESULT " + " ".join(result)


def _ratio(num: float, den: float) -> float:
    """num / den; nan when the ceiling measured nothing (too few sockets to see)."""
    return num / den if den > 0 else math.nan


def raise_fd_limit() -> int:
    """Raise this process's (and so its children's) descriptor limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _ephemeral_ports() -> int:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return 1 << 30
    return high - low + 1


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="bench.connections",
        description="Memory per held WebSocket and accept rate: Balie next to a bare aiohttp "
        "WebSocket server, idle and joined sockets.",
    )
    parser.add_argument("--connections", type=int, default=10_000, help="N sockets per kind")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument(
        "--warmup", type=int, default=100, help="sockets open before the 'before' reading"
    )
    parser.add_argument("--in-flight", type=int, default=64, help="sockets opened at once")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--hold", type=float, default=20.0, help="seconds the sockets are held before reading"
    )
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after each gc")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait before opening for other processes to calm down (0: do not)",
    )
    parser.add_argument("--heartbeat", type=float, default=15.0, help="seconds between pings")
    parser.add_argument(
        "--join-timeout", type=float, default=3600.0, help="BALIE_WS_JOIN_TIMEOUT for idle sockets"
    )
    parser.add_argument("--servers", default=",".join(SERVERS), help="subset of balie,echo")
    parser.add_argument("--kinds", default=",".join(KINDS), help="subset of idle,joined")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--keep", action="store_true", help="keep server logs and Balie's data")
    parser.add_argument(
        "--trace", action="store_true", help="tracemalloc in the servers: memory by file and line"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: N=500, one run, short hold"
    )
    args = parser.parse_args(argv)
    servers = _subset(parser, "servers", args.servers, SERVERS)
    kinds = _subset(parser, "kinds", args.kinds, KINDS)
    connections, runs, warmup = args.connections, args.runs, args.warmup
    if args.quick:
        connections = 500 if connections == 10_000 else connections
        runs, warmup = 1, min(warmup, 20)
        args.hold, args.settle, args.quiet_wait = 2.0, 0.5, 0.0
    if connections < 2 or runs < 1 or warmup < 2 or args.clients < 1 or args.in_flight < 2:
        parser.error("connections and warmup must be at least 2, runs and clients at least 1")
    fd_limit = raise_fd_limit()
    capped_by = ""
    most = min(fd_limit - _FD_SPARE, _ephemeral_ports() - 1_000) - warmup
    if connections > most:
        connections = most
        capped_by = (
            f"the file-descriptor limit ({fd_limit}, the hard limit)"
            if most == fd_limit - _FD_SPARE - warmup
            else "the ephemeral port range"
        )
    return Config(
        connections=connections - connections % 2,  # joined sockets come in pairs
        runs=runs,
        warmup=warmup - warmup % 2,
        in_flight=args.in_flight,
        clients=args.clients,
        hold_s=args.hold,
        settle_s=args.settle,
        quiet_wait_s=args.quiet_wait,
        heartbeat=args.heartbeat,
        join_timeout=args.join_timeout,
        servers=servers,
        kinds=kinds,
        pin=not args.no_pin,
        keep=args.keep,
        trace=args.trace,
        fd_limit=fd_limit,
        capped_by=capped_by,
    )


def _subset(parser: argparse.ArgumentParser, what: str, given: str, known: tuple[Any, ...]) -> Any:
    names = {s.strip() for s in given.split(",") if s.strip()}
    if unknown := sorted(names - set(known)):
        parser.error(f"unknown {what}: {', '.join(unknown)}")
    return tuple(k for k in known if k in names)


def _header(cfg: Config) -> None:
    _servers.preamble(
        "Balie held WebSockets benchmark, one node: memory per socket and accept rate"
    )
    pins = _servers.pinning(cfg.pin, _server_core(), _loadgen_cores(), "clients")
    print(
        f"workload: N={cfg.connections:,} sockets per kind ({', '.join(cfg.kinds)}), warm-up "
        f"{cfg.warmup} sockets, {cfg.in_flight} opened at once by {cfg.clients} client "
        f"process(es), heartbeat {cfg.heartbeat:g} s, held {cfg.hold_s:g} s, settle "
        f"{cfg.settle_s:g} s after gc, {cfg.runs} run(s), Balie join timeout "
        f"{cfg.join_timeout:g} s; {pins}"
    )
    limit = f"file descriptors: limit {cfg.fd_limit} (raised to the hard limit)"
    if cfg.capped_by:
        limit += f"; N capped at {cfg.connections:,} by {cfg.capped_by}"
    print(limit)
    if cfg.trace:
        print("tracemalloc on in the servers: RSS figures include its tables, compare the traces")
    _servers.command("connections.py")


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    _header(cfg)
    with _servers.bench_workdir("connections", cfg.keep) as workdir:
        samples = asyncio.run(run_all(cfg, workdir))
        line = report(cfg, medians(samples))
    print()
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
