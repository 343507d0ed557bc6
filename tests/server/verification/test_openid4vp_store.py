"""OpenID4VP transactions in SQL, on SQLite and PostgreSQL: the store contract of the
in-memory store (tests/identity/openid4vp/test_transactions.py) again, and what only a
database can show: a transition raced from two nodes has one winner, and a copy of the table
gives no secret away."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import IdentityError, TransactionStateError, UnknownTransaction
from identity.openid4vp.transactions import Action, TransactionState
from identity.vault import KeyRing
from server.db.schema import openid4vp_transactions
from server.verification.openid4vp_store import SqlTransactions
from tests.identity.openid4vp.support import a_transaction
from tests.server.db.support import Database

KEYS = KeyRing({"k1": os.urandom(32)}, "k1")

NOW = 1_800_000_000.0


@pytest.fixture
async def store(engine: AsyncEngine) -> SqlTransactions:
    async with engine.begin() as conn:  # the module's database is shared between its tests
        await conn.execute(delete(openid4vp_transactions))
    return SqlTransactions(engine, KEYS)


async def test_the_store_finds_by_either_id_and_swaps_only_from_the_state_it_read(
    store: SqlTransactions,
) -> None:
    created = a_transaction(NOW)
    await store.insert(created)
    with pytest.raises(IdentityError):
        await store.insert(created)
    assert await store.by_request_id("public-request-id-1") == created
    sent = created.after(Action.RETRIEVE, NOW)
    await store.swap(created, sent)
    with pytest.raises(TransactionStateError) as lost:
        await store.swap(created, sent)
    assert lost.value.state == "request-sent"
    assert (await store.by_transaction_id("secret-transaction-id-1")).state is (
        TransactionState.REQUEST_SENT
    )
    for unknown in (store.by_transaction_id("other"), store.by_request_id("other")):
        with pytest.raises(UnknownTransaction):
            await unknown
    assert await store.purge(NOW + 299) == 0
    assert await store.purge(NOW + 300) == 1
    with pytest.raises(UnknownTransaction):
        await store.by_request_id("public-request-id-1")


async def test_two_nodes_racing_for_one_response_have_one_winner(
    database: Database, store: SqlTransactions
) -> None:
    created = a_transaction(NOW, 2)
    await store.insert(created)
    sent = created.after(Action.RETRIEVE, NOW)
    await store.swap(created, sent)
    engine = database.engine()
    other_node = SqlTransactions(engine, KEYS)
    receiving = sent.after(Action.RECEIVE, NOW)
    try:
        outcomes = await asyncio.gather(
            *(node.swap(sent, receiving) for node in (store, other_node) * 5),
            return_exceptions=True,
        )
    finally:
        await engine.dispose()
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, TransactionStateError)]
    assert len(winners) == 1 and len(losers) == 9, outcomes


async def test_a_copy_of_the_table_gives_no_secret_away(
    engine: AsyncEngine, store: SqlTransactions
) -> None:
    await store.insert(a_transaction(NOW, 3, sealed_identity="v1.k1.sealed.identity"))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(openid4vp_transactions))).all()
    dumped = repr(rows)
    assert len(rows) == 1
    for secret in ("secret-transaction-id-3", "secret-nonce-value", "sealed.identity", "bsn"):
        assert secret not in dumped
    stranger = SqlTransactions(engine, KeyRing({"k9": os.urandom(32)}, "k9"))
    with pytest.raises(IdentityError, match="unknown key"):
        await stranger.by_request_id("public-request-id-3")


async def test_a_row_moved_under_another_key_does_not_open(
    engine: AsyncEngine, store: SqlTransactions
) -> None:
    await store.insert(a_transaction(NOW, 4))
    await store.insert(a_transaction(NOW, 5))
    async with engine.begin() as conn:
        sealed = (
            await conn.execute(
                select(openid4vp_transactions.c.sealed).where(
                    openid4vp_transactions.c.request_id == "public-request-id-4"
                )
            )
        ).scalar_one()
        await conn.execute(
            update(openid4vp_transactions)
            .where(openid4vp_transactions.c.request_id == "public-request-id-5")
            .values(sealed=sealed)
        )
    with pytest.raises(IdentityError):
        await store.by_request_id("public-request-id-5")
