"""Test issuers and wallets for the OpenID4VP verifier, built from libraries not written here.

- X.509: ``cryptography`` makes a root CA and an issuer leaf per test PKI.
- SD-JWT VC: the ``sd-jwt`` reference library issues (``SDJWTIssuer``) and
  presents (``SDJWTHolder``, with its KB-JWT); ``jwcrypto`` signs the mutated
  key binding JWTs and status lists, and encrypts ``direct_post.jwt`` responses.
- mdoc: ``cbor2`` and ``cwt`` build the DeviceResponse, MSO and COSE signatures.

Every personal value is obviously fake (:data:`FAKE_VALUES`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import cbor2
import cwt
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwe, jwk, jws  # type: ignore[import-untyped]
from sd_jwt.common import SDObj  # type: ignore[import-untyped]
from sd_jwt.holder import SDJWTHolder  # type: ignore[import-untyped]
from sd_jwt.issuer import SDJWTIssuer  # type: ignore[import-untyped]

from identity.errors import FetchError
from identity.openid4vp.config import Flow, ResponseMode
from identity.openid4vp.pid import DOCTYPE_PID, MDOC_NAMESPACE, VCT_PID_EU, VCT_PID_NL
from identity.openid4vp.transactions import Transaction, TransactionState
from identity.policy import policy_from_data

BSN: Final = "999999990"
GIVEN_NAME: Final = "Test"
FAMILY_NAME: Final = "Persoon"
BIRTHDATE: Final = "1990-01-01"
#: values no error message, repr or log may show
FAKE_VALUES: Final = (BSN, "Persoon", "Test Persoon", BIRTHDATE, "Teststraat", "1234 AB")
STATUS_URI: Final = "https://status.test/lists/1"
CLIENT_ID: Final = "x509_hash:test-client"
NONCE: Final = "test-nonce-0123456789abcdef"
RESPONSE_URI: Final = "https://balie.test/oid4vp/response/request-1"


def assert_private(*objects: object) -> None:
    """No fake personal value appears in ``str``, ``repr`` or ``detail`` of ``objects``."""
    for obj in objects:
        text = f"{obj}\n{obj!r}\n{getattr(obj, 'detail', '')}\n{getattr(obj, 'args', '')}"
        for value in FAKE_VALUES:
            assert value not in text, f"{value!r} leaks from {type(obj).__name__}"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Issuer Org"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass
class Pki:
    """A root CA and one signing leaf under it."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate

    @property
    def x5c(self) -> list[str]:
        return [base64.b64encode(self.leaf.public_bytes(serialization.Encoding.DER)).decode()]

    @property
    def leaf_der(self) -> bytes:
        return self.leaf.public_bytes(serialization.Encoding.DER)

    @property
    def jwk(self) -> Any:
        return jwk.JWK.from_pyca(self.key)


