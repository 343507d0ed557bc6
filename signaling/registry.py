"""The rooms one node holds, found by room id or by session id."""

from __future__ import annotations

from typing import Final

from signaling.errors import NotAllowed
from signaling.room import Effect, Room

#: how long an ended room is remembered, so a late join learns it has ended
ENDED_MEMORY_SECONDS: Final = 24 * 3600


class Registry:
    def __init__(self, *, max_in_call: int) -> None:
        self.max_in_call = max_in_call
        self.rooms: dict[str, Room] = {}
        self._ended: dict[str, float] = {}
        self._sessions: dict[str, str] = {}

    def room_for_join(self, room_id: str) -> Room:
        """The open room to join, created on first use."""
        if room_id in self._ended:
            raise NotAllowed("join", "room ended")
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(room_id, max_in_call=self.max_in_call)
        return room

    def bind_session(self, session_id: str, room: Room) -> None:
        self._sessions[session_id] = room.id

    def room_of_session(self, session_id: str) -> Room | None:
        room_id = self._sessions.get(session_id)
        room = self.rooms.get(room_id) if room_id is not None else None
        if room is None or not any(s.session_id == session_id for s in room.seats.values()):
            self._sessions.pop(session_id, None)
            return None
        return room

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
        live = {s.session_id for r in self.rooms.values() for s in r.seats.values()}
        for session_id in [s for s in self._sessions if s not in live]:
            del self._sessions[session_id]
        return changed
