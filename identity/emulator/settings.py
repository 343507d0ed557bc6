"""Settings of the IRMA emulator, and how a requestor authenticates ``POST /session``.

Requestor authentication follows the real server (research §1.2):

* :class:`TokenAuth`: ``Authorization: <token>``, raw, exact match, JSON body.
* :class:`HmacAuth`: the body is a JWS (``text/plain``), HS256 with the
  base64-decoded key; :class:`PublicKeyAuth` likewise with RS256.
* :class:`NoAuth`: anyone may start sessions (the real server's development default).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from identity.emulator.sessions import EmulatorSwitches, Lifetimes


@dataclass(frozen=True)
class NoAuth:
    """No requestor authentication: only for a throwaway local emulator."""


@dataclass(frozen=True)
class TokenAuth:
    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.token) < 16:
            raise ValueError("the requestor token must be at least 16 characters")


@dataclass(frozen=True)
class HmacAuth:
    """``requestor`` names the key (JWT header ``kid`` or claim ``iss``); ``key_base64`` is
    the secret as an irma server's configuration holds it, in any base64 dialect irmago
    reads (:func:`decode_go_base64`)."""

    requestor: str
    key_base64: str = field(repr=False)

    def __post_init__(self) -> None:
        if not decode_go_base64(self.key_base64):
            raise ValueError("HmacAuth.key_base64 is empty or in no base64 dialect irmago reads")

    @property
    def key(self) -> bytes:
        key = decode_go_base64(self.key_base64)
        assert key is not None  # checked in __post_init__
        return key


#: Go's RawStdEncoding, URLEncoding, RawURLEncoding, StdEncoding: alphabet and padding
_GO_BASE64: Final = (
    (re.compile(r"[A-Za-z0-9+/]*"), b"+/"),
    (re.compile(r"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?"), b"-_"),
    (re.compile(r"[A-Za-z0-9_-]*"), b"-_"),
    (re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"), b"+/"),
)


def decode_go_base64(text: str) -> bytes | None:
    """What irmago's ``Base64Decode`` (``internal/common/common.go``) makes of ``text``.

    It tries Go's strict decoders in its order: standard unpadded, url-safe padded,
    url-safe unpadded, standard padded; each one alphabet, padding complete or absent.
    Go's decoders skip line breaks, so a key file's newline does no harm.
    """
    text = text.replace("\r", "").replace("\n", "")
    for pattern, altchars in _GO_BASE64:
        if pattern.fullmatch(text) and len(text.rstrip("=")) % 4 != 1:
            padded = text + "=" * (-len(text) % 4)
            try:
                return base64.b64decode(padded, altchars=altchars, validate=True)
            except binascii.Error:
                continue
    return None


@dataclass(frozen=True)
class PublicKeyAuth:
    requestor: str
    public_key_pem: str


RequestorAuth = NoAuth | TokenAuth | HmacAuth | PublicKeyAuth


@dataclass(frozen=True, kw_only=True)
class EmulatorSettings:
    """What one emulator is.

    ``public_url`` is where the emulator app is reachable from browsers and
    wallets, including any mount prefix, e.g. ``http://127.0.0.1:8080/irma-emulator``.
    Session pointers are ``{public_url}/irma/session/{clientToken}``.
    """

    public_url: str
    requestor_auth: RequestorAuth
    #: the emulator refuses to be built when this is true
    production: bool = False
    #: signs result JWTs; a fresh 2048-bit key when not given
    jwt_private_key: rsa.RSAPrivateKey | None = None
    jwt_issuer: str = "irmaserver"
    #: Unix seconds; tests pass a controllable clock to drive timeouts
    clock: Callable[[], float] = time.time
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    #: test-only outcome switches; mutate them while the emulator runs
    switches: EmulatorSwitches = field(default_factory=EmulatorSwitches)
    #: serve the demo wallet page at ``/wallet``
    wallet_page: bool = True
    #: a requestor JWT may be at most this old (irma server ``max_request_age``)
    max_request_age_s: int = 300

    def __post_init__(self) -> None:
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must be an absolute http(s) URL")

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")
