"""Who a participant is in a call."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    #: the person who asked for the appointment; waits in the lobby
    RESIDENT = "resident"
    #: municipal staff; enters at once, admits others, may end the call
    SPECIALIST = "specialist"
    #: an interpreter or a colleague; waits in the lobby like a resident
    GUEST = "guest"


def is_polite(own: tuple[str, Role], peer: tuple[str, Role]) -> bool:
    """Whether ``own`` is the polite side towards ``peer`` in perfect negotiation.

    Exactly one side of each pair is polite. The specialist is impolite towards
    everyone else, so an aiortc peer (which cannot roll back) can sit in the
    specialist's seat; between equal roles the lower id is polite.
    """
    own_id, own_role = own
    peer_id, peer_role = peer
    own_staff = own_role is Role.SPECIALIST
    if own_staff != (peer_role is Role.SPECIALIST):
        return not own_staff
    return own_id < peer_id
