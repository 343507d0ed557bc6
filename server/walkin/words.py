"""How staff pages name a channel (the desk's residents being served, the dashboard's table):
one word each, marked for translation where it is shown."""

from __future__ import annotations

from typing import Final

from server.core.language import N_
from signaling.channels import Channel

CHANNEL_WORDS: Final = {
    Channel.VIDEO: N_("video"),
    Channel.VOICE: N_("bellen"),
    Channel.CHAT: N_("chat"),
}
