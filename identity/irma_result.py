"""The strict check of an ``irma server`` result JWT, free of I/O.

``GET /session/{token}/result-jwt`` returns the session result as an RS256
JWT signed with the server's ``jwt_privkey``. We accept it only if all of
these hold (docs/identity.md, "Strict checks"):

- the header says RS256 and names no other key source; the signature checks
  out against the *pinned* public key (never a key from the token);
- ``iss`` is the configured issuer, ``sub`` is ``disclosing_result``,
  ``exp`` and ``iat`` are present and ``now`` lies between them (small leeway);
- ``token`` is the token of the session we started;
- ``type`` is ``disclosing``, ``status`` is ``DONE`` and ``proofStatus`` is
  ``VALID`` (a session reaches DONE with an invalid proof too);
- every required item was answered by exactly one of the policy's
  alternatives, each attribute ``PRESENT`` with a non-null ``rawvalue``, from
  an allowed scheme (``pbdf``; ``irma-demo`` only in demo mode); ``EXTRA``
  attributes are ignored.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from identity import yivi
from identity.errors import ConfigurationError, RefusalReason, VerificationRefused
from identity.policy import DisclosurePolicy, PolicyItem, Tag
from identity.verifier import VerifiedIdentity

ALGORITHM: Final = "RS256"
SUBJECT: Final = "disclosing_result"
#: clocks of our nodes and the irma server may differ a little
LEEWAY_SECONDS: Final = 10
MIN_KEY_BITS: Final = 2048
#: a disclosure of a few attributes is a few kB; anything this big is not one
MAX_JWT_LENGTH: Final = 64 * 1024
VERIFIER_NAME: Final = "yivi"
_CODE: Final = re.compile(r"[A-Z][A-Z_]{0,29}")
_ATTRIBUTE_ID: Final = re.compile(r"[a-z][a-z0-9-]{0,30}(\.[A-Za-z][A-Za-z0-9_-]{0,60}){3}")
_SCHEME: Final = re.compile(r"[a-z][a-z0-9-]{0,30}")
_FOREIGN_KEY_HEADERS: Final = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})
_STATUS_REASONS: Final = {
    "CANCELLED": RefusalReason.CANCELLED,
    "TIMEOUT": RefusalReason.TIMEOUT,
}
_PROOF_REASONS: Final = {
    "EXPIRED": RefusalReason.CREDENTIAL_EXPIRED,
    "MISSING_ATTRIBUTES": RefusalReason.MISSING_ATTRIBUTES,
    "UNMATCHED_REQUEST": RefusalReason.UNMATCHED_REQUEST,
}


def load_result_key(pem: str | bytes) -> RSAPublicKey:
    """The irma server's result-JWT public key from PEM (``GET /publickey`` gives it)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise ConfigurationError("the IRMA result key is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError("the IRMA result key must be an RSA public key (RS256)")
    if key.key_size < MIN_KEY_BITS:
        raise ConfigurationError(f"the IRMA result key must have at least {MIN_KEY_BITS} bits")
    return key


