"""Verifications in flight in SQL: the registry contract of tests/identity/test_sessions.py,
run again on SQLite and PostgreSQL, and what only a database can show: a claim raced from
two nodes has one winner, a restart loses nothing, and a copy of the table gives no secret
away."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import RefusalReason, VerificationRefused
from identity.sessions import VerificationState
from identity.vault import KeyRing
from server.db.schema import verifications
from server.verification.verification_store import SqlVerifications
from tests.identity.results import TOKEN

# the contract, collected here again with this module's ``registry`` fixture
from tests.identity.test_sessions import *  # noqa: F403
from tests.identity.test_sessions import BINDING, HANDLE, Clock, identity
from tests.server.db.support import Database

KEYS = KeyRing({"k1": os.urandom(32)}, "k1")


# replaces the contract's in-memory registry for this module
@pytest.fixture  # type: ignore[no-redef]
async def registry(engine: AsyncEngine, clock: Clock) -> SqlVerifications:
    async with engine.begin() as conn:  # the module's database is shared between its tests
        await conn.execute(delete(verifications))
    return SqlVerifications(engine, KEYS, ttl=900, clock=clock)


async def test_two_nodes_racing_for_one_result_have_one_winner(
    database: Database, registry: SqlVerifications, clock: Clock
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    engine = database.engine()
    other_node = SqlVerifications(engine, KEYS, ttl=900, clock=clock)
    try:
        outcomes = await asyncio.gather(
            *(node.claim(opened.id, BINDING) for node in (registry, other_node) * 5),
            return_exceptions=True,
        )
    finally:
        await engine.dispose()
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, VerificationRefused)]
    assert len(winners) == 1 and len(losers) == 9, outcomes
    assert {loser.reason for loser in losers} == {RefusalReason.ALREADY_USED}


async def test_a_verification_outlives_the_node_that_started_it(
    database: Database, registry: SqlVerifications, clock: Clock
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    engine = database.engine()
    restarted = SqlVerifications(engine, KEYS, ttl=900, clock=clock)
    try:
        claimed = await restarted.claim(opened.id, BINDING)
        assert claimed.handle == HANDLE  # the verifier's token came back from its seal
        done = await restarted.complete(opened.id, identity())
    finally:
        await engine.dispose()
    assert done.state is VerificationState.VERIFIED
    assert (await registry.get(opened.id, BINDING)).tags == done.tags


async def test_a_copy_of_the_table_gives_no_secret_away(
    engine: AsyncEngine, registry: SqlVerifications
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(verifications))).all()
    dumped = repr(rows)
    assert len(rows) == 1
    for secret in (opened.id, TOKEN, BINDING.browser_session):
        assert secret not in dumped


async def test_another_key_ring_cannot_read_the_verifiers_token(
    engine: AsyncEngine, registry: SqlVerifications, clock: Clock
) -> None:
    opened = await registry.open(HANDLE, BINDING)
    stranger = SqlVerifications(engine, KeyRing({"k9": os.urandom(32)}, "k9"), clock=clock)
    with pytest.raises(Exception, match="unknown key"):
        await stranger.get(opened.id, BINDING)


async def test_another_node_finds_the_verification_by_its_binding(
    database: Database, registry: SqlVerifications, clock: Clock
) -> None:
    """The node a page asks next finishes what another node started: it finds the id by
    the binding, from the row alone."""
    opened = await registry.open(HANDLE, BINDING)
    engine = database.engine()
    try:
        assert await SqlVerifications(engine, KEYS, clock=clock).pending(BINDING) == opened.id
    finally:
        await engine.dispose()
