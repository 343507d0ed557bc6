"""A PostgreSQL server that cannot be reached at all (its name does not resolve, as a
container's name while it restarts; nothing listens on its port) is "unavailable" to every
store, whether it opens connections through db/tx.py or on the engine itself: a 503 "try
again in a moment", one warning line, never a 500 with a driver's traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.core.tasks import DATABASE_LOST
from server.db import create_engine
from server.db.tx import DatabaseUnavailable, reading, writing
from tests.support import free_port, live_server

#: a name that never resolves (RFC 2606), and a port nothing listens on
UNREACHABLE = (
    "postgresql+asyncpg://postgres@balie-db.invalid:5432/test",
    f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/test",
)


@pytest.fixture(params=UNREACHABLE, ids=("name-does-not-resolve", "nothing-listens"))
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    opened = create_engine(request.param, timeout=2)
    try:
        yield opened
    finally:
        await opened.dispose()


async def test_every_way_to_the_database_says_it_is_lost(engine: AsyncEngine) -> None:
    with pytest.raises(DATABASE_LOST):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    with pytest.raises(DATABASE_LOST):
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
    for way in (reading, writing):
        with pytest.raises(DatabaseUnavailable):
            async with way(engine) as conn:
                await conn.execute(text("SELECT 1"))


async def test_a_store_on_the_engine_itself_answers_503_and_logs_no_traceback(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As the staff sessions and the identity gate do: ``engine.connect()`` in a handler."""

    async def store(request: web.Request) -> web.Response:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return web.Response(text="never")

    caplog.set_level(logging.INFO)
    async with (
        live_server(tmp_path, routes=[("GET", "/api/probe", store)]) as server,
        aiohttp.ClientSession() as http,
        http.get(server.url + "/api/probe") as response,
    ):
        assert response.status == 503
        assert response.content_type == "application/problem+json"
        assert response.headers["Retry-After"]
        problem = await response.json(content_type=None)
        assert (problem["status"], problem["code"]) == (503, "storage-unavailable"), problem
    assert not [r for r in caplog.records if r.exc_info is not None], caplog.text
    assert "unhandled error" not in caplog.text
