"""Our verification sessions: an unguessable id bound to one call, browser and purpose.

The browser knows only the verification id; the verifier handle (for Yivi the
requestor token) stays here. Every use of the id names the caller's
:class:`Binding`, and a result is *claimed* once before it is fetched, so

- a verification started in one room, browser or for one purpose cannot be
  used in another (refused with ``OTHER_ROOM``, ``OTHER_BROWSER``,
  ``OTHER_PURPOSE``; the verification itself is left as it was);
- a result is consumed at most once (``ALREADY_USED``), even when two
  requests race: the claim is the one atomic step.

States::

    PENDING --claim--> CLAIMED --complete--> VERIFIED
       |                  |  \\--refuse---> REFUSED
       |                  \\--release--> PENDING   (verifier unreachable; retry)
       \\--cancel / refuse--> CANCELLED / REFUSED

The transitions are pure methods of the frozen :class:`Verification`;
:class:`MemoryVerifications` keeps them in a dict. A storage-backed registry
implements :class:`VerificationRegistry` with a compare-and-set on ``state``.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final, Protocol

from identity.errors import (
    IdentityError,
    RefusalReason,
    UnknownVerification,
    VerificationRefused,
    VerificationStateError,
)
from identity.policy import Tag
from identity.verifier import VerifiedIdentity, VerifierHandle

#: matches the irma server's max_session_lifetime (15 min)
DEFAULT_TTL_SECONDS: Final = 15 * 60
#: 24 random bytes: 192 bits
ID_BYTES: Final = 24


class VerificationState(StrEnum):
    #: started; the wallet has not answered (or we have not looked)
    PENDING = "pending"
    #: the result is being fetched; it can never be fetched again
    CLAIMED = "claimed"
    #: the result passed every check and was handed over
    VERIFIED = "verified"
    #: the result (or its use) was refused; ``reason`` says why
    REFUSED = "refused"
    #: the resident or the call cancelled
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Binding:
    """What a verification belongs to: one call, one browser session, one purpose."""

    room: str
    #: the browser's session id (from its cookie); secret, so not in reprs
    browser_session: str = field(repr=False)
    purpose: str


@dataclass(frozen=True, slots=True)
class Verification:
    id: str = field(repr=False)
    handle: VerifierHandle
    binding: Binding
    state: VerificationState
    created_at: float
    expires_at: float
    reason: RefusalReason | None = None
    #: tags proven, once VERIFIED (names only; values go to the vault)
    tags: frozenset[Tag] = frozenset()

    def check(self, binding: Binding, now: float) -> None:
        """Refuse a caller from another room, browser or purpose, or an expired id."""
        if self.binding.room != binding.room:
            raise VerificationRefused(RefusalReason.OTHER_ROOM, "verification used in another room")
        if not hmac.compare_digest(
            self.binding.browser_session.encode(), binding.browser_session.encode()
        ):
            raise VerificationRefused(
                RefusalReason.OTHER_BROWSER, "verification used from another browser"
            )
        if self.binding.purpose != binding.purpose:
            raise VerificationRefused(
                RefusalReason.OTHER_PURPOSE, "verification used for another purpose"
            )
        if now >= self.expires_at and self.state in (
            VerificationState.PENDING,
            VerificationState.CLAIMED,
        ):
            raise VerificationRefused(RefusalReason.VERIFICATION_EXPIRED, "verification expired")

    def claimed(self, binding: Binding, now: float) -> Verification:
        self.check(binding, now)
        if self.state is VerificationState.CANCELLED:
            raise VerificationRefused(RefusalReason.CANCELLED, "verification was cancelled")
        if self.state is not VerificationState.PENDING:
            raise VerificationRefused(
                RefusalReason.ALREADY_USED, f"result already claimed (state {self.state.value})"
            )
        return replace(self, state=VerificationState.CLAIMED)

    def released(self) -> Verification:
        self._require(VerificationState.CLAIMED, "release")
        return replace(self, state=VerificationState.PENDING)

    def completed(self, identity: VerifiedIdentity) -> Verification:
        """CLAIMED -> VERIFIED, if ``identity`` answers this verification's purpose."""
        self._require(VerificationState.CLAIMED, "complete")
        if (
            identity.purpose != self.binding.purpose
            or identity.purpose != self.handle.policy.purpose
        ):
            raise VerificationRefused(RefusalReason.OTHER_PURPOSE, "result was for another purpose")
        if identity.verifier != self.handle.verifier:
            raise VerificationRefused(
                RefusalReason.SESSION_MISMATCH, "result came from another verifier"
            )
        return replace(self, state=VerificationState.VERIFIED, tags=identity.tags)

    def refused(self, reason: RefusalReason) -> Verification:
        if self.state not in (VerificationState.PENDING, VerificationState.CLAIMED):
            raise VerificationStateError("refuse", self.state.value)
        return replace(self, state=VerificationState.REFUSED, reason=reason)

    def cancelled(self, binding: Binding, now: float) -> Verification:
        self.check(binding, now)
        if self.state is not VerificationState.PENDING:
            raise VerificationStateError("cancel", self.state.value)
        return replace(self, state=VerificationState.CANCELLED, reason=RefusalReason.CANCELLED)

    def _require(self, state: VerificationState, what: str) -> None:
        if self.state is not state:
            raise VerificationStateError(what, self.state.value)


