"""Test support: a real Balie server on a loopback port and a signalling client.

Deadlines here (``timeout=``) only stop a broken test from hanging; no test
asserts how fast anything is (that is what bench/ is for).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from server.app import create_app
from server.call.rooms import IssuedRoom, issue_room
from server.config import Config, WebSocketSettings
from server.core.appkeys import KEYS
from server.core.clock import Clock, utc_now
from server.core.serving import GuardedSite, make_runner
from signaling.roles import Role

DEADLINE = 20.0

#: the identity (and mail) settings production requires, with obviously unusable values
PRODUCTION_IDENTITY = {
    "BALIE_IRMA_URL": "https://irma.internal.example",
    "BALIE_IRMA_TOKEN": "requestor-token",
    "BALIE_IRMA_RESULT_KEY_FILE": "/etc/balie/irma-jwt.pem",
    "BALIE_VAULT_KEYS": "v1:" + "A" * 43 + "=",
    "BALIE_SMTP_HOST": "smtp.internal.example",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def operator_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """The environment of ``balie`` as an operator runs it on a node's data directory: no
    other BALIE_ setting of the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("BALIE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BALIE_DATA_DIR", str(data_dir))


def free_port(*, udp: bool = False) -> int:
    """A TCP port free on loopback right now (the one helper every test uses); with ``udp``,
    free for UDP as well (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
            if not udp:
                return port
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


class MovableClock:
    """The application's clock in tests: time moves when the test says, never by sleeping."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now if now is not None else datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **parts: float) -> None:
        self.now += (delta or timedelta()) + timedelta(**parts)


def config_for(data_dir: Path, **fields: Any) -> Config:
    """A configuration on a free loopback port with its files in ``data_dir``."""
    return Config(port=free_port(), data_dir=data_dir, **fields)


@dataclass
class LiveServer:
    config: Config
    app: web.Application
    runner: web.AppRunner
    #: the application's clock (the real one unless the test passed a :class:`MovableClock`)
    clock: Clock

    @property
    def url(self) -> str:
        return self.config.public_url

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"

    @property
    def origin(self) -> str:
        return self.config.allowed_origins[0]

    def issue_room(
        self,
        roles: tuple[Role, ...] = (Role.RESIDENT, Role.SPECIALIST),
        *,
        purpose: str | None = None,
        tenant: str | None = None,
    ) -> IssuedRoom:
        """A fresh room; with ``purpose`` and ``tenant`` its resident first shows who they are
        (the demo tenant's purposes ask for the demo wallet's values)."""
        return issue_room(
            self.config,
            self.app[KEYS],
            now=int(time.time()),
            roles=roles,
            purpose=purpose,
            tenant=tenant,
        )


@asynccontextmanager
async def live_server(
    data_dir: Path,
    *,
    config: Config | None = None,
    clock: Clock = utc_now,
    access_log: bool = False,
    routes: Sequence[tuple[str, str, Handler]] = (),
    **ws_overrides: Any,
) -> AsyncIterator[LiveServer]:
    """Run Balie on a free loopback port with real sockets.

    ``config`` replaces the default one (make it with :func:`config_for`); ``ws_overrides``
    change the WebSocket settings of the default. ``access_log`` uses the production access
    logger, so a test sees what an operator's log would show; ``routes`` are added before the
    application starts.
    """
    if config is None:
        ws = dataclasses.replace(WebSocketSettings(), **ws_overrides)
        config = config_for(data_dir, ws=ws)
    app = create_app(config, clock=clock)
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = make_runner(app, access_log=access_log)
    await runner.setup()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    # the site `balie serve` uses, with its deadline for request headers
    await GuardedSite(runner, sock, header_timeout=config.header_timeout).start()
    try:
        yield LiveServer(config, app, runner, clock)
    finally:
        await runner.cleanup()


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"socket closed with code {code}")
        self.code = code


