"""Canned ``irma server`` results: keys, claims and signed result JWTs for tests.

Values are obviously fake (BSN 999999990 passes the 11-proof but is reserved
for tests; the name is ``Test Persoon``); tests check they never reach a
message or a repr.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.irma_result import verify_result_jwt
from identity.policy import DisclosurePolicy, policy_from_data
from identity.verifier import VerifiedIdentity

SERVER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SERVER_PUBLIC_PEM = (
    SERVER_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
NOW = 1_900_000_000
TOKEN = "KzxuWKwL5KGLKr4uerws"
ISSUER = "irmaserver"
FAKE_BSN = "999999990"
FAKE_NAME = "Test Persoon"
FAKE_BIRTHDATE = "01-01-1970"
FAKE_EMAIL = "test.persoon@example.org"
FAKE_VALUES = (FAKE_BSN, FAKE_NAME, FAKE_BIRTHDATE, FAKE_EMAIL)

#: BSN, or name and date of birth; and 18+; optionally an e-mail address
POLICY: DisclosurePolicy = policy_from_data(
    "wmo-intake",
    {"required": [["bsn", ["full_name", "birthdate"]], "over_18"], "optional": ["email"]},
)


def attribute(attribute_id: str, rawvalue: str | None, status: str = "PRESENT") -> dict[str, Any]:
    shown = {"": rawvalue, "en": rawvalue, "nl": rawvalue} if rawvalue is not None else None
    return {
        "id": attribute_id,
        "rawvalue": rawvalue,
        "value": shown,
        "status": status,
        "issuancetime": NOW - 86400,
    }


def valid_claims(scheme: str = "pbdf") -> dict[str, Any]:
    """A good result for :data:`POLICY`: BSN, over18 and no e-mail."""
    return {
        "iss": ISSUER,
        "sub": "disclosing_result",
        "iat": NOW - 5,
        "exp": NOW + 115,
        "token": TOKEN,
        "status": "DONE",
        "type": "disclosing",
        "proofStatus": "VALID",
        "disclosed": [
            [attribute(f"{scheme}.gemeente.personalData.bsn", FAKE_BSN)],
            [attribute(f"{scheme}.gemeente.personalData.over18", "Yes")],
            [],
        ],
    }


def claims_with(**changes: Any) -> dict[str, Any]:
    claims = copy.deepcopy(valid_claims())
    for name, value in changes.items():
        if value is _DROP:
            del claims[name]
        else:
            claims[name] = value
    return claims


_DROP: Any = object()
DROP: Any = _DROP


def sign(
    claims: dict[str, Any],
    key: rsa.RSAPrivateKey = SERVER_KEY,
    *,
    algorithm: str = "RS256",
    headers: dict[str, Any] | None = None,
) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWT assembled by hand (for algorithms pyjwt rightly refuses to produce)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = (
        b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64url(signature)}"


def check(
    result_jwt: str,
    *,
    policy: DisclosurePolicy = POLICY,
    demo: bool = False,
    session_token: str = TOKEN,
    now: int = NOW,
) -> VerifiedIdentity:
    return verify_result_jwt(
        result_jwt,
        key=SERVER_KEY.public_key(),
        issuer=ISSUER,
        session_token=session_token,
        policy=policy,
        demo=demo,
        now=now,
    )
