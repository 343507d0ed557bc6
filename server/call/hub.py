"""The hub: connects seated sockets to rooms, on this node directly and elsewhere through the bus.

It owns the rooms of this node (:class:`~signaling.registry.Registry`) and asks the rest of
Balie what it needs through :class:`HubHooks`, built once in ``server/app.py``: whether a
token's holder may take a seat (the identity gate), and whom to tell when a seat is taken
(booking checks the resident in) or a room closes (the vault deletes its values).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from server.call.connection import Connection
from server.config import Config
from signaling.bus import Envelope, MessageBus, session_channel
from signaling.close_codes import CloseCode
from signaling.errors import (
    Denied,
    NotAllowed,
    RefusedError,
    TokenError,
    UnknownPeer,
    VerificationRequired,
)
from signaling.messages import Admit, ClientMessage, Deny, End, Join, JsonObject, Resume
from signaling.registry import Registry
from signaling.roles import Role
from signaling.room import Effect, Room, Send
from signaling.tokens import KeySet, RoomClaims, verify_room_token
from signaling.turn import ice_servers_for

log = logging.getLogger("balie.ws")

#: decides whether the holder of a room token may take a seat (server/verification/gate.py)
Admission = Callable[[RoomClaims, str | None], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class HubHooks:
    """What the hub asks and tells the rest of Balie; each is optional."""

    #: may this seat enter? (the identity gate)
    admission: Admission | None = None
    #: a token's holder took a seat (booking checks the resident in)
    on_seated: Callable[[RoomClaims], Coroutine[Any, Any, None]] | None = None
    #: a room ended or emptied (the vault deletes its values)
    on_room_closed: Callable[[str], Coroutine[Any, Any, None]] | None = None


class Hub:
    """Connects sockets to rooms through the bus."""

    def __init__(
        self,
        config: Config,
        keys: KeySet,
        bus: MessageBus,
        hooks: HubHooks = HubHooks(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.keys = keys
        self.bus = bus
        self.hooks = hooks
        self.clock = clock
        self.registry = Registry(max_in_call=config.ws.max_in_call)
        self._closing: set[asyncio.Task[None]] = set()
        #: rooms whose tokens named a purpose: only they hold verified values to delete
        self._gated: set[str] = set()
        #: sockets on this node by session id, to replace a half-open one on resume
        self.connections: dict[str, Connection] = {}
        #: every open socket on this node, seated or still before its first frame
        self.sockets: set[Connection] = set()

    async def join(self, conn: Connection, message: Join) -> None:
        try:
            claims = verify_room_token(self.keys, message.token, issuer=self.config.tokens.issuer)
            if message.room is not None and message.room != claims.room:
                raise TokenError("token is for another room")
        except TokenError as exc:
            log.info("room token refused: %s", exc.message)
            conn.refuse(exc)
            await conn.close(CloseCode.TOKEN_REFUSED, "token refused")
            return
        if not await self._admits(claims, conn.browser):
            conn.refuse(VerificationRequired("show who you are before joining this call"))
            await conn.close(CloseCode.VERIFY, "verification required")
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
            await conn.close(CloseCode.ENDED, "the call has ended")
            return
        try:
            effects = room.join(
                claims.participant_id, claims.role, session_id, now, extra, owner=conn.browser
            )
        except RefusedError as exc:
            conn.refuse(exc)
            code = CloseCode.DENIED if isinstance(exc, Denied) else CloseCode.BAD_FIRST_FRAME
            if isinstance(exc, Denied):
                log.info(
                    "join refused room=%s participant=%s: denied", room.id, claims.participant_id
                )
            await conn.close(code, exc.code)
            self._settle(room, now)
            return
        await self._seat(conn, room, claims.participant_id, session_id)
        if claims.purpose is not None:
            # only a seated room can close; a refused join must leave nothing behind
            self._gated.add(claims.room)
        if self.hooks.on_seated is not None:
            self._background(self.hooks.on_seated(claims))
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
            await conn.close(CloseCode.NO_SEAT, "no seat for this session")
            return
        try:
            resumed = room.resume(
                message.session_id, message.last_seq, self.clock(), owner=conn.browser
            )
        except UnknownPeer:
            log.info("resume refused room=%s: no seat for this session in this browser", room.id)
            await conn.close(CloseCode.NO_SEAT, "no seat for this session")
            return
        old = self.connections.get(message.session_id)
        if old is not None and old is not conn:
            await self._unseat(old)
            old.take(Envelope(close_code=CloseCode.REPLACED, close_reason="replaced"))
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
        if isinstance(message, Admit | Deny | End):
            _log_decision(room.id, conn.participant_id, message)
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
        if self.hooks.admission is None:
            return True
        try:
            return await self.hooks.admission(claims, browser)
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
        if self.hooks.on_room_closed is None or room.id not in self._gated:
            return
        if room.state is Room.State.ENDED or room.empty:
            self._gated.discard(room.id)
            self._background(self.hooks.on_room_closed(room.id))

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


def _log_decision(room: str, by: str, message: Admit | Deny | End) -> None:
    """What an operator follows a call by: who was let in or turned away, and when it ended
    (ids only: a note to a held or denied resident is never logged)."""
    if isinstance(message, End):
        log.info("call ended room=%s by=%s", room, by)
    else:
        action = "admitted" if isinstance(message, Admit) else "denied"
        log.info("%s room=%s participant=%s by=%s", action, room, message.participant_id, by)
