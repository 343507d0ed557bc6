# Longer than 500 lines: the room is one state machine, every transition beside the others.
"""The room state machine, free of I/O.

A :class:`Room` takes parsed client messages and the current time and returns
effects: frames to send to participants and sockets to close. Sockets, clocks
and queues belong to the caller (``server/call/``), so every rule here can be
tested with plain values.

The room also knows the *channel* the call runs in (video, voice or chat, first named by
the room tokens) and whether a specialist has asked the residents to switch to a richer
one; see :meth:`Room.channel_state` and docs/signaling.md, "Switching channel".

Each participant has a *seat*. The seat outlives its socket for the resume
grace period: server messages are numbered per seat and the last
``replay_limit`` of them are kept so that a participant who comes back on a
new socket gets what they missed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final, TypeAlias

import orjson

from signaling.channels import Channel, richer
from signaling.close_codes import CloseCode
from signaling.errors import Denied, Forbidden, NotAllowed, NotAnUpgrade, RoomFull, UnknownPeer
from signaling.messages import (
    Admit,
    Candidate,
    Chat,
    ClientMessage,
    Deny,
    Description,
    End,
    Hold,
    Join,
    JsonObject,
    Leave,
    Media,
    Ping,
    Report,
    Resume,
    Switch,
    SwitchAnswer,
    encode_server_message,
)
from signaling.roles import Role, is_polite

MAX_IN_CALL: Final = 3
REPLAY_LIMIT: Final = 256
#: seconds a denied participant cannot join again with the same token
DENIED_FOR: Final = 15 * 60


# Effects are not frozen for the reason the messages are not (see messages.py):
# one is built for every relayed frame, and nothing changes it afterwards.


class Send:
    """Send ``message`` to the socket of a seat's session (if it has one now).

    ``frame`` is the message encoded once, when it was numbered: what the socket sends. A
    relayed description or candidate is built as a frame only (:meth:`Room._relay`), and
    ``message`` is read back from it when someone asks (tests, never the relay)."""

    __slots__ = ("_message", "frame", "participant_id", "session_id")

    def __init__(
        self,
        participant_id: str,
        session_id: str,
        message: JsonObject | None = None,
        frame: bytes = b"",
    ) -> None:
        self.participant_id = participant_id
        self.session_id = session_id
        self._message = message
        self.frame = frame

    @property
    def message(self) -> JsonObject:
        if self._message is None:
            self._message = orjson.loads(self.frame)
        return self._message

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Send):
            return NotImplemented
        return (self.participant_id, self.session_id, self.message) == (
            other.participant_id,
            other.session_id,
            other.message,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"Send({self.participant_id!r}, {self.session_id!r}, {self.message!r})"


@dataclass(slots=True)
class Close:
    """Close the socket of ``participant_id`` with ``code`` after earlier sends."""

    participant_id: str
    code: int
    reason: str
    #: the socket session that is closed; a newer socket on the seat stays open
    session_id: str


Effect: TypeAlias = Send | Close


class Seat:
    """One participant's place in a room."""

    class State(Enum):
        #: in the lobby, waiting to be admitted
        WAITING = "waiting"
        #: in the lobby, held by the specialist with a message
        ON_HOLD = "on-hold"
        #: in the call
        IN_CALL = "in-call"

    # one per socket in a call: no instance dict for each of thousands
    __slots__ = (
        "arrived",
        "away_since",
        "hold_message",
        "id",
        "last_client_seq",
        "owner",
        "relay_heads",
        "role",
        "sent",
        "seq",
        "session_id",
        "state",
    )

    def __init__(
        self,
        participant_id: str,
        role: Role,
        session_id: str,
        now: float,
        owner: str | None = None,
    ) -> None:
        self.id = participant_id
        self.role = role
        self.session_id = session_id
        #: an opaque id of the browser that holds the seat (its identity was verified
        #: there): only that browser may resume it; None binds nothing
        self.owner = owner
        self.state = Seat.State.IN_CALL if role is Role.SPECIALIST else Seat.State.WAITING
        self.hold_message: str | None = None
        self.arrived = now
        #: when the socket dropped; None while connected
        self.away_since: float | None = None
        #: the last client ``seq`` processed, for resume and duplicate suppression
        self.last_client_seq = 0
        self.seq = 0
        #: (seq, encoded frame) of the last REPLAY_LIMIT messages, for replay on resume;
        #: kept encoded because a seat holds hundreds and dicts cost the collector. A list,
        #: not a deque: an empty deque already holds a 64-slot block, and most seats keep
        #: a handful of frames
        self.sent: list[tuple[int, bytes]] = []
        #: the start of the frames this seat relays, up to the payload (description,
        #: candidate): made by its first relayed message (Room._relay)
        self.relay_heads: tuple[bytes, bytes] | None = None

    @property
    def in_lobby(self) -> bool:
        return self.state is not Seat.State.IN_CALL

    def received(self, last_seq: int) -> None:
        """The client has every frame up to ``last_seq``: a resume will not ask for them, so
        the replay buffer lets go (most frames of a call are then never kept for long). A
        client that claims more than it was sent cannot lose frames this way either: a
        resume from below what it claimed finds a gap and resyncs."""
        if self.sent and self.sent[0][0] <= last_seq:
            self.sent = [entry for entry in self.sent if entry[0] > last_seq]

    def describe(self) -> str:
        """The seat's state as named in errors and docs."""
        return "lobby" if self.in_lobby else "call"


