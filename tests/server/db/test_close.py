"""Closing the database when a node stops (server/db/engine.py ``close``): a connection still
in use finishes its work and is closed when it comes back; one asked for afterwards is
refused at once and opens nothing. Either left to the garbage collector would be a driver
connection never closed (aiosqlite's ResourceWarning, in whatever test runs next)."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest
from sqlalchemy import exc, text

from server.db.engine import close
from tests.server.db.support import Database


def unclosed_after_collecting() -> list[str]:
    """The warnings of connections the garbage collector found open."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


async def test_a_connection_in_use_finishes_and_is_closed_when_it_comes_back(
    database: Database,
) -> None:
    engine = database.engine()
    checked_out, go_on = asyncio.Event(), asyncio.Event()
    answers: list[int] = []

    async def last_write() -> None:
        async with engine.connect() as conn:
            checked_out.set()
            await go_on.wait()
            answers.append(await conn.scalar(text("SELECT 41 + 1")))

    writing = asyncio.create_task(last_write())
    await checked_out.wait()
    closing = asyncio.create_task(close(engine))
    await asyncio.sleep(0.05)
    assert not closing.done()  # waiting for the connection in use
    go_on.set()
    await asyncio.gather(writing, closing)
    assert answers == [42]
    del writing, closing
    assert unclosed_after_collecting() == []


async def test_a_connection_asked_for_after_closing_is_refused_and_opens_nothing(
    database: Database,
) -> None:
    engine = database.engine()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    await close(engine)
    with pytest.raises(exc.OperationalError, match="the database is closed"):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    del engine
    assert unclosed_after_collecting() == []


async def test_closing_gives_up_on_a_connection_that_never_comes_back(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    engine = database.engine()
    conn = await engine.connect()
    await close(engine, wait=0.05)
    assert "closing the database with 1 connections in use" in caplog.text
    # what such a connection does when it comes back is its own; the test's closes itself
    await conn.invalidate()
    await conn.close()
    del engine, conn
    assert unclosed_after_collecting() == []
