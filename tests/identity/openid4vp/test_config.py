"""Settings, the client certificate and trust anchors: refused early when unusable."""

from __future__ import annotations

import dataclasses
import hashlib
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import ConfigurationError, PresentationRefused, RefusalReason
from identity.openid4vp.config import ClientCertificate, Rules, anchors_from_pem
from identity.openid4vp.pid import VCT_PID_NL
from identity.openid4vp.trust import TrustAnchors, certificates_from_pem
from tests.identity.openid4vp.conftest import make_settings
from tests.identity.openid4vp.support import Pki, b64url, make_pki


def _pem(pki: Pki) -> tuple[bytes, bytes]:
    chain = pki.leaf.public_bytes(serialization.Encoding.PEM)
    key = pki.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, key


def test_the_client_id_is_the_hash_of_the_certificate(pki_client: Pki) -> None:
    client = ClientCertificate.from_pem(*_pem(pki_client))
    der = pki_client.leaf.public_bytes(serialization.Encoding.DER)
    assert client.client_id == "x509_hash:" + b64url(hashlib.sha256(der).digest())
    assert "PRIVATE" not in repr(client) and "key=" not in repr(client)


def test_a_key_of_another_certificate_is_refused(pki_client: Pki, pki_nl: Pki) -> None:
    with pytest.raises(ConfigurationError):
        ClientCertificate((pki_client.leaf,), pki_nl.key)
    with pytest.raises(ConfigurationError):
        ClientCertificate((pki_client.leaf,), ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ConfigurationError):
        ClientCertificate.from_pem(_pem(pki_client)[0], b"not a key")


@pytest.mark.parametrize(
    "change",
    [
        {"request_uri": "http://balie.test/oid4vp/request/{request_id}"},
        {"response_uri": "https://balie.test/oid4vp/response"},
        {"same_device_redirect": "https://balie.test/{response_code}/{response_code}"},
        {"wallet_url": "no-scheme"},
        {"ttl": 5},
        {"request_uri_method": "put"},
    ],
)
def test_unusable_settings_are_refused(
    pki_client: Pki, trust: TrustAnchors, change: dict[str, object]
) -> None:
    with pytest.raises(ConfigurationError):
        dataclasses.replace(make_settings(pki_client, trust), **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"algorithms": frozenset({"HS256"})},
        {"algorithms": frozenset()},
        {"sd_jwt_typ": frozenset({"JWT"})},
        {"leeway": 3600},
        {"encryption_values": ("A128CBC-HS256",)},
    ],
)
def test_rules_that_weaken_the_checks_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        dataclasses.replace(Rules(), **change)  # type: ignore[arg-type]


def test_anchors_must_be_ca_certificates(pki_nl: Pki) -> None:
    with pytest.raises(ConfigurationError):
        TrustAnchors({VCT_PID_NL: [pki_nl.leaf]})
    root_pem = pki_nl.root.public_bytes(serialization.Encoding.PEM)
    assert anchors_from_pem({VCT_PID_NL: root_pem}).types == {VCT_PID_NL}
    with pytest.raises(ConfigurationError):
        certificates_from_pem(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize(
    ("options", "detail"),
    [
        ({"leaf_is_ca": True}, "a CA"),
        ({"leaf_may_sign": False}, "may not sign"),
        ({"leaf_valid_days": -1}, "does not lead"),
    ],
)
def test_an_unfit_signing_certificate_is_untrusted(options: dict[str, object], detail: str) -> None:
    pki = make_pki("Unfit", **options)  # type: ignore[arg-type]
    anchors = TrustAnchors({VCT_PID_NL: [pki.root]})
    with pytest.raises(PresentationRefused) as refused:
        anchors.verify(VCT_PID_NL, [pki.leaf], now=time.time(), check="x")
    assert refused.value.reason is RefusalReason.WALLET_ISSUER_UNTRUSTED
    assert detail in refused.value.detail
