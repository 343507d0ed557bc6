"""Requestor authentication of ``POST /session`` (research §1.2), without I/O."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping

import jwt

from identity.emulator.errors import MALFORMED_INPUT, REQUESTOR_UNAUTHORIZED, RemoteError
from identity.emulator.settings import HmacAuth, NoAuth, PublicKeyAuth, RequestorAuth, TokenAuth

#: the JWT subject of a disclosure session request
VERIFICATION_REQUEST_SUBJECT = "verification_request"


def authenticate_request(
    auth: RequestorAuth,
    *,
    authorization: str | None,
    content_type: str,
    body: bytes,
    now: float,
    max_age_s: int,
) -> object:
    """The session request JSON if the requestor is who ``auth`` demands; else ``UNAUTHORIZED``."""
    match auth:
        case NoAuth():
            if authorization:
                raise RemoteError(REQUESTOR_UNAUTHORIZED, "this emulator expects no Authorization")
            return _json(body)
        case TokenAuth(token=token):
            if (
                not authorization
                or content_type != "application/json"
                or not secrets.compare_digest(authorization.encode(), token.encode())
            ):
                raise RemoteError(REQUESTOR_UNAUTHORIZED, "requestor token missing or wrong")
            return _json(body)
        case HmacAuth(requestor=name, key_base64=key_b64):
            try:
                key: object = base64.b64decode(key_b64, validate=True)
            except binascii.Error as exc:
                raise ValueError("HmacAuth.key_base64 is not base64") from exc
            return _signed(body, authorization, name, key, "HS256", now, max_age_s)
        case PublicKeyAuth(requestor=name, public_key_pem=pem):
            return _signed(body, authorization, name, pem, "RS256", now, max_age_s)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RemoteError(MALFORMED_INPUT, "the body is not JSON") from exc


def _signed(
    body: bytes,
    authorization: str | None,
    requestor: str,
    key: object,
    algorithm: str,
    now: float,
    max_age_s: int,
) -> object:
    if authorization:
        raise RemoteError(REQUESTOR_UNAUTHORIZED, "a signed request carries no Authorization")
    token = body.decode("ascii", errors="replace").strip()
    try:
        header = jwt.get_unverified_header(token)
        claims: Mapping[str, object] = jwt.decode(
            token,
            key,  # type: ignore[arg-type]  # bytes for HS256, PEM text for RS256
            algorithms=[algorithm],
            options={"require": ["iat", "sub"], "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise RemoteError(
            REQUESTOR_UNAUTHORIZED, f"requestor JWT refused: {type(exc).__name__}"
        ) from exc
    name = header.get("kid") or claims.get("iss")
    if name != requestor:
        raise RemoteError(REQUESTOR_UNAUTHORIZED, "unknown requestor")
    issued = claims["iat"]
    if not isinstance(issued, int | float) or issued > now + 1 or issued < now - max_age_s:
        raise RemoteError(REQUESTOR_UNAUTHORIZED, "requestor JWT is too old or from the future")
    if claims["sub"] != VERIFICATION_REQUEST_SUBJECT:
        raise RemoteError(
            REQUESTOR_UNAUTHORIZED, f"only {VERIFICATION_REQUEST_SUBJECT} JWTs are accepted"
        )
    return claims.get("sprequest")