class SignalClient:
    """A scripted participant speaking docs/signaling.md over a real socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []
        self.last_seq = 0
        self.participant_id = ""
        self.session_id = ""
        self._seq = 0

    @classmethod
    async def connect(
        cls,
        session: aiohttp.ClientSession,
        server: LiveServer,
        origin: str | None = None,
        *,
        browser: str | None = None,
    ) -> SignalClient:
        """A socket from our page; ``browser`` is the browser-session id its cookie carries."""
        headers = {"Cookie": f"balie_browser={browser}"} if browser else {}
        ws = await session.ws_connect(
            server.ws_url,
            origin=origin or server.origin,
            autoping=True,
            heartbeat=None,
            headers=headers,
        )
        return cls(ws)

    async def send(self, **message: Any) -> int:
        self._seq += 1
        message.setdefault("seq", self._seq)
        await self.ws.send_str(orjson.dumps(message).decode())
        return self._seq

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(text)

    async def recv(self, timeout: float = DEADLINE) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        return await self._read(timeout)

    async def _read(self, timeout: float) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise Closed(self.ws.close_code)
        frame: dict[str, Any] = orjson.loads(msg.data)
        if "seq" in frame:
            self.last_seq = frame["seq"]
        return frame

    async def expect(self, kind: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """The next message of ``kind``; others are kept for later ``recv``."""
        for i, frame in enumerate(self.backlog):
            if frame["type"] == kind:
                return self.backlog.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {kind!r}; got {[f['type'] for f in self.backlog]}")
            frame = await self._read(left)
            if frame["type"] == kind:
                return frame
            self.backlog.append(frame)

    async def expect_close(self, timeout: float = DEADLINE) -> int | None:
        """Read until the server closes; return the close code."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                self.backlog.append(await self._read(max(left, 0.01)))
            except Closed as closed:
                return closed.code

    def continue_from(self, earlier: SignalClient) -> None:
        """Take over an earlier socket's session and counters (for ``resume``)."""
        self._seq = earlier._seq
        self.last_seq = earlier.last_seq
        self.participant_id = earlier.participant_id
        self.session_id = earlier.session_id

    async def resume(self) -> dict[str, Any]:
        await self.send(type="resume", session_id=self.session_id, last_seq=self.last_seq)
        return await self.expect("resumed")

    async def join(self, token: str, room: str | None = None) -> dict[str, Any]:
        if room is None:
            await self.send(type="join", token=token)
        else:
            await self.send(type="join", token=token, room=room)
        joined = await self.expect("joined")
        self.participant_id = joined["participant_id"]
        self.session_id = joined["session_id"]
        return joined

    async def close(self) -> None:
        await self.ws.close()


async def seat_lobby(
    session: aiohttp.ClientSession, server: LiveServer, *, resident_on: LiveServer | None = None
) -> tuple[SignalClient, SignalClient, IssuedRoom]:
    """A specialist in the call and a resident waiting in the lobby of a fresh room (the
    resident's socket on ``resident_on``, another node, if given)."""
    room = server.issue_room()
    specialist = await SignalClient.connect(session, server)
    await specialist.join(room.seat(Role.SPECIALIST).token)
    resident = await SignalClient.connect(session, resident_on or server)
    joined = await resident.join(room.seat(Role.RESIDENT).token)
    assert joined["state"] == "lobby"
    return specialist, resident, room


async def seat_pair(
    session: aiohttp.ClientSession, server: LiveServer
) -> tuple[SignalClient, SignalClient, IssuedRoom]:
    """A specialist and an admitted resident in one fresh room."""
    specialist, resident, room = await seat_lobby(session, server)
    await specialist.send(type="admit", participant_id=resident.participant_id)
    await resident.expect("admitted")
    await specialist.expect("peer-joined")
    return specialist, resident, room


@dataclass
class BalieProcess:
    """``balie serve`` running as a person starts it, in a process of its own."""

    url: str
    process: asyncio.subprocess.Process
    #: every line it has printed so far (stdout and stderr), kept current while it runs
    lines: list[str]

    @property
    def printed(self) -> str:
        return "\n".join(self.lines)

    def demo_link(self, role: Role) -> str:
        """The demo join link ``balie serve`` printed for ``role`` (see server/cli.py)."""
        label = f"({role.value}):"
        for line in self.lines:
            if label in line:
                return line.split(label, 1)[1].strip()
        raise AssertionError(f"no demo link for {role.value} in: {self.printed}")


@asynccontextmanager
async def balie_serve(
    data_dir: Path,
    *,
    stop: signal.Signals = signal.SIGTERM,
    env: Mapping[str, str] = {},
    port: int | None = None,
) -> AsyncIterator[BalieProcess]:
    """Start ``balie serve`` on a free port (or ``port``: a node restarted in place), with
    only ``BALIE_DATA_DIR`` (and ``env``) of Balie's settings, and wait until it answers
    ``/healthz``. What it prints is read all the time (a full pipe would stall it). Stopped
    with ``stop``: SIGTERM as an operator's service manager does, SIGINT as Ctrl+C; a test
    may end it sooner itself through ``process`` (SIGKILL, say)."""
    port = free_port() if port is None else port
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}
    environment |= {"BALIE_DATA_DIR": str(data_dir), **env}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("balie")),
        "serve",
        "--port",
        str(port),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []

    async def read() -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            lines.append(line.decode(errors="replace").rstrip("\n"))

    reading = asyncio.create_task(read())
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                if process.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError("balie serve did not start:\n" + "\n".join(lines))
                try:
                    async with http.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
        yield BalieProcess(url, process, lines)
    finally:
        if process.returncode is None:
            process.send_signal(stop)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await reading
