"""A loopback TCP proxy a test controls: it can cut every connection (a network drop), swallow
everything (a partition where connections stay up and nothing answers), or go away and come
back on the same port (the server behind it stopped and started again)."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support import free_port


class CuttableProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = free_port()
        #: while set, bytes are swallowed and new connections go nowhere (a blackhole)
        self.blackholed = False
        self._server: asyncio.Server | None = None
        self._transports: list[asyncio.WriteTransport] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on :attr:`port` (again, after :meth:`refuse`)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def cut(self) -> None:
        """Abort every proxied connection (RST, no WebSocket close frame)."""
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    def blackhole(self) -> None:
        """From now on nothing gets through, and nothing is refused either."""
        self.blackholed = True

    def heal(self) -> None:
        """The partition ends: connections made during it are gone, new ones go through."""
        self.blackholed = False
        self.cut()

    async def refuse(self) -> None:
        """The server behind goes away: every connection is cut and new ones are refused
        (nothing listens on :attr:`port`) until :meth:`start` is called again."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.cut()
        if server is not None:
            await server.wait_closed()

    async def stop(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._transports.append(writer.transport)
        if self.blackholed:
            return  # accepted, and never answered
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()  # the target refused: so does the proxy
            return
        self._transports.append(up_writer.transport)
        if self._server is None:  # refused while this connection was being made
            self.cut()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if not self.blackholed:
                    sink.write(data)
                    await sink.drain()
        sink.transport.abort()
