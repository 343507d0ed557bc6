"""SD-JWT VC presentations (RFC 9901, SD-JWT VC), checked strictly and free of I/O.

The checks run in the order of the implementer's reference (its §2 table);
every failure raises :class:`PresentationRefused` with a stable ``check`` code:

====================================  =================================================
check                                 what it prevents
====================================  =================================================
``sd-jwt.shape``, ``sd-jwt.kb.missing`` key binding stripped (the KB-JWT is required
                                      by policy, never "if present")
``sd-jwt.issuer.typ`` / ``.alg``      another JWT type; ``alg: none``; HMAC confusion
``sd-jwt.issuer``                     keys from ``jwk``/``jku``/``x5u``; unknown ``crit``
``sd-jwt.vct``                        a credential of a type we did not ask for
``sd-jwt.issuer.chain`` / ``.type``   forged or cross-type issuers (anchors per ``vct``)
``sd-jwt.issuer.signature``           tampering
``sd-jwt.sd-alg``                     hash downgrade; ``_sd_alg`` below the top level
``sd-jwt.disclosure.*``               duplicated, unreferenced or malformed disclosures;
                                      claim override; reserved names
``sd-jwt.digest.duplicate``           one digest standing for two claims
``sd-jwt.registered-claim``           ``exp``/``status``/``cnf``... hidden in a disclosure
``sd-jwt.expired`` / ``.not-yet-valid`` expired credentials (bounded leeway)
``sd-jwt.cnf``                        no holder binding; a private key in ``cnf``
``sd-jwt.kb.typ`` / ``.alg`` / ``.signature``  a KB-JWT not signed by the ``cnf`` key
``sd-jwt.kb.nonce`` / ``.aud``        replay into another session; a presentation made
                                      for another verifier (``aud`` = full client id)
``sd-jwt.kb.iat``                     stale presentations
``sd-jwt.kb.sd-hash``                 disclosures added or removed after signing
``sd-jwt.status``                     an unreadable status reference
====================================  =================================================

Digests are computed over the disclosures exactly as received; JSON is never
re-serialised before hashing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import (
    CredentialFormat,
    Expectation,
    VerifiedCredential,
    status_reference,
)
from identity.openid4vp.encoding import (
    DecodeError,
    b64url_decode,
    json_loads,
    same_secret,
    sha256_b64url,
)
from identity.openid4vp.jws import integer_claim, refused, unverified_parts, verify_signature
from identity.openid4vp.trust import TrustAnchors, certificates_from_x5c

KB_TYP: Final = "kb+jwt"
#: the only ``_sd_alg`` we accept; absent means this one (RFC 9901 §4.1.1)
SD_ALG: Final = "sha-256"
#: a PID with a portrait is tens of kB; far more is not a presentation
MAX_PRESENTATION_LENGTH: Final = 512 * 1024
MAX_DISCLOSURES: Final = 256
MAX_DEPTH: Final = 16
#: claims that carry validity, type or binding: never selectively disclosable
#: (SD-JWT VC "Registered JWT Claims"; HAIP)
REGISTERED_CLAIMS: Final = frozenset(
    {"iss", "nbf", "exp", "iat", "cnf", "vct", "vct#integrity", "status", "_sd_alg"}
)
_RESERVED_NAMES: Final = frozenset({"_sd", "...", "_sd_alg"})


def verify_presentation(
    presentation: str,
    *,
    accepted_types: frozenset[str],
    trust: TrustAnchors,
    expectation: Expectation,
    rules: Rules,
) -> VerifiedCredential:
    """Check one SD-JWT VC presentation with its KB-JWT; see the module docstring.

    :param accepted_types: the ``vct`` values the query that carried it accepts
    """
    if len(presentation) > MAX_PRESENTATION_LENGTH:
        raise refused("sd-jwt.shape", "not a string of sane size")
    issuer_jwt, disclosures, kb_jwt = _split(presentation)
    header, unverified = unverified_parts(
        issuer_jwt, typ=rules.sd_jwt_typ, algorithms=rules.algorithms, check="sd-jwt.issuer"
    )
    vct = unverified.get("vct")
    if not isinstance(vct, str) or vct not in accepted_types:
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST, "sd-jwt.vct", "vct is not one we asked for"
        )
    chain = certificates_from_x5c(header.get("x5c"), check="sd-jwt.issuer")
    signer = trust.verify(vct, chain, now=expectation.now, check="sd-jwt.issuer")
    algorithm = str(header["alg"])
    payload = verify_signature(issuer_jwt, _public_key(signer), algorithm, check="sd-jwt.issuer")

    sd_alg = payload.get("_sd_alg", SD_ALG)
    if sd_alg != SD_ALG:
        raise refused("sd-jwt.sd-alg", "digest algorithm not allowed")
    claims, disclosed_names = _Disclosed(disclosures).apply(payload)
    hidden = sorted(disclosed_names & REGISTERED_CLAIMS)
    if hidden:
        raise refused("sd-jwt.registered-claim", f"{hidden[0]} must not be selectively disclosed")

    _check_validity(claims, expectation.now, rules)
    holder_key = _holder_key(claims.get("cnf"))
    _check_key_binding(
        kb_jwt,
        holder_key,
        sd_hash=sha256_b64url(presentation[: presentation.rindex("~") + 1]),
        expectation=expectation,
        rules=rules,
    )
    return VerifiedCredential(
        format=CredentialFormat.SD_JWT_VC,
        credential_type=vct,
        claims=claims,
        signer=signer,
        status=status_reference(claims.get("status"), check="sd-jwt.status"),
    )


def _split(presentation: str) -> tuple[str, list[str], str]:
    """``<issuer-jwt>~<disclosure>~...~<kb-jwt>`` (RFC 9901 §4)."""
    parts = presentation.split("~")
    if len(parts) < 2 or not parts[0]:
        raise refused("sd-jwt.shape", "not <issuer-jwt>~...~<kb-jwt>")
    if not parts[-1]:
        # a trailing "~" is an SD-JWT without key binding: we always require one
        raise refused("sd-jwt.kb.missing", "no key binding JWT")
    disclosures = parts[1:-1]
    if len(disclosures) > MAX_DISCLOSURES or any(not d for d in disclosures):
        raise refused("sd-jwt.disclosure", "empty or too many disclosures")
    return parts[0], disclosures, parts[-1]


class _Disclosed:
    """Replaces digests by the disclosures they stand for (RFC 9901 §7.1 steps 3-5)."""

    def __init__(self, disclosures: list[str]) -> None:
        self._by_digest: dict[str, list[object]] = {}
        for disclosure in disclosures:
            digest = sha256_b64url(disclosure)
            if digest in self._by_digest:
                raise refused("sd-jwt.disclosure.duplicate", "a disclosure occurs twice")
            try:
                decoded = json_loads(b64url_decode(disclosure))
            except DecodeError:
                raise refused("sd-jwt.disclosure", "a disclosure is not base64url JSON") from None
            if not isinstance(decoded, list) or len(decoded) not in (2, 3):
                raise refused("sd-jwt.disclosure", "a disclosure is not [salt, (name,) value]")
            if not isinstance(decoded[0], str):
                raise refused("sd-jwt.disclosure", "a disclosure's salt is not a string")
            self._by_digest[digest] = decoded
        self._seen: set[str] = set()
        self._used: set[str] = set()
        self._top_level: set[str] = set()

    def apply(self, payload: dict[str, object]) -> tuple[dict[str, object], frozenset[str]]:
        claims = self._object(payload, depth=0)
        unused = self._by_digest.keys() - self._used
        if unused:
            raise refused("sd-jwt.disclosure.unreferenced", f"{len(unused)} not referenced")
        return claims, frozenset(self._top_level)

    def _value(self, value: object, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise refused("sd-jwt.disclosure", "claims nest too deep")
        if isinstance(value, dict):
            return self._object(value, depth)
        if isinstance(value, list):
            return self._array(value, depth)
        return value

    def _object(self, node: Mapping[str, object], depth: int) -> dict[str, object]:
        if depth > 0 and "_sd_alg" in node:
            raise refused("sd-jwt.sd-alg", "_sd_alg below the top level")
        if "..." in node:
            raise refused("sd-jwt.disclosure.name", "'...' used as a claim name")
        result = {
            name: self._value(value, depth + 1)
            for name, value in node.items()
            if name not in ("_sd", "_sd_alg")
        }
        digests = node.get("_sd", [])
        if not isinstance(digests, list):
            raise refused("sd-jwt.disclosure", "_sd is not an array")
        for digest in digests:
            disclosure = self._take(digest)
            if disclosure is None:
                continue  # a decoy digest
            if len(disclosure) != 3:
                raise refused("sd-jwt.disclosure", "an array disclosure is used in an object")
            name = disclosure[1]
            if not isinstance(name, str):
                raise refused("sd-jwt.disclosure", "a disclosure's claim name is not a string")
            if name in _RESERVED_NAMES:
                raise refused("sd-jwt.disclosure.name", "a disclosure uses a reserved name")
            if name in result:
                raise refused("sd-jwt.disclosure.name", "a disclosure overrides a claim")
            result[name] = self._value(disclosure[2], depth + 1)
            if depth == 0:
                self._top_level.add(name)
        return result

    def _array(self, node: list[object], depth: int) -> list[object]:
        result: list[object] = []
        for element in node:
            if isinstance(element, dict) and "..." in element:
                if len(element) != 1:
                    raise refused("sd-jwt.disclosure", "an array digest entry has other members")
                disclosure = self._take(element["..."])
                if disclosure is None:
                    continue  # a decoy
                if len(disclosure) != 2:
                    raise refused("sd-jwt.disclosure", "an object disclosure is used in an array")
                result.append(self._value(disclosure[1], depth + 1))
            else:
                result.append(self._value(element, depth + 1))
        return result

    def _take(self, digest: object) -> list[object] | None:
        if not isinstance(digest, str):
            raise refused("sd-jwt.disclosure", "a digest is not a string")
        if digest in self._seen:
            raise refused("sd-jwt.digest.duplicate", "a digest occurs twice")
        self._seen.add(digest)
        disclosure = self._by_digest.get(digest)
        if disclosure is not None:
            self._used.add(digest)
        return disclosure


def _check_validity(claims: Mapping[str, object], now: float, rules: Rules) -> None:
    exp = integer_claim(claims, "exp", check="sd-jwt.time")
    nbf = integer_claim(claims, "nbf", check="sd-jwt.time")
    iat = integer_claim(claims, "iat", check="sd-jwt.time")
    if exp is None and rules.require_exp:
        raise refused("sd-jwt.time", "the credential has no exp")
    if exp is not None and exp <= now - rules.leeway:
        raise PresentationRefused(
            RefusalReason.WALLET_CREDENTIAL_EXPIRED, "sd-jwt.expired", "exp has passed"
        )
    if (nbf is not None and nbf > now + rules.leeway) or (
        iat is not None and iat > now + rules.leeway
    ):
        raise PresentationRefused(
            RefusalReason.WALLET_CREDENTIAL_EXPIRED,
            "sd-jwt.not-yet-valid",
            "nbf or iat lies in the future",
        )


def _holder_key(cnf: object) -> ec.EllipticCurvePublicKey:
    """``cnf.jwk``: a public EC key (no ``d``)."""
    jwk = cnf.get("jwk") if isinstance(cnf, Mapping) else None
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC":
        raise refused("sd-jwt.cnf", "cnf.jwk is not an EC key")
    if "d" in jwk:
        raise refused("sd-jwt.cnf", "cnf.jwk holds a private key")
    try:
        key = jwt.algorithms.ECAlgorithm.from_jwk(dict(jwk))
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        raise refused("sd-jwt.cnf", "cnf.jwk is not a usable key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise refused("sd-jwt.cnf", "cnf.jwk is not a public key")
    return key


def _check_key_binding(
    kb_jwt: str,
    holder_key: ec.EllipticCurvePublicKey,
    *,
    sd_hash: str,
    expectation: Expectation,
    rules: Rules,
) -> None:
    header, _ = unverified_parts(
        kb_jwt, typ=(KB_TYP,), algorithms=rules.algorithms, check="sd-jwt.kb"
    )
    payload = verify_signature(kb_jwt, holder_key, str(header["alg"]), check="sd-jwt.kb")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not same_secret(nonce, expectation.nonce):
        raise PresentationRefused(
            RefusalReason.SESSION_MISMATCH, "sd-jwt.kb.nonce", "nonce is not this transaction's"
        )
    # aud is one string: the full client id, prefix included (OID4VP §14.10, B.3.6)
    if payload.get("aud") != expectation.client_id:
        raise PresentationRefused(
            RefusalReason.SESSION_MISMATCH, "sd-jwt.kb.aud", "aud is not our client id"
        )
    iat = integer_claim(payload, "iat", check="sd-jwt.kb.iat")
    if iat is None:
        raise refused("sd-jwt.kb.iat", "the key binding JWT has no iat")
    if iat < expectation.now - rules.kb_max_age or iat > expectation.now + rules.kb_max_future:
        raise PresentationRefused(
            RefusalReason.RESULT_EXPIRED, "sd-jwt.kb.iat", "iat is outside the allowed window"
        )
    presented = payload.get("sd_hash")
    if not isinstance(presented, str) or not same_secret(presented, sd_hash):
        raise refused("sd-jwt.kb.sd-hash", "sd_hash does not match the presentation")


def _public_key(certificate: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise refused("sd-jwt.issuer.certificate", "the issuer key is not an EC key")
    return key
