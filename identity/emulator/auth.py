"""Requestor authentication of ``POST /session`` (research §1.2), without I/O.

It follows irmago's requestor server (``irma/server/requestorserver/auth.go`` and
``server.go`` ``checkAuth``), where each authenticator first decides whether a
request is meant for it:

* the token authenticator takes a JSON body *with* an ``Authorization`` header;
* the HMAC (HS256) and public-key (RS256) authenticators take a ``text/plain`` body
  *without* one, whose JWT header names their algorithm;
* with authentication off (``no_auth``) only a JSON body without ``Authorization``
  is taken, and no other authenticator exists.

A request no authenticator takes is ``400 INVALID_REQUEST``; so is a JWT that fails
to verify (bad signature, unknown requestor, ``exp``/``nbf``, an ``iat`` after the
clock) or names no disclosure. ``403 UNAUTHORIZED`` is kept for an unknown token and
a JWT older than ``max_request_age``. As at a real server with one requestor
configured, the authenticators of the other methods exist but know nobody.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Final

import jwt

from identity.emulator.errors import INVALID_REQUEST, REQUESTOR_UNAUTHORIZED, RemoteError
from identity.emulator.settings import HmacAuth, NoAuth, PublicKeyAuth, RequestorAuth, TokenAuth

#: JWT subjects of a disclosure session request: irmago's ``ParseRequestorJwt`` takes the
#: action name as well as the classic subject
DISCLOSURE_SUBJECTS: Final = frozenset({"verification_request", "disclosing"})
#: subjects of the sessions a real server also runs, which the emulator does not
_OTHER_SUBJECTS: Final = frozenset({"signature_request", "signing", "issue_request", "issuing"})
_JSON: Final = "application/json"
_TEXT: Final = "text/plain"


def authenticate_request(
    auth: RequestorAuth,
    *,
    authorization: str | None,
    content_type: str,
    body: bytes,
    now: float,
    max_age_s: int,
) -> object:
    """The session request JSON if the requestor is who ``auth`` demands; else the
    :class:`RemoteError` irmago would answer."""
    if isinstance(auth, NoAuth):
        if authorization or content_type != _JSON:
            raise _not_authenticated(content_type)
        return _json(body)
    if authorization and content_type == _JSON:
        expected = auth.token if isinstance(auth, TokenAuth) else None
        if expected is None or not secrets.compare_digest(
            authorization.encode(), expected.encode()
        ):
            raise RemoteError(REQUESTOR_UNAUTHORIZED, "unknown requestor token")
        return _json(body)
    token = body.decode("ascii", errors="replace").strip()
    algorithm = _jwt_algorithm(token) if not authorization and content_type == _TEXT else None
    if algorithm is None:
        raise _not_authenticated(content_type)
    return _signed(token, auth, algorithm, now, max_age_s)


def _not_authenticated(content_type: str) -> RemoteError:
    if content_type not in (_JSON, _TEXT):
        return RemoteError(INVALID_REQUEST, f"Unsupported Content-Type: {content_type[:60]}")
    return RemoteError(INVALID_REQUEST, "request could not be authenticated")


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RemoteError(INVALID_REQUEST, "the body is not JSON") from exc


def _jwt_algorithm(token: str) -> str | None:
    """HS256 or RS256 if ``token`` reads as a JWT with that ``alg``: then an authenticator
    takes it (irmago ``jwtApplies``); anything else is for nobody."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        return None
    return algorithm if algorithm in ("HS256", "RS256") else None


def _signed(token: str, auth: RequestorAuth, algorithm: str, now: float, max_age_s: int) -> object:
    header = jwt.get_unverified_header(token)
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise RemoteError(INVALID_REQUEST, f"requestor JWT refused: {type(exc).__name__}") from exc
    # the requestor is named by the header's kid, else by iss (irmago jwtKeyExtractor)
    name = header.get("kid", unverified.get("iss"))
    key: str | bytes | None = None
    if isinstance(auth, HmacAuth) and algorithm == "HS256" and name == auth.requestor:
        key = auth.key
    elif isinstance(auth, PublicKeyAuth) and algorithm == "RS256" and name == auth.requestor:
        key = auth.public_key_pem
    if key is None:
        raise RemoteError(INVALID_REQUEST, "Unknown requestor")
    try:
        claims: Mapping[str, object] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            # time claims are checked below against the injected clock
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise RemoteError(INVALID_REQUEST, f"requestor JWT refused: {type(exc).__name__}") from exc
    _check_times(claims, now, max_age_s)
    subject = claims.get("sub")
    if subject in _OTHER_SUBJECTS:
        raise RemoteError(INVALID_REQUEST, "the emulator runs disclosure sessions only")
    if subject not in DISCLOSURE_SUBJECTS:
        raise RemoteError(INVALID_REQUEST, "Invalid session type")
    request = claims.get("sprequest")
    # irmago reads sprequest as the extended request (irma.ServiceProviderRequest) only
    if not isinstance(request, Mapping) or "request" not in request:
        raise RemoteError(INVALID_REQUEST, "Invalid JWT body: Not a ServiceProviderRequest")
    return request


def _check_times(claims: Mapping[str, object], now: float, max_age_s: int) -> None:
    """As golang-jwt's ``StandardClaims.Valid`` (whole seconds, no leeway: a failure is
    ``INVALID_REQUEST``), then irmago's age check (``UNAUTHORIZED``)."""
    second = int(now)
    exp, nbf, iat = (_seconds(claims, key) for key in ("exp", "nbf", "iat"))
    if exp and second > exp:
        raise RemoteError(INVALID_REQUEST, "token is expired")
    if iat and iat > second:
        raise RemoteError(INVALID_REQUEST, "Token used before issued")
    if nbf and nbf > second:
        raise RemoteError(INVALID_REQUEST, "token is not valid yet")
    # a missing iat counts as 1970: too old
    if iat + max_age_s < now:
        raise RemoteError(REQUESTOR_UNAUTHORIZED, "jwt too old")


def _seconds(claims: Mapping[str, object], key: str) -> int:
    """A time claim; 0 when absent (Go's zero value, which the checks skip)."""
    value = claims.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RemoteError(INVALID_REQUEST, f"{key} must be whole seconds")
    return value