def verify_result_jwt(
    result_jwt: str,
    *,
    key: RSAPublicKey,
    issuer: str,
    session_token: str,
    policy: DisclosurePolicy,
    demo: bool,
    now: int,
    leeway: int = LEEWAY_SECONDS,
) -> VerifiedIdentity:
    """Check ``result_jwt`` for the session ``session_token`` that asked ``policy``.

    Returns the verified identity or raises :class:`VerificationRefused`; no
    message names an attribute value.
    """
    claims, issued_at = _decode(result_jwt, key=key, issuer=issuer, now=now, leeway=leeway)
    if claims.get("sub") != SUBJECT:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "sub is not disclosing_result")
    token = claims.get("token")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), session_token.encode()
    ):
        raise VerificationRefused(RefusalReason.SESSION_MISMATCH, "token claim is another session")
    if claims.get("type") != "disclosing":
        raise VerificationRefused(RefusalReason.UNMATCHED_REQUEST, "type is not disclosing")
    status = claims.get("status")
    if status != "DONE":
        reason = _STATUS_REASONS.get(str(status), RefusalReason.NOT_FINISHED)
        raise VerificationRefused(reason, f"status is {_code(status)}")
    proof_status = claims.get("proofStatus")
    if proof_status != "VALID":
        reason = _PROOF_REASONS.get(str(proof_status), RefusalReason.PROOF_INVALID)
        raise VerificationRefused(reason, f"proofStatus is {_code(proof_status)}")
    if claims.get("error") is not None:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "result carries an error")
    values, tags, ids = _check_disclosed(claims.get("disclosed"), policy=policy, demo=demo)
    return VerifiedIdentity(
        verifier=VERIFIER_NAME,
        purpose=policy.purpose,
        values=values,
        tags=frozenset(tags),
        attribute_ids=tuple(ids),
        issuers=tuple(sorted({yivi.issuer_id(i) for i in ids})),
        verified_at=issued_at,
        demo=demo,
    )


def _decode(
    result_jwt: str, *, key: RSAPublicKey, issuer: str, now: int, leeway: int
) -> tuple[dict[str, object], int]:
    if len(result_jwt) > MAX_JWT_LENGTH:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "result is not a JWT of sane size")
    try:
        header = jwt.get_unverified_header(result_jwt)
    except jwt.PyJWTError:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "result is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "result algorithm is not RS256")
    if _FOREIGN_KEY_HEADERS & header.keys():
        raise VerificationRefused(
            RefusalReason.PROOF_INVALID, "result header names a key source or extension"
        )
    try:
        # Time claims are checked below against the injected ``now`` (pyjwt
        # only knows the wall clock); pyjwt checks that they are present.
        claims: dict[str, object] = jwt.decode(
            result_jwt,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            subject=SUBJECT,
            options={
                "require": ["exp", "iat", "iss", "sub"],
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.PyJWTError as exc:
        raise VerificationRefused(
            RefusalReason.PROOF_INVALID, f"result JWT refused: {exc.__class__.__name__}"
        ) from None
    exp, iat = claims.get("exp"), claims.get("iat")
    nbf = claims.get("nbf", iat)
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (exp, iat, nbf)):
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "exp, iat or nbf is not an integer")
    assert isinstance(exp, int) and isinstance(iat, int) and isinstance(nbf, int)  # just checked
    if max(iat, nbf) > now + leeway:
        raise VerificationRefused(RefusalReason.PROOF_INVALID, "result is dated in the future")
    if exp <= now - leeway:
        raise VerificationRefused(RefusalReason.RESULT_EXPIRED, "result JWT has expired")
    return claims, iat


def _check_disclosed(
    disclosed: object, *, policy: DisclosurePolicy, demo: bool
) -> tuple[dict[str, str], list[Tag], list[str]]:
    if not isinstance(disclosed, list) or not all(isinstance(c, list) for c in disclosed):
        raise VerificationRefused(
            RefusalReason.RESULT_MALFORMED, "disclosed is not a list of lists"
        )
    fields = yivi.attribute_fields(demo=demo)
    values: dict[str, str] = {}
    tags: list[Tag] = []
    ids: list[str] = []
    for i, item in enumerate(policy.items):
        answer = disclosed[i] if i < len(disclosed) else []
        chosen = _check_item(i, item, answer, demo=demo)
        if chosen is None:
            continue
        alternative, present = chosen
        tags.extend(alternative)
        for attribute_id, rawvalue in present.items():
            values[fields[attribute_id][1]] = rawvalue
            ids.append(attribute_id)
    # irmago puts attributes nobody asked for in a trailing array, all EXTRA
    for extra in disclosed[len(policy.items) :]:
        for attribute in extra:
            if not isinstance(attribute, Mapping) or attribute.get("status") != "EXTRA":
                raise VerificationRefused(
                    RefusalReason.RESULT_MALFORMED, "trailing disclosed entries are not EXTRA"
                )
    return values, tags, ids


