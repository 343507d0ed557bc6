"""The verifier interface: what call gating needs from any wallet verifier.

Yivi/IRMA (:mod:`identity.irma`) is the first implementation; an OpenID4VP
verifier plugs in beside it by implementing :class:`Verifier`. Callers keep
a :class:`VerifierHandle` server-side and give the browser only
``StartedVerification.browser_payload``.

A handle carries everything a verifier needs to finish the session (its own
secret reference and the policy asked), so any node can finish a
verification another node started: store it with :func:`handle_to_data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from identity.errors import IdentityError
from identity.policy import DisclosurePolicy, Tag, policy_from_data, policy_to_data


class VerificationStatus(StrEnum):
    """Where the wallet session is; only ``DONE`` means a result may be fetched."""

    #: started, no wallet has scanned or opened it yet
    WAITING = "waiting"
    #: a wallet scanned the QR and must confirm the pairing code shown on screen
    PAIRING = "pairing"
    #: a wallet is connected; the resident is choosing what to share
    CONNECTED = "connected"
    #: the wallet answered; the result can be fetched (and may still be refused)
    DONE = "done"
    #: the resident, the server or we cancelled
    CANCELLED = "cancelled"
    #: nobody answered in time, or the session is gone
    TIMEOUT = "timeout"

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {VerificationStatus.DONE, VerificationStatus.CANCELLED, VerificationStatus.TIMEOUT}
)


@dataclass(frozen=True, slots=True)
class VerifierHandle:
    """A verifier's server-side reference to one session. Never sent to a browser."""

    #: the verifier's name, e.g. ``yivi``
    verifier: str
    #: the verifier's secret reference (for Yivi the requestor token)
    reference: str = field(repr=False)
    #: what was asked
    policy: DisclosurePolicy
    #: whether demo credentials were asked (and so will be accepted)
    demo: bool = False


@dataclass(frozen=True, slots=True)
class StartedVerification:
    handle: VerifierHandle
    #: JSON for the browser's wallet library; for Yivi ``sessionPtr`` and ``frontendRequest``
    browser_payload: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """Verified values and where they came from. ``values`` never appears in a repr."""

    #: the verifier's name, e.g. ``yivi``
    verifier: str
    #: the purpose whose policy was satisfied
    purpose: str
    #: field (see :data:`identity.policy.TAG_FIELDS`) -> value
    values: Mapping[str, str] = field(repr=False, hash=False)
    #: the tags proven (required and optional ones the resident chose to share)
    tags: frozenset[Tag]
    #: the verifier's attribute ids used, e.g. ``pbdf.gemeente.personalData.bsn``
    attribute_ids: tuple[str, ...]
    #: the issuers of those attributes, e.g. ``pbdf.gemeente``
    issuers: tuple[str, ...]
    #: unix seconds at which the verifier vouched for the result
    verified_at: int
    #: demo credentials (never true outside demo mode)
    demo: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


class Verifier(Protocol):
    """A wallet verifier. Every method may raise :class:`VerifierUnavailable`."""

    @property
    def name(self) -> str: ...

    async def start(self, policy: DisclosurePolicy) -> StartedVerification:
        """Ask the wallet for ``policy``; may raise :class:`PolicyError`."""
        ...

    async def status(self, handle: VerifierHandle) -> VerificationStatus: ...

    async def result(self, handle: VerifierHandle) -> VerifiedIdentity:
        """The strictly checked result, or :class:`VerificationRefused`."""
        ...

    async def cancel(self, handle: VerifierHandle) -> None: ...


def handle_to_data(handle: VerifierHandle) -> dict[str, object]:
    """JSON-able form for server-side storage (contains the secret reference)."""
    return {
        "verifier": handle.verifier,
        "reference": handle.reference,
        "purpose": handle.policy.purpose,
        "policy": policy_to_data(handle.policy),
        "demo": handle.demo,
    }


def handle_from_data(data: object) -> VerifierHandle:
    if not isinstance(data, Mapping):
        raise IdentityError("stored verifier handle is not an object")
    verifier, reference, purpose = data.get("verifier"), data.get("reference"), data.get("purpose")
    demo = data.get("demo")
    if not (isinstance(verifier, str) and isinstance(reference, str) and isinstance(purpose, str)):
        raise IdentityError("stored verifier handle lacks verifier, reference or purpose")
    if not isinstance(demo, bool):
        raise IdentityError("stored verifier handle lacks demo")
    return VerifierHandle(verifier, reference, policy_from_data(purpose, data.get("policy")), demo)


def identity_to_data(identity: VerifiedIdentity) -> dict[str, object]:
    """JSON-able form, for sealing into the vault (it contains the values)."""
    return {
        "verifier": identity.verifier,
        "purpose": identity.purpose,
        "values": dict(identity.values),
        "tags": sorted(tag.value for tag in identity.tags),
        "attribute_ids": list(identity.attribute_ids),
        "issuers": list(identity.issuers),
        "verified_at": identity.verified_at,
        "demo": identity.demo,
    }


def identity_from_data(data: object) -> VerifiedIdentity:
    try:
        if not isinstance(data, Mapping):
            raise TypeError
        values = data["values"]
        if not isinstance(values, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            raise TypeError
        verified_at, demo = data["verified_at"], data["demo"]
        if not isinstance(verified_at, int) or not isinstance(demo, bool):
            raise TypeError
        return VerifiedIdentity(
            verifier=_str(data["verifier"]),
            purpose=_str(data["purpose"]),
            values=values,
            tags=frozenset(Tag(_str(t)) for t in _list(data["tags"])),
            attribute_ids=tuple(_str(a) for a in _list(data["attribute_ids"])),
            issuers=tuple(_str(i) for i in _list(data["issuers"])),
            verified_at=verified_at,
            demo=demo,
        )
    except (KeyError, TypeError, ValueError):
        # the message must not echo the data: it holds attribute values
        raise IdentityError("stored identity is malformed") from None


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError
    return value
