"""A load balancer a test steers: an HTTP and WebSocket reverse proxy on a loopback port in
front of several Balie nodes, without sticky sessions.

Each request goes to the node the test points it at now (:meth:`Balancer.send_to`), so a
test decides which node serves which step of a person's path, as a round-robin balancer
would by chance. A path prefix can be pinned to one node, as an operator routes the IRMA
server's path to the IRMA server. A WebSocket stays on the node it was opened on, as a TCP
connection through any balancer does.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from tests.support import free_port

#: headers about one hop, not the request (RFC 9110 §7.6.1), and those aiohttp sets itself
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
WEBSOCKET_HEADERS: Final = frozenset({"sec-websocket-key", "sec-websocket-version"})


class Balancer:
    def __init__(self) -> None:
        # the port is known before any node starts: nodes name it as their public URL
        self.port = free_port()
        #: the nodes' base URLs
        self.nodes: list[str] = []
        self.target = ""
        #: path prefix → the node every request under it goes to
        self.pins: dict[str, str] = {}
        #: (method, path, node) of every request, in order: what a test asserts went where
        self.served: list[tuple[str, str, str]] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, node: str) -> None:
        """Another node behind the balancer; the first one gets the requests."""
        self.nodes.append(node)
        self.target = self.target or node

    def send_to(self, node: str) -> None:
        """From now on new requests go to ``node``."""
        assert node in self.nodes, node
        self.target = node

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def _node_for(self, path: str) -> str:
        for prefix, node in self.pins.items():
            if path.startswith(prefix):
                return node
        return self.target

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        node = self._node_for(request.path)
        self.served.append((request.method, request.path, node))
        headers = CIMultiDict(
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in HOP_BY_HOP
        )
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, node, headers)
        assert self._http is not None
        async with self._http.request(
            request.method,
            node + request.path_qs,
            headers=headers,
            data=await request.read() if request.can_read_body else None,
            allow_redirects=False,
        ) as upstream:
            response = web.Response(status=upstream.status, body=await upstream.read())
            for name, value in upstream.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            return response

    async def _websocket(
        self, request: web.Request, node: str, headers: CIMultiDict[str]
    ) -> web.StreamResponse:
        assert self._http is not None
        for name in WEBSOCKET_HEADERS | {"sec-websocket-extensions"}:
            headers.popall(name, None)
        try:
            upstream = await self._http.ws_connect(
                node.replace("http", "ws", 1) + request.path_qs,
                headers=headers,
                autoping=False,
                autoclose=False,
            )
        except aiohttp.WSServerHandshakeError as refused:
            return web.Response(status=refused.status)
        downstream = web.WebSocketResponse(autoping=False, autoclose=False)
        await downstream.prepare(request)
        pumps = [
            asyncio.ensure_future(_pump(upstream, downstream)),
            asyncio.ensure_future(_pump(downstream, upstream)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        await upstream.close()
        await downstream.close(code=upstream.close_code or aiohttp.WSCloseCode.GOING_AWAY)
        return downstream


async def _pump(
    source: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
    sink: aiohttp.ClientWebSocketResponse | web.WebSocketResponse,
) -> None:
    """Frames from ``source`` to ``sink`` until ``source`` closes, its close code passed on."""
    while True:
        message = await source.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type is aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        elif message.type is aiohttp.WSMsgType.PING:
            await sink.ping(message.data)
        elif message.type is aiohttp.WSMsgType.PONG:
            await sink.pong(message.data)
        elif message.type is aiohttp.WSMsgType.CLOSE:
            await sink.close(code=message.data, message=(message.extra or "").encode())
            return
        else:  # closing, closed, error: the connection is gone
            return