@dataclass(slots=True)
class Resumed:
    """The result of a successful resume: the reply, then the replayed frames."""

    reply: JsonObject
    #: encoded frames, in order
    replay: list[bytes] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


class Room:
    """One call: its seats, its lobby and the rules between them."""

    class State(Enum):
        OPEN = "open"
        ENDED = "ended"

    def __init__(self, room_id: str, *, max_in_call: int = MAX_IN_CALL) -> None:
        self.id = room_id
        self.state = Room.State.OPEN
        self.max_in_call = max_in_call
        self.seats: dict[str, Seat] = {}
        #: participant → until when a join of theirs is refused (they were denied)
        self.denied: dict[str, float] = {}
        #: the channel the call runs in now: None until the first join names it (its token's
        #: ``channel`` claim), then changed only by a resident accepting a ``switch``
        self.channel: Channel | None = None
        #: the richer channel a specialist asked the residents to switch to; None while no
        #: question waits for an answer
        self.switch_asked: Channel | None = None

    def channel_state(self) -> str:
        """The room's channel state as errors name it: ``chat`` (settled) or
        ``chat, switch to video asked`` (waiting for a resident's answer)."""
        current = (self.channel or Channel.VIDEO).value
        if self.switch_asked is None:
            return current
        return f"{current}, switch to {self.switch_asked.value} asked"

    # -- seats coming and going -------------------------------------------

    def join(
        self,
        participant_id: str,
        role: Role,
        session_id: str,
        now: float,
        extra: JsonObject,
        *,
        owner: str | None = None,
        channel: Channel = Channel.VIDEO,
    ) -> list[Effect]:
        """Seat a participant whose token was verified; ``extra`` goes into ``joined``.

        ``channel`` is the token's claim: the first join names the room's channel, and
        ``joined`` tells every later one the room's current channel (a switch may have
        changed it since the tokens were issued).

        Joining again with the same participant id (a reload, a second tab)
        replaces the older socket: the others see the participant leave and
        come back, so that they negotiate afresh with the new page. A participant
        the specialist denied cannot join again for :data:`DENIED_FOR` seconds.
        """
        self._require_open("join")
        if self.denied.get(participant_id, 0.0) > now:
            raise Denied("the specialist turned this participant away a moment ago")
        old = self.seats.get(participant_id)
        seat = Seat(participant_id, role, session_id, now, owner)
        if old is not None and old.role is role:
            # a reload keeps the seat's admission: the specialist let them in
            seat.state = old.state
            seat.hold_message = old.hold_message
            seat.arrived = old.arrived
        # decided before anything changes: a refused join leaves the room as it was
        others_in_call = sum(1 for s in self._in_call() if s is not old)
        if not seat.in_lobby and others_in_call >= self.max_in_call:
            raise RoomFull("the call already has the maximum number of participants")
        effects: list[Effect] = []
        if self.channel is None:
            self.channel = channel
        if old is not None:
            effects.append(
                Close(old.id, CloseCode.REPLACED, "replaced by a newer connection", old.session_id)
            )
            effects += self._remove(old, reason="replaced")
        self.seats[participant_id] = seat
        joined: JsonObject = {
            "type": "joined",
            "session_id": session_id,
            "participant_id": participant_id,
            "role": role.value,
            "state": seat.describe(),
            "peers": self._peers_of(seat) if not seat.in_lobby else [],
            "last_client_seq": 0,
            "channel": self.channel.value,
        }
        joined.update(extra)
        effects.append(self._send(seat, joined))
        if seat.in_lobby:
            effects += self._lobby_update()  # includes this seat's own position
        else:
            effects += self._announce_joined(seat)
            if seat.role is Role.SPECIALIST:
                effects.append(self._send(seat, self._lobby_list()))
        return effects

    def resume(
        self, session_id: str, last_seq: int, now: float, *, owner: str | None = None
    ) -> Resumed:
        """Give a seat back to a new socket and replay what it missed; a seat bound to a
        browser goes back to that browser only (a leaked session id moves nothing)."""
        seat = self.seat_of(session_id)
        if seat is None or (seat.owner is not None and owner != seat.owner):
            raise UnknownPeer("there is no seat for this session; join again")
        # A socket that still looks alive (half-open TCP) is closed by the
        # caller, which knows which socket object holds the session.
        effects: list[Effect] = []
        was_away = seat.away_since is not None
        seat.away_since = None
        missed = [(seq, frame) for seq, frame in seat.sent if seq > last_seq]
        gap = last_seq < seat.seq and (not missed or missed[0][0] != last_seq + 1)
        if last_seq > seat.seq:
            # the client saw frames this room does not know of: its home wrote it down
            # before them and died. Number on from what the client has (lower numbers would
            # be dropped as repeats), and have it resync what it may have missed
            seat.seq = last_seq
            gap = True
        reply: JsonObject = {
            "type": "resumed",
            "participant_id": seat.id,
            "state": seat.describe(),
            "peers": self._peers_of(seat) if not seat.in_lobby else [],
            "last_client_seq": seat.last_client_seq,
        }
        if self.channel is not None:
            reply["channel"] = self.channel.value
        if gap:
            reply["resync"] = True
            missed = []
        reply["replayed"] = len(missed)
        if was_away and not seat.in_lobby:
            effects += self._to_call({"type": "peer-back", "id": seat.id}, but=seat)
        return Resumed(reply, [frame for _, frame in missed], effects)

    def disconnect(self, participant_id: str, session_id: str, now: float) -> list[Effect]:
        """The socket of a seat dropped without ``leave``: hold the seat."""
        seat = self.seats.get(participant_id)
        if seat is None or seat.session_id != session_id or seat.away_since is not None:
            return []
        seat.away_since = now
        if seat.in_lobby:
            return []
        return self._to_call({"type": "peer-away", "id": seat.id}, but=seat)

    def expire(self, now: float, grace: float) -> list[Effect]:
        """Release seats whose socket has been away longer than ``grace`` seconds."""
        effects: list[Effect] = []
        for seat in list(self.seats.values()):
            if seat.away_since is not None and now - seat.away_since > grace:
                effects += self._remove(seat, reason="timeout")
        return effects

    @property
    def empty(self) -> bool:
        return not self.seats

    # -- messages from a seated participant ---------------------------------

    def handle(self, participant_id: str, message: ClientMessage, now: float) -> list[Effect]:
        """Apply one message from a seated participant.

        Raises a :class:`~signaling.errors.RefusedError` (and changes nothing)
        when the message is not allowed.
        """
        seat = self.seats.get(participant_id)
        if seat is None:
            raise UnknownPeer("the sender has no seat in this room")
        if message.seq is not None:
            if message.seq <= seat.last_client_seq:
                return []  # sent again after a resume; already handled
            seat.last_client_seq = message.seq
        kind = type(message)
        if kind is Candidate or kind is Description:  # most of what a call sends: first
            return [self._relay(seat, message)]  # type: ignore[arg-type]
        return self._handle(seat, message, now)

    def relay(self, participant_id: str, message: Description | Candidate) -> Send | None:
        """:meth:`handle` for a description or candidate, the one effect it has (None for a
        message sent again after a resume): what the hub calls for each relayed frame."""
        seat = self.seats.get(participant_id)
        if seat is None:
            raise UnknownPeer("the sender has no seat in this room")
        seq = message.seq
        if seq is not None:
            if seq <= seat.last_client_seq:
                return None  # sent again after a resume; already handled
            seat.last_client_seq = seq
        return self._relay(seat, message)

    def _handle(self, seat: Seat, message: ClientMessage, now: float) -> list[Effect]:
        match message:
            case Ping(ts=ts, last_seq=received):
                if received is not None:
                    seat.received(received)
                pong: JsonObject = {"type": "pong", "ts": ts}
                return [Send(seat.id, seat.session_id, pong, encode_server_message(pong))]
            case Report():
                # only a seat in the call has peer connections to report on; the hub counts it
                self._require_call(seat, "report")
                return []
            case Leave():
                effects = self._remove(seat, reason="left")
                effects.append(Close(seat.id, CloseCode.NORMAL, "left", seat.session_id))
                return effects
            case Description() | Candidate():
                return [self._relay(seat, message)]
            case Media(audio=audio, video=video):
                self._require_call(seat, "media")
                return self._to_call(
                    {"type": "media", "from": seat.id, "audio": audio, "video": video}, but=seat
                )
            case Chat(text=text):
                self._require_call(seat, "chat")
                return self._to_call(
                    {
                        "type": "chat",
                        "from": seat.id,
                        "role": seat.role.value,
                        "text": text,
                        "at": round(now * 1000),
                    },
                )
            case Admit(participant_id=target_id):
                return self._admit(seat, target_id)
            case Deny(participant_id=target_id, message=note):
                return self._deny(seat, target_id, note, now)
            case Hold(participant_id=target_id, message=note):
                return self._hold(seat, target_id, note)
            case End():
                return self._end(seat)
            case Switch(channel=target):
                return self._switch(seat, target)
            case SwitchAnswer(channel=target, accept=accept):
                return self._switch_answer(seat, target, accept)
            case Join() | Resume():
                raise NotAllowed(message.__class__.__name__.lower(), seat.describe())

    # -- the rules ----------------------------------------------------------

    def _relay(self, seat: Seat, message: Description | Candidate) -> Send:
        """Relay a description or candidate to ``to``, numbered for the target's seat.

        The frame is ``{"type", "from", <payload>, "seq"}``, as :meth:`_send` would encode
        it, but spliced: the head up to the payload is the sender's and made once, and only
        the payload (already checked and rebuilt by signaling/messages.py) is encoded."""
        if seat.state is not Seat.State.IN_CALL:
            raise NotAllowed("negotiation", seat.describe())
        target = self.seats.get(message.to)
        if target is None or target is seat:
            raise UnknownPeer("'to' is not another participant in this room")
        if target.state is not Seat.State.IN_CALL:
            raise NotAllowed("negotiation with a participant in the lobby", target.describe())
        heads = seat.relay_heads
        if heads is None:
            sender = orjson.dumps(seat.id)
            heads = seat.relay_heads = (
                b'{"type":"description","from":%s,"description":' % sender,
                b'{"type":"candidate","from":%s,"candidate":' % sender,
            )
        if type(message) is Description:
            head, payload = heads[0], orjson.dumps(message.description)
        else:
            head, payload = heads[1], orjson.dumps(message.candidate)  # type: ignore[union-attr]
        seq = target.seq = target.seq + 1
        frame = b'%s%s,"seq":%d}' % (head, payload, seq)
        sent = target.sent
        sent.append((seq, frame))
        if len(sent) > REPLAY_LIMIT:
            del sent[0]
        return Send(target.id, target.session_id, None, frame)

    def _admit(self, seat: Seat, target_id: str) -> list[Effect]:
        target = self._lobby_target(seat, target_id, "admit")
        if self._in_call_count() >= self.max_in_call:
            raise RoomFull("the call already has the maximum number of participants")
        target.state = Seat.State.IN_CALL
        target.hold_message = None
        admitted: JsonObject = {"type": "admitted", "peers": self._peers_of(target)}
        if self.channel is not None:  # it may have switched while they waited
            admitted["channel"] = self.channel.value
        effects: list[Effect] = [self._send(target, admitted)]
        effects += self._announce_joined(target)
        effects += self._lobby_update()
        return effects

    def _deny(self, seat: Seat, target_id: str, note: str | None, now: float) -> list[Effect]:
        target = self._lobby_target(seat, target_id, "deny")
        self.denied[target.id] = now + DENIED_FOR
        denied: JsonObject = {"type": "denied"}
        if note:
            denied["message"] = note
        effects: list[Effect] = [self._send(target, denied)]
        effects.append(Close(target.id, CloseCode.DENIED, "denied", target.session_id))
        effects += self._remove(target, reason="denied")
        return effects

    def _hold(self, seat: Seat, target_id: str, note: str) -> list[Effect]:
        target = self._lobby_target(seat, target_id, "hold")
        target.state = Seat.State.ON_HOLD
        target.hold_message = note
        # positions did not change: only the held seat and the specialists hear of it
        return [self._send(target, self._lobby_message(target)), *self._lobby_list_update()]

    def _end(self, seat: Seat) -> list[Effect]:
        if seat.role is not Role.SPECIALIST:
            raise Forbidden("only a specialist can end the call")
        effects: list[Effect] = []
        for other in self.seats.values():
            effects.append(self._send(other, {"type": "ended", "by": seat.role.value}))
            effects.append(Close(other.id, CloseCode.ENDED, "ended", other.session_id))
        self.seats.clear()
        self.state = Room.State.ENDED
        return effects

    # The channel's two states: settled (switch_asked None) and asked. ``switch`` from a
    # specialist in the call moves settled → asked (asking again replaces the question: a
    # resident's page may have been reloaded before it showed); ``switch-answer`` from a
    # resident moves asked → settled, on the new channel when accepted. The last resident
    # leaving the call moves asked → settled as well (_remove).

    def _switch(self, seat: Seat, target: Channel) -> list[Effect]:
        if seat.role is not Role.SPECIALIST:
            raise Forbidden("only a specialist can ask to switch the channel")
        self._require_call(seat, "switch")
        current = self.channel or Channel.VIDEO
        if not richer(target, current):
            raise NotAnUpgrade(f"a {current.value} call can only switch to a richer channel")
        residents = self._residents_in_call()
        if not residents:
            raise NotAllowed("switch", f"{self.channel_state()}, no resident in the call")
        self.switch_asked = target
        asked: JsonObject = {"type": "switch", "from": seat.id, "channel": target.value}
        return [self._send(resident, dict(asked)) for resident in residents]

    def _switch_answer(self, seat: Seat, target: Channel, accept: bool) -> list[Effect]:
        if seat.role is not Role.RESIDENT:
            raise Forbidden("only a resident answers a switch")
        self._require_call(seat, "switch-answer")
        if self.switch_asked is not target:
            raise NotAllowed(f"switch-answer for {target.value}", self.channel_state())
        self.switch_asked = None
        if accept:
            self.channel = target
        return self._to_call(
            {"type": "switch-answer", "from": seat.id, "channel": target.value, "accept": accept}
        )

    def _residents_in_call(self) -> list[Seat]:
        return [s for s in self._in_call() if s.role is Role.RESIDENT]

    def _lobby_target(self, seat: Seat, target_id: str, what: str) -> Seat:
        if seat.role is not Role.SPECIALIST:
            raise Forbidden(f"only a specialist can {what}")
        self._require_call(seat, what)
        target = self.seats.get(target_id)
        if target is None:
            raise UnknownPeer("'participant_id' is not in this room")
        if not target.in_lobby:
            raise NotAllowed(f"{what} of a participant", target.describe())
        return target

    # -- helpers -------------------------------------------------------------

    def notify(self, role: Role, message: JsonObject) -> list[Effect]:
        """A server notice to every seat of ``role``, numbered like any frame so a
        seat that is away gets it on resume (``verify``, ``verified``)."""
        return [self._send(s, dict(message)) for s in self.seats.values() if s.role is role]

    def _require_open(self, what: str) -> None:
        if self.state is not Room.State.OPEN:
            raise NotAllowed(what, f"room {self.state.value}")

    def _require_call(self, seat: Seat, what: str) -> None:
        if seat.in_lobby:
            raise NotAllowed(what, seat.describe())

    def seat_of(self, session_id: str) -> Seat | None:
        """The seat a socket session holds, if it still holds one."""
        for seat in self.seats.values():
            if seat.session_id == session_id:
                return seat
        return None

    def _in_call_count(self) -> int:
        return sum(1 for s in self.seats.values() if not s.in_lobby)

    def _in_call(self) -> list[Seat]:
        return [s for s in self.seats.values() if not s.in_lobby]

    def _peers_of(self, seat: Seat) -> list[JsonObject]:
        return [self._peer(seat, other) for other in self._in_call() if other is not seat]

    @staticmethod
    def _peer(own: Seat, other: Seat) -> JsonObject:
        polite = is_polite((own.id, own.role), (other.id, other.role))
        return {"id": other.id, "role": other.role.value, "polite": polite}

    def _announce_joined(self, seat: Seat) -> list[Effect]:
        return [
            self._send(other, {"type": "peer-joined", "peer": self._peer(other, seat)})
            for other in self._in_call()
            if other is not seat
        ]

    def _remove(self, seat: Seat, *, reason: str) -> list[Effect]:
        del self.seats[seat.id]
        if seat.in_lobby:
            return self._lobby_update()
        if not self._residents_in_call():
            self.switch_asked = None  # nobody is left to answer the question
        return self._to_call({"type": "peer-left", "id": seat.id, "reason": reason})

    def _to_call(self, message: JsonObject, *, but: Seat | None = None) -> list[Effect]:
        return [self._send(other, dict(message)) for other in self._in_call() if other is not but]

    def _waiting(self) -> list[Seat]:
        return sorted((s for s in self.seats.values() if s.in_lobby), key=lambda s: s.arrived)

    def _lobby_message(self, seat: Seat) -> JsonObject:
        message: JsonObject = {
            "type": "lobby",
            "state": seat.state.value,
            "position": self._waiting().index(seat) + 1,
        }
        if seat.hold_message:
            message["message"] = seat.hold_message
        return message

    def _lobby_list(self) -> JsonObject:
        return {
            "type": "lobby-update",
            "waiting": [
                # since: when they arrived (unix seconds), for "waiting 4 minutes"
                {"id": s.id, "role": s.role.value, "state": s.state.value, "since": s.arrived}
                for s in self._waiting()
            ],
        }

    def _lobby_update(self) -> list[Effect]:
        """Tell specialists who waits, and everyone waiting their new position."""
        effects = self._lobby_list_update()
        effects += [self._send(s, self._lobby_message(s)) for s in self._waiting()]
        return effects

    def _lobby_list_update(self) -> list[Effect]:
        return [
            self._send(s, self._lobby_list()) for s in self._in_call() if s.role is Role.SPECIALIST
        ]

    @staticmethod
    def _send(seat: Seat, message: JsonObject) -> Send:
        seat.seq += 1
        message["seq"] = seat.seq
        frame = encode_server_message(message)
        seat.sent.append((seat.seq, frame))
        if len(seat.sent) > REPLAY_LIMIT:
            del seat.sent[0]
        return Send(seat.id, seat.session_id, message, frame)
