"""What a node asks a room's home to do, free of I/O: commands on the room's bus channel.

A socket may be on any node; its room lives on one, the home (``server/call/homes.py``).
The socket's node turns what happened on the socket into a command and sends it to the
room's channel; the home applies it to the room and sends the effects to the sockets'
own channels. A join carries the room token itself: the home verifies it again, so a
command can seat nobody a token did not name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from signaling.errors import BusWireError
from signaling.messages import JsonObject
from signaling.roles import Role
from signaling.room_state import Route


@dataclass(frozen=True, slots=True)
class JoinCommand:
    token: str
    session_id: str
    #: the browser the socket came from (binds the seat for resume)
    owner: str | None
    #: the rest of ``joined`` (ICE servers, resume grace), decided by the socket's node
    extra: JsonObject
    route: Route


@dataclass(frozen=True, slots=True)
class ResumeCommand:
    session_id: str
    last_seq: int
    owner: str | None
    route: Route


@dataclass(frozen=True, slots=True)
class MessageCommand:
    """A seated socket's frame, as the client sent it (the home decodes it again)."""

    session_id: str
    frame: str
    route: Route


@dataclass(frozen=True, slots=True)
class DisconnectCommand:
    """The socket dropped without ``leave``: its seat is held for resume."""

    session_id: str
    route: Route


@dataclass(frozen=True, slots=True)
class NotifyCommand:
    role: Role
    message: JsonObject


Command: TypeAlias = (
    JoinCommand | ResumeCommand | MessageCommand | DisconnectCommand | NotifyCommand
)


def encode_command(command: Command) -> bytes:
    body: dict[str, Any]
    match command:
        case JoinCommand():
            body = {
                "op": "join",
                "token": command.token,
                "session": command.session_id,
                "owner": command.owner,
                "extra": command.extra,
            }
        case ResumeCommand():
            body = {
                "op": "resume",
                "session": command.session_id,
                "last_seq": command.last_seq,
                "owner": command.owner,
            }
        case MessageCommand():
            body = {
                "op": "message",
                "session": command.session_id,
                "frame": command.frame,
            }
        case DisconnectCommand():
            body = {"op": "disconnect", "session": command.session_id}
        case NotifyCommand():
            body = {"op": "notify", "role": command.role.value, "message": command.message}
    if not isinstance(command, NotifyCommand):
        body["route"] = [command.route.node, command.route.conn]
    return orjson.dumps(body)


def decode_command(data: bytes) -> Command:
    """Raises :class:`BusWireError` for anything that is not a command this version sends."""
    try:
        raw = orjson.loads(data)
        op = raw["op"]
        if op == "notify":
            return NotifyCommand(Role(raw["role"]), dict(raw["message"]))
        node, conn = raw["route"]
        route = Route(str(node), str(conn))
        if op == "join":
            owner = raw["owner"]
            return JoinCommand(
                str(raw["token"]),
                str(raw["session"]),
                None if owner is None else str(owner),
                dict(raw["extra"]),
                route,
            )
        if op == "resume":
            owner = raw["owner"]
            return ResumeCommand(
                str(raw["session"]),
                int(raw["last_seq"]),
                None if owner is None else str(owner),
                route,
            )
        if op == "message":
            return MessageCommand(str(raw["session"]), str(raw["frame"]), route)
        if op == "disconnect":
            return DisconnectCommand(str(raw["session"]), route)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        pass
    raise BusWireError("a command for a room's home that does not read")
