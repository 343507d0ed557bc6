"""Verifications in flight in SQL (identity.sessions.VerificationRegistry).

The transitions stay the pure methods of :class:`identity.sessions.Verification`; this store
reads a row, asks the transition, and writes the result only if the row is still in the state
it read (``UPDATE … WHERE state = :read``). A writer that lost the race reads again and asks
again, so two nodes claiming one result at once get one VERIFIED and one ALREADY_USED, as in
memory. Rows outlive a restart: a resident who started on one node, or before a restart,
finishes anywhere.

What a copy of the table gives away: nothing to use. The verification id is a secret, so the
row is keyed by its SHA-256, and the id itself is sealed with the vault key ring beside the
verifier's session token: the node a browser asks next finds the row by its binding (room,
browser, purpose) and opens the id from it. The browser-session cookie is stored as a SHA-256
as well (the same digest the vault uses). Tags are names of what was proven, never values.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

import orjson
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import (
    IdentityError,
    RefusalReason,
    UnknownVerification,
    VerificationRefused,
)
from identity.policy import Tag, policy_from_data, policy_to_data
from identity.sessions import (
    DEFAULT_TTL_SECONDS,
    Binding,
    Verification,
    VerificationState,
    new_verification,
)
from identity.vault import KeyRing
from identity.verifier import VerifiedIdentity, VerifierHandle
from server.db.engine import writer
from server.db.schema import verifications
from server.verification.vault_store import browser_digest

t = verifications.c
#: a race is lost only to another writer of the same row; more than this many in a row
#: means something else is wrong
ATTEMPTS: Final = 5

Transition = Callable[[Verification], Verification]
_REASONS: Final = {reason.code: reason for reason in RefusalReason}


def id_digest(verification_id: str) -> str:
    return hashlib.sha256(verification_id.encode()).hexdigest()


class SqlVerifications:
    """:class:`identity.sessions.VerificationRegistry` on the application's database."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._ttl = ttl
        self._clock = clock

    async def open(self, handle: VerifierHandle, binding: Binding) -> Verification:
        verification = new_verification(handle, binding, now=self._clock(), ttl=self._ttl)
        digest = id_digest(verification.id)
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                insert(verifications).values(
                    id_digest=digest,
                    room_id=binding.room,
                    browser=browser_digest(binding.browser_session),
                    purpose_key=binding.purpose,
                    verifier=handle.verifier,
                    reference=self._keys.seal(
                        orjson.dumps({"id": verification.id, "reference": handle.reference}),
                        room=binding.room,
                        verification_id=digest,
                    ),
                    policy=policy_to_data(handle.policy),
                    demo=handle.demo,
                    state=verification.state.value,
                    reason=None,
                    tags="",
                    created_at=verification.created_at,
                    expires_at=verification.expires_at,
                )
            )
        return verification

    async def get(self, verification_id: str, binding: Binding) -> Verification:
        verification = await self._read(verification_id)
        verification.check(_hashed(binding), self._clock())
        return _with_binding(verification, binding)

    async def claim(self, verification_id: str, binding: Binding) -> Verification:
        now = self._clock()
        claimed = await self._change(verification_id, lambda v: v.claimed(_hashed(binding), now))
        return _with_binding(claimed, binding)

    async def release(self, verification_id: str) -> Verification:
        return await self._change(verification_id, lambda v: v.released())

    async def complete(self, verification_id: str, identity: VerifiedIdentity) -> Verification:
        try:
            return await self._change(verification_id, lambda v: v.completed(identity))
        except VerificationRefused as refused:
            reason = refused.reason
            await self._change(verification_id, lambda v: v.refused(reason))
            raise

    async def refuse(self, verification_id: str, reason: RefusalReason) -> Verification:
        return await self._change(verification_id, lambda v: v.refused(reason))

    async def cancel(self, verification_id: str, binding: Binding) -> Verification:
        now = self._clock()
        cancelled = await self._change(
            verification_id, lambda v: v.cancelled(_hashed(binding), now)
        )
        return _with_binding(cancelled, binding)

    async def purge(self) -> int:
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(verifications).where(t.expires_at <= self._clock()))
        return int(result.rowcount or 0)

    async def pending(self, binding: Binding) -> str | None:
        hashed = _hashed(binding)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(verifications)
                    .where(
                        t.room_id == hashed.room,
                        t.browser == hashed.browser_session,
                        t.purpose_key == hashed.purpose,
                        t.state == VerificationState.PENDING.value,
                        t.expires_at > self._clock(),
                    )
                    .order_by(t.created_at.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        verification_id, _ = self._sealed(row)
        # a row written before ids were sealed with it cannot be found by its binding
        if verification_id is None or id_digest(verification_id) != row.id_digest:
            return None
        return verification_id

    async def forget_room(self, room: str) -> int:
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(verifications).where(t.room_id == room))
        return int(result.rowcount or 0)

    # --- rows ------------------------------------------------------------------------------

    async def _read(self, verification_id: str) -> Verification:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(verifications).where(t.id_digest == id_digest(verification_id))
                )
            ).first()
        if row is None:
            raise UnknownVerification("no such verification")
        return self._verification(verification_id, row)

    async def _change(self, verification_id: str, transition: Transition) -> Verification:
        """Apply ``transition`` to the row as it is, if nobody changed it meanwhile."""
        for _ in range(ATTEMPTS):
            current = await self._read(verification_id)
            changed = transition(current)  # refuses (raises) from the state it reads
            async with writer(self._engine).begin() as conn:
                result = await conn.execute(
                    update(verifications)
                    .where(
                        t.id_digest == id_digest(verification_id),
                        t.state == current.state.value,
                    )
                    .values(
                        state=changed.state.value,
                        reason=changed.reason.code if changed.reason is not None else None,
                        tags=",".join(sorted(tag.value for tag in changed.tags)),
                    )
                )
            if result.rowcount == 1:
                return changed
        raise IdentityError(f"verification kept changing under {ATTEMPTS} attempts")

    def _verification(self, verification_id: str, row: Row[Any]) -> Verification:
        return Verification(
            id=verification_id,
            handle=VerifierHandle(
                verifier=str(row.verifier),
                reference=self._sealed(row)[1],
                policy=policy_from_data(str(row.purpose_key), row.policy),
                demo=bool(row.demo),
            ),
            # the stored digest stands in for the cookie: callers' bindings are hashed alike
            binding=Binding(str(row.room_id), str(row.browser), str(row.purpose_key)),
            state=VerificationState(row.state),
            created_at=float(row.created_at),
            expires_at=float(row.expires_at),
            reason=_REASONS[row.reason] if row.reason is not None else None,
            tags=frozenset(Tag(tag) for tag in str(row.tags).split(",") if tag),
        )

    def _sealed(self, row: Row[Any]) -> tuple[str | None, str]:
        """The verification's id and the verifier's session reference, opened."""
        opened = self._keys.open(
            str(row.reference), room=str(row.room_id), verification_id=str(row.id_digest)
        )
        if not opened.startswith(b"{"):  # written before the id was sealed beside it
            return None, opened.decode()
        sealed = orjson.loads(opened)
        return str(sealed["id"]), str(sealed["reference"])


def _hashed(binding: Binding) -> Binding:
    """The caller's binding as the row stores it (the browser session as its digest)."""
    return replace(binding, browser_session=browser_digest(binding.browser_session))


def _with_binding(verification: Verification, binding: Binding) -> Verification:
    """What the caller gets back: its own binding, as the in-memory registry returns it."""
    return replace(verification, binding=binding)
