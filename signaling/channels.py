"""How the people in a call talk: what media, if any, their pages send."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Channel(StrEnum):
    #: camera and microphone (every booked appointment so far)
    VIDEO = "video"
    #: microphone only: the page looks and behaves like a phone call, no video track is sent
    VOICE = "voice"
    #: text only: no camera, no microphone, no media at all; the same identity step and lobby
    CHAT = "chat"


#: how much each channel carries: a call may only switch to a richer one (a specialist asks,
#: the resident agrees; docs/signaling.md, "Switching channel")
RICHNESS: Final = {Channel.CHAT: 0, Channel.VOICE: 1, Channel.VIDEO: 2}


def richer(target: Channel, current: Channel) -> bool:
    """Whether ``target`` carries more than ``current`` (chat → voice → video)."""
    return RICHNESS[target] > RICHNESS[current]
