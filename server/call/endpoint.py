"""The ``/ws`` endpoint: sockets in, room effects out.

This module reads the sockets: it checks the Origin, reads the first frame (``join`` or
``resume``), rate-limits and decodes every frame and hands typed messages to the
:class:`~server.call.hub.Hub`; :mod:`server.call.connection` writes.
"""

from __future__ import annotations

import logging
import time

from aiohttp import WSMsgType, web

from server.call.appkeys import HUB
from server.call.connection import Connection
from server.call.hub import Hub
from server.config import Config
from server.core.appkeys import CONFIG
from server.core.browser import browser_id
from server.core.logs import Event, event
from signaling.close_codes import CloseCode
from signaling.errors import (
    BinaryNotSupported,
    NotAllowed,
    ProtocolError,
    RateLimited,
    SignalingError,
)
from signaling.messages import Join, Resume, decode_client_message
from signaling.ratelimit import TokenBucket
from signaling.room import REPLAY_LIMIT

log = logging.getLogger("balie.ws")
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY


def origin_allowed(config: Config, request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin in config.allowed_origins


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """One socket, from the upgrade to its end.

    The read loop is written out here rather than in a function of its own: this coroutine
    lives as long as the call, and a second coroutine beside it would cost every held socket
    its frame, about 0.4 kB (bench/connections.py)."""
    config = request.app[CONFIG]
    hub = request.app[HUB]
    if not origin_allowed(config, request):
        log.warning("WebSocket refused: origin not allowed", extra=event(Event.WS_ORIGIN_REFUSED))
        raise web.HTTPForbidden(reason="origin not allowed")
    ws = web.WebSocketResponse(
        heartbeat=config.ws.heartbeat,
        max_msg_size=config.ws.max_message,
        compress=config.ws.compress,
    )
    await ws.prepare(request)
    # a full resume replay must fit the queue of the socket that resumes
    conn = Connection(ws, max(config.ws.send_queue, REPLAY_LIMIT + 2), request.transport)
    conn.browser = browser_id(request)
    hub.sockets.add(conn)
    try:
        if not await _first_frame(hub, conn, config):
            return ws
        clock = time.monotonic
        bucket = TokenBucket(config.ws.rate, config.ws.burst, clock())
        allow, handle, receive = bucket.allow, hub.handle, ws.receive
        strikes = 0
        # receive() rather than ``async for``: one coroutine layer less per frame
        while True:
            kind, data, _extra = await receive()
            if kind is not _TEXT and kind is not _BINARY:
                return ws  # closing, closed, or a protocol error aiohttp answered
            # every frame counts against the rate, the ones we cannot use included
            if not allow(clock()):
                strikes += 1
                if strikes >= config.ws.rate_strikes:
                    log.warning(
                        "closing a socket over its rate", extra=event(Event.WS_RATE_LIMITED)
                    )
                    await conn.close(CloseCode.RATE_LIMITED, "too many messages")
                    return ws
                conn.refuse(RateLimited("too many messages; this one was dropped"))
                continue
            strikes = 0
            if kind is _BINARY:
                conn.refuse(BinaryNotSupported("binary frames are not supported"))
                continue
            try:
                message = decode_client_message(data)
            except ProtocolError as exc:
                conn.refuse(exc, exc.ref)
                continue
            elsewhere = handle(conn, message, data)
            if elsewhere is not None:
                await elsewhere
            if conn.closed_by_room:
                # The room closed this socket (end, leave): the writer does the close
                # handshake alone. aiohttp's close() beside a pending receive() drops the
                # connection without waiting for the client's close frame: the client sees
                # 1006.
                await conn.written()
                return ws
    finally:
        await hub.dropped(conn)
        hub.forget_socket(conn)
        await conn.stop()
        if not ws.closed:
            await ws.close(code=CloseCode.GOING_AWAY)
        hub.stats.closed(conn.close_sent or ws.close_code)  # ours, else the client's


async def _first_frame(hub: Hub, conn: Connection, config: Config) -> bool:
    """Seat the socket from its first frame; False if it was closed instead."""
    try:
        msg = await conn.ws.receive(timeout=config.ws.join_timeout)
    except TimeoutError:
        await conn.close(CloseCode.JOIN_TIMEOUT, "no join in time")
        return False
    if msg.type is not WSMsgType.TEXT:
        if msg.type is WSMsgType.BINARY:
            await _refuse_first(conn, BinaryNotSupported("the first frame must be a text join"))
        return False  # closed, or an error aiohttp already answered (1007, 1009)
    try:
        message = decode_client_message(msg.data)
    except ProtocolError as exc:
        await _refuse_first(conn, exc)
        return False
    if isinstance(message, Join):
        await hub.join(conn, message)
    elif isinstance(message, Resume):
        await hub.resume(conn, message)
    else:
        await _refuse_first(conn, NotAllowed(type(message).__name__.lower(), "not joined"))
        return False
    return conn.room_id is not None


async def _refuse_first(conn: Connection, error: SignalingError) -> None:
    conn.refuse(error)
    await conn.close(CloseCode.BAD_FIRST_FRAME, "first frame must be join or resume")
