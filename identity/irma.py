"""A requestor client for a real ``irma server`` (the Yivi verifier).

Speaks the requestor API (docs/identity.md): ``POST /session`` to start,
``GET /session/{token}/status`` to poll, ``GET /session/{token}/result-jwt``
for the signed result, checked strictly by :mod:`identity.irma_result`, and
``DELETE /session/{token}`` to cancel. The requestor token stays on the
server side, inside the :class:`VerifierHandle`; the browser gets only
``sessionPtr`` and ``frontendRequest``.

aiohttp and JSON errors are translated here, at the boundary, into
:class:`VerifierUnavailable`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from identity import yivi
from identity.errors import ConfigurationError, VerifierUnavailable
from identity.irma_result import VERIFIER_NAME, verify_result_jwt
from identity.policy import DisclosurePolicy
from identity.verifier import (
    StartedVerification,
    VerificationStatus,
    VerifiedIdentity,
    VerifierHandle,
)

#: requestor tokens are 20 alphanumerics (irmago internal/common)
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9]{20}")
DEFAULT_ISSUER: Final = "irmaserver"
#: result-JWT lifetime asked of the server, seconds (irma default 120)
DEFAULT_VALIDITY: Final = 120
#: how long the server waits for the app to connect, seconds (irma default 300);
#: short, because a QR forwarded to someone else is the phishing risk (docs/identity.md)
DEFAULT_TIMEOUT: Final = 120
#: one HTTP exchange with the irma server, seconds
DEFAULT_HTTP_TIMEOUT: Final = 10.0
#: a status or session package is small; refuse to read more
MAX_RESPONSE_BYTES: Final = 256 * 1024
#: how far a signed requestor JWT's ``iat`` is set back, seconds: irmago refuses an ``iat``
#: even one second after its own clock (golang-jwt ``StandardClaims.Valid`` and
#: ``jwtValidateClaims`` in ``irma/server/requestorserver/auth.go`` allow no skew), and one
#: older than its ``max_request_age`` (300 s by default), so a little is safe and enough
IAT_BACKDATE_S: Final = 5
_STATUSES: Final = {
    "INITIALIZED": VerificationStatus.WAITING,
    "PAIRING": VerificationStatus.PAIRING,
    "CONNECTED": VerificationStatus.CONNECTED,
    "DONE": VerificationStatus.DONE,
    "CANCELLED": VerificationStatus.CANCELLED,
    "TIMEOUT": VerificationStatus.TIMEOUT,
}
_ERROR_CODE: Final = re.compile(r"[A-Z][A-Z_]{0,39}")
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_BASE64_URL: Final = re.compile(r"[A-Za-z0-9_-]*={0,2}")


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """``token`` requestor auth: the key goes raw in ``Authorization`` (no ``Bearer``)."""

    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.token or any(c in self.token for c in "\r\n"):
            raise ConfigurationError("the IRMA requestor token must be one non-empty line")


@dataclass(frozen=True, slots=True)
class HmacAuth:
    """``hmac`` requestor auth: an HS256 JWT; the server config holds base64(secret)."""

    requestor: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise ConfigurationError("the IRMA requestor HMAC secret must be at least 32 bytes")

    @classmethod
    def from_base64(cls, requestor: str, key: str) -> HmacAuth:
        """The same base64 string the irma server's ``requestors.<name>.key`` holds.

        irmago reads any of four dialects: standard or url-safe alphabet, with or without
        padding (``Base64Decode`` in ``internal/common/common.go``); so do we.
        """
        secret = decode_any_base64(key)
        if secret is None:
            raise ConfigurationError("the IRMA requestor HMAC key is not base64")
        return cls(requestor, secret)


@dataclass(frozen=True, slots=True)
class PublicKeyAuth:
    """``publickey`` requestor auth: an RS256 JWT; the server holds our public key."""

    requestor: str
    private_key: RSAPrivateKey = field(repr=False)


RequestorAuth = TokenAuth | HmacAuth | PublicKeyAuth


def decode_any_base64(text: str) -> bytes | None:
    """``text`` in standard or url-safe base64, padded or not; ``None`` if it is neither.

    One alphabet per string, and padding either complete or absent, as Go's four
    ``base64`` encodings demand; surrounding whitespace (a key file's newline) is ignored.
    """
    text = text.strip()
    if "=" not in text:
        if len(text) % 4 == 1:
            return None
        text += "=" * (-len(text) % 4)
    if not _BASE64.fullmatch(text) and not _BASE64_URL.fullmatch(text):
        return None  # two alphabets mixed, or padding in the middle
    altchars = b"-_" if "-" in text or "_" in text else b"+/"
    try:
        return base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None  # incomplete padding


@dataclass(frozen=True, slots=True)
class IrmaSettings:
    #: base URL of the requestor API (the internal listener), e.g. ``http://irma:8088``
    url: str
    auth: RequestorAuth
    #: the pinned result-JWT key (:func:`identity.irma_result.load_result_key`)
    result_key: RSAPublicKey = field(repr=False)
    #: ``jwt_issuer`` of the irma server
    issuer: str = DEFAULT_ISSUER
    #: ask (and accept) ``irma-demo`` credentials; never in production
    demo: bool = False
    validity: int = DEFAULT_VALIDITY
    timeout: int = DEFAULT_TIMEOUT
    http_timeout: float = DEFAULT_HTTP_TIMEOUT

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigurationError("the IRMA server URL must start with http:// or https://")
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if not 0 < self.validity <= 600:
            raise ConfigurationError("the IRMA result validity must be 1-600 seconds")
        if not 0 < self.timeout <= 900:
            raise ConfigurationError("the IRMA session timeout must be 1-900 seconds")


class IrmaVerifier:
    """The Yivi verifier over an ``irma server``'s requestor API.

    :param session: an aiohttp session owned by the caller (the app's cleanup_ctx)
    :param clock: unix seconds, injectable for tests
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: IrmaSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = session
        self._settings = settings
        self._clock = clock

    @property
    def name(self) -> str:
        return VERIFIER_NAME

    async def start(self, policy: DisclosurePolicy) -> StartedVerification:
        s = self._settings
        request = yivi.extended_request(policy, demo=s.demo, validity=s.validity, timeout=s.timeout)
        body, headers = self._session_request(request)
        package = await self._call("POST", "/session", data=body, headers=headers)
        if not isinstance(package, Mapping):
            raise VerifierUnavailable("irma server: session package is not an object")
        token, pointer = package.get("token"), package.get("sessionPtr")
        frontend = package.get("frontendRequest")
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            raise VerifierUnavailable("irma server: session package has no valid token")
        if (
            not isinstance(pointer, Mapping)
            or not isinstance(pointer.get("u"), str)
            or not isinstance(pointer.get("irmaqr"), str)
        ):
            raise VerifierUnavailable("irma server: session package has no valid sessionPtr")
        payload: dict[str, object] = {"sessionPtr": dict(pointer)}
        if frontend is not None:
            if not isinstance(frontend, Mapping):
                raise VerifierUnavailable("irma server: frontendRequest is not an object")
            payload["frontendRequest"] = dict(frontend)
        handle = VerifierHandle(VERIFIER_NAME, token, policy, s.demo)
        return StartedVerification(handle, payload)

    async def status(self, handle: VerifierHandle) -> VerificationStatus:
        token = self._token(handle)
        try:
            value = await self._call("GET", f"/session/{token}/status")
        except _SessionUnknown:
            # the session (or its result) outlived the server's lifetime
            return VerificationStatus.TIMEOUT
        status = _STATUSES.get(value) if isinstance(value, str) else None
        if status is None:
            raise VerifierUnavailable("irma server: unknown session status")
        return status

    async def result(self, handle: VerifierHandle) -> VerifiedIdentity:
        token = self._token(handle)
        try:
            text = await self._call("GET", f"/session/{token}/result-jwt", raw=True)
        except _SessionUnknown:
            raise VerifierUnavailable("irma server: the session is unknown or expired") from None
        assert isinstance(text, str)  # raw=True
        result_jwt = text.strip()
        if result_jwt.startswith('"'):  # tolerate a JSON-quoted string
            try:
                result_jwt = str(json.loads(result_jwt))
            except ValueError:
                raise VerifierUnavailable("irma server: result-jwt is not readable") from None
        s = self._settings
        return verify_result_jwt(
            result_jwt,
            key=s.result_key,
            issuer=s.issuer,
            session_token=token,
            policy=handle.policy,
            demo=handle.demo and s.demo,
            now=int(self._clock()),
        )

    async def cancel(self, handle: VerifierHandle) -> None:
        token = self._token(handle)
        try:
            await self._call("DELETE", f"/session/{token}", raw=True)
        except _SessionUnknown:
            pass  # already gone: nothing left to cancel

    # -- requestor auth

    def _session_request(self, request: dict[str, object]) -> tuple[bytes, dict[str, str]]:
        auth = self._settings.auth
        if isinstance(auth, TokenAuth):
            headers = {"Content-Type": "application/json", "Authorization": auth.token}
            return json.dumps(request).encode(), headers
        claims = {
            "iat": int(self._clock()) - IAT_BACKDATE_S,
            "iss": auth.requestor,
            "sub": "verification_request",
            "sprequest": request,
        }
        if isinstance(auth, HmacAuth):
            token = jwt.encode(
                claims, auth.secret, algorithm="HS256", headers={"kid": auth.requestor}
            )
        else:
            token = jwt.encode(
                claims, auth.private_key, algorithm="RS256", headers={"kid": auth.requestor}
            )
        return token.encode(), {"Content-Type": "text/plain"}

    # -- HTTP

    def _token(self, handle: VerifierHandle) -> str:
        if handle.verifier != VERIFIER_NAME or not TOKEN_PATTERN.fullmatch(handle.reference):
            raise VerifierUnavailable("not a handle of the Yivi verifier")
        return handle.reference

    async def check_health(self) -> None:
        """Raise :class:`VerifierUnavailable` unless the irma server answers ``/health``."""
        await self._call("GET", "/health")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> object:
        url = self._settings.url + path
        timeout = aiohttp.ClientTimeout(total=self._settings.http_timeout)
        what = f"irma server {method} {path.split('/')[1]}"
        try:
            async with self._http.request(
                method, url, data=data, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                body = await response.content.read(MAX_RESPONSE_BYTES + 1)
                if len(body) > MAX_RESPONSE_BYTES:
                    raise VerifierUnavailable(f"{what}: response too large")
                text = body.decode("utf-8")
                if response.status >= 300:
                    code = _error_code(text)
                    if code == "SESSION_UNKNOWN":
                        raise _SessionUnknown
                    raise VerifierUnavailable(f"{what}: HTTP {response.status} {code}")
                return text if raw else json.loads(text)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise VerifierUnavailable(f"{what}: {exc.__class__.__name__}") from None
        except (ValueError, UnicodeDecodeError):
            raise VerifierUnavailable(f"{what}: response is not JSON") from None


class _SessionUnknown(Exception):
    """The irma server no longer knows the session (``SESSION_UNKNOWN``)."""


def _error_code(text: str) -> str:
    """The ``error`` code of an irma RemoteError, if the body is one; never echo the body."""
    try:
        data = json.loads(text)
    except ValueError:
        return "(no error code)"
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else "(no error code)"
