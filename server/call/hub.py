# Longer than 500 lines: the socket side and the home side of a room are one protocol.
"""The hub: connects sockets to rooms, on this node directly and elsewhere through the bus.

Each room lives on one node, its *home*. On a single node every room is home here and
nothing crosses a bus. With Redis (``BALIE_REDIS_URL``) a socket's node sends what happens
on the socket to the room's home as a command (``signaling/home_wire.py``), the home applies
it and sends the effects to the sockets' own channels; :class:`~server.call.homes.Homes`
says where a home is, and the home writes its rooms down so another node can take them
over (``signaling/room_state.py``). The common case, both sockets on the room's home, takes
the same path as on a single node.

The hub asks the rest of Balie what it needs through :class:`HubHooks`, built once in
``server/app.py``: whether a token's holder may take a seat (the identity gate), and whom to
tell when a seat is taken (booking checks the resident in) or a room closes (the vault
deletes its values).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Final

from server.call.connection import Connection
from server.call.homes import Homes
from server.call.metrics import CallStats
from server.config import Config
from server.core.logs import Event, bind_room, event, room_ref
from server.core.tasks import failure
from signaling.bus import Envelope, MessageBus, socket_channel
from signaling.close_codes import CloseCode
from signaling.errors import (
    BusUnavailable,
    BusWireError,
    Denied,
    NotAllowed,
    ProtocolError,
    RefusedError,
    SignalingError,
    TokenError,
    Unavailable,
    UnknownPeer,
    VerificationRequired,
)
from signaling.home_wire import (
    Command,
    DisconnectCommand,
    JoinCommand,
    MessageCommand,
    NotifyCommand,
    ResumeCommand,
    decode_command,
    encode_command,
)
from signaling.messages import (
    WRITTEN_LAZILY,
    Admit,
    Candidate,
    ClientMessage,
    Deny,
    Description,
    End,
    Join,
    JsonObject,
    Resume,
    decode_client_message,
    encode_server_message,
)
from signaling.registry import Registry, new_session_id, room_of_session
from signaling.roles import Role
from signaling.room import Close, Effect, Room, Seat, Send
from signaling.room_state import RoomState, Route, dump_state, load_state
from signaling.tokens import KeySet, RoomClaims, verify_room_token
from signaling.turn import ice_servers_for

log = logging.getLogger("balie.ws")

#: decides whether the holder of a room token may take a seat (server/verification/gate.py)
Admission = Callable[[RoomClaims, str | None], Awaitable[bool]]
#: the node name of the single-node shape, where every room is home
LOCAL: Final = "local"
#: how often, and how long apart, a command looks for a home that is changing hands (a
#: stopping node gives its rooms up within its drain; a dead one is seen at once)
HOME_ATTEMPTS: Final = 40
HOME_RETRY: Final = 0.25


@dataclass(frozen=True, slots=True)
class HubHooks:
    """What the hub asks and tells the rest of Balie; each is optional."""

    #: may this seat enter? (the identity gate)
    admission: Admission | None = None
    #: a token's holder took a seat (booking checks the resident in)
    on_seated: Callable[[RoomClaims], Coroutine[Any, Any, None]] | None = None
    #: a room ended or emptied (the vault deletes its values)
    on_room_closed: Callable[[str], Coroutine[Any, Any, None]] | None = None


@dataclass(slots=True)
class Direct:
    """An envelope for one socket that is not a room's numbered frame: a refusal, a
    ``resumed`` reply and its replay, the close of a replaced socket."""

    route: Route
    envelope: Envelope


Outgoing = Effect | Direct


class Hub:
    """Connects sockets to rooms through the bus."""

    def __init__(
        self,
        config: Config,
        keys: KeySet,
        bus: MessageBus,
        hooks: HubHooks = HubHooks(),
        clock: Callable[[], float] = time.time,
        homes: Homes | None = None,
    ) -> None:
        self.config = config
        self.keys = keys
        self.bus = bus
        self.hooks = hooks
        self.clock = clock
        self.homes = homes
        self.node = homes.node if homes is not None else LOCAL
        #: the rooms this node is the home of
        self.registry = Registry(max_in_call=config.ws.max_in_call)
        self._closing: set[asyncio.Task[None]] = set()
        #: rooms whose tokens named a purpose: only they hold verified values to delete
        self._gated: set[str] = set()
        #: where the socket of each seat in a room homed here is, by session id
        self.routes: dict[str, Route] = {}
        #: sockets on this node by their own id
        self.connections: dict[str, Connection] = {}
        #: every open socket on this node, seated or still before its first frame
        self.sockets: set[Connection] = set()
        self._no_sockets = asyncio.Event()
        #: the node is stopping: it neither claims nor takes over homes any more
        self.stopping = False
        #: rooms homed here with relayed messages not yet written down (the next reap does)
        self._unsaved: set[str] = set()
        #: what the metrics count (server/call/metrics.py)
        self.stats = CallStats()

    # -- the socket's side: any node -----------------------------------------------------

    async def join(self, conn: Connection, message: Join) -> None:
        try:
            claims = verify_room_token(self.keys, message.token, issuer=self.config.tokens.issuer)
            if message.room is not None and message.room != claims.room:
                raise TokenError("token is for another room")
        except TokenError as exc:
            log.info("room token refused: %s", exc.message, extra=event(Event.ROOM_TOKEN_REFUSED))
            conn.refuse(exc)
            await conn.close(CloseCode.TOKEN_REFUSED, "token refused")
            return
        try:
            admitted = await self._admits(claims, conn.browser)
        except Unavailable as exc:
            conn.refuse(exc)
            await conn.close(CloseCode.UNAVAILABLE, "try again later")
            return
        if not admitted:
            conn.refuse(VerificationRequired("show who you are before joining this call"))
            await conn.close(CloseCode.VERIFY, "verification required")
            return
        now = self.clock()
        extra: JsonObject = {
            "ice_servers": ice_servers_for(self.config.ice, claims.participant_id, int(now)),
            "resume_grace": self.config.ws.resume_grace,
        }
        session_id = new_session_id(claims.room)
        conn.participant_id = claims.participant_id
        command = JoinCommand(message.token, session_id, conn.browser, extra, self._route(conn))
        await self._enter(conn, claims.room, session_id, command)

    async def resume(self, conn: Connection, message: Resume) -> None:
        room_id = room_of_session(message.session_id)
        if room_id is None:
            await conn.close(CloseCode.NO_SEAT, "no seat for this session")
            return
        command = ResumeCommand(
            message.session_id, message.last_seq, conn.browser, self._route(conn)
        )
        await self._enter(conn, room_id, message.session_id, command)

    async def _enter(
        self, conn: Connection, room_id: str, session_id: str, command: Command
    ) -> None:
        conn.room_id, conn.session_id = room_id, session_id
        bind_room(room_id)  # this socket's log lines name its room (by reference)
        self.connections[conn.id] = conn
        if self.homes is not None:
            conn.subscription = await self.bus.subscribe(socket_channel(conn.id), conn.deliver)
        try:
            await self._to_home(room_id, command)
        except BusUnavailable:
            log.warning("join or resume refused: the bus between nodes is unreachable")
            await self._unseat(conn)
            conn.room_id = None
            conn.refuse(BusUnavailable("the service is busy for a moment; try again"))
            await conn.close(CloseCode.UNAVAILABLE, "try again later")

    def handle(
        self, conn: Connection, message: ClientMessage, frame: str
    ) -> Awaitable[None] | None:
        """Apply a seated socket's message; what is left to do elsewhere comes back to await.

        When the room's home is this node (always, on a single node) the message is applied
        and delivered to the sockets here at once: a relayed frame between two sockets on
        the same node waits for nothing.
        """
        if conn.room_id is None:  # the reader only calls us for seated sockets
            raise RuntimeError("handle() before join")
        if isinstance(message, Join | Resume):
            conn.refuse(NotAllowed(type(message).__name__.lower(), "seated"), message.seq)
            return None
        room = self.registry.rooms.get(conn.room_id)
        if room is not None and (self.homes is None or self.homes.holds(room.id)):
            if not conn.participant_id:  # resumed while the room's home was elsewhere
                seat = room.seat_of(conn.session_id)
                conn.participant_id = seat.id if seat is not None else ""
            kind = type(message)
            if kind is Candidate or kind is Description:
                return self._relay(room, conn.participant_id, message, conn)  # type: ignore[arg-type]
            out = self._apply_message(room, conn.participant_id, message, self._route(conn))
            remote = self._deliver_here(out)
            return self._publish(remote) if remote else None
        command = MessageCommand(conn.session_id, frame, self._route(conn))
        return self._forward_message(conn, command)

    def _relay(
        self,
        room: Room,
        participant_id: str,
        message: Description | Candidate,
        sender: Connection | Route,
    ) -> Awaitable[None] | None:
        """A description or candidate in a room homed here, from a socket on this node
        (:meth:`handle`, ``sender`` its connection) or forwarded by another
        (:meth:`_execute`, ``sender`` the socket's route): what :meth:`_apply_message` and
        :meth:`dispatch` do, for the one frame a relay sends.

        A relay changes only the numbering and the target's replay buffer: the room can
        neither end nor empty (nothing to settle), and is written down lazily."""
        try:
            sent = room.relay(participant_id, message)
        except RefusedError as exc:
            refusal = _error_frame(exc, message.seq)
            if isinstance(sender, Route):
                return self._send_to(sender, refusal)
            sender.send(refusal)
            return None
        if sent is None:
            return None  # a repeat after a resume
        # CallStats.applied, without its lookups: the metric counts relayed frames by type
        self.stats.relayed["candidate" if type(message) is Candidate else "description"] += 1
        if self.homes is not None:
            self._unsaved.add(room.id)
        route = self.routes.get(sent.session_id)
        if route is None:
            return None  # the seat's socket is away: it gets this on resume
        return self._send_to(route, sent.frame)

    def _send_to(self, route: Route, frame: bytes) -> Awaitable[None] | None:
        """One frame to the socket at ``route``: written here, or published to its node."""
        if route.node == self.node:
            target = self.connections.get(route.conn)
            if target is not None:
                target.send(frame)
            return None
        return self._publish([(route, Envelope(frame=frame))])

    async def _forward_message(self, conn: Connection, command: MessageCommand) -> None:
        assert conn.room_id is not None
        try:
            await self._to_home(conn.room_id, command)
        except BusUnavailable:
            # the message did not reach the room: say so, as for any refused message
            conn.refuse(BusUnavailable("the message could not be delivered; send it again"))

    async def dropped(self, conn: Connection) -> None:
        """The socket closed; hold the seat unless the room closed it on purpose."""
        await self._unseat(conn)
        if conn.room_id is None or conn.closed_by_room:
            return
        command = DisconnectCommand(conn.session_id, self._route(conn))
        try:
            await self._to_home(conn.room_id, command)
        except BusUnavailable:
            pass  # the home sees this node's sockets gone when it looks (reap)

    async def notify(self, room_id: str, role: Role, message: JsonObject) -> None:
        """A server notice to the seats of ``role`` in a room, wherever its home is."""
        try:
            await self._to_home(room_id, NotifyCommand(role, message))
        except BusUnavailable:
            log.warning("a notice to a room was not delivered: the bus is unreachable")

    async def notify_verified(self, room_id: str) -> None:
        """The resident proved who they are: the specialist's panel has news."""
        await self.notify(room_id, Role.SPECIALIST, {"type": "verified"})

    async def request_verification(self, room_id: str) -> None:
        """The specialist asked the resident to show who they are again."""
        await self.notify(room_id, Role.RESIDENT, {"type": "verify"})

    async def live_room(self, room_id: str) -> Room | None:
        """The room as it is now, wherever its home is (for the desk's live states)."""
        room = self.registry.rooms.get(room_id)
        if room is not None or self.homes is None or self.homes.holds(room_id):
            return room
        try:
            data = await self.homes.load(room_id)
            return load_state(data).room if data else None
        except (BusUnavailable, BusWireError):
            return None

    def forget_socket(self, conn: Connection) -> None:
        """The socket's handler is done with it."""
        self.sockets.discard(conn)
        if not self.sockets:
            self._no_sockets.set()

    async def no_sockets(self) -> None:
        """Wait until every socket's handler has finished (the caller bounds the wait)."""
        if self.sockets:
            self._no_sockets.clear()
            await self._no_sockets.wait()

    def _route(self, conn: Connection) -> Route:
        return Route(self.node, conn.id)

    # -- finding the home ----------------------------------------------------------------

    async def _to_home(self, room_id: str, command: Command) -> None:
        """Apply a command at the room's home: here, or sent there, or here after claiming
        a room without a home or taking one over from a node that left the bus."""
        homes = self.homes
        if homes is None or homes.holds(room_id):
            await self._execute(room_id, command)
            return
        on_command = self._home_listener(room_id)
        encoded = encode_command(command)
        for _ in range(HOME_ATTEMPTS):
            if await homes.forward(room_id, encoded):
                return
            if homes.holds(room_id):  # claimed by another command meanwhile
                await self._execute(room_id, command)
                return
            if self.stopping:
                return  # the next home sees this node gone and its seats away
            gone_node = None
            if not await homes.claim(room_id, on_command):
                gone_node = await homes.take_over(room_id, on_command)
                if gone_node is None:
                    await asyncio.sleep(HOME_RETRY)
                    continue
            try:
                await self._restore(room_id, gone_node)
            except BusUnavailable:
                await homes.release(room_id)  # a home without its room must not stay one
                raise
            await self._execute(room_id, command)
            return
        raise BusUnavailable("no node answers for the room")

    def _home_listener(self, room_id: str) -> Callable[[Envelope], Awaitable[None]]:
        async def on_command(envelope: Envelope) -> None:
            try:
                command = decode_command(envelope.frame or b"")
            except BusWireError as exc:
                log.warning("a command for a room was dropped: %s", exc.message)
                return
            await self._execute(room_id, command)

        return on_command

    async def _restore(self, room_id: str, gone_node: str | None) -> None:
        """Read back a room this node just became the home of (if it was written down)."""
        assert self.homes is not None
        try:
            data = await self.homes.load(room_id)
            state = load_state(data) if data else None
        except BusWireError as exc:
            log.warning("a room's written state was unreadable; it starts afresh: %s", exc.message)
            state = None
        if state is None:
            return
        now = self.clock()
        self.registry.restore(state.room, now)
        self.routes.update(state.routes)
        if state.gated:
            self._gated.add(room_id)
        if gone_node is not None:
            await self._disconnect_node(state.room, {gone_node}, now, taken_over=True)

    async def _disconnect_node(
        self, room: Room, nodes: set[str], now: float, *, taken_over: bool = False
    ) -> None:
        """The sockets of these nodes are gone with them: their seats are away.

        ``taken_over``: the room's home died and this node read the room back. What it wrote
        last may miss up to a second of negotiation (see :meth:`_changed`), so the sockets
        still open elsewhere may have seen numbers the room no longer knows (they would drop
        what comes next as duplicates) and sent messages it never applied. Those sockets
        are told to resume too (1001, their seats away meanwhile): a resume settles both
        directions, with a resync where needed and the client's unacknowledged messages
        sent again."""
        effects: list[Outgoing] = []
        for seat in list(room.seats.values()):
            route = self.routes.get(seat.session_id)
            if route is None or (route.node not in nodes and not taken_over):
                continue
            del self.routes[seat.session_id]
            effects += room.disconnect(seat.id, seat.session_id, now)
            if route.node not in nodes:
                resume = Envelope(close_code=CloseCode.GOING_AWAY, close_reason="resume")
                effects.append(Direct(route, resume))
        self._changed(room, now)
        await self.dispatch(effects)

    # -- the home's side ------------------------------------------------------------------

    async def _execute(self, room_id: str, command: Command) -> None:
        """Apply a command to a room homed here and send what follows from it."""
        bind_room(room_id)
        now = self.clock()
        out: list[Outgoing] = []
        match command:
            case JoinCommand():
                self._join(room_id, command, now, out)
            case ResumeCommand():
                self._resume(room_id, command, now, out)
            # from a socket that lost its seat meanwhile (held is None): nothing to do, but
            # a home claimed just for this command must still let the room go below
            case MessageCommand():
                held = self._held_by(room_id, command.session_id, command.route)
                if held is not None:
                    room, seat = held
                    try:
                        message = decode_client_message(command.frame)
                    except ProtocolError:
                        pass  # the socket's node decoded it already
                    else:
                        kind = type(message)
                        if kind is Candidate or kind is Description:
                            relayed = self._relay(room, seat.id, message, command.route)  # type: ignore[arg-type]
                            if relayed is not None:
                                await relayed
                            return  # a relay neither ends nor empties its room
                        out = self._apply_message(room, seat.id, message, command.route)
            case DisconnectCommand():
                held = self._held_by(room_id, command.session_id, command.route)
                if held is not None:
                    room, seat = held
                    del self.routes[seat.session_id]
                    out += room.disconnect(seat.id, seat.session_id, now)
                    self._changed(room, now)
            case NotifyCommand():
                if (notified := self.registry.rooms.get(room_id)) is not None:
                    out += notified.notify(command.role, command.message)
                    self._changed(notified, now)
        await self.dispatch(out)
        if self.homes is not None and room_id not in self.registry.rooms:
            await self.homes.release(room_id)

    def _held_by(self, room_id: str, session_id: str, route: Route) -> tuple[Room, Seat] | None:
        """The room and seat a session holds here, if the socket at ``route`` still holds it."""
        room = self.registry.rooms.get(room_id)
        seat = room.seat_of(session_id) if room is not None else None
        if room is None or seat is None or self.routes.get(session_id) != route:
            return None
        return room, seat

    def _join(self, room_id: str, command: JoinCommand, now: float, out: list[Outgoing]) -> None:
        route = command.route
        try:
            claims = verify_room_token(self.keys, command.token, issuer=self.config.tokens.issuer)
            room = self.registry.room_for_join(room_id)
        except TokenError as exc:  # its time ran out on the way here
            out.append(_refusal(route, exc, CloseCode.TOKEN_REFUSED, "token refused"))
            return
        except NotAllowed:
            out.append(
                Direct(
                    route, Envelope(close_code=CloseCode.ENDED, close_reason="the call has ended")
                )
            )
            return
        try:
            effects = room.join(
                claims.participant_id,
                claims.role,
                command.session_id,
                now,
                command.extra,
                owner=command.owner,
                channel=claims.channel,
            )
        except RefusedError as exc:
            if isinstance(exc, Denied):
                log.info(
                    "join refused room=%s participant=%s: denied",
                    room_ref(room.id),
                    claims.participant_id,
                )
                out.append(_refusal(route, exc, CloseCode.DENIED, exc.code))
            else:
                out.append(_refusal(route, exc, CloseCode.BAD_FIRST_FRAME, exc.code))
            self._settle(room, now)
            return
        self.routes[command.session_id] = route
        if claims.purpose is not None:
            # only a seated room can close; a refused join must leave nothing behind
            self._gated.add(room.id)
        if self.hooks.on_seated is not None:
            self._background(self.hooks.on_seated(claims))
        log.info(
            "joined room=%s participant=%s role=%s",
            room_ref(room.id),
            claims.participant_id,
            claims.role.value,
        )
        out += effects
        self._changed(room, now)

    def _resume(
        self, room_id: str, command: ResumeCommand, now: float, out: list[Outgoing]
    ) -> None:
        room = self.registry.rooms.get(room_id)
        try:
            if room is None:
                raise UnknownPeer("there is no seat for this session; join again")
            resumed = room.resume(command.session_id, command.last_seq, now, owner=command.owner)
        except UnknownPeer:
            log.info(
                "resume refused room=%s: no seat for this session in this browser",
                room_ref(room_id),
            )
            out.append(
                Direct(
                    command.route,
                    Envelope(close_code=CloseCode.NO_SEAT, close_reason="no seat for this session"),
                )
            )
            return
        old = self.routes.get(command.session_id)
        if old is not None and old != command.route:
            out.append(
                Direct(old, Envelope(close_code=CloseCode.REPLACED, close_reason="replaced"))
            )
        self.routes[command.session_id] = command.route
        participant_id = resumed.reply["participant_id"]
        if command.route.node == self.node and (conn := self.connections.get(command.route.conn)):
            conn.participant_id = participant_id
        out.append(Direct(command.route, Envelope(frame=encode_server_message(resumed.reply))))
        out += [Direct(command.route, Envelope(frame=frame)) for frame in resumed.replay]
        out += resumed.effects
        log.info(
            "resumed room=%s participant=%s replayed=%d resync=%s",
            room_ref(room.id),
            participant_id,
            len(resumed.replay),
            "resync" in resumed.reply,
        )
        self._changed(room, now)

    def _apply_message(
        self, room: Room, participant_id: str, message: ClientMessage, route: Route
    ) -> list[Outgoing]:
        now = self.clock()
        seat = room.seats.get(participant_id)
        seen = seat.last_client_seq if seat is not None else 0
        try:
            effects: list[Outgoing] = list(room.handle(participant_id, message, now))
        except RefusedError as exc:
            return [Direct(route, Envelope(frame=_error_frame(exc, message.seq)))]
        if isinstance(message, Admit | Deny | End):
            _log_decision(room.id, participant_id, message)
        if message.seq is None or message.seq > seen:  # not a duplicate sent after a resume
            self.stats.applied(message)
        self._changed(room, now, lazily=isinstance(message, WRITTEN_LAZILY))
        return effects

    def _changed(self, room: Room, now: float, *, lazily: bool = False) -> None:
        """After a change: forget the room if it closed, and write it down for other nodes.

        A change of who is where (join, admit, leave, end, a seat away) is written at once,
        and so is chat. Negotiation (descriptions, candidates, media state) and pings only
        move the numbering and the replay buffers: writing the whole room for each one cost
        more than relaying it (bench/relay.py, cross-node arm), so those rooms are written at
        the next reap, within REAP_INTERVAL. A home killed in between loses at most that
        second of negotiation, which its seats' resync makes the peers send again."""
        self._settle(room, now)
        if self.homes is None:
            return
        if lazily and room.id in self.registry.rooms:
            self._unsaved.add(room.id)
            return
        self._unsaved.discard(room.id)
        ended = room.state is Room.State.ENDED
        if room.empty and not ended:
            self.homes.save(room.id, None, ended=False)
        else:
            seated = {s.session_id for s in room.seats.values()}
            routes = {s: r for s, r in self.routes.items() if s in seated}
            state = RoomState(room, routes, room.id in self._gated)
            self.homes.save(room.id, dump_state(state), ended=ended)

    # -- delivering ------------------------------------------------------------------------

    async def dispatch(self, effects: Sequence[Outgoing]) -> None:
        """Deliver: straight to sockets on this node, over the bus otherwise."""
        remote = self._deliver_here(effects)
        if remote:
            await self._publish(remote)

    def _deliver_here(self, effects: Sequence[Outgoing]) -> list[tuple[Route, Envelope]]:
        """Deliver what goes to sockets on this node; return the rest, in order."""
        routes, here, connections = self.routes, self.node, self.connections
        remote: list[tuple[Route, Envelope]] = []
        for effect in effects:
            if isinstance(effect, Send):
                route = routes.get(effect.session_id)
                if route is None:
                    continue  # the seat's socket is away: it gets this on resume
                if route.node == here:
                    conn = connections.get(route.conn)
                    if conn is not None:
                        conn.send(effect.frame)
                else:
                    remote.append((route, Envelope(frame=effect.frame)))
                continue
            if isinstance(effect, Close):
                # the room closed this session on purpose: nothing comes for it any more
                route = routes.pop(effect.session_id, None)
                if route is None:
                    continue
                envelope = Envelope(close_code=effect.code, close_reason=effect.reason)
            else:
                route, envelope = effect.route, effect.envelope
            if route.node == here:
                conn = connections.get(route.conn)
                if conn is not None:
                    conn.take(envelope)
            else:
                remote.append((route, envelope))
        return remote

    async def _publish(self, remote: list[tuple[Route, Envelope]]) -> None:
        """Send envelopes over the bus to the nodes that hold their sockets."""
        for route, envelope in remote:
            await self.bus.publish(socket_channel(route.conn), envelope, node=route.node)

    # -- time and stopping ------------------------------------------------------------------

    async def reap(self) -> None:
        """Release lapsed seats; with homes, renew leases and notice nodes that left."""
        now = self.clock()
        for room, effects in self.registry.expire(now, self.config.ws.resume_grace):
            await self.dispatch(effects)
            self._closed(room)
            if self.homes is not None:
                self._changed(room, now)
                if room.id not in self.registry.rooms:
                    await self.homes.release(room.id)
        if self.homes is None:
            return
        for room_id in list(self._unsaved):
            if (unsaved := self.registry.rooms.get(room_id)) is not None:
                self._changed(unsaved, now)
        self._unsaved.clear()
        again, lost = await self.homes.renew()
        for room_id in lost:
            log.warning("another node holds a room this node was the home of; letting go")
            given_up = self.registry.rooms.pop(room_id, None)
            for seat in given_up.seats.values() if given_up is not None else ():
                self.routes.pop(seat.session_id, None)
        for room_id in again:
            if (held := self.registry.rooms.get(room_id)) is not None:
                self._changed(held, now)  # Redis lost it (a restart): write it down anew
        elsewhere = {r.node for r in self.routes.values() if r.node != self.node}
        try:
            gone = await self.homes.gone(elsewhere)
        except Exception as exc:  # the next reap asks again
            log.warning("could not ask which nodes left the bus: %s", type(exc).__name__)
            return
        if gone:
            for room in list(self.registry.rooms.values()):
                await self._disconnect_node(room, gone, now)

    async def give_up_rooms(self) -> None:
        """Stopping: write every room homed here down and let another node take it."""
        if self.homes is None:
            return
        # first stop hearing commands, applying those already on their way: a command that
        # came after the room was written down would be lost (its sender was told it arrived)
        await asyncio.gather(*(self.homes.quiet(room_id) for room_id in list(self.registry.rooms)))
        for room_id in list(self.registry.rooms):
            room = self.registry.rooms.pop(room_id)
            self._changed(room, self.clock())
            await self.homes.release(room_id)

    async def resync(self, channel: str) -> None:
        """The bus lost envelopes for a socket here: it reconnects and resumes, which
        replays what it missed from its seat."""
        socket_id = channel.removeprefix(socket_channel(""))
        conn = self.connections.get(socket_id)
        if conn is not None:
            await conn.close(CloseCode.GOING_AWAY, "resync")

    async def _admits(self, claims: RoomClaims, browser: str | None) -> bool:
        if self.hooks.admission is None:
            return True
        try:
            return await self.hooks.admission(claims, browser)
        except Exception as exc:
            # not admitted, but not "show who you are" either: the resident did nothing wrong
            # (the database is away, say), so the page tries again by itself (1013)
            log.warning("identity gate could not decide: %s", failure(exc))
            raise Unavailable("the identity check cannot be made now; try again") from None

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

    async def _unseat(self, conn: Connection) -> None:
        if conn.subscription is not None:
            await conn.subscription.cancel()
            conn.subscription = None
        if self.connections.get(conn.id) is conn:
            del self.connections[conn.id]


def _error_frame(error: SignalingError, ref: int | None = None) -> bytes:
    frame: JsonObject = {"type": "error", "code": error.code, "message": error.message}
    if ref is not None:
        frame["ref"] = ref
    return encode_server_message(frame)


def _refusal(route: Route, error: SignalingError, code: int, reason: str) -> Direct:
    return Direct(route, Envelope(frame=_error_frame(error), close_code=code, close_reason=reason))


def _log_decision(room: str, by: str, message: Admit | Deny | End) -> None:
    """What an operator follows a call by: who was let in or turned away, and when it ended
    (ids only: a note to a held or denied resident is never logged)."""
    if isinstance(message, End):
        log.info("call ended room=%s by=%s", room_ref(room), by)
    else:
        action = "admitted" if isinstance(message, Admit) else "denied"
        log.info(
            "%s room=%s participant=%s by=%s", action, room_ref(room), message.participant_id, by
        )
