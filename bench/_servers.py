"""The servers bench/relay.py compares, each a separate process it starts and measures, and
the client processes the benchmarks drive.

Each server knows how to start itself, how to hand out the endpoints of N fresh pairs, and how
much CPU it has used (user + system, read with psutil). :class:`Cluster` is Balie on two nodes
sharing one private Redis and one fresh PostgreSQL database (the relay's cross-node arm).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final, Self

import orjson

# psutil ships no type stubs; the test extra has no types-psutil either.
import psutil  # type: ignore[import-untyped, unused-ignore]
from redis import Redis as SyncRedis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench._workload import ProtocolName

ROOT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
PEERJS_BIN: Final = ROOT / "node_modules" / "peer" / "dist" / "bin" / "peerjs.js"
_START_TIMEOUT_S: Final = 30.0
# Balie's per-connection rate limit would drop the benchmark's frames; it is not what is measured.
_NO_RATE_LIMIT: Final = "1000000"
_CHILD_EXIT_TIMEOUT_S: Final = 30.0
#: the PostgreSQL server the benchmarks create their throw-away databases on (trust auth)
POSTGRES: Final = os.environ.get(
    "BALIE_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def bench_workdir(name: str, keep: bool) -> Iterator[Path]:
    """A fresh directory for a benchmark's logs and data; removed afterwards unless
    ``keep`` (then its path is printed)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"balie-{name}-bench-"))
    try:
        yield workdir
    finally:
        if keep:
            print(f"\nlogs and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def pin_prefix(cores: str | None) -> list[str]:
    """``taskset -c CORES`` when pinning is possible, else nothing."""
    if cores is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", cores]


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of a process and its live children."""
    total = 0.0
    for p in (proc, *proc.children(recursive=True)):
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], name: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {HOST}:{port} within {_START_TIMEOUT_S:.0f} s")


@dataclass
class Server:
    """A running server under test."""

    name: str  # a ProtocolName, or "redis"
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> ProtocolName:
        """The protocol its clients speak."""
        return "peerjs" if self.name == "peerjs" else "echo" if self.name == "echo" else "balie"

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.ps)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} died (code {self.proc.returncode}); log:\n{tail}")

    async def pair_specs(self, count: int, tag: str) -> list[dict[str, Any]]:
        """Endpoints for ``count`` fresh pairs; side A offers, side B answers."""
        if self.name == "balie":
            return await self._balie_specs(count)
        specs = []
        for i in range(count):
            # Ids as long as Balie's participant ids, so frames are the same size.
            ids = [f"{tag}-{i:04d}-{side}".ljust(22, "x") for side in "ab"]
            ends = [
                {"id": pid, "seed": _seed(tag, i, side)}
                for side, pid in zip("ab", ids, strict=True)
            ]
            for end in ends:
                if self.name == "peerjs":
                    end["url"] = (
                        f"ws://{HOST}:{self.port}/peerjs?key=peerjs&id={end['id']}&token=t{tag}"
                    )
                else:
                    end["url"] = f"ws://{HOST}:{self.port}/ws"
            specs.append({"a": ends[0], "b": ends[1]})
        return specs

    async def _balie_specs(self, count: int, far: Server | None = None) -> list[dict[str, Any]]:
        """Fresh rooms; the resident (side B) joins on ``far`` if given, else here."""
        cmd = [sys.executable, "-m", "server.cli", "room", "create", "--json", "--count"]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            str(count),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"balie room create failed ({proc.returncode}): {err.decode()}")
        rooms = orjson.loads(out)
        ports = {"specialist": self.port, "resident": (far or self).port}
        specs = []
        for i, room in enumerate(rooms):
            ends = []
            for side in ("specialist", "resident"):
                seat = room[side]
                ends.append(
                    {
                        "url": f"ws://{HOST}:{ports[side]}/ws",
                        "origin": f"http://{HOST}:{ports[side]}",
                        "token": seat["token"],
                        "id": seat["participant_id"],
                        "seed": _seed(room["room"], i, side),
                    }
                )
            specs.append({"a": ends[0], "b": ends[1]})
        return specs


def _seed(tag: str, i: int, side: str) -> int:
    # Distinct per endpoint and reproducible: varies ufrags and addresses like real peers do.
    return (zlib.crc32(f"{tag}/{i}/{side}".encode()) & 0xFFFFFF) + 1


def _spawn(
    name: str, cmd: list[str], port: int, env: dict[str, str], workdir: Path, log_name: str = ""
) -> Server:
    log = workdir / f"{log_name or name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, port, proc, log, env)
    try:
        _wait_for_port(port, proc, name)
    except BaseException:
        server.stop()
        raise
    return server


def start_echo(
    pin: list[str],
    compress: bool,
    workdir: Path,
    *,
    heartbeat: float | None = None,
    extra_env: Mapping[str, str] | None = None,
    python: Sequence[str] = (sys.executable,),
) -> Server:
    """The echo server; ``extra_env`` adds variables, ``python`` is the interpreter's command
    (bench/_probe.py wraps it)."""
    port = free_port()
    cmd = [*python, "-m", "bench.echo_server", "--host", HOST, "--port", str(port)]
    if compress:
        cmd.append("--compress")
    if heartbeat is not None:
        cmd += ["--heartbeat", str(heartbeat)]
    return _spawn("echo", pin + cmd, port, {**os.environ, **(extra_env or {})}, workdir)


def ensure_peerjs() -> None:
    """Install the pinned PeerJS server from package-lock.json when node_modules lacks it."""
    if PEERJS_BIN.exists():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("PeerJS needs Node.js and npm; install them, or pass --servers")
    print("node_modules/peer is missing: running `npm ci` (from package-lock.json) ...")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)


def start_peerjs(pin: list[str], workdir: Path) -> Server:
    ensure_peerjs()
    port = free_port()
    node = shutil.which("node") or "node"
    cmd = [node, str(PEERJS_BIN), "--host", HOST, "--port", str(port)]
    return _spawn("peerjs", pin + cmd, port, dict(os.environ), workdir)


def balie_available() -> bool:
    return (ROOT / "server" / "cli.py").exists()


def start_balie(
    pin: list[str],
    compress: bool,
    workdir: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    python: Sequence[str] = (sys.executable,),
    data: Path | None = None,
    log_name: str = "",
) -> Server:
    """``balie serve`` on a free port with a fresh data directory (or ``data``, which nodes of
    one cluster share for their key files), its log in ``LOG_NAME.log`` (default balie.log);
    ``extra_env`` adds or overrides variables, ``python`` is the interpreter's command
    (bench/_probe.py wraps it)."""
    if not balie_available():
        raise RuntimeError("Balie's server/cli.py does not exist yet; pass --servers echo,peerjs")
    port = free_port()
    data = data or Path(tempfile.mkdtemp(prefix="balie-data-", dir=workdir))
    env = dict(os.environ)
    env.update(
        BALIE_DATA_DIR=str(data),
        BALIE_ALLOWED_ORIGINS=f"http://{HOST}:{port}",
        BALIE_WS_RATE=_NO_RATE_LIMIT,
        BALIE_WS_BURST=_NO_RATE_LIMIT,
        BALIE_WS_COMPRESS="1" if compress else "0",
    )
    env.update(extra_env or {})
    cmd = [*python, "-m", "server.cli", "serve", "--host", HOST, "--port", str(port)]
    return _spawn("balie", pin + cmd, port, env, workdir, log_name)


class Child:
    """A client process of a benchmark (``python -m MODULE``), driven line by line over its
    stdin and stdout: bench/_loadgen.py for the relay, bench/_holder.py for held sockets."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ps = psutil.Process(proc.pid)

    @classmethod
    async def start(cls, module: str, pin: list[str], *, limit: int = 1 << 16) -> Self:
        """``module`` on the cores of ``pin``; ``limit``: the longest line it may answer."""
        proc = await asyncio.create_subprocess_exec(
            *pin,
            sys.executable,
            "-m",
            module,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            limit=limit,
        )
        return cls(proc)

    async def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def hear(self, within_s: float) -> str:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), within_s)
        if not line:
            raise RuntimeError(f"{self.__class__.__name__} exited (code {await self.proc.wait()})")
        return line.decode().strip()

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.ps)

    async def finish(self) -> None:
        """Ask it to QUIT; kill it if it does not within 30 s."""
        try:
            await self.say("QUIT")
            await asyncio.wait_for(self.proc.wait(), _CHILD_EXIT_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            if self.proc.returncode is None:
                self.proc.kill()
            await self.proc.wait()


# --- Balie on two nodes -------------------------------------------------------------------


async def postgres_database() -> tuple[str, Callable[[], Coroutine[Any, Any, None]]]:
    """A new, empty database on :data:`POSTGRES`: its URL, and how to drop it."""
    name = f"balie_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()

    async def drop() -> None:
        again = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        async with again.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await again.dispose()

    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False), drop


