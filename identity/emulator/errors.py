"""Errors of the IRMA emulator.

Messages name states, error codes and attribute ids, never an attribute value
or a token, so they are safe in logs.

    EmulatorError
    ├── EmulatorRefused    the emulator may not be built with these settings (production)
    └── RemoteError        an answer in the shape of an ``irma server`` error (``.kind``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class EmulatorError(Exception):
    """Base of the emulator's errors."""


class EmulatorRefused(EmulatorError):
    """The emulator refuses to run: it is for development and tests only."""


@dataclass(frozen=True)
class ErrorKind:
    """One ``irma.RemoteError`` type of the real server (``irma/server/errors.go``)."""

    error: str
    status: int
    description: str


SESSION_UNKNOWN: Final = ErrorKind("SESSION_UNKNOWN", 400, "Unknown or expired session")
MALFORMED_INPUT: Final = ErrorKind("MALFORMED_INPUT", 400, "Input could not be parsed")
#: what irmago's requestor server answers for a session request it cannot authenticate,
#: parse or validate (it defines MALFORMED_VERIFIER_REQUEST but never sends it)
INVALID_REQUEST: Final = ErrorKind("INVALID_REQUEST", 400, "Invalid HTTP request")
#: the requestor's token is unknown, or its JWT is too old (``ErrorUnauthorized``)
REQUESTOR_UNAUTHORIZED: Final = ErrorKind(
    "UNAUTHORIZED", 403, "You are not authorized to issue or verify this attribute"
)
#: a frontend or client call without the session's Authorization
UNAUTHORIZED: Final = ErrorKind("UNAUTHORIZED", 403, "You are not authorized to access the session")
PAIRING_REQUIRED: Final = ErrorKind("PAIRING_REQUIRED", 403, "Pairing is required first")
UNEXPECTED_REQUEST: Final = ErrorKind("UNEXPECTED_REQUEST", 403, "Unexpected request in this state")
PROTOCOL_VERSION: Final = ErrorKind("PROTOCOL_VERSION", 400, "Protocol version negotiation failed")
SSE_DISABLED: Final = ErrorKind("SSE_DISABLED", 500, "Server sent events disabled")
UNSUPPORTED: Final = ErrorKind("UNSUPPORTED", 501, "Unsupported by this server")


class RemoteError(EmulatorError):
    """An error answered as ``{"status", "error", "description"[, "message"]}``.

    ``message`` is extra detail for the developer reading the response; it
    never carries an attribute value.
    """

    def __init__(self, kind: ErrorKind, message: str = "") -> None:
        super().__init__(f"{kind.error}: {message}" if message else kind.error)
        self.kind = kind
        self.message = message

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": self.kind.status,
            "error": self.kind.error,
            "description": self.kind.description,
        }
        if self.message:
            body["message"] = self.message
        return body
