"""A development and test stand-in for ``irma server`` (never for production).

It speaks the requestor API, the yivi-frontend endpoints and the app protocol
of a real server closely enough for the backend, the browser library and a
scripted wallet to run unchanged, but it checks no zero-knowledge proofs: the
wallet simply says which values it discloses. See docs/identity.md, "Emulator
and test wallet", for what it does not check.
"""

from identity.emulator.app import create_emulator_app
from identity.emulator.errors import EmulatorError, EmulatorRefused, RemoteError
from identity.emulator.sessions import EmulatorSwitches, Lifetimes, ProofStatus, Status
from identity.emulator.settings import (
    EmulatorSettings,
    HmacAuth,
    NoAuth,
    PublicKeyAuth,
    RequestorAuth,
    TokenAuth,
)
from identity.emulator.state import EMULATOR, Emulator

__all__ = [
    "EMULATOR",
    "Emulator",
    "EmulatorError",
    "EmulatorRefused",
    "EmulatorSettings",
    "EmulatorSwitches",
    "HmacAuth",
    "Lifetimes",
    "NoAuth",
    "ProofStatus",
    "PublicKeyAuth",
    "RemoteError",
    "RequestorAuth",
    "Status",
    "TokenAuth",
    "create_emulator_app",
]
