"""The three servers bench/relay.py compares, each a separate process it starts and measures.

Each server knows how to start itself, how to hand out the endpoints of N fresh pairs, and how
much CPU it has used (user + system, read with psutil).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import orjson

# psutil ships no type stubs; the test extra has no types-psutil either.
import psutil  # type: ignore[import-untyped, unused-ignore]

from bench._workload import ProtocolName

ROOT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
PEERJS_BIN: Final = ROOT / "node_modules" / "peer" / "dist" / "bin" / "peerjs.js"
_START_TIMEOUT_S: Final = 30.0
# Balie's per-connection rate limit would drop the benchmark's frames; it is not what is measured.
_NO_RATE_LIMIT: Final = "1000000"


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

    name: ProtocolName
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)

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

    async def _balie_specs(self, count: int) -> list[dict[str, Any]]:
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
        origin = f"http://{HOST}:{self.port}"
        url = f"ws://{HOST}:{self.port}/ws"
        specs = []
        for i, room in enumerate(rooms):
            ends = []
            for side in ("specialist", "resident"):
                seat = room[side]
                ends.append(
                    {
                        "url": url,
                        "origin": origin,
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
    name: ProtocolName, cmd: list[str], port: int, env: dict[str, str], workdir: Path
) -> Server:
    log = workdir / f"{name}.log"
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
) -> Server:
    """``balie serve`` on a free port with a fresh data directory; ``extra_env`` adds or
    overrides variables, ``python`` is the interpreter's command (bench/_probe.py wraps it)."""
    if not balie_available():
        raise RuntimeError("Balie's server/cli.py does not exist yet; pass --servers echo,peerjs")
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="balie-data-", dir=workdir))
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
    return _spawn("balie", pin + cmd, port, env, workdir)


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
