"""HTTP load with ``wrk`` (Debian package ``wrk``) for bench/pages.py, and the hello-world
peer it runs next to Balie.

wrk is closed-loop: each of its connections sends the next request when the answer to the
last has arrived, so under saturation the latencies are those of a queue of ``connections``
requests (no coordinated-omission correction). A small Lua ``done()`` hook prints the
latency percentiles in microseconds and the error counts on one line, which :func:`run_wrk`
parses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench._servers import HOST, ROOT, Server, free_port

#: the answer wrk's done() hook prints, after everything wrk itself prints
_HOOK: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50=%d p90=%d p99=%d p999=%d max=%d "
    .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
_START_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class Load:
    """One wrk run against one URL."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    #: socket errors and answers other than 2xx/3xx
    errors: int
    #: CPU seconds the server used during the run
    server_cpu_s: float

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu_s(self) -> float:
        return self.requests / self.server_cpu_s if self.server_cpu_s else float("nan")


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk not found: apt-get install wrk (scripts/install does)")
    return found


async def run_wrk(
    url: str, server: Server, *, connections: int, seconds: float, pin: list[str]
) -> Load:
    """``wrk`` with ``connections`` connections on one thread for ``seconds`` against
    ``url``; the server's CPU time is read around it."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as hook:
        hook.write(_HOOK)
    try:
        cpu = server.cpu_seconds()
        process = await asyncio.create_subprocess_exec(
            *pin, wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
            "-s", hook.name, url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        cpu = server.cpu_seconds() - cpu
    finally:
        os.unlink(hook.name)
    line = next((x for x in out.decode().splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}): {out.decode()}{err.decode()}")
    got = {k: int(v) for k, v in (item.split("=") for item in line.split()[1:])}
    errors = sum(got[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        requests=got["requests"],
        seconds=got["duration_us"] / 1e6,
        p50_ms=got["p50"] / 1000,
        p90_ms=got["p90"] / 1000,
        p99_ms=got["p99"] / 1000,
        p999_ms=got["p999"] / 1000,
        max_ms=got["max"] / 1000,
        errors=errors,
        server_cpu_s=cpu,
    )


def start_hello(pin: list[str], workdir: Path) -> Server:
    """bench/hello_server.py on a free port, its log in ``hello.log``."""
    port = free_port()
    log = workdir / "hello.log"
    cmd = [*pin, sys.executable, "-m", "bench.hello_server", "--host", HOST, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    server = Server("hello", port, proc, log)
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the hello-world server exited: {log.read_text()[-500:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise SystemExit("the hello-world server did not start") from None
            time.sleep(0.1)
