"""The strict result-JWT check: one good result, and every way a result can be bad."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from identity.errors import ConfigurationError, RefusalReason, VerificationRefused
from identity.irma_result import load_result_key
from identity.policy import Tag
from tests.identity.results import (
    DROP,
    FAKE_BIRTHDATE,
    FAKE_BSN,
    FAKE_EMAIL,
    FAKE_NAME,
    FAKE_VALUES,
    NOW,
    OTHER_KEY,
    SERVER_KEY,
    SERVER_PUBLIC_PEM,
    attribute,
    b64url,
    check,
    claims_with,
    hand_made,
    sign,
    valid_claims,
)


def disclosed(*items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [list(item) for item in items]


BSN = "pbdf.gemeente.personalData.bsn"
FULLNAME = "pbdf.gemeente.personalData.fullname"
BIRTHDATE = "pbdf.gemeente.personalData.dateofbirth"
OVER18 = "pbdf.gemeente.personalData.over18"
EMAIL = "pbdf.sidn-pbdf.email.email"


# -- the good paths


def test_a_valid_result_yields_the_values_by_field() -> None:
    identity = check(sign(valid_claims()))
    assert dict(identity.values) == {"bsn": FAKE_BSN, "over_18": "Yes"}
    assert identity.tags == frozenset({Tag.BSN, Tag.OVER_18})
    assert identity.attribute_ids == (BSN, OVER18)
    assert identity.issuers == ("pbdf.gemeente",)
    assert identity.verifier == "yivi"
    assert identity.purpose == "wmo-intake"
    assert identity.verified_at == NOW - 5
    assert identity.demo is False


def test_the_other_alternative_and_the_optional_item() -> None:
    claims = claims_with(
        disclosed=disclosed(
            [attribute(FULLNAME, FAKE_NAME), attribute(BIRTHDATE, FAKE_BIRTHDATE)],
            [attribute(OVER18, "Yes")],
            [attribute(EMAIL, FAKE_EMAIL)],
        )
    )
    identity = check(sign(claims))
    assert dict(identity.values) == {
        "full_name": FAKE_NAME,
        "birthdate": FAKE_BIRTHDATE,
        "over_18": "Yes",
        "email": FAKE_EMAIL,
    }
    assert identity.tags == frozenset({Tag.FULL_NAME, Tag.BIRTHDATE, Tag.OVER_18, Tag.EMAIL})
    assert identity.issuers == ("pbdf.gemeente", "pbdf.sidn-pbdf")


def test_extra_attributes_are_ignored() -> None:
    claims = valid_claims()
    claims["disclosed"][0].append(attribute("pbdf.gemeente.personalData.gender", "X", "EXTRA"))
    claims["disclosed"].append([attribute("pbdf.gemeente.personalData.initials", "T", "EXTRA")])
    identity = check(sign(claims))
    assert dict(identity.values) == {"bsn": FAKE_BSN, "over_18": "Yes"}
    assert "pbdf.gemeente.personalData.gender" not in identity.attribute_ids


def test_demo_credentials_pass_in_demo_mode() -> None:
    identity = check(sign(valid_claims(scheme="irma-demo")), demo=True)
    assert identity.demo is True
    assert identity.issuers == ("irma-demo.gemeente",)


def test_a_small_clock_difference_is_tolerated() -> None:
    check(sign(claims_with(iat=NOW + 5)))
    check(sign(claims_with(exp=NOW - 5)))


def test_no_repr_shows_values() -> None:
    identity = check(sign(valid_claims()))
    assert FAKE_BSN not in repr(identity) and FAKE_BSN not in str(identity)


# -- the hostile variants


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[], str]
    reason: RefusalReason
    demo: bool = False


def _resigned_with_modified_claims() -> str:
    header, _, signature = sign(valid_claims()).split(".")
    claims = valid_claims()
    claims["disclosed"][0][0]["rawvalue"] = "111222333"
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def _with_disclosed(*items: Any) -> Callable[[], str]:
    return lambda: sign(claims_with(disclosed=list(items)))


def _with_first_item(*attributes: dict[str, Any]) -> Callable[[], str]:
    def build() -> str:
        claims = valid_claims()
        claims["disclosed"][0] = list(attributes)
        return sign(claims)

    return build


def _with_attribute_field(name: str, value: Any) -> Callable[[], str]:
    def build() -> str:
        claims = valid_claims()
        claims["disclosed"][0][0][name] = value
        return sign(claims)

    return build


def _jwk_header_with_attacker_key() -> str:
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(OTHER_KEY.public_key()))
    return sign(valid_claims(), OTHER_KEY, headers={"jwk": jwk})


def _public_pem_as_hmac_secret() -> str:
    return hand_made({"alg": "HS256", "typ": "JWT"}, valid_claims(), SERVER_PUBLIC_PEM.encode())


HOSTILE = [
    # signature and algorithm
    Hostile("forged-signature-other-rsa-key", lambda: sign(valid_claims(), OTHER_KEY),
            RefusalReason.PROOF_INVALID),
    Hostile("re-signed-payload-modified-claims", _resigned_with_modified_claims,
            RefusalReason.PROOF_INVALID),
    Hostile("alg-none", lambda: hand_made({"alg": "none", "typ": "JWT"}, valid_claims(), None),
            RefusalReason.PROOF_INVALID),
    Hostile("hs256-signed-with-public-key-pem", _public_pem_as_hmac_secret,
            RefusalReason.PROOF_INVALID),
    Hostile("rs512-same-key-not-the-pinned-algorithm",
            lambda: sign(valid_claims(), algorithm="RS512"), RefusalReason.PROOF_INVALID),
    Hostile("jwk-header-carrying-attacker-key", _jwk_header_with_attacker_key,
            RefusalReason.PROOF_INVALID),
    Hostile("jku-header-on-valid-signature",
            lambda: sign(valid_claims(), headers={"jku": "https://evil.example/jwks"}),
            RefusalReason.PROOF_INVALID),
    # time, issuer, subject, session
    Hostile("expired", lambda: sign(claims_with(iat=NOW - 300, exp=NOW - 60)),
            RefusalReason.RESULT_EXPIRED),
    Hostile("iat-in-the-future", lambda: sign(claims_with(iat=NOW + 3600, exp=NOW + 3700)),
            RefusalReason.PROOF_INVALID),
    Hostile("nbf-in-the-future", lambda: sign(claims_with(nbf=NOW + 3600)),
            RefusalReason.PROOF_INVALID),
    Hostile("missing-exp", lambda: sign(claims_with(exp=DROP)), RefusalReason.PROOF_INVALID),
    Hostile("missing-iat", lambda: sign(claims_with(iat=DROP)), RefusalReason.PROOF_INVALID),
    Hostile("exp-as-string", lambda: sign(claims_with(exp=str(NOW + 100))),
            RefusalReason.PROOF_INVALID),
    Hostile("wrong-issuer", lambda: sign(claims_with(iss="evil-irmaserver")),
            RefusalReason.PROOF_INVALID),
    Hostile("missing-issuer", lambda: sign(claims_with(iss=DROP)), RefusalReason.PROOF_INVALID),
    Hostile("sub-verification-result-from-the-docs",
            lambda: sign(claims_with(sub="verification_result")), RefusalReason.PROOF_INVALID),
    Hostile("sub-legacy-getproof-disclosure-result",
            lambda: sign(claims_with(sub="disclosure_result")), RefusalReason.PROOF_INVALID),
    Hostile("token-of-another-session", lambda: sign(claims_with(token="AAAAAAAAAAAAAAAAAAAA")),
            RefusalReason.SESSION_MISMATCH),
    Hostile("token-missing", lambda: sign(claims_with(token=DROP)),
            RefusalReason.SESSION_MISMATCH),
    # session outcome
    Hostile("status-connected-not-done", lambda: sign(claims_with(status="CONNECTED")),
            RefusalReason.NOT_FINISHED),
    Hostile("status-cancelled", lambda: sign(claims_with(status="CANCELLED")),
            RefusalReason.CANCELLED),
    Hostile("status-timeout", lambda: sign(claims_with(status="TIMEOUT")), RefusalReason.TIMEOUT),
    Hostile("type-signing-not-disclosing", lambda: sign(claims_with(type="signing")),
            RefusalReason.UNMATCHED_REQUEST),
    Hostile("proof-status-invalid", lambda: sign(claims_with(proofStatus="INVALID")),
            RefusalReason.PROOF_INVALID),
    Hostile("proof-status-missing-attributes",
            lambda: sign(claims_with(proofStatus="MISSING_ATTRIBUTES")),
            RefusalReason.MISSING_ATTRIBUTES),
    Hostile("proof-status-expired", lambda: sign(claims_with(proofStatus="EXPIRED")),
            RefusalReason.CREDENTIAL_EXPIRED),
    Hostile("proof-status-unmatched-request",
            lambda: sign(claims_with(proofStatus="UNMATCHED_REQUEST")),
            RefusalReason.UNMATCHED_REQUEST),
    Hostile("proof-status-absent", lambda: sign(claims_with(proofStatus=DROP)),
            RefusalReason.PROOF_INVALID),
    Hostile("result-carries-an-error",
            lambda: sign(claims_with(error={"error": "UNKNOWN", "status": 500})),
            RefusalReason.PROOF_INVALID),
    # attributes
    Hostile("required-item-not-disclosed", _with_first_item(), RefusalReason.MISSING_ATTRIBUTES),
    Hostile("disclosed-shorter-than-the-request",
            _with_disclosed([attribute(BSN, FAKE_BSN)]), RefusalReason.MISSING_ATTRIBUTES),
    Hostile("alternative-only-half-disclosed", _with_first_item(attribute(FULLNAME, FAKE_NAME)),
            RefusalReason.MISSING_ATTRIBUTES),
    Hostile("attribute-status-null", _with_first_item(attribute(BSN, None, "NULL")),
            RefusalReason.MISSING_ATTRIBUTES),
    Hostile("present-attribute-with-null-rawvalue", _with_attribute_field("rawvalue", None),
            RefusalReason.MISSING_ATTRIBUTES),
    Hostile("attribute-outside-the-policys-alternatives",
            _with_first_item(attribute("pbdf.gemeente.personalData.familyname", "Persoon")),
            RefusalReason.UNMATCHED_REQUEST),
    Hostile("attribute-of-another-item", _with_first_item(attribute(OVER18, "Yes")),
            RefusalReason.UNMATCHED_REQUEST),
    Hostile("alternatives-mixed",
            _with_first_item(attribute(BSN, FAKE_BSN), attribute(FULLNAME, FAKE_NAME)),
            RefusalReason.UNMATCHED_REQUEST),
    Hostile("irma-demo-credentials-outside-demo-mode",
            lambda: sign(valid_claims(scheme="irma-demo")), RefusalReason.DEMO_CREDENTIAL),
    Hostile("irma-demo-single-attribute-outside-demo-mode",
            _with_first_item(attribute("irma-demo.gemeente.personalData.bsn", FAKE_BSN)),
            RefusalReason.DEMO_CREDENTIAL),
    Hostile("unknown-scheme-prefix",
            _with_first_item(attribute("evil.gemeente.personalData.bsn", FAKE_BSN)),
            RefusalReason.UNTRUSTED_ISSUER),
    Hostile("production-credential-in-demo-mode-is-not-what-was-asked",
            lambda: sign(valid_claims()), RefusalReason.UNMATCHED_REQUEST, demo=True),
    # malformed
    Hostile("malformed-jwt-garbage", lambda: "not-a-jwt", RefusalReason.PROOF_INVALID),
    Hostile("malformed-jwt-two-segments",
            lambda: ".".join(sign(valid_claims()).split(".")[:2]), RefusalReason.PROOF_INVALID),
    Hostile("malformed-jwt-oversized", lambda: "a" * 70_000, RefusalReason.PROOF_INVALID),
    Hostile("disclosed-not-a-list", lambda: sign(claims_with(disclosed={"0": "x"})),
            RefusalReason.RESULT_MALFORMED),
    Hostile("disclosed-missing", lambda: sign(claims_with(disclosed=DROP)),
            RefusalReason.RESULT_MALFORMED),
    Hostile("disclosed-entry-not-an-object", _with_first_item(FAKE_BSN),  # type: ignore[arg-type]
            RefusalReason.RESULT_MALFORMED),
    Hostile("attribute-without-id", _with_attribute_field("id", None),
            RefusalReason.RESULT_MALFORMED),
    Hostile("attribute-with-unknown-status", _with_attribute_field("status", "MAYBE"),
            RefusalReason.RESULT_MALFORMED),
    Hostile("attribute-disclosed-twice",
            _with_first_item(attribute(BSN, FAKE_BSN), attribute(BSN, FAKE_BSN)),
            RefusalReason.RESULT_MALFORMED),
    Hostile("trailing-array-not-extra",
            _with_disclosed([attribute(BSN, FAKE_BSN)], [attribute(OVER18, "Yes")], [],
                            [attribute(FULLNAME, FAKE_NAME)]),
            RefusalReason.RESULT_MALFORMED),
    # values smuggled into protocol fields must not be echoed into messages
    Hostile("value-in-the-id-field", _with_first_item(attribute(FAKE_BSN, FAKE_BSN)),
            RefusalReason.UNTRUSTED_ISSUER),
    Hostile("value-in-the-status-field", _with_attribute_field("status", FAKE_NAME),
            RefusalReason.RESULT_MALFORMED),
    Hostile("value-in-the-session-status", lambda: sign(claims_with(status=FAKE_NAME)),
            RefusalReason.NOT_FINISHED),
]  # fmt: skip


def test_there_are_many_hostile_variants_with_unique_names() -> None:
    names = [case.name for case in HOSTILE]
    assert len(names) == len(set(names)) >= 20


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_hostile_result_is_refused(case: Hostile) -> None:
    result_jwt = case.build()
    with pytest.raises(VerificationRefused) as caught:
        check(result_jwt, demo=case.demo)
    assert caught.value.reason is case.reason, caught.value.message
    shown = f"{caught.value} {caught.value!r} {caught.value.detail}"
    for value in FAKE_VALUES:
        assert value not in shown


def test_a_refusal_has_a_dutch_sentence_and_a_code() -> None:
    for reason in RefusalReason:
        assert reason.code and reason.code.isascii() and " " not in reason.code
        assert reason.resident_message.endswith(".")
    assert len({reason.code for reason in RefusalReason}) == len(RefusalReason)


def test_the_token_is_compared_exactly() -> None:
    result_jwt = sign(valid_claims())
    with pytest.raises(VerificationRefused) as caught:
        check(result_jwt, session_token="KzxuWKwL5KGLKr4uerwS")
    assert caught.value.reason is RefusalReason.SESSION_MISMATCH


def test_the_check_does_not_mutate_a_good_result_into_a_bad_one() -> None:
    # guards the hostile cases: each starts from a result that passes
    claims = valid_claims()
    before = copy.deepcopy(claims)
    check(sign(claims))
    assert claims == before


# -- the pinned key


def test_load_result_key_reads_a_pem_rsa_key() -> None:
    key = load_result_key(SERVER_PUBLIC_PEM)
    assert key.public_numbers() == SERVER_KEY.public_key().public_numbers()


def _small_key_pem() -> str:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    return (
        small.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    "pem", ["not a pem", _small_key_pem()], ids=["garbage", "rsa-1024-too-small"]
)
def test_load_result_key_refuses_unusable_keys(pem: str) -> None:
    with pytest.raises(ConfigurationError):
        load_result_key(pem)
