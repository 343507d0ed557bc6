"""The ``/ws`` endpoint: sockets in, room effects out.

This is the only module that touches WebSockets. It checks the Origin,
reads the first frame (``join`` or ``resume``), rate-limits and decodes every
frame, hands typed messages to the :class:`Hub`, and writes what rooms send
through a bounded per-socket queue: a socket that stops reading overflows its
own queue and is closed, so nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from server.config import Config
from server.core.appkeys import CONFIG
from server.core.browser import browser_id
from signaling.bus import Envelope, MessageBus, Subscription, session_channel
from signaling.errors import (
    BinaryNotSupported,
    NotAllowed,
    ProtocolError,
    RateLimited,
    RefusedError,
    SignalingError,
    TokenError,
    UnknownPeer,
    VerificationRequired,
)
from signaling.messages import (
    ClientMessage,
    Join,
    JsonObject,
    Resume,
    decode_client_message,
    encode_server_message,
)
from signaling.ratelimit import TokenBucket
from signaling.registry import Registry
from signaling.roles import Role
from signaling.room import REPLAY_LIMIT, Effect, Room, Send
from signaling.tokens import KeySet, RoomClaims, verify_room_token
from signaling.turn import ice_servers_for

log = logging.getLogger("balie.ws")

CLOSE_BAD_FIRST_FRAME: Final = 4400
CLOSE_TOKEN_REFUSED: Final = 4401
CLOSE_NO_SEAT: Final = 4404
CLOSE_JOIN_TIMEOUT: Final = 4408
CLOSE_REPLACED: Final = 4409
CLOSE_ENDED: Final = 4410
CLOSE_VERIFY: Final = 4412
CLOSE_RATE: Final = 4429
CLOSE_SLOW_CONSUMER: Final = 4503

#: how long closing waits for queued frames to be written
CLOSE_WAIT: Final = 5.0
#: a socket's batch of frames stays below this size: written into an empty
#: transport buffer it cannot reach the 64 KiB high-water mark, so the write
#: never has to pause and wait for this socket's reader
DIRECT_WRITE_LIMIT: Final = 32 * 1024
#: how often seats whose socket dropped are checked against the grace period
REAP_INTERVAL: Final = 1.0


class Connection:
    """One socket and its bounded send queue.

    Frames for an idle socket (nothing queued, nothing in its transport
    buffer) are gathered while the event loop runs its ready callbacks and
    written with one ``transport.write`` at the end of that pass: a relay
    wakes up for a whole TCP read of frames, and one system call for all of
    them is most of the CPU a relayed frame costs. Anything else waits in the
    queue for the socket's own writer task, so a socket that does not read
    only ever fills its own queue.
    """

    def __init__(
        self, ws: web.WebSocketResponse, queue_size: int, transport: asyncio.Transport | None
    ) -> None:
        self.ws = ws
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        # a deflate context must see every frame in order, which aiohttp's writer
        # guarantees and a batch written past it would not
        self._batchable = transport is not None and not ws.compress
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._writing = False
        self.room: Room | None = None
        #: the browser-session id from the upgrade request's cookie, if any
        self.browser: str | None = None
        self.participant_id = ""
        self.session_id = ""
        self.subscription: Subscription | None = None
        #: set once the room closed this socket on purpose (leave, deny, end)
        self.closed_by_room = False
        self._overflowed = False
        self._closer: asyncio.Task[bool] | None = None
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue(queue_size)
        self._writer = self._loop.create_task(self._write_loop())

    async def deliver(self, envelope: Envelope) -> None:
        """Take an envelope from the bus; never waits for this socket's reader."""
        self.take(envelope)

    def take(self, envelope: Envelope) -> None:
        """Send a frame or carry out a close that the room ordered.

        A close that comes this way was ordered by the room (leave, deny, end,
        replaced): the seat is gone, so the socket's end must not mark it
        away. Closes the server decides on its own (rate, slow consumer) go
        through :meth:`close` and keep the seat for resume.
        """
        if envelope.close_code is not None:
            self.closed_by_room = True
            self._enqueue(envelope)
        elif envelope.frame is not None:
            self.send(envelope.frame)

    def send(self, frame: bytes) -> None:
        """Write a frame at the end of this loop pass if the socket is idle, else queue it."""
        size = len(frame)
        transport = self._transport
        if (
            self._batchable
            and self._batch_size + size < DIRECT_WRITE_LIMIT - _MAX_HEADER
            and not self._writing
            and self._queue.empty()
            and transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() == 0
        ):
            if not self._batch:
                # scheduled before anything this pass can queue: a frame that
                # goes to the writer task later in the pass is written after
                # the batch, because ready callbacks run in order
                self._loop.call_soon(self._flush)
            header = _text_header(size)
            self._batch.append(header)
            self._batch.append(frame)
            self._batch_size += len(header) + size
        else:
            self._enqueue(Envelope(frame=frame))

    def _flush(self) -> None:
        batch = self._batch
        self._batch = []
        self._batch_size = 0
        transport = self._transport
        # after a close frame nothing may follow; the seat's replay has these frames
        if transport is None or transport.is_closing() or self.ws.closed:
            return
        transport.write(b"".join(batch))

    def _enqueue(self, envelope: Envelope) -> None:
        if self._overflowed:
            return
        try:
            self._queue.put_nowait(envelope)
        except asyncio.QueueFull:
            self._overflowed = True
            log.warning("closing a socket that stopped reading (send queue full)")
            self._writer.cancel()
            # drain=False: waiting to flush the close frame to a client that does
            # not read would hang this socket's handler for good
            self._closer = self._loop.create_task(
                self.ws.close(code=CLOSE_SLOW_CONSUMER, message=b"send queue overflow", drain=False)
            )

    def send_now(self, message: JsonObject) -> None:
        """Queue an unnumbered frame (``error``, ``resumed``) for this socket only."""
        self.send_frame(encode_server_message(message))

    def send_frame(self, frame: bytes) -> None:
        """Queue an encoded frame for this socket only, behind what is queued."""
        self._enqueue(Envelope(frame=frame))

    def refuse(self, error: SignalingError, ref: int | None = None) -> None:
        frame: JsonObject = {"type": "error", "code": error.code, "message": error.message}
        if ref is not None:
            frame["ref"] = ref
        self.send_now(frame)

    async def close(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been written (the seat stays)."""
        self._enqueue(Envelope(close_code=code, close_reason=reason))
        # bounded: a half-open socket must not hold up whoever closes it
        await asyncio.wait({self._writer}, timeout=CLOSE_WAIT)

    async def stop(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    async def _write_loop(self) -> None:
        ws = self.ws
        while True:
            envelope = await self._queue.get()
            if ws.closed:
                return
            self._writing = True
            try:
                if envelope.frame is not None:
                    await ws.send_frame(envelope.frame, WSMsgType.TEXT)
                if envelope.close_code is not None:
                    await ws.close(code=envelope.close_code, message=envelope.close_reason.encode())
                    return
            except (ConnectionError, RuntimeError):
                return  # the socket went away under us; the reader notices too
            finally:
                self._writing = False


def _text_header(size: int) -> bytes:
    """The header of an unmasked, final text frame of ``size`` bytes (RFC 6455 5.2)."""
    if size < 126:
        return _HEADER_LEN1(0x81, size)
    if size < 0x10000:
        return _HEADER_LEN2(0x81, 126, size)
    return _HEADER_LEN3(0x81, 127, size)


_HEADER_LEN1: Final = struct.Struct("!BB").pack
_HEADER_LEN2: Final = struct.Struct("!BBH").pack
_HEADER_LEN3: Final = struct.Struct("!BBQ").pack
_MAX_HEADER: Final = 10


class Hub:
    """Connects sockets to rooms through the bus."""

    def __init__(
        self,
        config: Config,
        keys: KeySet,
        bus: MessageBus,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.keys = keys
        self.bus = bus
        self.clock = clock
        self.registry = Registry(max_in_call=config.ws.max_in_call)
        #: may this seat enter? (the identity gate; set once it is built)
        self.admission: Admission | None = None
        #: told when a room ended or emptied (the vault deletes its values)
        self.on_room_closed: Callable[[str], Coroutine[Any, Any, None]] | None = None
        #: told when a token's holder took a seat (booking checks the resident in)
        self.on_seated: Callable[[RoomClaims], Coroutine[Any, Any, None]] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        #: rooms whose tokens named a purpose: only they hold verified values to delete
        self._gated: set[str] = set()
        #: sockets on this node by session id, to replace a half-open one on resume
        self.connections: dict[str, Connection] = {}

    async def join(self, conn: Connection, message: Join) -> None:
        try:
            claims = verify_room_token(self.keys, message.token, issuer=self.config.tokens.issuer)
            if message.room is not None and message.room != claims.room:
                raise TokenError("token is for another room")
        except TokenError as exc:
            log.info("room token refused: %s", exc.message)
            conn.refuse(exc)
            await conn.close(CLOSE_TOKEN_REFUSED, "token refused")
            return
        if not await self._admits(claims, conn.browser):
            conn.refuse(VerificationRequired("show who you are before joining this call"))
            await conn.close(CLOSE_VERIFY, "verification required")
            return
        now = self.clock()
        session_id = secrets.token_urlsafe(24)
        extra: JsonObject = {
            "ice_servers": ice_servers_for(self.config.ice, claims.participant_id, int(now)),
            "resume_grace": self.config.ws.resume_grace,
        }
        try:
            room = self.registry.room_for_join(claims.room)
        except NotAllowed:
            await conn.close(CLOSE_ENDED, "the call has ended")
            return
        try:
            effects = room.join(claims.participant_id, claims.role, session_id, now, extra)
        except RefusedError as exc:
            conn.refuse(exc)
            await conn.close(CLOSE_BAD_FIRST_FRAME, exc.code)
            self._settle(room, now)
            return
        await self._seat(conn, room, claims.participant_id, session_id)
        if claims.purpose is not None:
            # only a seated room can close; a refused join must leave nothing behind
            self._gated.add(claims.room)
        if self.on_seated is not None:
            self._background(self.on_seated(claims))
        log.info(
            "joined room=%s participant=%s role=%s",
            room.id,
            claims.participant_id,
            claims.role.value,
        )
        await self.dispatch(effects)

    async def resume(self, conn: Connection, message: Resume) -> None:
        room = self.registry.room_of_session(message.session_id)
        if room is None:
            await conn.close(CLOSE_NO_SEAT, "no seat for this session")
            return
        try:
            resumed = room.resume(message.session_id, message.last_seq, self.clock())
        except UnknownPeer:
            await conn.close(CLOSE_NO_SEAT, "no seat for this session")
            return
        old = self.connections.get(message.session_id)
        if old is not None and old is not conn:
            await self._unseat(old)
            old.take(Envelope(close_code=CLOSE_REPLACED, close_reason="replaced"))
        participant_id = resumed.reply["participant_id"]
        await self._seat(conn, room, participant_id, message.session_id)
        conn.send_now(resumed.reply)
        for frame in resumed.replay:
            conn.send_frame(frame)
        log.info(
            "resumed room=%s participant=%s replayed=%d resync=%s",
            room.id,
            participant_id,
            len(resumed.replay),
            "resync" in resumed.reply,
        )
        await self.dispatch(resumed.effects)

    def handle(self, conn: Connection, message: ClientMessage) -> list[Effect]:
        """Apply a seated socket's message and deliver what goes to this node.

        Returns the effects for sockets elsewhere, for :meth:`publish`: a
        relayed frame to a socket on this node does not wait for anything.
        """
        room = conn.room
        if room is None:  # the reader only calls us for seated sockets
            raise RuntimeError("handle() before join")
        if isinstance(message, Join | Resume):
            conn.refuse(NotAllowed(type(message).__name__.lower(), "seated"), message.seq)
            return []
        now = self.clock()
        try:
            effects = room.handle(conn.participant_id, message, now)
        except RefusedError as exc:
            conn.refuse(exc, message.seq)
            return []
        remote = self.deliver_local(effects)
        self._settle(room, now)
        return remote

    async def dropped(self, conn: Connection) -> None:
        """The socket closed; hold the seat unless the room closed it on purpose."""
        await self._unseat(conn)
        room = conn.room
        if room is None or conn.closed_by_room:
            return
        await self.dispatch(room.disconnect(conn.participant_id, conn.session_id, self.clock()))

    async def reap(self) -> None:
        now = self.clock()
        for room, effects in self.registry.expire(now, self.config.ws.resume_grace):
            await self.dispatch(effects)
            self._closed(room)

    async def dispatch(self, effects: list[Effect]) -> None:
        """Deliver effects: straight to sockets on this node, over the bus otherwise."""
        remote = self.deliver_local(effects)
        if remote:
            await self.publish(remote)

    def deliver_local(self, effects: list[Effect]) -> list[Effect]:
        """Deliver the effects for sockets on this node; return the others, in order."""
        local = self.connections
        remote: list[Effect] = []
        for effect in effects:
            conn = local.get(effect.session_id)
            if conn is None:
                remote.append(effect)
            elif isinstance(effect, Send):
                conn.send(effect.frame)
            else:
                conn.take(Envelope(close_code=effect.code, close_reason=effect.reason))
        return remote

    async def publish(self, effects: list[Effect]) -> None:
        """Send effects over the bus to the nodes that hold their sockets.

        A seat whose socket is away has no subscriber: the frame is dropped
        there and replayed from the seat's buffer when it resumes.
        """
        for effect in effects:
            if isinstance(effect, Send):
                envelope = Envelope(frame=effect.frame)
            else:
                envelope = Envelope(close_code=effect.code, close_reason=effect.reason)
            await self.bus.publish(session_channel(effect.session_id), envelope)

    async def notify(self, room_id: str, role: Role, message: JsonObject) -> None:
        """A server notice to the seats of ``role`` in a room on this node."""
        room = self.registry.rooms.get(room_id)
        if room is not None:
            await self.dispatch(room.notify(role, message))

    async def notify_verified(self, room_id: str) -> None:
        """The resident proved who they are: the specialist's panel has news."""
        await self.notify(room_id, Role.SPECIALIST, {"type": "verified"})

    async def request_verification(self, room_id: str) -> None:
        """The specialist asked the resident to show who they are again."""
        await self.notify(room_id, Role.RESIDENT, {"type": "verify"})

    async def _admits(self, claims: RoomClaims, browser: str | None) -> bool:
        if self.admission is None:
            return True
        try:
            return await self.admission(claims, browser)
        except Exception as exc:
            # refusing is the safe answer when the gate cannot decide
            log.warning("identity gate could not decide: %s", type(exc).__name__)
            return False

    def _settle(self, room: Room, now: float) -> None:
        self.registry.settle(room, now)
        self._closed(room)

    async def drain(self) -> None:
        """Wait for hooks still running (at shutdown, before the database they write to
        goes away)."""
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _closed(self, room: Room) -> None:
        if self.on_room_closed is None or room.id not in self._gated:
            return
        if room.state is Room.State.ENDED or room.empty:
            self._gated.discard(room.id)
            self._background(self.on_room_closed(room.id))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a hook without holding up the relay; :meth:`drain` waits for it."""
        task = asyncio.get_running_loop().create_task(work)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _seat(self, conn: Connection, room: Room, participant_id: str, session: str) -> None:
        conn.room, conn.participant_id, conn.session_id = room, participant_id, session
        self.connections[session] = conn
        self.registry.bind_session(session, room)
        conn.subscription = await self.bus.subscribe(session_channel(session), conn.deliver)

    async def _unseat(self, conn: Connection) -> None:
        if conn.subscription is not None:
            await conn.subscription.cancel()
            conn.subscription = None
        if self.connections.get(conn.session_id) is conn:
            del self.connections[conn.session_id]


#: decides whether the holder of a room token may take a seat (server/verification/gate.py)
Admission = Callable[[RoomClaims, str | None], Awaitable[bool]]

#: the hub of an application (defined here: the hub type lives in this module)
HUB = web.AppKey("hub", Hub)


def origin_allowed(config: Config, request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is not None and origin in config.allowed_origins


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    hub = request.app[HUB]
    if not origin_allowed(config, request):
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
    try:
        if await _first_frame(hub, conn, config):
            await _read_loop(hub, conn, config)
    finally:
        await hub.dropped(conn)
        await conn.stop()
        if not ws.closed:
            await ws.close(code=WSCloseCode.GOING_AWAY)
    return ws


async def _first_frame(hub: Hub, conn: Connection, config: Config) -> bool:
    """Seat the socket from its first frame; False if it was closed instead."""
    try:
        msg = await conn.ws.receive(timeout=config.ws.join_timeout)
    except TimeoutError:
        await conn.close(CLOSE_JOIN_TIMEOUT, "no join in time")
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
    return conn.room is not None


async def _refuse_first(conn: Connection, error: SignalingError) -> None:
    conn.refuse(error)
    await conn.close(CLOSE_BAD_FIRST_FRAME, "first frame must be join or resume")


async def _read_loop(hub: Hub, conn: Connection, config: Config) -> None:
    clock = time.monotonic
    bucket = TokenBucket(config.ws.rate, config.ws.burst, clock())
    strikes = 0
    ws = conn.ws
    # receive() rather than ``async for``: one coroutine layer less per frame
    while True:
        msg = await ws.receive()
        if msg.type is WSMsgType.TEXT:
            if not bucket.allow(clock()):
                strikes += 1
                if strikes >= config.ws.rate_strikes:
                    await conn.close(CLOSE_RATE, "too many messages")
                    return
                conn.refuse(RateLimited("too many messages; this one was dropped"))
                continue
            strikes = 0
            try:
                message = decode_client_message(msg.data)
            except ProtocolError as exc:
                conn.refuse(exc, exc.ref)
                continue
            remote = hub.handle(conn, message)
            if remote:
                await hub.publish(remote)
        elif msg.type is WSMsgType.BINARY:
            conn.refuse(BinaryNotSupported("binary frames are not supported"))
        else:
            return  # closing, closed or a protocol error aiohttp answered