def start_redis(pin: list[str], workdir: Path) -> Server:
    """A private ``redis-server`` on a free loopback port, nothing written to disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("the cross-node arm needs redis-server (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    return _spawn("redis", [*pin, *cmd, "--dir", str(workdir)], port, dict(os.environ), workdir)


@dataclass
class Cluster:
    """Balie on two nodes, one private Redis, one fresh PostgreSQL database: the relay's
    cross-node arm. Each pair's specialist joins on the first node (which becomes the room's
    home), its resident on the second, so every message crosses Redis once."""

    nodes: list[Server]
    redis: Server
    drop_database: Callable[[], Coroutine[Any, Any, None]]
    name: str = "cross"

    @property
    def protocol(self) -> ProtocolName:
        return "balie"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis.port}/0"

    def cpu_seconds(self) -> float:
        """Both nodes and Redis: the whole server side."""
        return sum(p.cpu_seconds() for p in (*self.nodes, self.redis))

    def check_alive(self) -> None:
        for process in (*self.nodes, self.redis):
            process.check_alive()

    def redis_counters(self) -> tuple[int, int, int]:
        """Bytes Redis has read from its clients, PUBLISH and SET calls, since it started."""
        client = SyncRedis(host=HOST, port=self.redis.port)
        try:
            stats, commands = client.info("stats"), client.info("commandstats")
        finally:
            client.close()
        calls = {
            name: int(commands.get(f"cmdstat_{name}", {}).get("calls", 0))
            for name in ("publish", "set")
        }
        return int(stats["total_net_input_bytes"]), calls["publish"], calls["set"]

    async def pair_specs(self, count: int, tag: str) -> list[dict[str, Any]]:
        return await self.nodes[0]._balie_specs(count, far=self.nodes[1])

    def stop(self) -> None:
        """Stop the nodes, then Redis, and drop the database."""
        for process in (*self.nodes, self.redis):
            process.stop()
        asyncio.run(self.drop_database())


def start_cluster(pin: list[str], compress: bool, workdir: Path, *, links: bool = True) -> Cluster:
    """Redis, a fresh PostgreSQL database and two Balie nodes sharing them (and one data
    directory, so one set of key files), the nodes started one after the other; with
    ``links``, frames between the nodes go over links (server/call/node_link.py), as
    docker/compose.yaml deploys them, instead of through Redis."""
    url, drop = asyncio.run(postgres_database())
    started: list[Server] = []
    try:
        redis = start_redis(pin, workdir)
        started.append(redis)
        env = {
            "BALIE_REDIS_URL": f"redis://{HOST}:{redis.port}/0",
            "BALIE_BUS_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "BALIE_DATABASE_URL": url,
            "BALIE_DEMO_DATA": "0",
        }
        if links:
            env["BALIE_LINK_LISTEN"] = f"{HOST}:0"
        data = Path(tempfile.mkdtemp(prefix="balie-cluster-", dir=workdir))
        for node in ("node1", "node2"):
            started.append(
                start_balie(pin, compress, workdir, extra_env=env, data=data, log_name=node)
            )
    except BaseException:
        for process in reversed(started):
            process.stop()
        asyncio.run(drop())
        raise
    return Cluster(nodes=started[1:], redis=redis, drop_database=drop)


# --- what every benchmark prints first ----------------------------------------------------


def preamble(title: str) -> None:
    """The title, the date, the machine and the versions under test."""
    print(title)
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"machine: {machine()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))


def pinning(pin: bool, server_core: str | None, client_cores: str | None, clients: str) -> str:
    """How processes are placed: ``servers on core 0, CLIENTS on cores 1``, or not pinned."""
    if pin and server_core is not None and shutil.which("taskset"):
        return f"servers on core {server_core}, {clients} on cores {client_cores}"
    return "not pinned"


def command(script: str) -> None:
    """The command line that reproduces this run, then a blank line."""
    print(f"command: .venv/bin/python bench/{script} {' '.join(sys.argv[1:])}".rstrip())
    print()


def versions() -> dict[str, str]:
    """Versions of everything that moves the figures."""
    out = {"balie": _git_revision(), "python": platform.python_version()}
    for dist in ("aiohttp", "orjson", "uvloop", "psutil"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    node = shutil.which("node")
    if node:
        run = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
        out["node"] = run.stdout.strip()
    for pkg in ("peer", "ws"):
        meta = ROOT / "node_modules" / pkg / "package.json"
        if meta.exists():
            out[pkg] = str(json.loads(meta.read_text())["version"])
    return out


def _git_revision() -> str:
    """The commit under test, marked ``+dirty`` when server/ or signaling/ have local edits."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    head = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        [git, "status", "--porcelain", "--", "server", "signaling"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{head or 'unknown'}{'+dirty' if dirty else ''}"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {model}, Linux {os.uname().release}"
