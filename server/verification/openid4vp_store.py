"""OpenID4VP transactions in SQL (:class:`identity.openid4vp.TransactionStore`).

The transitions stay the pure methods of :class:`identity.openid4vp.Transaction`; this store
keeps the result with a compare-and-set on ``state`` (``UPDATE … WHERE state = :read``), so
two nodes racing for one transition (a second fetch of the request object, a second response,
a second collection) cannot both win, on SQLite as on PostgreSQL.

What a copy of the table gives away: nothing to use. The transaction id is the browser side's
secret, so the row is keyed by its SHA-256; the request id is public anyway (it is in the QR
code). Everything else is sealed with the vault key ring and bound to the row's key, so one
row's data cannot be moved into another.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import orjson
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import IdentityError, TransactionStateError, UnknownTransaction
from identity.openid4vp import Transaction, transaction_from_data, transaction_to_data
from identity.vault import KeyRing
from server.db.engine import writer
from server.db.schema import openid4vp_transactions

t = openid4vp_transactions.c
#: the associated data's "room" of a sealed row: one table's rows never open as another's
_SEALED_AS: Final = "openid4vp-transaction"


def transaction_digest(transaction_id: str) -> str:
    return hashlib.sha256(transaction_id.encode()).hexdigest()


class SqlTransactions:
    """OpenID4VP transactions on the application's database."""

    def __init__(self, engine: AsyncEngine, keys: KeyRing) -> None:
        self._engine = engine
        self._keys = keys

    async def insert(self, transaction: Transaction) -> None:
        digest = transaction_digest(transaction.transaction_id)
        try:
            async with writer(self._engine).begin() as conn:
                await conn.execute(
                    insert(openid4vp_transactions).values(
                        transaction_digest=digest,
                        request_id=transaction.request_id,
                        state=transaction.state.value,
                        sealed=self._seal(transaction, digest),
                        created_at=transaction.created_at,
                        expires_at=transaction.expires_at,
                    )
                )
        except IntegrityError:
            raise IdentityError("a transaction with that id exists") from None

    async def by_transaction_id(self, transaction_id: str) -> Transaction:
        digest = transaction_digest(transaction_id)
        row = await self._row(t.transaction_digest == digest)
        if row is None:
            raise UnknownTransaction("no such transaction")
        return self._open(row)

    async def by_request_id(self, request_id: str) -> Transaction:
        row = await self._row(t.request_id == request_id)
        if row is None:
            raise UnknownTransaction("no such request")
        return self._open(row)

    async def swap(self, current: Transaction, new: Transaction) -> Transaction:
        digest = transaction_digest(current.transaction_id)
        if transaction_digest(new.transaction_id) != digest:
            raise IdentityError("a transaction cannot become another")
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(
                update(openid4vp_transactions)
                .where(t.transaction_digest == digest, t.state == current.state.value)
                .values(state=new.state.value, sealed=self._seal(new, digest))
            )
        if result.rowcount == 1:
            return new
        row = await self._row(t.transaction_digest == digest)
        if row is None:
            raise UnknownTransaction("no such transaction")
        raise TransactionStateError("this change", str(row.state))

    async def purge(self, now: float) -> int:
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(openid4vp_transactions).where(t.expires_at <= now))
        return int(result.rowcount or 0)

    # --- rows ------------------------------------------------------------------------------

    async def _row(self, where: Any) -> Row[Any] | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(openid4vp_transactions).where(where))).first()

    def _seal(self, transaction: Transaction, digest: str) -> str:
        return self._keys.seal(
            orjson.dumps(transaction_to_data(transaction)),
            room=_SEALED_AS,
            verification_id=digest,
        )

    def _open(self, row: Row[Any]) -> Transaction:
        digest = str(row.transaction_digest)
        data = orjson.loads(
            self._keys.open(str(row.sealed), room=_SEALED_AS, verification_id=digest)
        )
        transaction = transaction_from_data(data)
        if (
            transaction_digest(transaction.transaction_id) != digest
            or transaction.request_id != row.request_id
            or transaction.state.value != row.state
        ):
            raise IdentityError("stored OpenID4VP transaction does not match its row")
        return transaction
