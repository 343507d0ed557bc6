"""What the specialist desk shows per appointment: its *live* state.

The stored state (server/booking/appointment.py) says what was decided; the live rooms of
the hub (server/call/hub.py) and the identity gate's vault say what is happening now. This module
combines them without I/O, so every rule is a plain function of plain values::

    cancelled / completed / no-show        the stored final state, always
    in_call    the resident is in the call (admitted), or the call is open
    waiting    the resident sits in the lobby (``verified`` says whether they proved who
               they are; in a gated room nobody enters the lobby without)
    verified   the resident passed the identity gate but is not in the lobby (yet)
    ended      the specialist opened the call and it is over: record the outcome
    booked     nothing of the above (yet)

The hub's rooms are this node's: in the scale-out shape a desk served by another node than
the call sees the stored state only (docs/booking.md, "Specialist desk").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from server.booking.appointment import Appointment, AppointmentState
from server.core.language import N_
from signaling.roles import Role
from signaling.room import Room


class LiveState(StrEnum):
    BOOKED = "booked"
    VERIFIED = "verified"
    WAITING = "waiting"
    IN_CALL = "in_call"
    ENDED = "ended"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


#: stored states the desk lists (holds in progress and lapsed holds are nobody's business)
LISTED: Final = frozenset(
    {
        AppointmentState.BOOKED,
        AppointmentState.CHECKED_IN,
        AppointmentState.IN_CALL,
        AppointmentState.COMPLETED,
        AppointmentState.NO_SHOW,
        AppointmentState.CANCELLED,
    }
)
#: stored states in which the appointment is still open: a call can be opened, an outcome set
OPEN: Final = frozenset(
    {AppointmentState.BOOKED, AppointmentState.CHECKED_IN, AppointmentState.IN_CALL}
)
_FINAL: Final = {
    AppointmentState.COMPLETED: LiveState.COMPLETED,
    AppointmentState.NO_SHOW: LiveState.NO_SHOW,
    AppointmentState.CANCELLED: LiveState.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Presence:
    """Who is in the appointment's room on this node right now."""

    #: the room is open here (not ended, somebody seated)
    room_live: bool = False
    #: the resident sits in the lobby (waiting or held)
    resident_waiting: bool = False
    #: the resident was admitted and is in the call
    resident_in_call: bool = False
    #: the resident passed the identity gate for this room (a live vault entry)
    verified: bool = False

    @property
    def resident_here(self) -> bool:
        return self.resident_waiting or self.resident_in_call or self.verified


def room_presence(room: Room | None) -> Presence:
    """Who sits in a live room (``verified`` left False: the vault says that)."""
    if room is None or room.state is Room.State.ENDED or room.empty:
        return Presence()
    residents = [seat for seat in room.seats.values() if seat.role is Role.RESIDENT]
    return Presence(
        room_live=True,
        resident_waiting=any(seat.in_lobby for seat in residents),
        resident_in_call=any(not seat.in_lobby for seat in residents),
    )


def live_state(appointment: Appointment, presence: Presence) -> LiveState:
    final = _FINAL.get(appointment.state)
    if final is not None:
        return final
    if presence.resident_in_call:
        return LiveState.IN_CALL
    if presence.resident_waiting:
        return LiveState.WAITING
    if appointment.state is AppointmentState.IN_CALL:
        return LiveState.IN_CALL if presence.room_live else LiveState.ENDED
    if presence.verified:
        return LiveState.VERIFIED
    return LiveState.BOOKED


_LABELS: Final = {
    LiveState.BOOKED: N_("Gepland"),
    LiveState.VERIFIED: N_("Identiteit gecontroleerd, nog niet in de wachtkamer"),
    LiveState.WAITING: N_("Wacht in de wachtkamer"),
    LiveState.IN_CALL: N_("In gesprek"),
    LiveState.ENDED: N_("Gesprek afgelopen: leg de uitkomst vast"),
    LiveState.COMPLETED: N_("Afgerond"),
    LiveState.NO_SHOW: N_("Niet gekomen"),
    LiveState.CANCELLED: N_("Geannuleerd"),
}
#: the labels with more to say, each a whole text of its own (never glued in translation)
_WAITING_VERIFIED: Final = N_("Wacht in de wachtkamer, identiteit gecontroleerd")
_FOLLOW_UP: Final = {
    LiveState.COMPLETED: N_("Afgerond, vervolg nodig"),
    LiveState.NO_SHOW: N_("Niet gekomen, vervolg nodig"),
}


def state_label(
    state: LiveState,
    *,
    verified: bool = False,
    follow_up: bool = False,
    gettext: Callable[[str], str] = N_,
) -> str:
    """The state in plain words (B1), as the desk shows and announces it: Dutch, or the
    request's language when ``gettext`` is :func:`~server.core.language.gettext_for` it."""
    if state is LiveState.WAITING and verified:
        return gettext(_WAITING_VERIFIED)
    if follow_up and state in _FOLLOW_UP:
        return gettext(_FOLLOW_UP[state])
    return gettext(_LABELS[state])


__all__ = [
    "LISTED",
    "OPEN",
    "LiveState",
    "Presence",
    "live_state",
    "room_presence",
    "state_label",
]
