"""The rooms one node holds (those it is the home of), and the session ids that name them."""

from __future__ import annotations

import secrets
from typing import Final

from signaling.errors import NotAllowed
from signaling.messages import ID_PATTERN
from signaling.room import Effect, Room

#: how long an ended room is remembered, so a late join learns it has ended
ENDED_MEMORY_SECONDS: Final = 24 * 3600


def new_session_id(room_id: str) -> str:
    """A socket session's id: the resume secret, prefixed by its room, so any node can send
    a ``resume`` to the room's home without asking anyone where the session lives."""
    return f"{room_id}.{secrets.token_urlsafe(24)}"


def room_of_session(session_id: str) -> str | None:
    """The room a session id names, or None for one Balie did not make."""
    room_id, dot, secret = session_id.partition(".")
    if not dot or not secret or not ID_PATTERN.fullmatch(room_id):
        return None
    return room_id


class Registry:
    def __init__(self, *, max_in_call: int) -> None:
        self.max_in_call = max_in_call
        self.rooms: dict[str, Room] = {}
        self._ended: dict[str, float] = {}

    def room_for_join(self, room_id: str) -> Room:
        """The open room to join, created on first use."""
        if room_id in self._ended:
            raise NotAllowed("join", "room ended")
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id, max_in_call=self.max_in_call)
        return room

    def restore(self, room: Room, now: float) -> None:
        """Hold a room read back from another home (server/call/homes.py)."""
        if room.state is Room.State.ENDED:
            self._ended[room.id] = now
        elif not room.empty:
            self.rooms[room.id] = room

    def settle(self, room: Room, now: float) -> None:
        """Forget a room that ended or emptied after a change."""
        if room.state is Room.State.ENDED:
            self._ended[room.id] = now
        if room.empty:
            self.rooms.pop(room.id, None)

    def expire(self, now: float, grace: float) -> list[tuple[Room, list[Effect]]]:
        """Release seats away longer than ``grace``; forget old ended rooms."""
        changed = []
        for room in list(self.rooms.values()):
            effects = room.expire(now, grace)
            if effects or room.empty:
                changed.append((room, effects))
                self.settle(room, now)
        for room_id, ended_at in list(self._ended.items()):
            if now - ended_at > ENDED_MEMORY_SECONDS:
                del self._ended[room_id]
        return changed
