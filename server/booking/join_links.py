"""The call a booking takes place in: its room, and the links that lead into it.

A booked appointment gets a room id (stored on the appointment). The resident's join link
is ``/call/{room}#token=<room token>``: the token rides in the fragment, which browsers never
send, so it stays out of access logs and Referer headers. The token is minted again each time
the link is shown (it is a signature, not a stored secret), always for the same resident
participant id, so a second copy of the link takes the same seat instead of a new one.

Its window follows the appointment, not the moment of booking: usable from
:data:`EARLY_JOIN` before the start (the device check and waiting room), until
:data:`LATE_LEAVE` after the end (a call that overruns, a reconnect).

The specialist's link carries no token: it goes into staff calendars and the feed, which
other people and programs read, so it must not be a capability. Staff open it signed in to
Balie (staff sign-in is still to come: until then it names the room and nothing more).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Final

from server.booking.appointment import Appointment
from server.call.rooms import new_id
from server.config import Config
from signaling.roles import Role
from signaling.tokens import KeySet, issue_room_token

#: the resident may open the join link this long before the start
EARLY_JOIN: Final = timedelta(minutes=15)
#: ... and until this long after the end
LATE_LEAVE: Final = timedelta(hours=3)


def new_room_id() -> str:
    return new_id("r")


def resident_participant_id(room_id: str) -> str:
    """The resident's fixed seat in ``room_id``: derived, so every minted link agrees."""
    digest = hashlib.sha256(f"balie/resident/{room_id}".encode()).digest()[:16]
    return "p_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def resident_join_url(
    config: Config, keys: KeySet, appointment: Appointment, *, now: datetime
) -> str | None:
    """The resident's join link, or None for an appointment without a room."""
    if appointment.room_id is None:
        return None
    not_before = int((appointment.start - EARLY_JOIN).timestamp())
    expires = int((appointment.end + LATE_LEAVE).timestamp())
    issued = int(now.timestamp())
    token = issue_room_token(
        keys,
        issuer=config.tokens.issuer,
        room=appointment.room_id,
        participant_id=resident_participant_id(appointment.room_id),
        role=Role.RESIDENT,
        now=issued,
        # a link shown after the window gets an already expired token; the page says so
        ttl=max(expires - issued, 0),
        not_before=not_before,
        purpose=appointment.purpose_key,
        tenant=appointment.tenant_id,
    )
    return f"{config.public_url}/call/{appointment.room_id}#token={token}"


def staff_join_url(config: Config, appointment: Appointment) -> str:
    """The specialist's link into the call: no token (see the module docstring)."""
    room = appointment.room_id or ""
    return f"{config.public_url}/call/{room}"
