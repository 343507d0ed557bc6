"""Settings of the OpenID4VP verifier: small typed values, checked when built.

The server reads them from its environment in one place and builds these;
nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import ConfigurationError
from identity.openid4vp.trust import TrustAnchors, certificates_from_pem, x509_hash_client_id

#: how long a transaction waits for the wallet, seconds; short, because a QR code
#: relayed to someone else is the phishing risk of the cross-device flow
DEFAULT_TTL: Final = 300
#: lifetime of the signed request object, seconds
DEFAULT_REQUEST_OBJECT_TTL: Final = 120
#: clocks of issuers, wallets and our nodes differ; validity times get this slack
DEFAULT_LEEWAY: Final = 60
#: a key binding JWT older than this is stale (OID4VP §14.2.2)
DEFAULT_KB_MAX_AGE: Final = 300
#: a key binding JWT may be this far in the future (wallet clocks run fast)
DEFAULT_KB_MAX_FUTURE: Final = 60
MAX_LEEWAY: Final = 300
#: the JWE content encryption algorithms we accept for ``direct_post.jwt``
ENCRYPTION_VALUES: Final = ("A128GCM", "A256GCM")


class ResponseMode(StrEnum):
    #: the response as form fields, in the clear (TLS only)
    DIRECT_POST = "direct_post"
    #: the response encrypted to a key made for this transaction (HAIP, NL Wallet)
    DIRECT_POST_JWT = "direct_post.jwt"


class Flow(StrEnum):
    #: the page shows a QR code; the wallet is on another device
    CROSS_DEVICE = "cross-device"
    #: the page links to the wallet on the same device; the wallet sends the browser
    #: back with a response code, and only that browser gets the result
    SAME_DEVICE = "same-device"


@dataclass(frozen=True, slots=True)
class Rules:
    """Limits of the checks. The defaults are the policy; change them only on purpose."""

    #: JWS algorithms for issuer JWTs, key binding JWTs and status list tokens, and
    #: (as COSE ES256/ES384/ES512) for mdoc issuer and device signatures
    algorithms: frozenset[str] = frozenset({"ES256"})
    #: ``typ`` of the issuer JWT; add ``vc+sd-jwt`` only for a wallet that still sends it
    sd_jwt_typ: frozenset[str] = frozenset({"dc+sd-jwt"})
    leeway: int = DEFAULT_LEEWAY
    kb_max_age: int = DEFAULT_KB_MAX_AGE
    kb_max_future: int = DEFAULT_KB_MAX_FUTURE
    #: an SD-JWT VC without ``exp`` never expires; refuse one for identity
    require_exp: bool = True
    #: the status list must be signed by the credential signer's subject (as NL Wallet)
    status_signer_same_subject: bool = True
    encryption_values: tuple[str, ...] = ENCRYPTION_VALUES

    def __post_init__(self) -> None:
        unknown = self.algorithms - {"ES256", "ES384", "ES512"}
        if not self.algorithms or unknown:
            raise ConfigurationError("OpenID4VP algorithms must be among ES256, ES384, ES512")
        if not self.sd_jwt_typ <= {"dc+sd-jwt", "vc+sd-jwt"} or not self.sd_jwt_typ:
            raise ConfigurationError("the SD-JWT VC typ must be dc+sd-jwt (or vc+sd-jwt)")
        for name in ("leeway", "kb_max_age", "kb_max_future"):
            if not 0 <= getattr(self, name) <= MAX_LEEWAY:
                raise ConfigurationError(f"OpenID4VP {name} must be 0-{MAX_LEEWAY} seconds")
        if not self.encryption_values or not set(self.encryption_values) <= set(ENCRYPTION_VALUES):
            raise ConfigurationError("OpenID4VP encryption must be among A128GCM, A256GCM")


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """The relying party's access certificate chain (leaf first) and its private key.

    The leaf's hash is our client id (``x509_hash``); the key signs request objects.
    """

    chain: tuple[x509.Certificate, ...]
    key: ec.EllipticCurvePrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not self.chain:
            raise ConfigurationError("the OpenID4VP client certificate chain is empty")
        if not isinstance(self.key.curve, ec.SECP256R1):
            raise ConfigurationError("the OpenID4VP client key must be an EC P-256 key (ES256)")
        leaf_key = self.chain[0].public_key()
        if not isinstance(leaf_key, ec.EllipticCurvePublicKey) or leaf_key.public_numbers() != (
            self.key.public_key().public_numbers()
        ):
            raise ConfigurationError("the OpenID4VP client key does not belong to the certificate")

    @property
    def client_id(self) -> str:
        return x509_hash_client_id(self.chain[0])

    @classmethod
    def from_pem(
        cls, certificates: str | bytes, key: str | bytes, *, password: bytes | None = None
    ) -> ClientCertificate:
        """From a PEM chain (leaf first) and a PEM private key."""
        raw = key.encode("ascii") if isinstance(key, str) else key
        try:
            private = serialization.load_pem_private_key(raw, password=password)
        except (ValueError, TypeError):
            raise ConfigurationError("the OpenID4VP client key is not a PEM private key") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ConfigurationError("the OpenID4VP client key must be an EC key")
        return cls(tuple(certificates_from_pem(certificates)), private)


@dataclass(frozen=True, slots=True)
class VerifierSettings:
    """Everything the verifier needs besides its store, vault keys and status checker.

    URL templates are absolute ``https`` URLs; ``{request_id}`` and
    ``{response_code}`` are filled in per transaction.
    """

    client: ClientCertificate
    trust: TrustAnchors
    #: where the wallet fetches the request object, e.g.
    #: ``https://balie.example/oid4vp/request/{request_id}``
    request_uri: str
    #: where the wallet posts its response, e.g.
    #: ``https://balie.example/oid4vp/response/{request_id}``
    response_uri: str
    #: where the wallet sends the browser back in the same-device flow, e.g.
    #: ``https://balie.example/identiteit/wallet?response_code={response_code}``
    same_device_redirect: str
    #: the wallet's authorization endpoint: ``openid4vp://``, ``haip://`` or a
    #: wallet's universal link
    wallet_url: str = "openid4vp://"
    response_mode: ResponseMode = ResponseMode.DIRECT_POST_JWT
    #: ``post`` asks wallets to POST for the request object (with a ``wallet_nonce``)
    request_uri_method: str | None = None
    ttl: int = DEFAULT_TTL
    request_object_ttl: int = DEFAULT_REQUEST_OBJECT_TTL
    rules: Rules = field(default_factory=Rules)

    def __post_init__(self) -> None:
        _check_template(self.request_uri, "request_id", "request URI")
        _check_template(self.response_uri, "request_id", "response URI")
        _check_template(self.same_device_redirect, "response_code", "same-device redirect")
        if not urlsplit(self.wallet_url).scheme:
            raise ConfigurationError("the wallet URL needs a scheme, e.g. openid4vp://")
        if self.request_uri_method not in (None, "get", "post"):
            raise ConfigurationError("request_uri_method must be get or post")
        if not 30 <= self.ttl <= 1800:
            raise ConfigurationError("the OpenID4VP transaction lifetime must be 30-1800 seconds")
        if not 30 <= self.request_object_ttl <= self.ttl:
            raise ConfigurationError("the request object lifetime must be 30 s to the lifetime")


def _check_template(template: str, placeholder: str, what: str) -> None:
    parts = urlsplit(template.replace("{" + placeholder + "}", "x"))
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError(f"the OpenID4VP {what} must be an absolute https URL")
    if template.count("{" + placeholder + "}") != 1 or template.count("{") != 1:
        raise ConfigurationError(f"the OpenID4VP {what} must hold {{{placeholder}}} once")


def anchors_from_pem(bundles: dict[str, str | bytes]) -> TrustAnchors:
    """Trust anchors from PEM bundles per credential type (``vct`` or ``docType``)."""
    return TrustAnchors({kind: certificates_from_pem(pem) for kind, pem in bundles.items()})


def fill(template: str, **values: str) -> str:
    """A URL template with its one placeholder filled in."""
    return template.format(**values)


def certificate_chain(certificates: Sequence[x509.Certificate]) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certificates]
