"""Trust anchors per credential type, issuer certificate chains, and our client id.

An issuer is trusted for a credential type only: the anchors for the NL PID do
not vouch for an EU PID, and no anchor vouches for a type nobody configured.
Chains are built by ``cryptography.x509.verification`` (path building, validity
periods, basicConstraints, keyUsage of the CAs, signature algorithms) rather
than by hand. Its web PKI end-entity rules are for TLS certificates (they want
the clientAuth/serverAuth EKU and a SAN), which issuer certificates do not
carry, so the leaf gets ``permit_all`` there and is checked here instead: not
a CA, and keyUsage ``digitalSignature``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from identity.errors import ConfigurationError, PresentationRefused, RefusalReason
from identity.openid4vp.encoding import b64url_encode

CLIENT_ID_PREFIX: Final = "x509_hash:"
#: leaf, at most two intermediates, root
MAX_CHAIN_DEPTH: Final = 4
#: a chain in a header is a handful of certificates; more is an attack on our CPU
MAX_CHAIN_LENGTH: Final = 5
MAX_CERTIFICATE_BYTES: Final = 16 * 1024

#: JWS algorithm -> the only curve its key may use (RFC 7518 §3.4)
CURVES: Final[Mapping[str, type[ec.EllipticCurve]]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}


def x509_hash_client_id(leaf: x509.Certificate) -> str:
    """``x509_hash:`` + b64url(SHA-256(DER of the leaf)) (OID4VP 1.0 §5.9.3)."""
    der = leaf.public_bytes(serialization.Encoding.DER)
    return CLIENT_ID_PREFIX + b64url_encode(hashlib.sha256(der).digest())


def certificates_from_pem(data: str | bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order; for configuration."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise ConfigurationError("not a PEM bundle of X.509 certificates") from None
    if not certificates:
        raise ConfigurationError("the PEM bundle holds no certificate")
    return certificates


def certificates_from_x5c(value: object, *, check: str) -> list[x509.Certificate]:
    """A JOSE ``x5c`` header (RFC 7515 §4.1.6): standard base64 DER, leaf first."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_CHAIN_LENGTH:
        raise _invalid(check, "x5c is not a short non-empty list")
    ders: list[bytes] = []
    for entry in value:
        if not isinstance(entry, str) or len(entry) > MAX_CERTIFICATE_BYTES * 2:
            raise _invalid(check, "x5c entry is not base64 text of sane size")
        try:
            ders.append(base64.b64decode(entry, validate=True))
        except (binascii.Error, ValueError):
            raise _invalid(check, "x5c entry is not base64") from None
    return certificates_from_der(ders, check=check)


def certificates_from_der(ders: Sequence[bytes], *, check: str) -> list[x509.Certificate]:
    if not 0 < len(ders) <= MAX_CHAIN_LENGTH:
        raise _invalid(check, "certificate chain is not a short non-empty list")
    certificates: list[x509.Certificate] = []
    for der in ders:
        if len(der) > MAX_CERTIFICATE_BYTES:
            raise _invalid(check, "certificate too large")
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise _invalid(check, "certificate is not DER") from None
    return certificates


def check_key_for_algorithm(
    key: object, algorithm: str, *, check: str
) -> ec.EllipticCurvePublicKey:
    """The key must be an EC public key on the curve ``algorithm`` names (no confusion
    between key types, and no ES256 signature checked with a P-384 key)."""
    curve = CURVES.get(algorithm)
    if curve is None:
        raise _invalid(check, "algorithm is not allowed")
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, curve):
        raise _invalid(check, f"key does not fit {algorithm}")
    return key


class TrustAnchors:
    """Root certificates per credential type: ``vct`` for SD-JWT VC, ``docType`` for mdoc.

    :param anchors: credential type -> the CA certificates that may vouch for it
    """

    def __init__(self, anchors: Mapping[str, Sequence[x509.Certificate]]) -> None:
        self._anchors: dict[str, tuple[x509.Certificate, ...]] = {}
        for credential_type, certificates in anchors.items():
            if not credential_type or not certificates:
                raise ConfigurationError("each credential type needs a name and an anchor")
            for certificate in certificates:
                if not _is_ca(certificate):
                    raise ConfigurationError(
                        f"an anchor for {credential_type!r} is not a CA certificate"
                    )
            self._anchors[credential_type] = tuple(certificates)

    def __repr__(self) -> str:
        return f"TrustAnchors({sorted(self._anchors)!r})"

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._anchors)

    def verify(
        self,
        credential_type: str,
        chain: Sequence[x509.Certificate],
        *,
        now: float,
        check: str,
    ) -> x509.Certificate:
        """The leaf of ``chain`` once it chains to an anchor for ``credential_type`` at
        ``now``; otherwise :class:`PresentationRefused` (``WALLET_ISSUER_UNTRUSTED``)."""
        anchors = self._anchors.get(credential_type)
        if anchors is None:
            raise PresentationRefused(
                RefusalReason.WALLET_ISSUER_UNTRUSTED, f"{check}.type", "no anchors for the type"
            )
        if not chain:
            raise _untrusted(check, "no certificate chain")
        leaf, intermediates = chain[0], list(chain[1:])
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(list(anchors)))
            .time(dt.datetime.fromtimestamp(now, dt.UTC))
            .max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=verification.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, intermediates)
        except verification.VerificationError:
            raise _untrusted(check, "the chain does not lead to an anchor for the type") from None
        if _is_ca(leaf):
            raise _untrusted(check, "the signing certificate is a CA")
        try:
            usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            raise _untrusted(check, "the signing certificate has no keyUsage") from None
        if not usage.digital_signature:
            raise _untrusted(check, "the signing certificate may not sign")
        return leaf


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _invalid(check: str, detail: str) -> PresentationRefused:
    return PresentationRefused(RefusalReason.PRESENTATION_INVALID, f"{check}.certificate", detail)


def _untrusted(check: str, detail: str) -> PresentationRefused:
    return PresentationRefused(RefusalReason.WALLET_ISSUER_UNTRUSTED, f"{check}.chain", detail)
