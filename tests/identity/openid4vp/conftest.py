"""Fixtures for the OpenID4VP tests: test PKIs, trust anchors, settings and a verifier."""

from __future__ import annotations

import os
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity.openid4vp.config import ClientCertificate, ResponseMode, Rules, VerifierSettings
from identity.openid4vp.credential import Expectation
from identity.openid4vp.pid import DOCTYPE_PID, VCT_PID_EU, VCT_PID_NL
from identity.openid4vp.status_list import StatusListChecker
from identity.openid4vp.transactions import MemoryTransactions
from identity.openid4vp.trust import TrustAnchors
from identity.openid4vp.verifier import OpenID4VPVerifier
from identity.vault import KeyRing
from tests.identity.openid4vp.support import (
    CLIENT_ID,
    NONCE,
    RESPONSE_URI,
    DictFetcher,
    Pki,
    make_pki,
)


@pytest.fixture(scope="session")
def pki_nl() -> Pki:
    """The NL PID issuer (anchored for ``urn:eudi:pid:nl:1`` only)."""
    return make_pki("Test NL PID Issuer")


@pytest.fixture(scope="session")
def pki_eu() -> Pki:
    """The EU PID issuer (anchored for ``urn:eudi:pid:1`` and the mdoc PID)."""
    return make_pki("Test EU PID Issuer")


@pytest.fixture(scope="session")
def pki_rogue() -> Pki:
    """An issuer nobody configured."""
    return make_pki("Test Rogue Issuer")


@pytest.fixture(scope="session")
def pki_client() -> Pki:
    """Our relying-party access certificate."""
    return make_pki("Test Gemeente Balie")


@pytest.fixture(scope="session")
def trust(pki_nl: Pki, pki_eu: Pki) -> TrustAnchors:
    return TrustAnchors(
        {VCT_PID_NL: [pki_nl.root], VCT_PID_EU: [pki_eu.root], DOCTYPE_PID: [pki_eu.root]}
    )


@pytest.fixture
def rules() -> Rules:
    return Rules()


@pytest.fixture
def expectation() -> Expectation:
    return Expectation(
        client_id=CLIENT_ID,
        nonce=NONCE,
        response_uri=RESPONSE_URI,
        encryption_thumbprint=None,
        now=time.time(),
    )


@pytest.fixture
def device_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_settings(
    pki_client: Pki, trust: TrustAnchors, mode: ResponseMode = ResponseMode.DIRECT_POST_JWT
) -> VerifierSettings:
    return VerifierSettings(
        client=ClientCertificate((pki_client.leaf,), pki_client.key),
        trust=trust,
        request_uri="https://balie.test/oid4vp/request/{request_id}",
        response_uri="https://balie.test/oid4vp/response/{request_id}",
        same_device_redirect="https://balie.test/identiteit/wallet?response_code={response_code}",
        response_mode=mode,
    )


@pytest.fixture
def settings(pki_client: Pki, trust: TrustAnchors) -> VerifierSettings:
    return make_settings(pki_client, trust)


@pytest.fixture
def fetcher() -> DictFetcher:
    return DictFetcher()


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing({"k1": os.urandom(32)}, "k1")


@pytest.fixture
def store() -> MemoryTransactions:
    return MemoryTransactions()


@pytest.fixture
def verifier(
    settings: VerifierSettings, store: MemoryTransactions, keys: KeyRing, fetcher: DictFetcher
) -> OpenID4VPVerifier:
    return OpenID4VPVerifier(settings, store, keys, StatusListChecker(fetcher))
