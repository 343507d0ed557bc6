"""The signed request object (JAR, RFC 9101) and the link or QR code that points to it.

The wallet gets only ``client_id`` and ``request_uri`` from the QR code or link;
everything else comes from the request object, signed with our access
certificate's key and carrying its chain in ``x5c``, so the wallet can check
who asks (``x509_hash`` client id: the hash of that certificate).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode

import jwt

from identity.openid4vp.config import VerifierSettings, certificate_chain, fill
from identity.openid4vp.credential import CredentialFormat
from identity.openid4vp.mdoc import COSE_ALGORITHMS
from identity.openid4vp.transactions import Transaction

TYP: Final = "oauth-authz-req+jwt"
MEDIA_TYPE: Final = "application/oauth-authz-req+jwt"
#: the audience of a request object for a wallet we do not know (OID4VP §5.8)
SELF_ISSUED: Final = "https://self-issued.me/v2"
SIGNING_ALGORITHM: Final = "ES256"


def authorization_url(settings: VerifierSettings, request_id: str) -> str:
    """What the QR code or the same-device link holds (OID4VP §5.10 by reference)."""
    params = {
        "client_id": settings.client.client_id,
        "request_uri": fill(settings.request_uri, request_id=request_id),
    }
    if settings.request_uri_method is not None:
        params["request_uri_method"] = settings.request_uri_method
    separator = "&" if "?" in settings.wallet_url else "?"
    return settings.wallet_url + separator + urlencode(params)


def client_metadata(
    settings: VerifierSettings, response_jwk: Mapping[str, object] | None
) -> dict[str, object]:
    """``vp_formats_supported`` for both formats, and our one-off encryption key."""
    algorithms = sorted(settings.rules.algorithms)
    cose = sorted(code for code, name in COSE_ALGORITHMS.items() if name in algorithms)
    metadata: dict[str, object] = {
        "vp_formats_supported": {
            CredentialFormat.SD_JWT_VC.value: {
                "sd-jwt_alg_values": algorithms,
                "kb-jwt_alg_values": algorithms,
            },
            CredentialFormat.MDOC.value: {
                "issuerauth_alg_values": cose,
                "deviceauth_alg_values": cose,
            },
        }
    }
    if response_jwk is not None:
        metadata["jwks"] = {"keys": [dict(response_jwk)]}
        metadata["encrypted_response_enc_values_supported"] = list(settings.rules.encryption_values)
    return metadata


def request_object(
    settings: VerifierSettings,
    transaction: Transaction,
    *,
    response_jwk: Mapping[str, object] | None,
    wallet_nonce: str | None,
    now: float,
) -> str:
    """The signed request object for ``transaction`` (compact JWS)."""
    claims: dict[str, object] = {
        "iss": transaction.client_id,
        "aud": SELF_ISSUED,
        "client_id": transaction.client_id,
        "response_type": "vp_token",
        "response_mode": transaction.response_mode.value,
        "response_uri": fill(settings.response_uri, request_id=transaction.request_id),
        "nonce": transaction.nonce,
        "state": transaction.request_id,
        "dcql_query": dict(transaction.dcql_query),
        "client_metadata": client_metadata(settings, response_jwk),
        "iat": int(now),
        "exp": int(now) + settings.request_object_ttl,
    }
    if wallet_nonce is not None:
        claims["wallet_nonce"] = wallet_nonce
    headers = {
        "typ": TYP,
        "x5c": [
            base64.b64encode(der).decode("ascii")
            for der in certificate_chain(settings.client.chain)
        ],
    }
    return jwt.encode(claims, settings.client.key, algorithm=SIGNING_ALGORITHM, headers=headers)
