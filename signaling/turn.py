"""ICE servers for a participant, with TURN credentials minted per participant.

coturn's ``use-auth-secret`` mode (draft-uberti-behave-turn-rest): the
username is ``<expiry unix time>:<participant id>`` and the password is
``base64(HMAC-SHA1(secret, username))``. coturn recomputes the password from
its copy of the secret, so no credential is stored anywhere, and each one
stops working at its expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

from signaling.messages import JsonObject


@dataclass(frozen=True, slots=True)
class IceSettings:
    #: ``stun:`` URLs, sent without credentials
    stun_urls: tuple[str, ...] = ()
    #: ``turn:``/``turns:`` URLs, sent with per-participant credentials
    turn_urls: tuple[str, ...] = ()
    #: the ``static-auth-secret`` shared with coturn
    turn_secret: str = field(default="", repr=False)
    #: how long a credential stays valid, in seconds
    turn_ttl: int = 3600

    def __post_init__(self) -> None:
        if self.turn_urls and not self.turn_secret:
            raise ValueError("TURN URLs need a TURN secret (coturn static-auth-secret)")
        if self.turn_ttl <= 0:
            raise ValueError("the TURN credential lifetime must be positive")
        for url in self.stun_urls:
            if not url.startswith("stun:") and not url.startswith("stuns:"):
                raise ValueError(f"not a STUN URL: {url!r}")
        for url in self.turn_urls:
            if not url.startswith("turn:") and not url.startswith("turns:"):
                raise ValueError(f"not a TURN URL: {url!r}")


def turn_credentials(secret: str, participant_id: str, expires_at: int) -> tuple[str, str]:
    """Username and password for coturn's ``use-auth-secret`` mode."""
    username = f"{expires_at}:{participant_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers_for(settings: IceSettings, participant_id: str, now: int) -> list[JsonObject]:
    """The ``iceServers`` list for one participant, in W3C RTCIceServer shape."""
    servers: list[JsonObject] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls:
        username, password = turn_credentials(
            settings.turn_secret, participant_id, now + settings.turn_ttl
        )
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": password}
        )
    return servers
