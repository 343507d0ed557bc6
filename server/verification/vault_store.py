"""The attribute vault in SQL: sealed entries (identity/vault.py) with their binding.

Rows hold ciphertext only; the binding columns say which room, browser (a hash of
the cookie, never the cookie) and purpose an entry was verified for, so the
signalling gate can ask "is this browser verified for this room" without opening
anything. The application deletes rows itself: at call end, or when
``delete_after`` passes (the sweeper in server/app.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Row, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import VaultEntry, sealed_kid
from server.db.engine import writer
from server.db.schema import vault_entries

t = vault_entries.c


def browser_digest(browser_id: str) -> str:
    """What the vault stores of a browser-session id."""
    return hashlib.sha256(browser_id.encode()).hexdigest()


def _entry(row: Row[Any, Any, Any, Any]) -> VaultEntry:
    return VaultEntry(
        str(row.room_id), str(row.verification_id), str(row.sealed), float(row.delete_after)
    )


_COLUMNS = (t.room_id, t.verification_id, t.sealed, t.delete_after)


class SqlVault:
    """:class:`identity.vault.VaultStore` on the application's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put_bound(
        self,
        entry: VaultEntry,
        *,
        tenant: str,
        browser_id: str,
        purpose: str,
        now: float,
    ) -> None:
        """Store a new verification for ``browser_id``; it replaces the room's earlier ones,
        so the specialist never sees attributes from an older disclosure."""
        async with writer(self._engine).begin() as conn:
            await conn.execute(delete(vault_entries).where(t.room_id == entry.room))
            await conn.execute(
                vault_entries.insert().values(
                    room_id=entry.room,
                    verification_id=entry.verification_id,
                    tenant_id=tenant,
                    browser=browser_digest(browser_id),
                    purpose_key=purpose,
                    sealed=entry.sealed,
                    kid=entry.kid,
                    created_at=now,
                    delete_after=entry.delete_after,
                )
            )

    async def verified_entry(
        self, room: str, *, browser_id: str | None = None, purpose: str, now: float
    ) -> VaultEntry | None:
        """The room's live entry for ``purpose`` (and ``browser_id`` when given)."""
        where = [t.room_id == room, t.purpose_key == purpose, t.delete_after > now]
        if browser_id is not None:
            where.append(t.browser == browser_digest(browser_id))
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(and_(*where)))).first()
        return _entry(row) if row is not None else None

    async def keep_until(self, room: str, delete_after: float) -> int:
        """Keep the room's entries until ``delete_after`` (call end + retention), then go."""
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(
                update(vault_entries).where(t.room_id == room).values(delete_after=delete_after)
            )
        return result.rowcount

    # -- VaultStore ----------------------------------------------------------------

    async def put(self, entry: VaultEntry) -> None:
        """Replace the sealed text of an existing entry (used by key rotation)."""
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                update(vault_entries)
                .where(t.room_id == entry.room, t.verification_id == entry.verification_id)
                .values(sealed=entry.sealed, kid=entry.kid, delete_after=entry.delete_after)
            )

    async def get(self, room: str, verification_id: str) -> VaultEntry | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(*_COLUMNS).where(t.room_id == room, t.verification_id == verification_id)
                )
            ).first()
        return _entry(row) if row is not None else None

    async def list_for_room(self, room: str) -> list[VaultEntry]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(*_COLUMNS).where(t.room_id == room))
            return [_entry(row) for row in rows]

    async def delete_for_room(self, room: str) -> int:
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(vault_entries).where(t.room_id == room))
        return result.rowcount

    async def delete_expired(self, now: float) -> int:
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(vault_entries).where(t.delete_after <= now))
        return result.rowcount

    async def sealed_with_other_keys(self, active_kid: str, limit: int) -> list[VaultEntry]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(*_COLUMNS).where(t.kid != active_kid).limit(limit))
            entries = [_entry(row) for row in rows]
        # the kid column mirrors the sealed text; trust the text
        return [e for e in entries if sealed_kid(e.sealed) != active_kid]
