"""The wallet's POST to the response URI: form fields in, a :class:`WalletResponse` out.

Three shapes (OID4VP §8.2, §8.3): ``vp_token`` + ``state`` (``direct_post``),
``response`` = a compact JWE whose payload holds them (``direct_post.jwt``), or
``error`` (+ ``error_description``) + ``state``, which a wallet may send
unencrypted in either mode. In ``direct_post.jwt`` mode a clear ``vp_token`` is
refused: we asked for encryption, and a downgrade is how it would be lost.

The JWE must use exactly our key (``kid``), ``ECDH-ES`` and an ``enc`` we
offered, and no compression (a small JWE must not inflate into a large one).
Encryption does not authenticate the sender (§14.6): anyone can encrypt to our
key; what follows checks the presentations themselves.

Everything here raises :class:`WalletResponseError`: the envelope is not a
response to this transaction, and the transaction stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from identity.errors import PresentationRefused, RefusalReason, WalletResponseError
from identity.openid4vp.config import ResponseMode
from identity.openid4vp.encoding import DecodeError, b64url_decode, json_loads

KEY_ALGORITHM: Final = "ECDH-ES"
MAX_RESPONSE_LENGTH: Final = 1024 * 1024
#: OAuth error codes are short ASCII words; anything else is not echoed into a log
_ERROR_CODE: Final = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class WalletResponse:
    state: str
    #: the ``vp_token`` as sent (an object, or JSON text of one); never logged
    vp_token: object = field(default=None, repr=False)
    #: the OAuth error code, when the wallet answered with an error
    error: str | None = None


def new_response_key(kid: str) -> ECKey:
    """A one-off P-256 key to which the wallet encrypts this transaction's response."""
    return ECKey.generate_key(
        "P-256", parameters={"kid": kid, "use": "enc", "alg": KEY_ALGORITHM}, private=True
    )


def public_jwk(key: ECKey) -> dict[str, object]:
    return dict(key.as_dict(private=False))


def jwk_thumbprint(key: ECKey) -> bytes:
    """RFC 7638 SHA-256 thumbprint of the public key (for the mdoc session transcript)."""
    public = key.as_dict(private=False)
    members = {name: public[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).digest()


def read_response(
    form: Mapping[str, str],
    *,
    mode: ResponseMode,
    key: ECKey | None,
    encryption_values: tuple[str, ...],
) -> WalletResponse:
    """The response in ``form`` (already URL-decoded), decrypted when it is a JWE."""
    if sum(len(v) for v in form.values()) > MAX_RESPONSE_LENGTH:
        raise WalletResponseError("response.size", "the response is too large")
    if "response" in form:
        if mode is not ResponseMode.DIRECT_POST_JWT or key is None:
            raise WalletResponseError("response.mode", "an encrypted response was not asked for")
        payload = decrypt(form["response"], key, encryption_values)
        return _fields(payload, outer_state=form.get("state"))
    if "error" in form:
        return _fields(dict(form), outer_state=None)
    if "vp_token" in form:
        if mode is ResponseMode.DIRECT_POST_JWT:
            raise WalletResponseError("response.unencrypted", "the response was not encrypted")
        return _fields(dict(form), outer_state=None)
    raise WalletResponseError("response.shape", "no vp_token, response or error")


def decrypt(token: str, key: ECKey, encryption_values: tuple[str, ...]) -> dict[str, object]:
    """The JSON payload of a compact JWE encrypted to ``key``."""
    header = _protected_header(token)
    if header.get("alg") != KEY_ALGORITHM or header.get("enc") not in encryption_values:
        raise WalletResponseError("response.jwe.alg", "alg or enc is not what we offered")
    if header.get("kid") != key.kid:
        raise WalletResponseError("response.jwe.kid", "not encrypted to this transaction's key")
    if "zip" in header:
        raise WalletResponseError("response.jwe", "compressed JWE")
    try:
        plaintext = jwe.decrypt_compact(
            token, key, algorithms=[KEY_ALGORITHM, *encryption_values]
        ).plaintext
    except (JoseError, ValueError, TypeError):
        raise WalletResponseError("response.jwe", "the JWE does not decrypt") from None
    if plaintext is None:
        raise WalletResponseError("response.jwe", "the JWE has no payload")
    try:
        payload = json_loads(plaintext)
    except DecodeError:
        raise WalletResponseError("response.jwe", "the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise WalletResponseError("response.jwe", "the payload is not an object")
    return payload


def vp_token_object(value: object) -> Mapping[str, object]:
    """The ``vp_token`` as an object (a form field carries it as JSON text)."""
    if isinstance(value, str):
        try:
            value = json_loads(value)
        except DecodeError:
            raise PresentationRefused(
                RefusalReason.RESULT_MALFORMED, "vp-token.shape", "vp_token is not JSON"
            ) from None
    if not isinstance(value, dict):
        raise PresentationRefused(
            RefusalReason.RESULT_MALFORMED, "vp-token.shape", "vp_token is not an object"
        )
    return value


def _protected_header(token: str) -> dict[str, object]:
    if len(token) > MAX_RESPONSE_LENGTH or token.count(".") != 4:
        raise WalletResponseError("response.jwe", "not a compact JWE")
    try:
        header = json_loads(b64url_decode(token.split(".", 1)[0]))
    except DecodeError:
        raise WalletResponseError("response.jwe", "the JWE header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise WalletResponseError("response.jwe", "the JWE header is not an object")
    return header


def _fields(params: Mapping[str, object], *, outer_state: str | None) -> WalletResponse:
    state = params.get("state", outer_state)
    if not isinstance(state, str) or (outer_state is not None and state != outer_state):
        raise WalletResponseError("response.state", "no single state value")
    error = params.get("error")
    if error is not None:
        if not isinstance(error, str) or not _ERROR_CODE.fullmatch(error):
            raise WalletResponseError("response.error", "the error code is not an OAuth code")
        return WalletResponse(state=state, error=error)
    if "vp_token" not in params:
        raise WalletResponseError("response.shape", "no vp_token")
    return WalletResponse(state=state, vp_token=params["vp_token"])