def new_verification(
    handle: VerifierHandle, binding: Binding, *, now: float, ttl: float
) -> Verification:
    """A PENDING verification with a fresh id, for a registry to store."""
    if handle.policy.purpose != binding.purpose:
        raise IdentityError("the verifier handle asked another purpose's policy")
    return Verification(
        id=secrets.token_urlsafe(ID_BYTES),
        handle=handle,
        binding=binding,
        state=VerificationState.PENDING,
        created_at=now,
        expires_at=now + ttl,
    )


class VerificationRegistry(Protocol):
    """Verification sessions by id. Every method is atomic per verification."""

    async def open(self, handle: VerifierHandle, binding: Binding) -> Verification:
        """Register a started verification; returns it with a fresh id."""
        ...

    async def get(self, verification_id: str, binding: Binding) -> Verification: ...

    async def claim(self, verification_id: str, binding: Binding) -> Verification:
        """Take the right to fetch the result; succeeds once per verification."""
        ...

    async def release(self, verification_id: str) -> Verification:
        """Give a claim back after the verifier could not be reached."""
        ...

    async def complete(self, verification_id: str, identity: VerifiedIdentity) -> Verification:
        """Record a claimed result as verified, or refuse it for another purpose."""
        ...

    async def refuse(self, verification_id: str, reason: RefusalReason) -> Verification: ...

    async def cancel(self, verification_id: str, binding: Binding) -> Verification: ...

    async def purge(self) -> int:
        """Forget verifications past their expiry; returns how many."""
        ...

    async def pending(self, binding: Binding) -> str | None:
        """The id of ``binding``'s newest verification still waiting for its result: the
        one its browser finishes, on whichever node it asks."""
        ...

    async def forget_room(self, room: str) -> int:
        """Forget every verification of ``room`` (its call is over); returns how many."""
        ...


class MemoryVerifications:
    """The in-process :class:`VerificationRegistry` (one node, tests).

    Methods never await, so each is atomic under asyncio.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._by_id: dict[str, Verification] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    async def open(self, handle: VerifierHandle, binding: Binding) -> Verification:
        verification = new_verification(handle, binding, now=self._clock(), ttl=self._ttl)
        self._by_id[verification.id] = verification
        return verification

    async def get(self, verification_id: str, binding: Binding) -> Verification:
        verification = self._find(verification_id)
        verification.check(binding, self._clock())
        return verification

    async def claim(self, verification_id: str, binding: Binding) -> Verification:
        return self._store(self._find(verification_id).claimed(binding, self._clock()))

    async def release(self, verification_id: str) -> Verification:
        return self._store(self._find(verification_id).released())

    async def complete(self, verification_id: str, identity: VerifiedIdentity) -> Verification:
        verification = self._find(verification_id)
        try:
            return self._store(verification.completed(identity))
        except VerificationRefused as exc:
            self._store(verification.refused(exc.reason))
            raise

    async def refuse(self, verification_id: str, reason: RefusalReason) -> Verification:
        return self._store(self._find(verification_id).refused(reason))

    async def cancel(self, verification_id: str, binding: Binding) -> Verification:
        return self._store(self._find(verification_id).cancelled(binding, self._clock()))

    async def purge(self) -> int:
        now = self._clock()
        expired = [key for key, v in self._by_id.items() if now >= v.expires_at]
        for key in expired:
            del self._by_id[key]
        return len(expired)

    async def pending(self, binding: Binding) -> str | None:
        now = self._clock()
        waiting = [
            v
            for v in self._by_id.values()
            if v.binding == binding and v.state is VerificationState.PENDING and now < v.expires_at
        ]
        return max(waiting, key=lambda v: v.created_at).id if waiting else None

    async def forget_room(self, room: str) -> int:
        gone = [key for key, v in self._by_id.items() if v.binding.room == room]
        for key in gone:
            del self._by_id[key]
        return len(gone)

    def _find(self, verification_id: str) -> Verification:
        verification = self._by_id.get(verification_id)
        if verification is None:
            raise UnknownVerification("no such verification")
        return verification

    def _store(self, verification: Verification) -> Verification:
        self._by_id[verification.id] = verification
        return verification
