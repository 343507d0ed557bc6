"""The verifier end to end: start, the wallet fetches and checks the signed request, answers
(encrypted with jwcrypto, presented with the sd-jwt library or as an mdoc), and the
browser side collects the same VerifiedIdentity the Yivi path yields, once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk  # type: ignore[import-untyped]

from identity.errors import (
    PolicyError,
    PresentationRefused,
    RefusalReason,
    TransactionStateError,
    UnknownTransaction,
    VerificationRefused,
    WalletResponseError,
)
from identity.openid4vp.config import Flow, ResponseMode
from identity.openid4vp.status_list import StatusListChecker
from identity.openid4vp.transactions import MemoryTransactions, TransactionState
from identity.openid4vp.trust import TrustAnchors
from identity.openid4vp.verifier import OpenID4VPVerifier
from identity.policy import DisclosurePolicy, Tag, policy_from_data
from identity.vault import KeyRing
from identity.verifier import VerificationStatus, Verifier, VerifierHandle
from tests.identity.openid4vp.conftest import make_settings
from tests.identity.openid4vp.support import (
    BSN,
    STATUS_URI,
    DictFetcher,
    Pki,
    SDObj,
    WalletRequest,
    assert_private,
    checked_request_object,
    device_response,
    encrypt_response,
    eu_pid_claims,
    holder_key,
    issue,
    nl_pid_claims,
    present,
    status_list_token,
    transcript,
)

POLICY = policy_from_data("bijstand", {"required": ["bsn", "full_name"], "optional": ["address"]})
DISCLOSE = {
    "given_name": True,
    "family_name": True,
    "bsn": True,
    "address": {"street_address": True, "house_number": True, "postal_code": True,
                "locality": True},
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Request(WalletRequest):
    """A wallet's request, with the verifier's handle of its transaction."""

    handle: VerifierHandle


@dataclass
class World:
    verifier: OpenID4VPVerifier
    store: MemoryTransactions
    clock: Clock
    fetcher: DictFetcher
    nl: Pki
    eu: Pki
    holder: Any

    async def ask(
        self, policy: DisclosurePolicy = POLICY, *, flow: Flow = Flow.CROSS_DEVICE
    ) -> Request:
        started = await self.verifier.start(policy, flow=flow)
        link = urlsplit(str(started.browser_payload["authorization_request"]))
        query = {k: v[0] for k, v in parse_qs(link.query).items()}
        request_id = query["request_uri"].rsplit("/", 1)[1]
        jar = await self.verifier.request_object(request_id)
        claims = checked_request_object(jar, query["client_id"])
        return Request(request_id, claims, started.handle)

    def nl_presentation(self, request: Request, disclose: dict[str, Any] = DISCLOSE) -> str:
        issuance = issue(self.nl, nl_pid_claims(self.clock.now), self.holder)
        return present(issuance, disclose, self.holder, nonce=request.nonce, aud=request.client_id)


@pytest.fixture
def world(settings: Any, keys: KeyRing, fetcher: DictFetcher, pki_nl: Pki, pki_eu: Pki) -> World:
    clock = Clock()
    store = MemoryTransactions()
    verifier = OpenID4VPVerifier(settings, store, keys, StatusListChecker(fetcher), clock=clock)
    return World(verifier, store, clock, fetcher, pki_nl, pki_eu, holder_key())


async def test_cross_device_nl_pid_yields_the_verified_identity_once(world: World) -> None:
    request = await world.ask()
    assert request.claims["response_mode"] == "direct_post.jwt"
    assert request.claims["response_uri"].endswith("/" + request.request_id)
    assert await world.verifier.status(request.handle) is VerificationStatus.CONNECTED
    reply = await world.verifier.accept_response(
        request.request_id, request.encrypted({"pid_nl": [world.nl_presentation(request)]})
    )
    assert (reply.body, reply.verified) == ({}, True)
    assert await world.verifier.status(request.handle) is VerificationStatus.DONE
    identity = await world.verifier.result(request.handle)
    assert identity.verifier == "openid4vp"
    assert identity.purpose == "bijstand"
    assert identity.tags == {Tag.BSN, Tag.FULL_NAME, Tag.ADDRESS}
    assert dict(identity.values) == {
        "bsn": BSN,
        "full_name": "Test Persoon",
        "address.street": "Teststraat",
        "address.house_number": "1",
        "address.zipcode": "1234 AB",
        "address.city": "Teststad",
    }
    assert identity.attribute_ids[0] == "urn:eudi:pid:nl:1#bsn"
    assert identity.issuers == (world.nl.leaf.subject.rfc4514_string(),)
    assert_private(identity, request.handle, *world.store._by_id.values())
    with pytest.raises(VerificationRefused) as again:
        await world.verifier.result(request.handle)
    assert again.value.reason is RefusalReason.ALREADY_USED


async def test_the_request_object_asks_what_the_policy_needs(world: World) -> None:
    request = await world.ask()
    dcql = request.claims["dcql_query"]
    ids = [c["id"] for c in dcql["credentials"]]
    assert ids == ["pid_nl", "pid_eu", "pid_mdoc"]
    assert dcql["credential_sets"] == [{"options": [[i] for i in ids], "required": True}]
    metadata = request.claims["client_metadata"]
    assert metadata["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    assert "d" not in request.response_jwk
    assert request.response_jwk["alg"] == "ECDH-ES"


async def test_same_device_releases_the_result_only_with_the_response_code(world: World) -> None:
    request = await world.ask(flow=Flow.SAME_DEVICE)
    reply = await world.verifier.accept_response(
        request.request_id,
        request.encrypted({"pid_nl": [world.nl_presentation(request)]}, enc="A256GCM"),
    )
    redirect = urlsplit(reply.body["redirect_uri"])
    assert redirect.netloc == "balie.test"
    code = parse_qs(redirect.query)["response_code"][0]
    for wrong in (None, "not-the-code", "é"):
        with pytest.raises(VerificationRefused) as refused:
            await world.verifier.result(request.handle, response_code=wrong)
        assert refused.value.reason is RefusalReason.SESSION_MISMATCH
    identity = await world.verifier.result(request.handle, response_code=code)
    assert identity.values["bsn"] == BSN


async def test_plain_direct_post_works_when_configured(
    pki_client: Pki, trust: TrustAnchors, keys: KeyRing, world: World
) -> None:
    settings = make_settings(pki_client, trust, ResponseMode.DIRECT_POST)
    world.verifier = OpenID4VPVerifier(
        settings, world.store, keys, StatusListChecker(world.fetcher), clock=world.clock
    )
    request = await world.ask()
    assert "jwks" not in request.claims["client_metadata"]
    vp_token = json.dumps({"pid_nl": [world.nl_presentation(request)]})
    reply = await world.verifier.accept_response(
        request.request_id, {"vp_token": vp_token, "state": request.state}
    )
    assert reply.verified
    another = await world.ask()
    with pytest.raises(WalletResponseError) as refused:
        await world.verifier.accept_response(another.request_id, {"response": "a.b.c.d.e"})
    assert refused.value.check == "response.mode"


async def test_an_mdoc_pid_is_verified_over_this_session(world: World) -> None:
    request = await world.ask()
    session = transcript(request.client_id, request.nonce, request.thumbprint, request.response_uri)
    device = ec.generate_private_key(ec.SECP256R1())
    encoded = device_response(world.eu, device, session)
    reply = await world.verifier.accept_response(
        request.request_id, request.encrypted({"pid_mdoc": [encoded]})
    )
    assert reply.verified
    identity = await world.verifier.result(request.handle)
    assert identity.values == {"bsn": BSN, "full_name": "Test Persoon"}
    assert identity.attribute_ids[0] == (
        "eu.europa.ec.eudi.pid.1#eu.europa.ec.eudi.pid.1/personal_administrative_number"
    )


async def test_a_refused_presentation_is_final_and_says_why(world: World) -> None:
    request = await world.ask()
    # made for another transaction: its nonce is not this one's
    other = await world.ask()
    presentation = world.nl_presentation(other)
    reply = await world.verifier.accept_response(
        request.request_id, request.encrypted({"pid_nl": [presentation]})
    )
    assert not reply.verified
    assert await world.verifier.status(request.handle) is VerificationStatus.DONE
    with pytest.raises(PresentationRefused) as refused:
        await world.verifier.result(request.handle)
    assert (refused.value.check, refused.value.reason) == (
        "sd-jwt.kb.nonce",
        RefusalReason.SESSION_MISMATCH,
    )
    with pytest.raises(TransactionStateError) as replay:
        await world.verifier.accept_response(
            request.request_id, request.encrypted({"pid_nl": [world.nl_presentation(request)]})
        )
    assert replay.value.state == "refused"


async def test_a_replayed_response_is_not_taken_twice(world: World) -> None:
    request = await world.ask()
    form = request.encrypted({"pid_nl": [world.nl_presentation(request)]})
    assert (await world.verifier.accept_response(request.request_id, form)).verified
    with pytest.raises(TransactionStateError) as replay:
        await world.verifier.accept_response(request.request_id, form)
    assert "verified" in str(replay.value)
    # and not at another transaction either: its state is not this one's
    other = await world.ask()
    with pytest.raises(WalletResponseError) as elsewhere:
        await world.verifier.accept_response(other.request_id, {**form})
    assert elsewhere.value.check == "response.jwe.kid"


async def test_a_response_for_another_transaction_leaves_this_one_waiting(world: World) -> None:
    request = await world.ask()
    other = await world.ask()
    presentation = world.nl_presentation(request)
    form = request.encrypted({"pid_nl": [presentation]}, state=other.state)
    with pytest.raises(WalletResponseError) as refused:
        await world.verifier.accept_response(request.request_id, form)
    assert refused.value.check == "response.state"
    assert await world.verifier.status(request.handle) is VerificationStatus.CONNECTED
    good = request.encrypted({"pid_nl": [presentation]})
    assert (await world.verifier.accept_response(request.request_id, good)).verified


async def test_the_request_object_is_served_once(world: World) -> None:
    request = await world.ask()
    with pytest.raises(TransactionStateError) as twice:
        await world.verifier.request_object(request.request_id)
    assert twice.value.state == "request-sent"
    with pytest.raises(UnknownTransaction):
        await world.verifier.request_object("no-such-request")


async def test_a_wallet_nonce_is_echoed_and_checked(world: World) -> None:
    started = await world.verifier.start(POLICY)
    request_uri = parse_qs(urlsplit(str(started.browser_payload["authorization_request"])).query)
    request_id = request_uri["request_uri"][0].rsplit("/", 1)[1]
    with pytest.raises(WalletResponseError):
        await world.verifier.request_object(request_id, wallet_nonce="x" * 300)
    jar = await world.verifier.request_object(request_id, wallet_nonce="wallet-nonce-1")
    assert jwt.decode(jar, options={"verify_signature": False})["wallet_nonce"] == (
        "wallet-nonce-1"
    )


async def test_a_response_before_the_request_was_fetched_is_refused(world: World) -> None:
    started = await world.verifier.start(POLICY)
    transaction = await world.store.by_transaction_id(started.handle.reference)
    with pytest.raises(TransactionStateError) as early:
        await world.verifier.accept_response(transaction.request_id, {"error": "access_denied"})
    assert early.value.state == "created"


@pytest.mark.parametrize(
    ("form", "check"),
    [
        ({"vp_token": "{}", "state": "x"}, "response.unencrypted"),
        ({"response": "not-a-jwe"}, "response.jwe"),
        ({"state": "x"}, "response.shape"),
        ({"error": "<script>", "state": "x"}, "response.error"),
    ],
)
async def test_an_unusable_envelope_changes_nothing(
    world: World, form: dict[str, str], check: str
) -> None:
    request = await world.ask()
    with pytest.raises(WalletResponseError) as refused:
        await world.verifier.accept_response(request.request_id, form)
    assert refused.value.check == check
    assert await world.verifier.status(request.handle) is VerificationStatus.CONNECTED


async def test_a_response_encrypted_otherwise_is_refused(world: World) -> None:
    request = await world.ask()
    vp_token = {"pid_nl": [world.nl_presentation(request)]}
    with pytest.raises(WalletResponseError) as refused:
        await world.verifier.accept_response(
            request.request_id, request.encrypted(vp_token, enc="A192GCM")
        )
    assert refused.value.check == "response.jwe.alg"
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid=request.response_jwk["kid"])
    form = {
        "response": encrypt_response(
            {**json.loads(stranger.export_public()), "kid": request.response_jwk["kid"]},
            {"vp_token": vp_token, "state": request.state},
            "A128GCM",
        )
    }
    with pytest.raises(WalletResponseError) as refused:
        await world.verifier.accept_response(request.request_id, form)
    assert refused.value.check == "response.jwe"


async def test_the_wallet_declining_cancels(world: World) -> None:
    request = await world.ask()
    reply = await world.verifier.accept_response(
        request.request_id, {"error": "access_denied", "state": request.state}
    )
    assert not reply.verified
    assert await world.verifier.status(request.handle) is VerificationStatus.CANCELLED
    with pytest.raises(VerificationRefused) as refused:
        await world.verifier.result(request.handle)
    assert refused.value.reason is RefusalReason.CANCELLED


async def test_an_expired_transaction_takes_nothing(world: World) -> None:
    request = await world.ask()
    world.clock.now += 301
    with pytest.raises(TransactionStateError) as late:
        await world.verifier.accept_response(
            request.request_id, request.encrypted({"pid_nl": [world.nl_presentation(request)]})
        )
    assert late.value.state == "expired"
    assert await world.verifier.status(request.handle) is VerificationStatus.TIMEOUT
    with pytest.raises(VerificationRefused) as refused:
        await world.verifier.result(request.handle)
    assert refused.value.reason is RefusalReason.TIMEOUT
    assert await world.verifier.purge() == 1
    assert await world.verifier.status(request.handle) is VerificationStatus.TIMEOUT


async def test_cancel_stops_the_wallet_side(world: World) -> None:
    started = await world.verifier.start(POLICY)
    await world.verifier.cancel(started.handle)
    await world.verifier.cancel(started.handle)  # twice is fine
    assert await world.verifier.status(started.handle) is VerificationStatus.CANCELLED
    transaction = await world.store.by_transaction_id(started.handle.reference)
    assert transaction.state is TransactionState.CANCELLED
    with pytest.raises(TransactionStateError):
        await world.verifier.request_object(transaction.request_id)


async def _refusal(world: World, request: Request, vp_token: object) -> PresentationRefused:
    reply = await world.verifier.accept_response(request.request_id, request.encrypted(vp_token))
    assert not reply.verified
    with pytest.raises(PresentationRefused) as refused:
        await world.verifier.result(request.handle)
    assert_private(refused.value)
    return refused.value


async def test_missing_claims_are_refused(world: World) -> None:
    request = await world.ask()
    presentation = world.nl_presentation(request, {"given_name": True, "family_name": True})
    refused = await _refusal(world, request, {"pid_nl": [presentation]})
    assert (refused.check, refused.reason) == ("claims.missing", RefusalReason.MISSING_ATTRIBUTES)


@pytest.mark.parametrize(
    ("vp_token", "check"),
    [
        ({"pid_nl": ["a"], "pid_eu": ["b"]}, "vp-token.count"),
        ({"pid_other": ["a"]}, "vp-token.query"),
        ({"pid_nl": ["a", "b"]}, "vp-token.shape"),
        ({"pid_nl": "a"}, "vp-token.shape"),
        ([], "vp-token.shape"),
    ],
)
async def test_a_vp_token_that_answers_no_query_is_refused(
    world: World, vp_token: object, check: str
) -> None:
    request = await world.ask()
    assert (await _refusal(world, request, vp_token)).check == check


async def test_a_revoked_pid_is_refused(world: World) -> None:
    world.fetcher.bodies[STATUS_URI] = status_list_token(world.nl, [0, 1])
    request = await world.ask()
    status = {"status_list": {"idx": 1, "uri": STATUS_URI}}
    issuance = issue(world.nl, nl_pid_claims(world.clock.now, status=status), world.holder)
    presentation = present(
        issuance, DISCLOSE, world.holder, nonce=request.nonce, aud=request.client_id
    )
    refused = await _refusal(world, request, {"pid_nl": [presentation]})
    assert (refused.check, refused.reason) == ("status.revoked", RefusalReason.CREDENTIAL_REVOKED)


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"issuing_country": "DE"}, "claims.bsn-country"),
        ({SDObj("personal_administrative_number"): "123456789"}, "claims.value"),
    ],
)
async def test_an_eu_pid_proves_a_bsn_only_when_it_is_one(
    world: World, claims: dict[Any, object], check: str
) -> None:
    policy = policy_from_data("belasting", {"required": ["bsn"]})
    request = await world.ask(policy)
    base = eu_pid_claims(world.clock.now)
    if SDObj("personal_administrative_number") in claims:
        base = {
            k: v
            for k, v in base.items()
            if getattr(k, "value", k) != "personal_administrative_number"
        }
    issuance = issue(world.eu, {**base, **claims}, world.holder)
    presentation = present(
        issuance,
        {"personal_administrative_number": True},
        world.holder,
        nonce=request.nonce,
        aud=request.client_id,
    )
    refused = await _refusal(world, request, {"pid_eu": [presentation]})
    assert refused.check == check


async def test_a_policy_no_configured_credential_answers_is_refused_at_start(
    pki_client: Pki, pki_nl: Pki, keys: KeyRing, fetcher: DictFetcher
) -> None:
    settings = make_settings(pki_client, TrustAnchors({"urn:eudi:pid:nl:1": [pki_nl.root]}))
    verifier = OpenID4VPVerifier(settings, MemoryTransactions(), keys, StatusListChecker(fetcher))
    with pytest.raises(PolicyError):
        await verifier.start(policy_from_data("mail", {"required": ["email"]}))


async def test_a_handle_of_another_verifier_is_not_ours(world: World) -> None:
    started = await world.verifier.start(POLICY)
    foreign = dataclasses.replace(started.handle, verifier="yivi")
    with pytest.raises(Exception, match="not a handle"):
        await world.verifier.status(foreign)


def test_the_verifier_is_a_verifier(world: World) -> None:
    verifier: Verifier = world.verifier
    assert verifier.name == "openid4vp"


class SlowFetcher(DictFetcher):
    """Lets a second response arrive while the first one's status list is fetched."""

    async def fetch(self, uri: str) -> bytes:
        await asyncio.sleep(0.05)
        return await super().fetch(uri)


async def test_two_racing_responses_get_one_answer(world: World) -> None:
    slow = SlowFetcher(bodies={STATUS_URI: status_list_token(world.nl, [0])})
    world.verifier._status = StatusListChecker(slow)
    request = await world.ask()
    status = {"status_list": {"idx": 0, "uri": STATUS_URI}}
    issuance = issue(world.nl, nl_pid_claims(world.clock.now, status=status), world.holder)
    presentation = present(
        issuance, DISCLOSE, world.holder, nonce=request.nonce, aud=request.client_id
    )
    form = request.encrypted({"pid_nl": [presentation]})
    outcomes = await asyncio.gather(
        world.verifier.accept_response(request.request_id, form),
        world.verifier.accept_response(request.request_id, form),
        return_exceptions=True,
    )
    replies = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(replies) == 1 and replies[0].verified
    assert len(errors) == 1 and isinstance(errors[0], TransactionStateError)
    assert errors[0].state == "receiving"
    assert slow.fetched == [STATUS_URI]
