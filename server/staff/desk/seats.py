"""A specialist's seat in a call: the room token that the desk mints when the specialist opens
an appointment's call or takes a walk-in resident.

The answer is ``303 /call/{room}#token=...``: the token rides in the fragment, which browsers
never send back, and the access log records request paths only (server/core/logs.py), so the
token appears in no log and no Referer.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from server.core.appkeys import CLOCK, CONFIG, KEYS
from server.core.forms import see_other
from server.staff.model import StaffPrincipal
from signaling.channels import Channel
from signaling.roles import Role
from signaling.tokens import issue_room_token


@dataclass(frozen=True, slots=True)
class SpecialistSeat:
    """A specialist's way into a room: for an appointment, or a walk-in resident taken."""

    room_id: str
    tenant_id: str
    purpose: str
    expires: datetime
    channel: Channel = Channel.VIDEO
    walkin: bool = False


def to_call(request: web.Request, principal: StaffPrincipal, seat: SpecialistSeat) -> web.Response:
    """``303 /call/{room}#token=...`` with a specialist room token for ``seat``."""
    config = request.app[CONFIG]
    issued = int(request.app[CLOCK]().timestamp())
    token = issue_room_token(
        request.app[KEYS],
        issuer=config.tokens.issuer,
        room=seat.room_id,
        participant_id=specialist_participant_id(seat.room_id, principal),
        role=Role.SPECIALIST,
        now=issued,
        ttl=max(int(seat.expires.timestamp()) - issued, 0),
        purpose=seat.purpose,
        tenant=seat.tenant_id,
        channel=seat.channel,
        walkin=seat.walkin,
    )
    # the token only in the fragment: never sent back by the browser, never logged
    return see_other(f"/call/{seat.room_id}#token={token}", headers={"Cache-Control": "no-store"})


def specialist_participant_id(room_id: str, principal: StaffPrincipal) -> str:
    """The staff member's fixed seat in ``room_id``: opening the call twice takes the same
    seat instead of a second one."""
    seed = f"balie/staff/{room_id}/{principal.tenant_id}/{principal.account_id}"
    digest = hashlib.sha256(seed.encode()).digest()[:16]
    return "p_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