def make_pki(
    name: str,
    *,
    leaf_valid_days: int = 30,
    leaf_is_ca: bool = False,
    leaf_may_sign: bool = True,
) -> Pki:
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} Root"))
        .issuer_name(_name(f"{name} Root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=leaf_valid_days))
        .add_extension(x509.BasicConstraints(ca=leaf_is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(leaf_may_sign, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return Pki(root_key, root, key, leaf)


# -- SD-JWT VC: the sd-jwt library as issuer and holder


def nl_pid_claims(now: float, **plain: object) -> dict[Any, object]:
    """An NL PID (``urn:eudi:pid:nl:1``), every personal claim selectively disclosable."""
    claims: dict[Any, object] = {
        "iss": "https://pid.test",
        "vct": VCT_PID_NL,
        "iat": int(now) - 60,
        "exp": int(now) + 86400,
        SDObj("given_name"): GIVEN_NAME,
        SDObj("family_name"): FAMILY_NAME,
        SDObj("bsn"): BSN,
        SDObj("birthdate"): BIRTHDATE,
        SDObj("age_over_18"): True,
        SDObj("address"): {
            SDObj("street_address"): "Teststraat",
            SDObj("house_number"): "1",
            SDObj("postal_code"): "1234 AB",
            SDObj("locality"): "Teststad",
        },
    }
    claims.update(plain)
    return claims


def eu_pid_claims(now: float, **plain: object) -> dict[Any, object]:
    """An EU PID (``urn:eudi:pid:1``) with an array disclosure (``nationalities``)."""
    claims: dict[Any, object] = {
        "iss": "https://pid.test",
        "vct": VCT_PID_EU,
        "iat": int(now) - 60,
        "exp": int(now) + 86400,
        SDObj("given_name"): GIVEN_NAME,
        SDObj("family_name"): FAMILY_NAME,
        SDObj("personal_administrative_number"): BSN,
        "issuing_country": "NL",
        SDObj("birthdate"): BIRTHDATE,
        SDObj("age_equal_or_over"): {SDObj("18"): True, SDObj("65"): False},
        SDObj("nationalities"): [SDObj("NL")],
    }
    claims.update(plain)
    return claims


def holder_key() -> Any:
    return jwk.JWK.generate(kty="EC", crv="P-256")


def issue(
    pki: Pki,
    claims: Mapping[Any, object],
    holder: Any,
    *,
    header: Mapping[str, object] | None = None,
) -> str:
    """An SD-JWT VC issuance (``<jwt>~<disclosures>~``) signed by ``pki``'s leaf."""
    extra = {"typ": "dc+sd-jwt", "x5c": pki.x5c, **(header or {})}
    issuer = SDJWTIssuer(
        dict(claims),
        pki.jwk,
        holder_key=holder,
        sign_alg="ES256",
        extra_header_parameters=extra,
    )
    return str(issuer.sd_jwt_issuance)


def present(
    issuance: str,
    disclose: Mapping[str, object],
    holder: Any,
    *,
    nonce: str = NONCE,
    aud: str = CLIENT_ID,
) -> str:
    """The holder's presentation of ``disclose`` with a KB-JWT (the sd-jwt library)."""
    wallet = SDJWTHolder(issuance)
    wallet.create_presentation(
        dict(disclose), nonce=nonce, aud=aud, holder_key=holder, sign_alg="ES256"
    )
    return str(wallet.sd_jwt_presentation)


def sign_jws(key: Any, payload: Mapping[str, object], header: Mapping[str, object]) -> str:
    token = jws.JWS(json.dumps(dict(payload)).encode())
    token.add_signature(key, alg=header.get("alg", "ES256"), protected=json.dumps(dict(header)))
    return str(token.serialize(compact=True))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sd_hash(presented: str) -> str:
    return b64url(hashlib.sha256(presented.encode()).digest())


def rebind(
    without_kb: str,
    holder: Any,
    *,
    nonce: str = NONCE,
    aud: object = CLIENT_ID,
    iat: int | None = None,
    typ: str = "kb+jwt",
    hash_override: str | None = None,
) -> str:
    """``without_kb`` (ending in ``~``) with a fresh KB-JWT, each field settable."""
    payload = {
        "nonce": nonce,
        "aud": aud,
        "iat": iat if iat is not None else int(dt.datetime.now(dt.UTC).timestamp()),
        "sd_hash": hash_override or sd_hash(without_kb),
    }
    return without_kb + sign_jws(holder, payload, {"alg": "ES256", "typ": typ})


def strip_kb(presentation: str) -> str:
    return presentation[: presentation.rindex("~") + 1]


def reheader(token: str, key: Any, header: Mapping[str, object]) -> str:
    """The JWT ``token`` re-signed by ``key`` under another ``header``."""
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return sign_jws(key, payload, header)


def encrypt_response(public: Mapping[str, object], payload: Mapping[str, object], enc: str) -> str:
    """The wallet's ``direct_post.jwt`` response, encrypted with jwcrypto."""
    key = jwk.JWK(**dict(public))
    header = {"alg": "ECDH-ES", "enc": enc, "kid": public["kid"]}
    token = jwe.JWE(json.dumps(dict(payload)).encode(), protected=json.dumps(header))
    token.add_recipient(key)
    return str(token.serialize(compact=True))


# -- status lists


def status_list_token(
    pki: Pki,
    statuses: list[int],
    *,
    bits: int = 2,
    uri: str = STATUS_URI,
    now: float | None = None,
    signing_key: Any = None,
    **payload: object,
) -> bytes:
    """A ``statuslist+jwt`` signed with ``pki``'s leaf (or ``signing_key``)."""
    data = bytearray((len(statuses) * bits + 7) // 8)
    for index, value in enumerate(statuses):
        position = index * bits
        data[position // 8] |= value << (position % 8)
    issued = int(now if now is not None else dt.datetime.now(dt.UTC).timestamp())
    claims: dict[str, object] = {
        "sub": uri,
        "iat": issued,
        "exp": issued + 3600,
        "ttl": 300,
        "status_list": {"bits": bits, "lst": b64url(zlib.compress(bytes(data)))},
    }
    claims.update(payload)
    header = {"alg": "ES256", "typ": "statuslist+jwt", "x5c": pki.x5c}
    return sign_jws(signing_key or pki.jwk, claims, header).encode()


@dataclass
class DictFetcher:
    """A :class:`StatusListFetcher` test double serving fixed bodies; counts fetches."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    async def fetch(self, uri: str) -> bytes:
        self.fetched.append(uri)
        if uri not in self.bodies:
            raise FetchError("http", "HTTP 404")
        return self.bodies[uri]


# -- mdoc: cbor2 + cwt as issuer and device


def cose_key(private: ec.EllipticCurvePrivateKey) -> Any:
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cwt.COSEKey.from_pem(pem, alg="ES256")


def sign1(
    private: ec.EllipticCurvePrivateKey,
    payload: bytes,
    unprotected: Mapping[int, object],
    *,
    detached: bool = False,
    alg: int = -7,
) -> list[object]:
    """An untagged COSE_Sign1 made by cwt; ``detached`` drops the payload after signing."""
    ctx = cwt.COSE.new(alg_auto_inclusion=False, kid_auto_inclusion=False)
    encoded = ctx.encode(
        payload, cose_key(private), protected={1: alg}, unprotected=dict(unprotected)
    )
    message = cbor2.loads(encoded).value
    if detached:
        message[2] = None
    return list(message)


def transcript(
    client_id: str, nonce: str, thumbprint: bytes | None, response_uri: str
) -> list[object]:
    """The OpenID4VP redirect SessionTranscript, written here from OID4VP 1.0 B.2.6.1."""
    info = cbor2.dumps([client_id, nonce, thumbprint, response_uri])
    return [None, None, ["OpenID4VPHandover", hashlib.sha256(info).digest()]]


def pid_elements() -> dict[str, object]:
    return {
        "given_name": GIVEN_NAME,
        "family_name": FAMILY_NAME,
        "birth_date": dt.date(1990, 1, 1),
        "age_over_18": True,
        "personal_administrative_number": BSN,
        "issuing_country": "NL",
    }


def device_response(
    pki: Pki,
    device: ec.EllipticCurvePrivateKey,
    session: list[object],
    *,
    elements: Mapping[str, object] | None = None,
    doc_type: str = DOCTYPE_PID,
    valid_until: dt.datetime | None = None,
    digest_algorithm: str = "SHA-256",
    issuer_signing_key: ec.EllipticCurvePrivateKey | None = None,
    device_signing_key: ec.EllipticCurvePrivateKey | None = None,
    tamper: Callable[[dict[str, object]], None] | None = None,
    device_auth: Mapping[str, object] | None = None,
    status: Mapping[str, object] | None = None,
) -> str:
    """A base64url DeviceResponse with one PID document; each knob breaks one thing."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    items = []
    digests: dict[int, bytes] = {}
    for digest_id, (name, value) in enumerate((elements or pid_elements()).items()):
        item = {
            "digestID": digest_id,
            "random": os.urandom(16),
            "elementIdentifier": name,
            "elementValue": value,
        }
        tagged = cbor2.CBORTag(24, cbor2.dumps(item))
        digests[digest_id] = hashlib.sha256(cbor2.dumps(tagged)).digest()
        items.append(tagged)
    numbers = device.public_key().public_numbers()
    mso: dict[str, object] = {
        "version": "1.0",
        "digestAlgorithm": digest_algorithm,
        "valueDigests": {MDOC_NAMESPACE: digests},
        "deviceKeyInfo": {
            "deviceKey": {
                1: 2,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        },
        "docType": doc_type,
        "validityInfo": {
            "signed": now - dt.timedelta(hours=1),
            "validFrom": now - dt.timedelta(hours=1),
            "validUntil": valid_until or now + dt.timedelta(days=30),
        },
    }
    if status is not None:
        mso["status"] = dict(status)
    issuer_auth = sign1(
        issuer_signing_key or pki.key,
        cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso))),
        {33: pki.leaf_der},
    )
    name_spaces = cbor2.CBORTag(24, cbor2.dumps({}))
    authentication = ["DeviceAuthentication", session, doc_type, name_spaces]
    signed_bytes = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(authentication)))
    device_signature = sign1(device_signing_key or device, signed_bytes, {}, detached=True)
    document: dict[str, object] = {
        "docType": doc_type,
        "issuerSigned": {"nameSpaces": {MDOC_NAMESPACE: items}, "issuerAuth": issuer_auth},
        "deviceSigned": {
            "nameSpaces": name_spaces,
            "deviceAuth": dict(device_auth or {"deviceSignature": device_signature}),
        },
    }
    if tamper is not None:
        tamper(document)
    response = {"version": "1.0", "documents": [document], "status": 0}
    return b64url(cbor2.dumps(response))


__all__ = ["VCT_PID_EU", "VCT_PID_NL", "SDObj"]


@dataclass
class WalletRequest:
    """What a wallet learnt from the QR code (or button) and the request object."""

    request_id: str
    claims: dict[str, Any]

    @property
    def nonce(self) -> str:
        return str(self.claims["nonce"])

    @property
    def client_id(self) -> str:
        return str(self.claims["client_id"])

    @property
    def state(self) -> str:
        return str(self.claims["state"])

    @property
    def response_uri(self) -> str:
        return str(self.claims["response_uri"])

    @property
    def response_jwk(self) -> dict[str, Any]:
        key: dict[str, Any] = self.claims["client_metadata"]["jwks"]["keys"][0]
        return key

    @property
    def thumbprint(self) -> bytes:
        return base64.urlsafe_b64decode(jwk.JWK(**self.response_jwk).thumbprint() + "==")

    def encrypted(
        self, vp_token: object, *, enc: str = "A128GCM", **extra: object
    ) -> dict[str, str]:
        """The ``direct_post.jwt`` form carrying ``vp_token``."""
        payload = {"vp_token": vp_token, "state": self.state, **extra}
        return {"response": encrypt_response(self.response_jwk, payload, enc)}


def checked_request_object(jar: str, client_id: str) -> dict[str, Any]:
    """What a wallet checks of a request object: the ``x5c`` leaf signs it, its hash is the
    client id, the outer client id is the inner one, and it asks for a ``vp_token`` answered
    to its ``response_uri`` (no ``redirect_uri``)."""
    header = jwt.get_unverified_header(jar)
    assert header["typ"] == "oauth-authz-req+jwt"
    der = base64.b64decode(header["x5c"][0])
    assert client_id == "x509_hash:" + b64url(hashlib.sha256(der).digest())
    public = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    claims: dict[str, Any] = jwt.decode(
        jar, public, algorithms=["ES256"], audience="https://self-issued.me/v2"
    )
    assert claims["client_id"] == client_id
    assert claims["response_type"] == "vp_token"
    assert "redirect_uri" not in claims
    return claims


def a_transaction(now: float, number: int = 1, **changes: Any) -> Transaction:
    """A transaction created at ``now`` (its ids end in ``number``), with ``changes``; every
    secret in it is a recognisable fake value a leak test can look for."""
    values: dict[str, Any] = {
        "transaction_id": f"secret-transaction-id-{number}",
        "request_id": f"public-request-id-{number}",
        "nonce": "secret-nonce-value",
        "client_id": "x509_hash:abc",
        "flow": Flow.SAME_DEVICE,
        "response_mode": ResponseMode.DIRECT_POST_JWT,
        "policy": policy_from_data("p", {"required": ["bsn"], "optional": ["email"]}),
        "dcql_query": {"credentials": [{"id": "pid_nl"}]},
        "sealed_response_key": "v1.k1.sealed.key",
        "state": TransactionState.CREATED,
        "created_at": now,
        "expires_at": now + 300,
    }
    values.update(changes)
    return Transaction(**values)
