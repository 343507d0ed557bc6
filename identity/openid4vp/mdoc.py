"""mdoc (ISO/IEC 18013-5) presentations over OpenID4VP, checked strictly and free of I/O.

The ``vp_token`` entry is a base64url ``DeviceResponse``. We accept one
document of an asked ``docType`` and check, with a stable ``check`` code each:

=============================  ========================================================
``mdoc.shape``                 CBOR that is not a ``DeviceResponse`` with one document
``mdoc.doctype``               a document type we did not ask for
``mdoc.issuer.alg``            an issuer algorithm outside the allow-list
``mdoc.issuer.chain``/``.type``  an ``x5chain`` that does not lead to the anchors for
                               this ``docType`` (forged or cross-type issuers)
``mdoc.issuer.signature``      a tampered Mobile Security Object (MSO)
``mdoc.mso``                   an MSO for another ``docType``, or another digest algorithm
``mdoc.expired``/``.not-yet-valid``  ``validityInfo`` outside now (bounded leeway)
``mdoc.digest``                an element whose digest is not the signed one (tampered
                               or foreign values), or a digest id used twice
``mdoc.device.key``            a device key that is not a public EC2 key
``mdoc.device.mac``            ``deviceMac`` (we ask for signatures: no reader key here)
``mdoc.device.signature``      device authentication not over *this* session
                               transcript: replay into another transaction or to
                               another verifier (client id, nonce, response URI and
                               our encryption key are all in it)
=============================  ========================================================

Only issuer-signed elements whose digests check out become claims;
device-signed elements are the wallet's own say and are ignored.

COSE signatures are checked by ``cwt`` with the leaf or device key; CBOR is
parsed by ``cbor2``. Digests are over ``#6.24(bstr)`` as received: cbor2 keeps
the embedded bytes, so re-encoding the tag reproduces them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Final

import cbor2
import cwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import (
    CredentialFormat,
    Expectation,
    VerifiedCredential,
    status_reference,
)
from identity.openid4vp.encoding import DecodeError, b64url_decode
from identity.openid4vp.trust import TrustAnchors, certificates_from_der, check_key_for_algorithm

#: COSE algorithm ids (RFC 9053) -> their JWS names
COSE_ALGORITHMS: Final[Mapping[int, str]] = {-7: "ES256", -35: "ES384", -36: "ES512"}
#: COSE_Key crv (EC2) -> curve
COSE_CURVES: Final[Mapping[int, ec.EllipticCurve]] = {
    1: ec.SECP256R1(),
    2: ec.SECP384R1(),
    3: ec.SECP521R1(),
}
HEADER_ALG: Final = 1
HEADER_X5CHAIN: Final = 33
TAG_ENCODED_CBOR: Final = 24
TAG_COSE_SIGN1: Final = 18
HANDOVER: Final = "OpenID4VPHandover"
MAX_DEVICE_RESPONSE_BYTES: Final = 512 * 1024
MAX_ELEMENTS: Final = 256


def session_transcript(expectation: Expectation) -> list[object]:
    """``[null, null, OpenID4VPHandover]`` for redirect invocation (OID4VP 1.0 B.2.6.1):
    the handover hashes client id, nonce, our encryption key's thumbprint (or null)
    and the response URI."""
    info = [
        expectation.client_id,
        expectation.nonce,
        expectation.encryption_thumbprint,
        expectation.response_uri,
    ]
    return [None, None, [HANDOVER, hashlib.sha256(cbor2.dumps(info)).digest()]]


def verify_device_response(
    encoded: str,
    *,
    accepted_types: frozenset[str],
    trust: TrustAnchors,
    expectation: Expectation,
    rules: Rules,
) -> VerifiedCredential:
    """Check one base64url ``DeviceResponse``; see the module docstring."""
    if len(encoded) > MAX_DEVICE_RESPONSE_BYTES * 4 // 3 + 4:
        raise _invalid("mdoc.shape", "the device response is too large")
    try:
        response = _cbor(b64url_decode(encoded))
    except DecodeError:
        raise _invalid("mdoc.shape", "the device response is not base64url") from None
    document = _document(response)
    doc_type = document.get("docType")
    if not isinstance(doc_type, str) or doc_type not in accepted_types:
        raise PresentationRefused(
            RefusalReason.UNMATCHED_REQUEST, "mdoc.doctype", "a document type we did not ask for"
        )
    issuer_signed = _map(document.get("issuerSigned"), "mdoc.shape", "issuerSigned")
    signer, mso = _issuer_auth(issuer_signed.get("issuerAuth"), doc_type, trust, expectation, rules)
    _check_mso(mso, doc_type, expectation.now, rules)
    claims = _issuer_signed_elements(issuer_signed.get("nameSpaces"), mso)
    device_key = _device_key(mso)
    _check_device_auth(document.get("deviceSigned"), doc_type, device_key, expectation, rules)
    return VerifiedCredential(
        format=CredentialFormat.MDOC,
        credential_type=doc_type,
        claims=claims,
        signer=signer,
        status=status_reference(mso.get("status"), check="mdoc.status"),
    )


def _document(response: object) -> Mapping[object, object]:
    response = _map(response, "mdoc.shape", "DeviceResponse")
    if response.get("version") != "1.0" or response.get("status") != 0:
        raise _invalid("mdoc.shape", "the device response is not version 1.0 with status 0")
    documents = response.get("documents")
    if not isinstance(documents, list) or len(documents) != 1:
        raise _invalid("mdoc.shape", "the device response does not hold exactly one document")
    return _map(documents[0], "mdoc.shape", "document")


def _issuer_auth(
    value: object, doc_type: str, trust: TrustAnchors, expectation: Expectation, rules: Rules
) -> tuple[x509.Certificate, Mapping[object, object]]:
    protected, unprotected, payload, _ = _sign1(value, "mdoc.issuer")
    algorithm = _algorithm(protected, rules, "mdoc.issuer")
    x5chain = unprotected.get(HEADER_X5CHAIN, protected.get(HEADER_X5CHAIN))
    ders = [x5chain] if isinstance(x5chain, bytes) else x5chain
    if not isinstance(ders, list) or not all(isinstance(d, bytes) for d in ders):
        raise _invalid("mdoc.issuer.certificate", "x5chain is not a certificate chain")
    chain = certificates_from_der(ders, check="mdoc.issuer")
    signer = trust.verify(doc_type, chain, now=expectation.now, check="mdoc.issuer")
    key = check_key_for_algorithm(signer.public_key(), algorithm, check="mdoc.issuer")
    if payload is None:
        raise _invalid("mdoc.issuer", "the MSO is detached")
    _verify_cose(value, key, algorithm, check="mdoc.issuer.signature")
    embedded = _cbor(payload)
    if not isinstance(embedded, cbor2.CBORTag) or embedded.tag != TAG_ENCODED_CBOR:
        raise _invalid("mdoc.mso", "the MSO is not embedded CBOR")
    if not isinstance(embedded.value, bytes):
        raise _invalid("mdoc.mso", "the MSO is not embedded CBOR")
    return signer, _map(_cbor(embedded.value), "mdoc.mso", "MobileSecurityObject")


def _check_mso(mso: Mapping[object, object], doc_type: str, now: float, rules: Rules) -> None:
    if mso.get("docType") != doc_type:
        raise _invalid("mdoc.mso", "the MSO is for another document type")
    if mso.get("digestAlgorithm") != "SHA-256":
        raise _invalid("mdoc.mso", "the digest algorithm is not SHA-256")
    validity = _map(mso.get("validityInfo"), "mdoc.mso", "validityInfo")
    signed, valid_from, valid_until = (
        _timestamp(validity.get(k)) for k in ("signed", "validFrom", "validUntil")
    )
    if valid_until <= now - rules.leeway:
        raise PresentationRefused(
            RefusalReason.WALLET_CREDENTIAL_EXPIRED, "mdoc.expired", "validUntil has passed"
        )
    if max(valid_from, signed) > now + rules.leeway:
        raise PresentationRefused(
            RefusalReason.WALLET_CREDENTIAL_EXPIRED,
            "mdoc.not-yet-valid",
            "validFrom or signed lies in the future",
        )


def _issuer_signed_elements(name_spaces: object, mso: Mapping[object, object]) -> dict[str, object]:
    digests = _map(mso.get("valueDigests"), "mdoc.mso", "valueDigests")
    claims: dict[str, object] = {}
    count = 0
    for namespace, items in _map(name_spaces, "mdoc.shape", "nameSpaces").items():
        signed = digests.get(namespace)
        if not isinstance(namespace, str) or not isinstance(items, list):
            raise _invalid("mdoc.shape", "nameSpaces is not namespace -> list")
        if not isinstance(signed, Mapping):
            raise _invalid("mdoc.digest", "a namespace has no signed digests")
        elements: dict[str, object] = {}
        used: set[int] = set()
        for item in items:
            count += 1
            if count > MAX_ELEMENTS:
                raise _invalid("mdoc.shape", "too many elements")
            digest_id, name, value = _element(item, signed)
            if digest_id in used or name in elements:
                raise _invalid("mdoc.digest", "a digest id or element occurs twice")
            used.add(digest_id)
            elements[name] = value
        claims[namespace] = elements
    return claims


def _element(item: object, signed: Mapping[object, object]) -> tuple[int, str, object]:
    if not isinstance(item, cbor2.CBORTag) or item.tag != TAG_ENCODED_CBOR:
        raise _invalid("mdoc.shape", "an element is not embedded CBOR")
    if not isinstance(item.value, bytes):
        raise _invalid("mdoc.shape", "an element is not embedded CBOR")
    decoded = _map(_cbor(item.value), "mdoc.shape", "IssuerSignedItem")
    digest_id, random = decoded.get("digestID"), decoded.get("random")
    name = decoded.get("elementIdentifier")
    if not isinstance(digest_id, int) or isinstance(digest_id, bool):
        raise _invalid("mdoc.shape", "an element has no digestID")
    if not isinstance(random, bytes) or len(random) < 16:
        raise _invalid("mdoc.shape", "an element has no 16-byte random")
    if not isinstance(name, str) or "elementValue" not in decoded:
        raise _invalid("mdoc.shape", "an element has no identifier or value")
    expected = signed.get(digest_id)
    actual = hashlib.sha256(cbor2.dumps(item)).digest()
    if not isinstance(expected, bytes) or expected != actual:
        raise _invalid("mdoc.digest", "an element's digest is not the signed one")
    return digest_id, name, decoded["elementValue"]


def _device_key(mso: Mapping[object, object]) -> ec.EllipticCurvePublicKey:
    info = _map(mso.get("deviceKeyInfo"), "mdoc.device.key", "deviceKeyInfo")
    key = _map(info.get("deviceKey"), "mdoc.device.key", "deviceKey")
    if key.get(1) != 2 or -4 in key:  # kty EC2; a private key (d) has no place here
        raise _invalid("mdoc.device.key", "the device key is not a public EC2 key")
    curve, x, y = COSE_CURVES.get(_int(key.get(-1))), key.get(-2), key.get(-3)
    if curve is None or not isinstance(x, bytes) or not isinstance(y, bytes):
        raise _invalid("mdoc.device.key", "the device key is not a public EC2 key")
    try:
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
        ).public_key()
    except ValueError:
        raise _invalid("mdoc.device.key", "the device key is not on its curve") from None


def _check_device_auth(
    device_signed: object,
    doc_type: str,
    device_key: ec.EllipticCurvePublicKey,
    expectation: Expectation,
    rules: Rules,
) -> None:
    device_signed = _map(device_signed, "mdoc.shape", "deviceSigned")
    name_spaces = device_signed.get("nameSpaces")
    if not isinstance(name_spaces, cbor2.CBORTag) or name_spaces.tag != TAG_ENCODED_CBOR:
        raise _invalid("mdoc.shape", "deviceSigned.nameSpaces is not embedded CBOR")
    device_auth = _map(device_signed.get("deviceAuth"), "mdoc.shape", "deviceAuth")
    if "deviceSignature" not in device_auth:
        raise _invalid("mdoc.device.mac", "only deviceSignature is accepted")
    signature = device_auth["deviceSignature"]
    protected, _, payload, _ = _sign1(signature, "mdoc.device")
    algorithm = _algorithm(protected, rules, "mdoc.device")
    check_key_for_algorithm(device_key, algorithm, check="mdoc.device")
    if payload is not None:
        raise _invalid("mdoc.device", "the device signature payload is not detached")
    authentication = [
        "DeviceAuthentication",
        session_transcript(expectation),
        doc_type,
        name_spaces,
    ]
    detached = cbor2.dumps(cbor2.CBORTag(TAG_ENCODED_CBOR, cbor2.dumps(authentication)))
    _verify_cose(signature, device_key, algorithm, check="mdoc.device.signature", detached=detached)


def _sign1(
    value: object, check: str
) -> tuple[Mapping[object, object], Mapping[object, object], bytes | None, bytes]:
    """``COSE_Sign1`` as an untagged array (as mdoc carries it): headers decoded."""
    if isinstance(value, cbor2.CBORTag) and value.tag == TAG_COSE_SIGN1:
        value = value.value
    if not isinstance(value, list) or len(value) != 4:
        raise _invalid(f"{check}.shape", "not a COSE_Sign1")
    protected_bytes, unprotected, payload, signature = value
    if not isinstance(protected_bytes, bytes) or not isinstance(signature, bytes):
        raise _invalid(f"{check}.shape", "not a COSE_Sign1")
    if not isinstance(unprotected, Mapping) or not (payload is None or isinstance(payload, bytes)):
        raise _invalid(f"{check}.shape", "not a COSE_Sign1")
    protected = _map(_cbor(protected_bytes), f"{check}.shape", "protected header")
    return protected, unprotected, payload, signature


def _algorithm(protected: Mapping[object, object], rules: Rules, check: str) -> str:
    name = COSE_ALGORITHMS.get(_int(protected.get(HEADER_ALG)))
    if name is None or name not in rules.algorithms:
        raise _invalid(f"{check}.alg", "algorithm not allowed")
    return name


def _verify_cose(
    value: object,
    key: ec.EllipticCurvePublicKey,
    algorithm: str,
    *,
    check: str,
    detached: bytes | None = None,
) -> None:
    if isinstance(value, cbor2.CBORTag):
        value = value.value
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        cose_key = cwt.COSEKey.from_pem(pem, alg=algorithm)
        cwt.COSE.new().decode(
            cbor2.dumps(cbor2.CBORTag(TAG_COSE_SIGN1, value)), cose_key, detached_payload=detached
        )
    except (cwt.CWTError, ValueError, TypeError, KeyError):
        raise _invalid(check, "the signature does not verify") from None


def _cbor(data: bytes) -> object:
    try:
        return cbor2.loads(data)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError):
        raise _invalid("mdoc.shape", "not CBOR") from None


def _map(value: object, check: str, what: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise _invalid(check, f"{what} is not a map")
    return value


def _timestamp(value: object) -> float:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise _invalid("mdoc.mso", "validityInfo lacks signed, validFrom or validUntil")
    return value.timestamp()


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _invalid(check: str, detail: str) -> PresentationRefused:
    return PresentationRefused(RefusalReason.PRESENTATION_INVALID, check, detail)
