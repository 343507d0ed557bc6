"""mdoc presentations: cbor2 + cwt play issuer and device; we accept the good one and
refuse each broken one, and our session transcript matches OID4VP 1.0's own example."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from identity.errors import PresentationRefused, RefusalReason
from identity.openid4vp.config import Rules
from identity.openid4vp.credential import Expectation, StatusReference
from identity.openid4vp.dcql import answer
from identity.openid4vp.mdoc import session_transcript, verify_device_response
from identity.openid4vp.pid import DOCTYPE_PID, MDOC_NAMESPACE
from identity.openid4vp.response import jwk_thumbprint
from identity.openid4vp.trust import TrustAnchors
from identity.policy import Tag, policy_from_data
from tests.identity.openid4vp.support import (
    BSN,
    CLIENT_ID,
    NONCE,
    RESPONSE_URI,
    Pki,
    assert_private,
    b64url,
    device_response,
    transcript,
)

PID = frozenset({DOCTYPE_PID})
THUMBPRINT = bytes(range(32))

# OID4VP 1.0 Appendix B.2.6.1, the non-normative example
SPEC_JWK: dict[str, str | list[str]] = {
    "kty": "EC",
    "crv": "P-256",
    "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
    "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
    "use": "enc",
    "alg": "ECDH-ES",
    "kid": "1",
}
SPEC_THUMBPRINT = "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047"
SPEC_SESSION_TRANSCRIPT = (
    "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e"
    "ed494cefdd9d95240d254b046b11b68013722aad38ac"
)


@pytest.fixture
def mdoc_expectation(expectation: Expectation) -> Expectation:
    return dataclasses.replace(expectation, encryption_thumbprint=THUMBPRINT)


def _session(
    *,
    client_id: str = CLIENT_ID,
    nonce: str = NONCE,
    thumbprint: bytes | None = THUMBPRINT,
    response_uri: str = RESPONSE_URI,
) -> list[object]:
    """The device's session transcript, each part settable to break it."""
    return transcript(client_id, nonce, thumbprint, response_uri)


def _verify(encoded: str, trust: TrustAnchors, expectation: Expectation) -> Any:
    return verify_device_response(
        encoded, accepted_types=PID, trust=trust, expectation=expectation, rules=Rules()
    )


def test_our_session_transcript_is_the_specifications_example() -> None:
    key = ECKey.import_key(SPEC_JWK)
    assert jwk_thumbprint(key).hex() == SPEC_THUMBPRINT
    expectation = Expectation(
        client_id="x509_san_dns:example.com",
        nonce="exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA",
        response_uri="https://example.com/response",
        encryption_thumbprint=jwk_thumbprint(key),
        now=0,
    )
    assert cbor2.dumps(session_transcript(expectation)).hex() == SPEC_SESSION_TRANSCRIPT


def test_a_good_device_response_passes_and_answers_the_policy(
    pki_eu: Pki,
    trust: TrustAnchors,
    mdoc_expectation: Expectation,
    device_key: ec.EllipticCurvePrivateKey,
) -> None:
    status = {"status_list": {"idx": 7, "uri": "https://status.test/lists/1"}}
    encoded = device_response(pki_eu, device_key, _session(), status=status)
    credential = _verify(encoded, trust, mdoc_expectation)
    assert credential.credential_type == DOCTYPE_PID
    assert credential.claims[MDOC_NAMESPACE]["personal_administrative_number"] == BSN
    assert credential.status == StatusReference("https://status.test/lists/1", 7)
    policy = policy_from_data("test", {"required": ["bsn", "full_name", "birthdate", "over_18"]})
    proven = answer(policy, credential)
    assert proven.values == {
        "bsn": BSN,
        "full_name": "Test Persoon",
        "birthdate": "1990-01-01",
        "over_18": "Yes",
    }
    assert proven.tags == {Tag.BSN, Tag.FULL_NAME, Tag.BIRTHDATE, Tag.OVER_18}
    assert_private(credential, proven)


def _append_first_item(document: dict[str, Any]) -> None:
    items = document["issuerSigned"]["nameSpaces"][MDOC_NAMESPACE]
    items.append(items[0])


def _tamper_value(document: dict[str, Any]) -> None:
    items = document["issuerSigned"]["nameSpaces"][MDOC_NAMESPACE]
    item = cbor2.loads(items[0].value)
    item["elementValue"] = "Ander"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))


def _unsigned_namespace(document: dict[str, Any]) -> None:
    items = document["issuerSigned"]["nameSpaces"][MDOC_NAMESPACE]
    document["issuerSigned"]["nameSpaces"]["org.test.extra"] = [items[0]]


