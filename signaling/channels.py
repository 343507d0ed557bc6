"""How the people in a call talk: what media, if any, their pages send."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    #: camera and microphone (every booked appointment so far)
    VIDEO = "video"
    #: microphone only: the page looks and behaves like a phone call, no video track is sent
    VOICE = "voice"
    #: text only: no camera, no microphone, no media at all; the same identity step and lobby
    CHAT = "chat"
