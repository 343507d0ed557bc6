"""Errors of the signalling package.

Every error carries the stable wire ``code`` that an ``error`` frame shows
(see docs/signaling.md) and a plain message that is safe to send: it never
contains message contents, tokens or personal data.

    SignalingError
    ├── ProtocolError            a frame that cannot be understood
    │   ├── BadJson              not JSON                       bad-json
    │   ├── BadMessage           wrong shape, type or length    bad-message
    │   ├── UnknownType          unknown ``type``               unknown-type
    │   └── BinaryNotSupported   a binary frame                 binary-not-supported
    ├── RefusedError             understood, but refused; nothing changed
    │   ├── NotAllowed           not allowed in the current state   not-allowed
    │   ├── Forbidden            the role may not do this           forbidden
    │   ├── UnknownPeer          no such participant in the room    unknown-peer
    │   ├── NotAnUpgrade         a switch to a channel no richer than the call's  not-an-upgrade
    │   ├── RoomFull             the call has no free seat          room-full
    │   ├── RateLimited          over the message rate              rate-limited
    │   ├── Denied               the specialist turned them away a moment ago  denied
    │   └── VerificationRequired the resident has not shown who they are  verification-required
    ├── TokenError               a room token was refused (close 4401)  token-invalid
    │   ├── TokenExpired         its time is over                   token-expired
    │   └── TokenNotYetValid     its time has not come yet          token-not-yet-valid
    ├── BusWireError             a sealed bus envelope that does not open (between nodes;
    │                            never sent to a client)            bus-envelope
    └── BusUnavailable           the bus between nodes cannot be reached now (close 1013
                                 for a join; the client tries again)  unavailable
"""

from __future__ import annotations


class SignalingError(Exception):
    """Base of every error raised by :mod:`signaling`."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(SignalingError):
    """The frame could not be understood.

    ``ref`` is the frame's own ``seq`` when that much could be read, so the
    client can match the error to what it sent.
    """

    def __init__(self, message: str, ref: int | None = None) -> None:
        super().__init__(message)
        self.ref = ref


class BadJson(ProtocolError):
    code = "bad-json"


class BadMessage(ProtocolError):
    code = "bad-message"


class UnknownType(ProtocolError):
    code = "unknown-type"


class BinaryNotSupported(ProtocolError):
    code = "binary-not-supported"


class RefusedError(SignalingError):
    """The frame was understood but refused; the room did not change."""


class NotAllowed(RefusedError):
    """The message is not allowed in the sender's current state.

    The state is part of the message so that a client developer sees why.
    """

    code = "not-allowed"

    def __init__(self, what: str, state: str) -> None:
        super().__init__(f"{what} is not allowed while the participant is in state {state!r}")
        self.state = state


class Forbidden(RefusedError):
    code = "forbidden"


class UnknownPeer(RefusedError):
    code = "unknown-peer"


class NotAnUpgrade(RefusedError):
    """A specialist asked to switch the call to a channel that carries no more than the one
    it runs in (chat → voice → video only; docs/signaling.md, "Switching channel")."""

    code = "not-an-upgrade"


class RoomFull(RefusedError):
    code = "room-full"


class RateLimited(RefusedError):
    code = "rate-limited"


class Denied(RefusedError):
    """The specialist denied this participant a moment ago; the same token cannot put them
    straight back in the lobby (close 4403)."""

    code = "denied"


class VerificationRequired(RefusedError):
    """A resident of a room whose purpose needs a verified identity has none (close 4412)."""

    code = "verification-required"


class TokenError(SignalingError):
    """A room token was refused. The reason is for logs, not for the client."""

    code = "token-invalid"


class TokenExpired(TokenError):
    code = "token-expired"


class TokenNotYetValid(TokenError):
    """The token's ``nbf`` lies ahead: the appointment's call cannot be entered yet."""

    code = "token-not-yet-valid"


class BusWireError(SignalingError):
    """A sealed envelope from the bus that cannot be opened: another key, tampered with,
    replayed on another channel, or not ours (signaling/bus_wire.py)."""

    code = "bus-envelope"


class Unavailable(SignalingError):
    """Something the server needs for this cannot be reached now; nothing was changed."""

    code = "unavailable"


class BusUnavailable(Unavailable):
    """The bus between nodes (Redis) cannot be reached now; nothing was changed."""
