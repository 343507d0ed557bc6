"""A room written down and read back, free of I/O: what a room's home node keeps in Redis.

With several nodes each room lives on one of them, its *home* (``server/call/homes.py``).
The home writes the room down after every change (relayed messages at most a second
later), so that when it stops or dies another node reads it back and carries on: seats,
lobby, admission, the numbering and the last WRITTEN_REPLAY frames of each seat's replay
buffer that let a client resume with what it missed, where each seat's socket is, and the
channel the call runs in with any switch that waits for a resident's answer.

The form is JSON. It carries chat text and notes to held residents, so it is only ever
stored sealed (``signaling/bus_wire.py``); nothing here decides where it goes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from signaling.channels import Channel
from signaling.errors import BusWireError
from signaling.roles import Role
from signaling.room import REPLAY_LIMIT, Room, Seat

FORMAT: Final = 1
#: the replay a written room keeps per seat: what a seat resuming on another node may have
#: missed in the moments before (older than that, it resyncs); written at every change, the
#: whole REPLAY_LIMIT would be most of what a busy room writes
WRITTEN_REPLAY: Final = 64


@dataclass(frozen=True, slots=True)
class Route:
    """Where a seat's socket is: the node that holds it and the socket's own channel."""

    node: str
    conn: str


@dataclass(slots=True)
class RoomState:
    """A room and what its home knows besides: where the sockets are, whether it is gated."""

    room: Room
    #: session id → the socket that holds the seat now
    routes: dict[str, Route] = field(default_factory=dict)
    #: a token for this room named a purpose: its verified values are deleted when it closes
    gated: bool = False


def dump_state(state: RoomState) -> bytes:
    room = state.room
    return json.dumps(
        {
            "v": FORMAT,
            "id": room.id,
            "state": room.state.value,
            "max_in_call": room.max_in_call,
            "denied": room.denied,
            "channel": None if room.channel is None else room.channel.value,
            "switch_asked": None if room.switch_asked is None else room.switch_asked.value,
            "gated": state.gated,
            "routes": {s: [r.node, r.conn] for s, r in state.routes.items()},
            "seats": [_dump_seat(seat) for seat in room.seats.values()],
        },
        separators=(",", ":"),
    ).encode()


def load_state(data: bytes) -> RoomState:
    """Read a room back; raises :class:`BusWireError` for anything this version did not
    write (a node never half-restores a room)."""
    try:
        raw = json.loads(data)
        if raw["v"] != FORMAT:
            raise BusWireError(f"unknown room state format {raw['v']!r}")
        room = Room(raw["id"], max_in_call=int(raw["max_in_call"]))
        room.state = Room.State(raw["state"])
        room.denied = {str(p): float(t) for p, t in raw["denied"].items()}
        # (absent in what a node before channel switching wrote: the next join names it)
        room.channel = _channel(raw.get("channel"))
        room.switch_asked = _channel(raw.get("switch_asked"))
        for item in raw["seats"]:
            seat = _load_seat(item)
            room.seats[seat.id] = seat
        routes = {str(s): Route(str(n), str(c)) for s, (n, c) in raw["routes"].items()}
        return RoomState(room, routes, bool(raw["gated"]))
    except BusWireError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BusWireError("a room state that does not read back") from None


def _channel(value: object) -> Channel | None:
    return None if value is None else Channel(str(value))


def _dump_seat(seat: Seat) -> dict[str, Any]:
    return {
        "id": seat.id,
        "role": seat.role.value,
        "session": seat.session_id,
        "owner": seat.owner,
        "state": seat.state.value,
        "hold": seat.hold_message,
        "arrived": seat.arrived,
        "away": seat.away_since,
        "client_seq": seat.last_client_seq,
        "seq": seat.seq,
        # frames are UTF-8 JSON (encode_server_message), so they are kept as text
        "sent": [[seq, frame.decode()] for seq, frame in seat.sent[-WRITTEN_REPLAY:]],
    }


def _load_seat(item: dict[str, Any]) -> Seat:
    seat = Seat(
        str(item["id"]),
        Role(item["role"]),
        str(item["session"]),
        float(item["arrived"]),
        owner=None if item["owner"] is None else str(item["owner"]),
    )
    seat.state = Seat.State(item["state"])
    seat.hold_message = None if item["hold"] is None else str(item["hold"])
    seat.away_since = None if item["away"] is None else float(item["away"])
    seat.last_client_seq = int(item["client_seq"])
    seat.seq = int(item["seq"])
    seat.sent = [(int(seq), str(frame).encode()) for seq, frame in item["sent"]][-REPLAY_LIMIT:]
    return seat
