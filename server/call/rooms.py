"""Rooms created by hand, until appointments create them (``balie room create``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from server.config import Config
from signaling.roles import Role
from signaling.tokens import KeySet, issue_room_token


@dataclass(frozen=True, slots=True)
class IssuedSeat:
    participant_id: str
    role: Role
    token: str
    #: the join link; the token rides in the fragment, which browsers never send
    url: str


@dataclass(frozen=True, slots=True)
class IssuedRoom:
    room: str
    seats: tuple[IssuedSeat, ...]

    def seat(self, role: Role) -> IssuedSeat:
        return next(s for s in self.seats if s.role is role)


def new_id(prefix: str) -> str:
    """A 128-bit random id, safe in URLs and in the signalling id pattern."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def issue_room(
    config: Config,
    keys: KeySet,
    *,
    now: int,
    roles: tuple[Role, ...] = (Role.RESIDENT, Role.SPECIALIST),
    purpose: str | None = None,
    tenant: str | None = None,
    ttl: int | None = None,
) -> IssuedRoom:
    """New seats in a new room; with a purpose, a resident must pass its identity gate. The
    tokens live ``ttl`` seconds (default ``BALIE_ROOM_TOKEN_TTL``)."""
    room = new_id("r")
    seats = []
    for role in roles:
        participant_id = new_id("p")
        token = issue_room_token(
            keys,
            issuer=config.tokens.issuer,
            room=room,
            participant_id=participant_id,
            role=role,
            now=now,
            ttl=config.tokens.room_token_ttl if ttl is None else ttl,
            purpose=purpose,
            tenant=tenant,
        )
        url = f"{config.public_url}/call/{room}#token={token}"
        seats.append(IssuedSeat(participant_id, role, token, url))
    return IssuedRoom(room, tuple(seats))


def room_json(room: IssuedRoom) -> dict[str, object]:
    """A room as ``balie room create --json`` prints it (and the probe endpoint answers):
    its id and, per role, the seat's participant id, token and join link."""
    return {
        "room": room.room,
        **{
            seat.role.value: {
                "participant_id": seat.participant_id,
                "token": seat.token,
                "url": seat.url,
            }
            for seat in room.seats
        },
    }
