"""Compact JWS checks shared by the issuer JWT, the KB-JWT and the status list token.

Each token type has its own ``typ`` and algorithm allow-list (so one can never
stand in for another, and ``none``/``HS256`` are never accepted), keys come only
from the trust path (headers that point elsewhere are refused), and pyjwt
verifies the signature with the one algorithm we allowed. Time claims are
checked by the callers against an injected clock, so pyjwt's wall-clock checks
are off.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.types import Options

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.encoding import DecodeError, b64url_decode, json_loads
from identity.openid4vp.trust import check_key_for_algorithm

#: header parameters that name a key source other than the trust path
FOREIGN_KEY_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5t", "x5t#S256"})
_NO_TIME_CHECKS: Final[Options] = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


def unverified_parts(
    token: str, *, typ: Collection[str], algorithms: Collection[str], check: str
) -> tuple[dict[str, object], dict[str, object]]:
    """Header and payload of a compact JWS before its signature is checked, after the
    checks that need no key: shape, ``typ``, ``alg`` allow-list, no foreign key
    source, no ``crit`` (we understand no extension)."""
    pieces = token.split(".")
    if len(pieces) != 3:
        raise refused(check, "not a compact JWS")
    try:
        header, payload = json_loads(b64url_decode(pieces[0])), json_loads(b64url_decode(pieces[1]))
    except DecodeError:
        raise refused(check, "header or payload is not base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise refused(check, "header or payload is not an object")
    if header.get("typ") not in typ:
        raise PresentationRefused(RefusalReason.PRESENTATION_INVALID, f"{check}.typ", "wrong typ")
    if header.get("alg") not in algorithms:
        raise PresentationRefused(
            RefusalReason.PRESENTATION_INVALID, f"{check}.alg", "algorithm not allowed"
        )
    if FOREIGN_KEY_HEADERS & header.keys():
        raise refused(check, "header names a key source outside the trust path")
    if "crit" in header:
        raise refused(check, "header has critical extensions")
    return header, payload


def verify_signature(
    token: str, key: ec.EllipticCurvePublicKey, algorithm: str, *, check: str
) -> dict[str, object]:
    """The payload, once the signature checks out with ``key`` and ``algorithm`` only."""
    check_key_for_algorithm(key, algorithm, check=check)
    try:
        payload: dict[str, object] = jwt.decode(
            token, key, algorithms=[algorithm], options=_NO_TIME_CHECKS
        )
    except jwt.PyJWTError:
        raise PresentationRefused(
            RefusalReason.PRESENTATION_INVALID, f"{check}.signature", "signature does not verify"
        ) from None
    return payload


def integer_claim(payload: Mapping[str, object], name: str, *, check: str) -> int | None:
    """A NumericDate claim, or ``None`` if absent; booleans and floats are refused."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise refused(check, f"{name} is not an integer")
    return value


def refused(check: str, detail: str) -> PresentationRefused:
    return PresentationRefused(RefusalReason.PRESENTATION_INVALID, check, detail)