def _es384_header(document: dict[str, Any]) -> None:
    document["issuerSigned"]["issuerAuth"][0] = cbor2.dumps({1: -35})


def _other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


Build = Callable[[Pki, Pki, ec.EllipticCurvePrivateKey], str]

#: (name, build(pki_eu, pki_rogue, device_key), check, reason)
REFUSED: list[tuple[str, Build, str, RefusalReason]] = [
    ("bad MSO signature",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               issuer_signing_key=_other_key()),
     "mdoc.issuer.signature", RefusalReason.PRESENTATION_INVALID),
    ("untrusted issuer chain",
     lambda eu, rogue, device: device_response(rogue, device, _session()),
     "mdoc.issuer.chain", RefusalReason.WALLET_ISSUER_UNTRUSTED),
    ("issuer algorithm not allowed",
     lambda eu, rogue, device: device_response(eu, device, _session(), tamper=_es384_header),
     "mdoc.issuer.alg", RefusalReason.PRESENTATION_INVALID),
    ("wrong digest (tampered value)",
     lambda eu, rogue, device: device_response(eu, device, _session(), tamper=_tamper_value),
     "mdoc.digest", RefusalReason.PRESENTATION_INVALID),
    ("element presented twice",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               tamper=_append_first_item),
     "mdoc.digest", RefusalReason.PRESENTATION_INVALID),
    ("element in an unsigned namespace",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               tamper=_unsigned_namespace),
     "mdoc.digest", RefusalReason.PRESENTATION_INVALID),
    ("digest algorithm not SHA-256",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               digest_algorithm="SHA-512"),
     "mdoc.mso", RefusalReason.PRESENTATION_INVALID),
    ("expired document",
     lambda eu, rogue, device: device_response(
         eu, device, _session(), valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)),
     "mdoc.expired", RefusalReason.WALLET_CREDENTIAL_EXPIRED),
    ("session transcript with another nonce",
     lambda eu, rogue, device: device_response(eu, device, _session(nonce="other-nonce")),
     "mdoc.device.signature", RefusalReason.PRESENTATION_INVALID),
    ("session transcript for another verifier",
     lambda eu, rogue, device: device_response(eu, device,
                                               _session(client_id="x509_hash:other")),
     "mdoc.device.signature", RefusalReason.PRESENTATION_INVALID),
    ("session transcript without our encryption key",
     lambda eu, rogue, device: device_response(eu, device, _session(thumbprint=None)),
     "mdoc.device.signature", RefusalReason.PRESENTATION_INVALID),
    ("session transcript for another response URI",
     lambda eu, rogue, device: device_response(
         eu, device, _session(response_uri="https://evil.test/response")),
     "mdoc.device.signature", RefusalReason.PRESENTATION_INVALID),
    ("device signature by another key",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               device_signing_key=_other_key()),
     "mdoc.device.signature", RefusalReason.PRESENTATION_INVALID),
    ("device MAC instead of a signature",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               device_auth={"deviceMac": [b"", {}, None, b""]}),
     "mdoc.device.mac", RefusalReason.PRESENTATION_INVALID),
    ("document type not asked",
     lambda eu, rogue, device: device_response(eu, device, _session(),
                                               doc_type="org.iso.18013.5.1.mDL"),
     "mdoc.doctype", RefusalReason.UNMATCHED_REQUEST),
    ("not CBOR", lambda eu, rogue, device: b64url(b"\xff\x00garbage"),
     "mdoc.shape", RefusalReason.PRESENTATION_INVALID),
    ("not base64url", lambda eu, rogue, device: "not base64url!",
     "mdoc.shape", RefusalReason.PRESENTATION_INVALID),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "check", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_broken_device_response_is_refused_for_its_reason(
    pki_eu: Pki,
    pki_rogue: Pki,
    trust: TrustAnchors,
    mdoc_expectation: Expectation,
    device_key: ec.EllipticCurvePrivateKey,
    build: Build,
    check: str,
    reason: RefusalReason,
) -> None:
    encoded = build(pki_eu, pki_rogue, device_key)
    with pytest.raises(PresentationRefused) as refused:
        _verify(encoded, trust, mdoc_expectation)
    assert (refused.value.check, refused.value.reason) == (check, reason)
    assert_private(refused.value)


def test_random_bytes_are_not_a_device_response(
    trust: TrustAnchors, mdoc_expectation: Expectation
) -> None:
    with pytest.raises(PresentationRefused) as refused:
        _verify(b64url(cbor2.dumps({"version": "1.0", "documents": os.urandom(8)})), trust,
                mdoc_expectation)  # fmt: skip
    assert refused.value.check == "mdoc.shape"
