"""What a verified presentation yields, whatever its format (SD-JWT VC or mdoc)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509

from identity.errors import PresentationRefused, RefusalReason


class CredentialFormat(StrEnum):
    """OpenID4VP credential format identifiers (OID4VP 1.0 Appendix B)."""

    SD_JWT_VC = "dc+sd-jwt"
    MDOC = "mso_mdoc"


@dataclass(frozen=True, slots=True)
class StatusReference:
    """A Token Status List reference (``status.status_list``): entry ``index`` of ``uri``."""

    uri: str
    index: int


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A presentation that passed every check of its format (status aside).

    ``claims`` holds the disclosed values: for SD-JWT VC the processed payload, for
    mdoc ``{namespace: {element: value}}``; both are read with :func:`claim_at`.
    """

    format: CredentialFormat
    #: the ``vct`` (SD-JWT VC) or ``docType`` (mdoc)
    credential_type: str
    claims: Mapping[str, object] = field(repr=False)
    #: the issuer certificate (the ``x5c``/``x5chain`` leaf), checked against the anchors
    signer: x509.Certificate = field(repr=False)
    #: a status list entry to check, if the credential names one
    status: StatusReference | None = None

    @property
    def issuer(self) -> str:
        """The signer's subject (RFC 4514): an organisation, never a person's data."""
        return self.signer.subject.rfc4514_string()


def claim_at(claims: Mapping[str, object], path: Sequence[str]) -> object | None:
    """The value at ``path`` (object member names only), or ``None`` when absent."""
    value: object = claims
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return None
        value = value[name]
    return value


@dataclass(frozen=True, slots=True)
class Expectation:
    """What every presentation in one response must be bound to: this transaction's
    client id and nonce (and, for mdoc, its response URI and encryption key)."""

    client_id: str
    nonce: str = field(repr=False)
    response_uri: str
    #: RFC 7638 SHA-256 thumbprint of our response encryption key; ``None`` when the
    #: response is not encrypted (``direct_post``)
    encryption_thumbprint: bytes | None
    #: unix seconds, from the verifier's clock
    now: float


def status_reference(value: object, *, check: str) -> StatusReference | None:
    """``status.status_list {idx, uri}`` (Token Status List §6), or ``None`` if absent."""
    if value is None:
        return None
    entry = value.get("status_list") if isinstance(value, Mapping) else None
    if not isinstance(entry, Mapping):
        raise PresentationRefused(
            RefusalReason.PRESENTATION_INVALID, check, "status has no status_list"
        )
    index, uri = entry.get("idx"), entry.get("uri")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise PresentationRefused(
            RefusalReason.PRESENTATION_INVALID,
            check,
            "status_list.idx is not a non-negative integer",
        )
    if not isinstance(uri, str) or not uri:
        raise PresentationRefused(
            RefusalReason.PRESENTATION_INVALID, check, "status_list.uri is not a string"
        )
    return StatusReference(uri=uri, index=index)
