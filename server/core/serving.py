"""Serving the application: the listening site, with a deadline for each request's headers.

aiohttp has no deadline for reading a request's headers: a client that sends them a byte at
a time (slowloris) holds a connection for as long as it likes. :class:`HeaderDeadline`
stands between the transport and aiohttp's protocol and closes a connection whose header
block has not arrived within ``BALIE_HEADER_TIMEOUT`` seconds. It guards every request that
starts on a connection until one has a body or upgrades to a WebSocket; then it steps out
of the way (``transport.set_protocol``), so relayed frames never pass through it. In
production the TLS proxy enforces the same for every request (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
from collections.abc import Callable
from enum import Enum
from typing import Final, cast

from aiohttp import web

from server.core.logs import AccessLogger

log = logging.getLogger("balie.http")

#: the end of a header block
_END: Final = b"\r\n\r\n"
#: more header bytes than aiohttp accepts anyway (it refuses a line over 8190)
_MAX_HEADER_BYTES: Final = 64 * 1024
#: a header block announcing a body or a protocol switch: guarding stops there
_BODY_OR_UPGRADE: Final = re.compile(
    rb"\r\n(content-length:\s*0*[1-9]|transfer-encoding:|upgrade:)", re.IGNORECASE
)
#: seconds an idle keep-alive connection stays open (aiohttp's default is 75)
KEEPALIVE_SECONDS: Final = 15.0
#: seconds a stopping server gives requests in flight to finish
SHUTDOWN_SECONDS: Final = 10.0


class HeaderDeadline(asyncio.Protocol):
    """aiohttp's protocol, with a deadline for each request's header block."""

    class State(Enum):
        #: a request has started; its header block must end in time (the timer runs)
        READING_HEADERS = "reading headers"
        #: a request without a body was read; the next byte starts the next request
        BETWEEN_REQUESTS = "between requests"

    def __init__(self, inner: asyncio.Protocol, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._buffer = b""
        self._state = HeaderDeadline.State.READING_HEADERS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self._transport = cast(asyncio.Transport, transport)
        self._inner.connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)
        self._take(data)

    def _take(self, data: bytes) -> None:
        if self._state is HeaderDeadline.State.BETWEEN_REQUESTS:
            self._state = HeaderDeadline.State.READING_HEADERS
            self._arm()
        self._buffer += data
        end = self._buffer.find(_END)
        if end < 0:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                self._step_aside()  # aiohttp refuses such a request itself
            return
        header, rest = self._buffer[: end + len(_END)], self._buffer[end + len(_END) :]
        self._disarm()
        if _BODY_OR_UPGRADE.search(header):
            # a body takes as long as the line is slow, and a WebSocket lives for the call
            self._step_aside()
            return
        self._buffer = b""
        self._state = HeaderDeadline.State.BETWEEN_REQUESTS
        if rest:  # the next request, pipelined behind this one
            self._take(rest)

    def _arm(self) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self._transport is not None and not self._transport.is_closing():
            log.info("closed a connection whose request headers took over %g s", self._timeout)
            self._transport.close()

    def _step_aside(self) -> None:
        """Hand the transport to aiohttp's protocol for good: nothing more to guard."""
        self._disarm()
        self._buffer = b""
        if self._transport is not None:
            self._transport.set_protocol(self._inner)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.SockSite):
    """A site on a socket we bound ourselves, whose connections get a header deadline."""

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, *, header_timeout: float):
        super().__init__(runner, sock)
        self._header_timeout = header_timeout

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        server = self._runner.server
        assert server is not None  # the runner is set up before its sites start
        timeout = self._header_timeout

        def guarded() -> asyncio.Protocol:
            return HeaderDeadline(server(), timeout)

        self._server = await asyncio.get_running_loop().create_server(
            guarded, sock=self._sock, backlog=self._backlog
        )


def make_runner(app: web.Application, *, access_log: bool = True) -> web.AppRunner:
    """The runner every Balie server uses: the production access log, short keep-alive."""
    if access_log:
        return web.AppRunner(
            app,
            access_log_class=AccessLogger,
            keepalive_timeout=KEEPALIVE_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
    return web.AppRunner(
        app, keepalive_timeout=KEEPALIVE_SECONDS, shutdown_timeout=SHUTDOWN_SECONDS
    )


async def serve_until_stopped(
    app: web.Application,
    sock: socket.socket,
    *,
    header_timeout: float,
    started: Callable[[], None] = lambda: None,
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM, then shut down in order."""
    runner = make_runner(app)
    await runner.setup()
    try:
        await GuardedSite(runner, sock, header_timeout=header_timeout).start()
        started()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