def _check_item(
    index: int, item: PolicyItem, answer: Sequence[object], *, demo: bool
) -> tuple[tuple[Tag, ...], dict[str, str]] | None:
    present: dict[str, str] = {}
    for attribute in answer:
        if not isinstance(attribute, Mapping):
            raise VerificationRefused(
                RefusalReason.RESULT_MALFORMED, f"item {index}: not an object"
            )
        attribute_id, status = attribute.get("id"), attribute.get("status")
        if not isinstance(attribute_id, str) or not isinstance(status, str):
            raise VerificationRefused(
                RefusalReason.RESULT_MALFORMED, f"item {index}: attribute without id or status"
            )
        if status == "EXTRA":
            continue
        _check_scheme(attribute_id, demo=demo)
        shown_id = _shown_id(attribute_id)
        if status == "NULL":
            raise VerificationRefused(
                RefusalReason.MISSING_ATTRIBUTES, f"item {index}: {shown_id} is NULL"
            )
        if status != "PRESENT":
            raise VerificationRefused(
                RefusalReason.RESULT_MALFORMED,
                f"item {index}: {shown_id} has status {_code(status)}",
            )
        rawvalue = attribute.get("rawvalue")
        if not isinstance(rawvalue, str):
            raise VerificationRefused(
                RefusalReason.MISSING_ATTRIBUTES, f"item {index}: {shown_id} has no value"
            )
        if attribute_id in present:
            raise VerificationRefused(
                RefusalReason.RESULT_MALFORMED, f"item {index}: {shown_id} disclosed twice"
            )
        present[attribute_id] = rawvalue
    if not present:
        if item.optional:
            return None
        raise VerificationRefused(
            RefusalReason.MISSING_ATTRIBUTES, f"item {index}: nothing disclosed"
        )
    options = {alt: set(yivi.alternative_ids(alt, demo=demo)) for alt in item.alternatives}
    for alternative, expected in options.items():
        if set(present) == expected:
            return alternative, present
    allowed = set().union(*options.values())
    outside = sorted(set(present) - allowed)
    if outside:
        raise VerificationRefused(
            RefusalReason.UNMATCHED_REQUEST,
            f"item {index}: {_shown_id(outside[0])} is outside the policy's alternatives",
        )
    if any(set(present) < expected for expected in options.values()):
        raise VerificationRefused(
            RefusalReason.MISSING_ATTRIBUTES, f"item {index}: an alternative is incomplete"
        )
    raise VerificationRefused(
        RefusalReason.UNMATCHED_REQUEST, f"item {index}: attributes mix alternatives"
    )


def _check_scheme(attribute_id: str, *, demo: bool) -> None:
    scheme = attribute_id.split(".", 1)[0]
    if scheme == yivi.SCHEME_DEMO and not demo:
        raise VerificationRefused(
            RefusalReason.DEMO_CREDENTIAL, "irma-demo credential outside demo mode"
        )
    allowed = (yivi.SCHEME_PRODUCTION, yivi.SCHEME_DEMO) if demo else (yivi.SCHEME_PRODUCTION,)
    if scheme not in allowed:
        raise VerificationRefused(
            RefusalReason.UNTRUSTED_ISSUER, f"scheme {_shown_scheme(scheme)} is not allowed"
        )


def _code(value: object) -> str:
    """A protocol word (``DONE``, ``INVALID``) for a log; anything else is not echoed."""
    if isinstance(value, str) and _CODE.fullmatch(value):
        return repr(value)
    return "an unexpected value"


def _shown_id(value: str) -> str:
    """An attribute id for a log; anything not shaped like one is not echoed (it may be data)."""
    return repr(value) if _ATTRIBUTE_ID.fullmatch(value) else "an unreadable attribute id"


def _shown_scheme(value: str) -> str:
    return repr(value) if _SCHEME.fullmatch(value) else "an unreadable scheme"
